from __future__ import annotations

import datetime as dt
from pathlib import Path

from harness.results.percentiles import nearest_rank, summarize
from harness.results.store import RunDirectory, find_run, list_runs, new_run_id


def test_run_id_format() -> None:
    t = dt.datetime(2026, 11, 24, 6, 15, 0, tzinfo=dt.timezone.utc)
    assert new_run_id("bench suite/1", t) == "20261124T061500Z-bench-suite-1"


def test_run_is_invisible_until_complete(tmp_path: Path) -> None:
    rd = RunDirectory.create("bench", tmp_path)
    rd.write_json("manifest.json", {"run_id": rd.run_id})
    assert [r["state"] for r in list_runs(tmp_path)] == ["in progress (or crashed)"]
    final = rd.complete()
    assert final == tmp_path / rd.run_id and (final / "manifest.json").exists()
    assert [r["state"] for r in list_runs(tmp_path)] == ["complete"]
    assert find_run("latest", tmp_path) == final


def test_abandoned_run_is_marked_incomplete(tmp_path: Path) -> None:
    rd = RunDirectory.create("bench", tmp_path)
    where = rd.abandon("interrupted")
    assert where is not None and where.name.endswith(".incomplete")
    assert (where / "INCOMPLETE").read_text() == "interrupted\n"
    assert [r["state"] for r in list_runs(tmp_path)] == ["incomplete"]


def test_nearest_rank_exact() -> None:
    xs = list(range(1, 11))
    assert [nearest_rank(xs, p) for p in (10, 50, 90, 99, 100)] == [1, 5, 9, 10, 10]
    assert nearest_rank([], 50) is None
    s = summarize([5, 1, 3])
    assert (s["p50"], s["p99"], s["max"], s["count"]) == (3, 5, 5, 3)
