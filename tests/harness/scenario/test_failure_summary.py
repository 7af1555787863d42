"""failure_summary.json from a crafted scenario directory: measured values and 'not measured' reasons."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.recorder.history import Op, write_history
from harness.errors import DamagedFile
from harness.scenario.failure_summary import build_failure_summary, read_failure_summary, run_log, write_failure_summary
from harness.scenario.runner import merge_histories

MS = 1_000_000
_n = iter(range(100_000))


def op(node: str, process: int, f: str, key: str, value: Any, inv: int, comp: int, typ: str = "ok",
       result: Any = None, rc: str | None = None, error: str | None = None, wc: str | None = None,
       **extra: Any) -> Op:
    if f == "get" and rc is None:
        rc = "linearizable"
    return Op(i=next(_n), process=process, f=f, key=key, value=value, invoke_ns=inv * MS, complete_ns=comp * MS,
              type=typ, node=node, read_consistency=rc, write_consistency=wc, result=result, error=error,
              extra=extra)  # type: ignore[arg-type]


def nem(f: str, inv: int, comp: int, value: dict[str, Any]) -> Op:
    return Op(i=next(_n), process="nemesis", f=f, key=None, value=value, invoke_ns=inv * MS, complete_ns=comp * MS,
              type="ok", extra={"verification": {"ok": True}})


def scenario_dir(tmp: Path, ops: list[Op], polls: list[dict[str, Any]] | None = None) -> Path:
    d = tmp / "scen"
    d.mkdir()
    write_history(d / "history.jsonl", ops)
    (d / "members.jsonl").write_text("".join(json.dumps(p) + "\n" for p in polls or []))
    (d / "timeline.json").write_text(json.dumps({"load_start_ns": 1000 * MS}))
    (d / "scenario.json").write_text(json.dumps({"name": "t", "system": "etcd", "nodes": 3, "end": 10,
                                                 "source": "t.yaml"}))
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
    assert p["election"]["elected_after_s"] == ("not measured: no member polls in members.jsonl (the system reports "
                                                "no member status, so no leader is followed)")
    assert p["election"]["new_leader"].startswith("not measured")
    un = p["unavailability"]
    assert un["side"] == "rest" and un["writes_at"] == {}
    assert un["writes"]["first_ok_after_s"] == 1.19  # 3.2 s - 2.01 s
    assert un["reads"]["strong"]["linearizable"]["first_ok_after_s"] == 1.291
    assert list(un["reads"]) == ["strong"]  # no serializable reads on the majority
    mb = p["minority_behaviour"]
    assert mb["writes"]["served"] is False and mb["writes"]["timed_out_by_error"] == {"timeout": 1}
    # keyed by the level's class (from etcd's plugin), then the level
    assert mb["reads"]["strong"]["linearizable"] == ("not measured: no linearizable reads attempted on the minority "
                                                     "during the partition")
    assert mb["reads"]["weak"]["serializable"]["ok"] == 2 and mb["reads"]["weak"]["serializable"]["served"] is True
    assert list(mb["staleness"]) == ["weak"] and list(mb["staleness"]["weak"]) == ["serializable"]
    st = mb["staleness"]["weak"]["serializable"]
    # the read at 3.4 s returned 1:1, superseded by 1:2 acknowledged at 3.2 s
    assert st["stale_reads"] == 1 and st["served_reads"] == 2 and st["superseded_ms_max"] == 200.0
    rec = p["recovery_after_heal"]
    assert rec["per_node"]["n1"] == {"write": 0.3, "read_linearizable": 0.41}
    assert rec["per_node"]["n2"] == {"write": 0.51}
    assert rec["full_service_after_s"] == 0.51 and rec["slowest_node"] == "n2"
    assert s["lost_writes"]["verdict"] is True and s["lost_writes"]["count"] == 0
    assert s["checkers"] == ["linearizable", "sequential", "stale-reads", "lost-writes", "late-writes", "convergence"]
    # k's writes are all done by 5.51 s (2:1's client gave up at 4.1 s, and 1:3, acknowledged last, began after):
    # both final reads returned 1:3, the only value left; the serializable reads all came before: undecided
    conv = s["convergence"]["strong"]["linearizable"]
    assert conv["verdict"] is True and conv["evidence"]["keys"]["k"] == {
        "converged": True, "quiet_at": 5510.0, "candidates": ["1:3"], "last_read_by_node": {"n1": "1:3", "n2": "1:3"},
        "converged_after_ms": 0.0}
    assert s["convergence"]["weak"]["serializable"]["verdict"] == "unknown"
    # the minority's stale serializable read (1:1 after 1:2 was acknowledged) is not linearizable but
    # is sequential: the reader's own order allows reading 1:1 before the other client's 1:2
    assert s["sequential_consistency"]["weak"]["serializable"]["verdict"] is True
    assert s["sequential_consistency"]["strong"]["linearizable"]["verdict"] is True
    assert s["linearizability"]["strong"]["linearizable"]["verdict"] is True
    assert s["linearizability"]["strong"]["linearizable"]["reads"] == 4  # two load reads, two final reads
    assert s["linearizability"]["weak"]["serializable"]["verdict"] is False
    assert s["system"] == "etcd"
    assert [f["f"] for f in s["faults"]] == ["partition", "heal"] and s["faults"][0]["at_s"] == 1.0
    assert s["ops"] == {"load": 9, "final_reads": 2, "nemesis": 2}
    out = write_failure_summary(d)
    assert json.loads(out.read_text())["schema_version"] == 2 and (d / "availability.json").exists()
    assert read_failure_summary(out) == json.loads(out.read_text())


def test_no_partition_is_not_measured(tmp_path: Path) -> None:
    d = scenario_dir(tmp_path, [op("n1", 1, "put", "k", "1:1", 1500, 1510)])
    s = build_failure_summary(d)
    assert s["partition"] == "not measured: the scenario has no partition that took effect"
    assert s["linearizability"] == {"reads": "not measured: no reads in the history"}
    assert s["lost_writes"]["verdict"] == "unknown"  # no final reads: the checker cannot tell


def test_merge_renumbers_and_orders(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_history(a, [op("n1", 1, "put", "k", "1:1", 10, 11), op("n1", 1, "put", "k", "1:2", 30, 31)])
    write_history(b, [op("n2", 2, "get", "k", None, 20, 21)])
    n = merge_histories([a, b], [nem("noop", 20, 20, {})], tmp_path / "m.jsonl")
    rows = [json.loads(l) for l in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert n == 4 and [r["i"] for r in rows] == [0, 1, 2, 3]
    assert [r["process"] for r in rows] == [1, "nemesis", 2, 1]


def test_levels_of_another_system_are_keyed_by_their_class(tmp_path: Path) -> None:
    part = nem("partition", 2000, 2010, {"groups": [["n1"], ["n2", "n3"]], "labels": ["minority", "majority"]})
    ops = [op("n2", 1, "put", "k", "1:1", 1500, 1510, wc="QUORUM"), part,
           op("n1", 2, "get", "k", None, 2100, 2110, result="1:1", rc="ONE"),
           op("n1", 3, "get", "k", None, 2200, 2210, "info", rc="SERIAL", error="timeout"),
           op("n2", 1, "put", "k", "1:2", 2300, 2400, wc="QUORUM"),
           op("n1", 2, "get", "k", None, 2500, 2510, result="1:1", rc="ONE")]
    d = scenario_dir(tmp_path, ops)
    sc = json.loads((d / "scenario.json").read_text())
    (d / "scenario.json").write_text(json.dumps({**sc, "system": "cassandra"}))
    s = build_failure_summary(d)
    mb = s["partition"]["minority_behaviour"]
    assert mb["writes"] == "not measured: writes are made at a consistency level here: see writes_at"
    assert list(mb["writes_at"]) == ["QUORUM"] and mb["writes_at"]["QUORUM"].startswith("not measured: no QUORUM writes")
    assert mb["reads"]["weak"]["ONE"]["ok"] == 2 and mb["reads"]["strong"]["SERIAL"]["info"] == 1
    assert mb["staleness"]["weak"]["ONE"]["stale_reads"] == 1  # the read at 2.5 s missed 1:2
    assert list(s["linearizability"]) == ["strong", "weak"]
    assert s["linearizability"]["strong"]["SERIAL"]["reads"] == 1  # the one SERIAL read (it timed out)
    assert s["linearizability"]["weak"]["ONE"]["verdict"] is False


def test_a_summary_of_another_schema_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "failure_summary.json"
    f.write_text(json.dumps({"schema_version": 1, "linearizability": {"linearizable_reads": {}}}))
    try:
        read_failure_summary(f)
    except DamagedFile as e:
        assert str(e) == (f"{f}: schema_version 1, this harness reads 2: regenerate it from the scenario's history "
                          "(python -m harness.scenario.failure_summary DIR)")
    else:
        raise AssertionError("schema 1 read as 2")


def test_node_logs_are_found_in_the_run_they_belong_to(tmp_path: Path) -> None:
    d = tmp_path / "20260101T000000Z-x" / "scenarios" / "s"
    assert run_log(d, "/elsewhere/results/.tmp-20260101T000000Z-x/nodes/n1.log") == \
        tmp_path / "20260101T000000Z-x" / "nodes" / "n1.log"
    assert run_log(d, "/dev/null") is None  # the external provider's nodes have no log of the run


def _kill_scenario(tmp_path: Path, system: str) -> tuple[Path, Path]:
    kill = nem("kill", 2000, 2010, {"nodes": ["n1"]})
    restart = nem("restart", 4000, 4010, {"nodes": ["n1"]})
    run = tmp_path / "20260101T000000Z-r"
    (run / "scenarios").mkdir(parents=True)
    d = scenario_dir(run / "scenarios", [op("n2", 1, "put", "k", "1:1", 1500, 1510), kill,
                                         op("n2", 1, "put", "k", "1:2", 2500, 2510), restart])
    (d / "scenario.json").write_text(json.dumps({"name": "t", "system": system, "nodes": 3, "end": 10,
                                                 "source": "t.yaml"}))
    return run, d


def test_hints_from_node_logs_the_run_does_not_have_are_not_measured(tmp_path: Path) -> None:
    run, d = _kill_scenario(tmp_path, "cassandra")
    (d / "nodes.json").write_text(json.dumps({"n1": {"host": "10.0.0.1", "log": "/x/.tmp-r/nodes/n1.log"},
                                              "n2": {"host": "10.0.0.2", "log": "/dev/null"}}))
    pf = build_failure_summary(d)["process_faults"]
    why = f"not measured: node logs not found: /dev/null, {run}/nodes/n1.log"
    assert (pf["windows"][0]["hints_replayed_to_it"], pf["hinted_handoff"]) == (why, why)
    (run / "nodes").mkdir()
    (run / "nodes" / "n1.log").write_text("")
    (d / "nodes.json").write_text(json.dumps({"n1": {"host": "10.0.0.1", "log": "/x/.tmp-r/nodes/n1.log"}}))
    pf = build_failure_summary(d)["process_faults"]
    assert pf["windows"][0]["hints_replayed_to_it"] == {"files": 0, "events": [], "first_after_restore_s":
                                                        "not measured: no replay to this node after it was back"}
    assert pf["hinted_handoff"]["replayed_files"] == 0
    (d / "nodes.json").unlink()
    pf = build_failure_summary(d)["process_faults"]
    assert pf["hinted_handoff"] == "not measured: nodes.json (node logs) not in the scenario dir"


def test_a_system_without_after_fault_findings_gets_no_such_fields(tmp_path: Path) -> None:
    _, d = _kill_scenario(tmp_path, "zookeeper")
    pf = build_failure_summary(d)["process_faults"]
    assert list(pf) == ["windows"]
    assert list(pf["windows"][0]) == ["fault", "nodes", "at_s", "restored_at_s", "others_served"]


def test_an_unreadable_scenario_file_is_an_error_naming_it(tmp_path: Path) -> None:
    d = scenario_dir(tmp_path, [op("n1", 1, "put", "k", "1:1", 1500, 1510)])
    (d / "scenario.json").write_text("{")
    try:
        build_failure_summary(d)
    except DamagedFile as e:
        assert str(e).startswith(f"{d}/scenario.json: not valid JSON")
    else:
        raise AssertionError("a damaged scenario.json was read as {}")
    (d / "scenario.json").write_text("{}")
    (d / "timeline.json").unlink()
    try:
        build_failure_summary(d)
    except DamagedFile as e:
        assert str(e) == f"{d}/timeline.json: missing"
    else:
        raise AssertionError("a missing timeline.json was read as {}")


def test_the_module_entry_point_answers_help_and_bad_input_in_one_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from harness.scenario.failure_summary import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "SCENARIO_DIR" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2 and "required: SCENARIO_DIR" in capsys.readouterr().err
    assert main([str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'none'}: not a directory (give a run's scenarios/<name>/ directory)\n"
    assert main([str(tmp_path)]) == 1  # a directory with no recorded history
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path}: cannot summarize: ") and err.count("\n") == 1 and "Traceback" not in err
