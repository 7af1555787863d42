"""Bounded staleness: K versions or T behind, exact values on crafted histories, the bound
syntax, levels, event-ordered logs, and `gbench check --model bounded-staleness --bound`."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.bounded_staleness import Bound, check_bounded_staleness, parse_bound
from harness.checkers.check_command import run_check
from harness.errors import ArgumentError


def test_bounds_parse_and_bad_ones_say_what_is_expected() -> None:
    assert parse_bound("3v") == Bound("versions", 3, "3v")
    assert parse_bound(" 100ms ") == Bound("time", 100_000_000.0, "100ms")
    assert [parse_bound(t).value for t in ("5s", "250us", "1.5ms", "7ns")] == [5e9, 250_000.0, 1_500_000.0, 7.0]
    for bad in ("", "3", "ms", "-1ms", "1.5v", "3 versions", "10m"):
        with pytest.raises(ValueError, match="staleness bound|whole number"):
            parse_bound(bad)


def _four_versions_then_a_stale_read(hb: Any) -> Any:
    # a..d acked at 10, 30, 50, 70 ms; the read at 100 ms returns a: 3 versions behind, superseded by b
    # (acked at 30 ms) 70 ms before it began
    return hb.put(1, "k", "a", 0, 10).put(1, "k", "b", 20, 30).put(1, "k", "c", 40, 50) \
        .put(1, "k", "d", 60, 70).get(2, "k", "a", 100, 110, rc="ONE").get(2, "k", "d", 120, 130, rc="ONE")


def test_a_version_bound(hb: Any) -> None:
    h = _four_versions_then_a_stale_read(hb).history()
    assert check_bounded_staleness(h, "3v").verdict is True  # exactly 3 behind: within
    r = check_bounded_staleness(h, "2v")
    assert r.verdict is False
    (v,) = r.evidence["violations"]
    assert (v["key"], v["returned"], v["versions"], v["behind_ms"]) == ("k", "a", 3, 70.0)
    assert v["oldest_missed"]["value"] == "b" and v["read"]["invoke_ms"] == 100.0
    assert r.evidence["by_read_consistency"] == {"ONE": {"reads": 2, "violations": 1, "max_versions": 3,
                                                         "max_behind_ms": 70.0}}


def test_a_time_bound(hb: Any) -> None:
    h = _four_versions_then_a_stale_read(hb).history()
    assert check_bounded_staleness(h, "70ms").verdict is True
    assert check_bounded_staleness(h, "69.9ms").verdict is False
    assert check_bounded_staleness(h, "0v").verdict is False  # the default bound: no read misses anything


def test_overlapping_writes_are_not_counted_so_a_violation_is_certain(hb: Any) -> None:
    # b overlaps a's write: it may have come first, so reading a after both is 0 behind
    hb.put(1, "k", "a", 0, 50).put(2, "k", "b", 10, 40).get(3, "k", "a", 100, 110)
    r = check_bounded_staleness(hb.history(), "0v")
    assert r.verdict is True and r.evidence["by_read_consistency"]["default"]["max_versions"] == 0


def test_levels_judged_and_nothing_judged(hb: Any) -> None:
    h = _four_versions_then_a_stale_read(hb).get(3, "k", "d", 140, 150, rc="QUORUM").history()
    r = check_bounded_staleness(h, "0v", levels=["QUORUM"])
    assert r.verdict is True and list(r.evidence["by_read_consistency"]) == ["QUORUM"]
    r = check_bounded_staleness(h, "0v", levels=["ALL"])
    assert r.verdict == "unknown" and "no read at the levels judged (ALL)" in r.evidence["error"]


def test_a_time_bound_on_an_event_ordered_log_is_undecided(tmp_path: Path) -> None:
    from harness.checkers.formats import load_history

    f = tmp_path / "jepsen.log"
    f.write_text("INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n"
                 "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t1\n")
    h = load_history(str(f))
    assert check_bounded_staleness(h, "100ms").verdict == "unknown"
    assert check_bounded_staleness(h, "0v").verdict is True


def test_gbench_check_takes_the_bound(hb: Any, tmp_path: Path) -> None:
    path = _four_versions_then_a_stale_read(hb).write(tmp_path / "h.jsonl")
    out = io.StringIO()
    assert run_check([str(path)], model="bounded-staleness", bound="3v", out=out) == 0
    assert out.getvalue().split()[:2] == [str(path), "bounded"]
    out = io.StringIO()
    assert run_check([str(path)], model="bounded-staleness", bound="50ms", out=out) == 1
    assert out.getvalue().split()[1] == "not-bounded"
    with pytest.raises(ArgumentError, match="needs --bound"):
        run_check([str(path)], model="bounded-staleness")
    with pytest.raises(ArgumentError, match="takes no bound"):
        run_check([str(path)], model="linearizable", bound="3v")
    with pytest.raises(ArgumentError, match="not a staleness bound"):
        run_check([str(path)], model="bounded-staleness", bound="soon")
