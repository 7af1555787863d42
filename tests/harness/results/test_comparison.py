"""The etcd-vs-Cassandra table: every cell a measurement with its source, or 'not measured'."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import DamagedFile
from harness.results.comparison import RowQuery, comparison_rows, write_comparison
from tests.harness.results.fake_runs import measurement_run


def _run(root: Path, name: str, system: str, rows: list[dict], verdicts: list[dict] | None = None) -> Path:
    return measurement_run(root, name, system, rows, verdicts)


def _row(workload: str, op: str, **kw: float) -> dict:
    return {"tool": "harness", "workload": workload, "op": op, "outcome": "ok", **kw}


def test_row_query_picks_exactly_one_row() -> None:
    rows = [_row("w", "put", p50_ms=1.5), _row("w", "get", p50_ms=0.7), {**_row("w", "put", p50_ms=9.0), "tool": "x"}]
    assert RowQuery("w", "put", "p50_ms").pick(rows) == 1.5
    assert RowQuery("w", "cas", "p50_ms").pick(rows).startswith("not measured: 0 summary rows")
    assert RowQuery("w", "put", "p99_ms").pick(rows).startswith("not measured: p99_ms is empty")


def test_cells_carry_their_source_and_missing_runs_are_not_measured(tmp_path: Path) -> None:
    etcd = _run(tmp_path, "e1", "etcd", [_row("etcd-put-256B", "put", p50_ms=16.9, p99_ms=52.5, p999_ms=84.0)])
    cass = _run(tmp_path, "c1", "cassandra", [_row("cassandra-put-256B", "put", p50_ms=30.0)],
                [{"workload": "cassandra-lwt-register", "checker": "linearizability", "verdict": True}])
    rows = {(r["metric"], r["system"]): r for r in comparison_rows({"etcd": etcd, "cassandra": cass})}
    e = rows[("write_latency_p50_256B", "etcd")]
    assert (e["value"], e["run_id"], e["file"]) == (16.9, "e1", "summary.json")
    assert json.loads(e["query"]) == {"workload": "etcd-put-256B", "op": "put", "stat": "p50_ms", "outcome": "ok"}
    assert rows[("write_latency_p50_256B", "cassandra")]["value"] == 30.0
    assert rows[("register_linearizable", "cassandra")]["value"] is True
    assert rows[("write_latency_p99_256B", "cassandra")]["value"].startswith("not measured")
    assert rows[("register_linearizable", "etcd")]["value"].startswith("not measured")  # no scenario in e1
    none = comparison_rows({"etcd": etcd, "cassandra": None})
    assert all(r["value"].startswith("not measured: no complete cassandra run") for r in none if r["system"] == "cassandra")


def test_write_comparison_publishes_a_run(tmp_path: Path) -> None:
    etcd = _run(tmp_path / "src", "e1", "etcd", [])
    out = write_comparison({"etcd": etcd, "cassandra": None}, tmp_path / "results")
    assert out.name.endswith("-comparison") and not out.name.startswith(".tmp")
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "comparison" and m["source_runs"] == {"etcd": "e1", "cassandra": None}
    assert (out / "comparison.csv").read_text().splitlines()[0] == "metric,system,value,unit,run_id,file,query,note"


def test_a_damaged_run_is_an_error_never_not_measured(tmp_path: Path) -> None:
    etcd = _run(tmp_path, "e1", "etcd", [])
    cass = _run(tmp_path, "c1", "cassandra", [])
    (cass / "summary.json").write_text('{"rows": ')
    with pytest.raises(DamagedFile, match=f"^{cass}/summary.json: not valid JSON: Expecting value at line 1 column 10$"):
        comparison_rows({"etcd": etcd, "cassandra": cass})
    fs = etcd / "scenarios" / "etcd-leader-in-minority" / "failure_summary.json"
    fs.parent.mkdir(parents=True)
    fs.write_bytes(b"\x00\xff")
    with pytest.raises(DamagedFile, match=f"^{fs}: not UTF-8 \\(byte 1\\)$"):
        comparison_rows({"etcd": etcd, "cassandra": None})
