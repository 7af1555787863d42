"""The etcd-vs-Cassandra table: every cell a measurement with its source, or 'not measured'."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError, DamagedFile
from harness.results.comparison import RowQuery, comparison_rows, format_comparison, load_metrics, write_comparison
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


def test_n_systems_one_column_each_and_a_system_without_cells_is_not_measured(tmp_path: Path) -> None:
    etcd = _run(tmp_path, "e1", "etcd", [_row("etcd-put-256B", "put", p50_ms=16.9)])
    cass = _run(tmp_path, "c1", "cassandra", [_row("cassandra-put-256B", "put", p50_ms=30.0)])
    third = _run(tmp_path, "z1", "third", [_row("third-put-256B", "put", p50_ms=7.0)])
    rows = comparison_rows({"third": third, "etcd": etcd, "cassandra": cass})
    assert [r["system"] for r in rows[:3]] == ["third", "etcd", "cassandra"]
    assert [r["value"] for r in rows[:3]] == [
        "not measured: workloads/comparisons/metrics.yaml defines no write_latency_p50_256B cell for third", 16.9, 30.0]
    assert len(rows) == 3 * len(load_metrics())
    assert format_comparison(rows).splitlines()[:2] == [
        f"{'metric':40s} {'unit':12s} {'third':>22s} {'etcd':>22s} {'cassandra':>22s}",
        f"{'write_latency_p50_256B':40s} {'ms':12s} {'not measured':>22s} {'16.9':>22s} {'30.0':>22s}"]


def test_metrics_are_data_with_named_steps(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text("metrics:\n"
                 "  - {metric: share, unit: share, cells: {a: {json: x.json, describe: d,\n"
                 "      path: [rows, {first: {k: 2}}, {fn: ok_share}]}, b: {not_measured: no such thing}}}\n")
    [m] = load_metrics(f)
    a = _run(tmp_path, "a1", "a", [])
    (a / "x.json").write_text(json.dumps({"rows": [{"k": 1, "ok": 1, "attempted": 1}, {"k": 2, "ok": 1, "attempted": 4}]}))
    assert m.cells["a"].read(a) == {"value": 0.25, "file": "x.json", "query": "d"}
    assert m.cells["b"].read(a)["value"] == "not measured: no such thing"


@pytest.mark.parametrize("text, field, reason", [
    ("metrics: []", "metrics", "a non-empty list of metrics"),
    ("metrics: [{metric: m, unit: ms, cells: {a: {summary: {workload: w, op: put}}}}]", "metrics[0].cells.a.summary.stat",
     "required text, got None"),
    ("metrics: [{metric: m, unit: ms, cells: {a: {json: f, describe: d, path: [{fn: nope}]}}}]",
     "metrics[0].cells.a.path[0]", "{first: {field: value, ...}} or {fn: NAME} with NAME one of available_side, "
     "ok_share, got {'fn': 'nope'}"),
    ("metrics: [{metric: m, unit: ms, cells: {a: {not_measured: x, json: f}}}]", "metrics[0].cells.a",
     "exactly one of summary, json, not_measured"),
    ("metrics: [{metric: m, unit: ms, cells: {a: {not_measured: x}}}, {metric: m, unit: s, cells: {a: {not_measured: y}}}]",
     "metrics[1].metric", "'m' is defined twice"),
    ("metrics: [{metric: m, unit: ms, colour: red, cells: {a: {not_measured: x}}}]", "metrics[0].colour",
     "unknown field (allowed: cells, metric, note, unit)"),
])
def test_a_bad_metrics_file_names_the_field(tmp_path: Path, text: str, field: str, reason: str) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_metrics(f)
    assert (ei.value.field, ei.value.reason) == (field, reason)


def test_write_comparison_publishes_a_run(tmp_path: Path) -> None:
    etcd = _run(tmp_path / "src", "e1", "etcd", [])
    out = write_comparison({"etcd": etcd, "cassandra": None}, tmp_path / "results")
    assert out.name.endswith("-comparison") and not out.name.startswith(".tmp")
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "comparison" and m["source_runs"] == {"etcd": "e1", "cassandra": None}
    assert (out / "comparison.csv").read_text().splitlines()[0] == "metric,system,value,unit,run_id,file,query,note"


def test_ok_share_only_of_numbers() -> None:
    from harness.results.comparison import _ok_share

    assert _ok_share({"ok": 1, "attempted": 4}) == 0.25
    assert [_ok_share(d) for d in ({"ok": None, "attempted": 3}, {"ok": 1, "attempted": 0}, {"ok": True, "attempted": 2},
                                   {"ok": 1, "attempted": float("inf")}, {"ok": "1", "attempted": 2}, [1, 2], None)] == \
        [None] * 7


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


# Property: whatever the JSON files `gbench compare` and `compare-scenarios` read hold, the
# result is a table (exit 0) or one line naming a file of a run (exit 1), never a traceback.
_REPO = Path(__file__).resolve().parents[3]
_REFERENCE = {  # committed reference runs: the files the comparison reads, nothing else
    "20261201T223607Z-etcd": ["manifest.json", "summary.json",
                              "scenarios/etcd-leader-in-minority/failure_summary.json",
                              "scenarios/etcd-leader-in-minority/availability.json"],
    "20261201T224211Z-cassandra": ["manifest.json", "summary.json", "visibility/visibility.json",
                                   "scenarios/cassandra-partition-2-3/failure_summary.json",
                                   "scenarios/cassandra-partition-2-3/availability.json",
                                   "scenarios/cassandra-kill-during-writes/failure_summary.json"],
}
_FILES = {(run, f): (_REPO / "results" / run / f).read_bytes() for run, fs in _REFERENCE.items() for f in fs}
_FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"  # as in tests/harness/test_input_properties.py
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                     max_leaves=8)


def _containers(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths of every value in ``doc`` (the root included)."""
    out = [prefix]
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for k, v in items:
        out += _containers(v, prefix + (k,))
    return out


