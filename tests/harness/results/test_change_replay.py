"""The replay of a growing history (harness/benchmarks/change_replay.py): the verdict after
each batch, with and without the noise rule, on a constructed history and a fixed finder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.benchmarks.change_replay import batch_order, main, replay
from harness.results.changes import Settings
from harness.results.history import load_history
from tests.harness.results.test_changes import BEFORE, add_run


def finder(series: dict[str, list[float]], settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """A change point before the 11th point of every series long enough."""
    return {sid: [{"index": 10, "pvalue": 0.0001}] if len(v) > 10 else [] for sid, v in series.items()}


def history(root: Path) -> None:
    """13 batches of three runs at median - 1, median, median + 1 (run sd 1): ten medians around
    10 (BEFORE), then three at 10.5-10.55, a shift of about 0.5 run sd."""
    for k, m in enumerate(BEFORE[:10] + [10.5, 10.52, 10.55]):
        for j, v in enumerate((m - 1, m, m + 1)):
            add_run(root, 3 * k + j, round(v, 4), batch={"id": f"night-{k:02d}", "index": j + 1, "of": 3})


def test_replay_reports_the_shift_only_without_the_noise_rule(tmp_path: Path) -> None:
    history(tmp_path)
    assert batch_order(load_history([tmp_path]).frame) == [f"night-{k:02d}" for k in range(13)]
    doc = replay(tmp_path, find=finder)
    assert (doc["series"], doc["batches"]) == (4, 13)
    got = [(r["batches"], r["rules"], r["reported"]) for r in doc["rows"]]
    # 10-12 batches: 0-2 points after the change point (pending); 13: three points after, and
    # Mann-Whitney's exact p for ten below three is 2 / C(13, 3) = 0.007: reported only without the rule
    assert got == [(10, "project", 0), (10, "without noise rule", 0), (11, "project", 0),
                   (11, "without noise rule", 0), (12, "project", 0), (12, "without noise rule", 0),
                   (13, "project", 0), (13, "without noise rule", 1)]
    assert doc["rows"][-1]["series"] == ["etcd etcd-put-256B put c16 p99_ms"] and doc["rows"][-1]["last_batch"] == "night-12"


def test_a_results_path_that_is_not_a_directory_is_exit_2(tmp_path: Path) -> None:
    assert main(["--results", str(tmp_path / "none")]) == 2
