"""The signal benchmark's pure parts (``harness.benchmarks.signal_exit``): which signal a trial
sends, where in its moment, whether the harness's INCOMPLETE names the intended moment, the
per-cell summary and the merge of an existing file; and the ledger's cleanup of rules that
live in a namespace the ledger also removes."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.benchmarks.signal_exit import (MOMENTS, SCENARIO, ScenarioTimes, merge_rows, moment_confirmed, provenance,
                                            signal_for, spread, summarize)
from harness.providers.ledger import CleanupResult, Ledger, cleanup_run, describe, pending


def test_every_third_trial_is_sigterm() -> None:
    assert [signal_for(t) for t in range(10)] == ["SIGINT", "SIGINT", "SIGTERM"] * 3 + ["SIGINT"]


def test_spread_covers_the_moment_without_repeating() -> None:
    points = [spread(t, 2.0, 7.0) for t in range(10)]
    assert points[0] == 2.0 and all(2.0 <= p < 7.0 for p in points)
    assert len({round(p, 6) for p in points}) == 10
    assert max(points) - min(points) > 4.0  # ten trials reach across the window
    assert spread(3, 5.0, 5.0) == 5.0 and spread(3, 5.0, 4.0) == 5.0


@pytest.mark.parametrize("intended,said,ok", [
    ("nemesis", "interrupted by SIGINT at nemesis (partition at 12s)", True),
    ("load", "interrupted by SIGTERM at load", True),
    ("load", "interrupted by SIGTERM at load workers starting", False),
    ("warm-up", "interrupted by SIGINT at load", False),
    ("cluster start", "interrupted by SIGINT at cluster start", True),
    ("final reads", None, False),
])
def test_moment_confirmed(intended: str, said: str | None, ok: bool) -> None:
    assert moment_confirmed(intended, said) is ok


def _row(system: str, moment: str, trial: int, secs: float | None, **kw: object) -> dict[str, object]:
    return {"system": system, "moment": moment, "trial": trial, "signal": signal_for(trial), "seconds_to_exit": secs,
            "bound_s": 15.0, "leftovers": [], "over_bound": False, "moment_confirmed": True, **kw}


def test_summary_per_cell_in_moment_order() -> None:
    rows = [_row("etcd", "load", 0, 1.0), _row("etcd", "load", 1, 3.0), _row("etcd", "load", 2, 2.0),
            _row("etcd", "cluster start", 0, 0.5, leftovers=["netns gb-1-n1"]),
            _row("etcd", "cluster start", 1, 16.0, over_bound=True),
            _row("etcd", "nemesis", 0, None, error="moment not reached", moment_confirmed=False)]
    s = summarize(rows)
    assert [c["moment"] for c in s] == ["cluster start", "load", "nemesis"]
    load = s[1]
    assert (load["trials"], load["max_s"], load["median_s"], load["min_s"]) == (3, 3.0, 2.0, 1.0)
    assert load["signals"] == {"SIGINT": 2, "SIGTERM": 1} and load["moment_confirmed"] == 3
    start = s[0]
    assert (start["over_bound"], start["with_leftovers"], start["max_s"]) == (1, 1, 16.0)
    assert s[2]["measured"] == 0 and s[2]["max_s"] is None and s[2]["moment_not_reached"] == 1


def test_merge_keeps_the_cells_not_run_again() -> None:
    old = [_row("etcd", "load", 0, 1.0), _row("cassandra", "load", 0, 9.0)]
    new = [_row("cassandra", "load", 0, 7.0)]
    merged = merge_rows(old, new, [("cassandra", "load")])
    assert [(r["system"], r["seconds_to_exit"]) for r in merged] == [("etcd", 1.0), ("cassandra", 7.0)]


def test_merge_goes_on_from_the_first_trial() -> None:
    """A continuing invocation (--first-trial 2) keeps trials 0-1 of the cells it runs and replaces
    trial 2 onwards; the cells it does not run stay whole."""
    old = [_row("cassandra", "load", t, 10.0 + t) for t in range(3)] + [_row("etcd", "load", 4, 1.0)]
    new = [_row("cassandra", "load", t, 20.0 + t) for t in (2, 3)]
    merged = merge_rows(old, new, [("cassandra", "load")], first_trial=2)
    assert [(r["system"], r["seconds_to_exit"]) for r in merged] == [
        ("cassandra", 10.0), ("cassandra", 11.0), ("etcd", 1.0), ("cassandra", 22.0), ("cassandra", 23.0)]


def test_merge_redoes_a_range_of_trials_and_keeps_the_later_ones() -> None:
    """--first-trial 1 --trials 2 redoes trial 1 only: trials 0 and 2 stay."""
    old = [_row("cassandra", "load", t, 10.0 + t) for t in range(3)]
    merged = merge_rows(old, [_row("cassandra", "load", 1, 31.0)], [("cassandra", "load")], first_trial=1, trials=2)
    assert sorted((r["trial"], r["seconds_to_exit"]) for r in merged) == [(0, 10.0), (1, 31.0), (2, 12.0)]


def test_the_benchmark_scenarios_have_every_moment() -> None:
    for system, path in SCENARIO.items():
        t = ScenarioTimes.of(path)
        assert 0 < t.warmup_s < t.fault_at_s < t.heal_at_s, system
    assert MOMENTS == ("cluster start", "warm-up", "load", "nemesis", "final reads")


def test_rules_inside_a_ledgered_namespace_go_with_it(tmp_path: Path) -> None:
    """cleanup_run does not run `ip netns exec <ns> iptables -D` per rule for a namespace it
    deletes anyway (here the namespace never existed, so deleting it is a no-op); a rule of a
    namespace the ledger does not list is still checked and deleted one by one."""
    led = Ledger.create("rules-go", directory=tmp_path)
    led.record("netns", name="gb-test-nonexistent-n1")
    inside = ["ip", "netns", "exec", "gb-test-nonexistent-n1", "iptables", "-w", "5"]
    led.record("iptables_rule", delete_argv=[*inside, "-D", "INPUT", "-j", "DROP"],
               check_argv=[*inside, "-C", "INPUT", "-j", "DROP"], node="n1")
    assert pending(led) == [f"iptables rule ({' '.join(inside)} -D INPUT -j DROP)", "netns gb-test-nonexistent-n1"]
    progress = CleanupResult(led.run_id)
    result = cleanup_run(led, result=progress)
    assert result.ok and "1 iptables rule(s) went with their namespaces" in result.removed
    assert pending(led, progress) == [] and not led.path.exists()

    other = Ledger.create("rules-alone", directory=tmp_path)
    alone = ["ip", "netns", "exec", "gb-test-other-ns", "iptables", "-w", "5"]
    other.record("iptables_rule", delete_argv=[*alone, "-D", "INPUT", "-j", "DROP"],
                 check_argv=[*alone, "-C", "INPUT", "-j", "DROP"], node="n1")
    alone_result = cleanup_run(other)  # its check fails (no such namespace): nothing to delete
    assert alone_result.ok and alone_result.removed == [] and not other.path.exists()


def test_describe_ledger_entries() -> None:
    assert describe({"kind": "process", "key": "process:n1", "node": "n1", "pid": 51}) == "process 51 (node n1)"
    assert describe({"kind": "process", "key": "process:n2", "node": "n2", "pid": None}) == "process (starting) (node n2)"
    assert describe({"kind": "dir", "key": "dir:/x/y/z", "path": "/x/y/z"}) == "dir /x/y/z"
    assert describe({"kind": "bridge", "key": "bridge:gb1-br", "name": "gb1-br"}) == "bridge gb1-br"


def test_provenance_names_the_invocation_of_each_cell_and_overlaps() -> None:
    invocations = [
        {"planned": {"etcd/load": 10, "etcd/nemesis": 10}, "started_utc": "2026-12-04T21:44", "finished_utc": "2026-12-04T21:58"},
        {"planned": {"cassandra/load": 10}, "started_utc": "2026-12-04T21:59", "finished_utc": None},
        {"planned": {"etcd/load": 10}, "started_utc": "2026-12-04T22:00", "finished_utc": "2026-12-04T22:07"},
        {"planned": {"cassandra/load": 5}, "first_trial": 5, "started_utc": "2026-12-04T23:00", "finished_utc": None},
    ]
    rows = [_row("etcd", "load", 0, 1.0), _row("etcd", "nemesis", 0, 1.0), _row("cassandra", "load", 0, 3.0)]
    p = provenance(invocations, rows)
    assert p["cell_measured_by_invocation"] == {"cassandra/load": [1, 3], "etcd/load": [2], "etcd/nemesis": [0]}
    assert p["invocations_running_at_the_same_time"] == {0: [], 1: [2, 3], 2: [1], 3: [1]}