@settings(max_examples=3000 if _FUZZ else 100, deadline=None, derandomize=not _FUZZ, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(target=st.sampled_from(sorted(_FILES)), data=st.data())
def test_compare_never_a_traceback_whatever_the_files_hold(target: tuple[str, str], data: st.DataObject) -> None:
    import contextlib
    import io
    import tempfile

    from harness import cli

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for (run, f), raw in _FILES.items():
            (root / run / f).parent.mkdir(parents=True, exist_ok=True)
            (root / run / f).write_bytes(raw)
        path = root / target[0] / target[1]
        if data.draw(st.booleans(), label="raw bytes"):
            raw = path.read_bytes()
            path.write_bytes(raw[: data.draw(st.integers(0, len(raw)), label="cut")])
        else:
            doc = json.loads(path.read_text())
            where = data.draw(st.sampled_from(_containers(doc)), label="path")
            value = data.draw(_json, label="value")
            if not where:
                doc = value
            else:
                parent = doc
                for k in where[:-1]:
                    parent = parent[k]
                parent[where[-1]] = value
            path.write_text(json.dumps(doc))
        for argv in (["compare", "20261201T223607Z-etcd", "20261201T224211Z-cassandra"],
                     ["compare-scenarios", "etcd-leader-in-minority", "20261201T223607Z-etcd"]):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = cli.main([*argv, "--results", d])
            lines = err.getvalue().splitlines()
            if rc == 1:  # a damaged file: named
                assert len(lines) == 1 and lines[0].startswith(f"gbench: error: {d}/"), err.getvalue()
            elif rc == 2:  # the mutation changed what the run is (its system or kind): the argument is wrong
                assert len(lines) == 1 and lines[0].startswith("gbench: error: RUN"), err.getvalue()
            else:
                assert rc == 0, err.getvalue()
