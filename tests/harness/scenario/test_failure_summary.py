"""failure_summary.json from a crafted scenario directory: measured values and 'not measured' reasons."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.recorder.history import Op, write_history
from harness.scenario.failure_summary import build_failure_summary, write_failure_summary
from harness.scenario.runner import merge_histories

MS = 1_000_000
_n = iter(range(100_000))


def op(node: str, process: int, f: str, key: str, value: Any, inv: int, comp: int, typ: str = "ok",
       result: Any = None, rc: str | None = None, error: str | None = None, **extra: Any) -> Op:
    if f == "get" and rc is None:
        rc = "linearizable"
    return Op(i=next(_n), process=process, f=f, key=key, value=value, invoke_ns=inv * MS, complete_ns=comp * MS,
              type=typ, node=node, read_consistency=rc, result=result, error=error, extra=extra)  # type: ignore[arg-type]


def nem(f: str, inv: int, comp: int, value: dict[str, Any]) -> Op:
    return Op(i=next(_n), process="nemesis", f=f, key=None, value=value, invoke_ns=inv * MS, complete_ns=comp * MS,
              type="ok", extra={"verification": {"ok": True}})


def scenario_dir(tmp: Path, ops: list[Op], polls: list[dict[str, Any]] | None = None) -> Path:
    d = tmp / "scen"
    d.mkdir()
    write_history(d / "history.jsonl", ops)
    (d / "members.jsonl").write_text("".join(json.dumps(p) + "\n" for p in polls or []))
    (d / "timeline.json").write_text(json.dumps({"load_start_ns": 1000 * MS}))
    (d / "scenario.json").write_text(json.dumps({"name": "t", "nodes": 3, "end": 10, "source": "t.yaml"}))
    return d


def test_partition_figures_and_not_measured_reasons(tmp_path: Path) -> None:
    part = nem("partition", 2000, 2010, {"shape": "isolate-node", "groups": [["n1"], ["n2", "n3"]],
                                         "labels": ["isolated", "rest"]})
    heal = nem("heal", 5000, 5010, {"shape": "isolate-node"})
    ops = [
        op("n2", 1, "put", "k", "1:1", 1500, 1510),
        part,
        op("n1", 2, "put", "k", "2:1", 2100, 4100, "info", error="timeout"),
        op("n1", 3, "get", "k", None, 2200, 2201, result="1:1", rc="serializable"),
        op("n2", 1, "put", "k", "1:2", 2500, 3200),
        op("n3", 4, "get", "k", None, 3300, 3301, result="1:2"),
        op("n1", 3, "get", "k", None, 3400, 3401, result="1:1", rc="serializable"),
        heal,
        op("n1", 2000002, "put", "k", "2000002:1", 5100, 5300),
        op("n1", 5, "get", "k", None, 5400, 5410, result="2000002:1"),
        op("n2", 1, "put", "k", "1:3", 5500, 5510),
        op("n1", 9, "get", "k", None, 6000, 6001, result="1:3", final=True),
        op("n2", 10, "get", "k", None, 6000, 6001, result="1:3", final=True),
    ]
    d = scenario_dir(tmp_path, ops)
    s = build_failure_summary(d)
    p = s["partition"]
    assert p["minority"] == ["n1"] and p["majority"] == ["n2", "n3"]
    assert p["fault_at_s"] == 1.01 and p["heal_started_at_s"] == 4.0 and p["heal_in_effect_at_s"] == 4.01
    assert p["applied_over_ms"] == 10.0
    # no member polls: every poll-based figure says so
    assert p["election"]["elected_after_s"] == "not measured: no member polls (members.jsonl empty)"
    assert p["election"]["new_leader"].startswith("not measured")
    un = p["unavailability"]
    assert un["majority_first_ok_write_after_s"] == 1.19  # 3.2 s - 2.01 s
    assert un["majority_first_ok_linearizable_read_after_s"] == 1.291
    mb = p["minority_behaviour"]
    assert mb["writes"]["served"] is False and mb["writes"]["timed_out_by_error"] == {"timeout": 1}
    assert mb["linearizable_reads"].startswith("not measured: no linearizable reads attempted")
    assert mb["serializable_reads"]["ok"] == 2 and mb["serializable_reads"]["served"] is True
    st = mb["serializable_staleness"]
    # the read at 3.4 s returned 1:1, superseded by 1:2 acknowledged at 3.2 s
    assert st["stale_reads"] == 1 and st["served_reads"] == 2 and st["superseded_ms_max"] == 200.0
    rec = p["recovery_after_heal"]
    assert rec["per_node"]["n1"] == {"write": 0.3, "linearizable_read": 0.41}
    assert rec["per_node"]["n2"] == {"write": 0.51}
    assert rec["full_service_after_s"] == 0.51 and rec["slowest_node"] == "n2"
    assert s["lost_writes"]["verdict"] is True and s["lost_writes"]["count"] == 0
    assert s["linearizability"]["linearizable_reads"]["verdict"] is True
    assert s["linearizability"]["serializable_reads"]["verdict"] is False
    assert [f["f"] for f in s["faults"]] == ["partition", "heal"] and s["faults"][0]["at_s"] == 1.0
    assert s["ops"] == {"load": 9, "final_reads": 2, "nemesis": 2}
    out = write_failure_summary(d)
    assert json.loads(out.read_text())["schema_version"] == 1 and (d / "availability.json").exists()


def test_no_partition_is_not_measured(tmp_path: Path) -> None:
    d = scenario_dir(tmp_path, [op("n1", 1, "put", "k", "1:1", 1500, 1510)])
    s = build_failure_summary(d)
    assert s["partition"] == "not measured: the scenario has no partition that took effect"
    assert s["linearizability"]["serializable_reads"]["verdict"].startswith("not measured: no serializable reads")
    assert s["lost_writes"]["verdict"] == "unknown"  # no final reads: the checker cannot tell


def test_merge_renumbers_and_orders(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_history(a, [op("n1", 1, "put", "k", "1:1", 10, 11), op("n1", 1, "put", "k", "1:2", 30, 31)])
    write_history(b, [op("n2", 2, "get", "k", None, 20, 21)])
    n = merge_histories([a, b], [nem("noop", 20, 20, {})], tmp_path / "m.jsonl")
    rows = [json.loads(l) for l in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert n == 4 and [r["i"] for r in rows] == [0, 1, 2, 3]
    assert [r["process"] for r in rows] == [1, "nemesis", 2, 1]
