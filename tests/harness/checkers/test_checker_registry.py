"""The checker registry: names, lazy import, errors, and the one contract every entry keeps."""
from __future__ import annotations

import sys
from typing import Any

import pytest

from harness.checkers import registry
from harness.checkers.model import CheckResult, History
from harness.checkers.registry import CheckerEntry, CheckerMissing, get_checker


def test_names_default_first() -> None:
    assert registry.names() == ["linearizable", "bounded-staleness", "causal", "consistent-prefix", "convergence",
                                "eventual", "late-writes", "lost-writes", "monotonic-reads", "monotonic-writes", "pram",
                                "ryw", "sequential", "stale-reads", "wfr"]


def test_entries_resolve_to_the_checkers() -> None:
    from harness.checkers.bounded_staleness import check_bounded_staleness
    from harness.checkers.convergence import check_convergence
    from harness.checkers.late_writes import check_late_writes
    from harness.checkers.linearizability import check_linearizability
    from harness.checkers.lost_writes import check_lost_writes
    from harness.checkers.sequential import check_sequential
    from harness.checkers.session import (check_causal, check_consistent_prefix, check_monotonic_reads,
                                          check_monotonic_writes, check_pram, check_read_your_writes,
                                          check_writes_follow_reads)
    from harness.checkers.stale_reads import check_stale_reads

    assert [get_checker(n) for n in registry.names()] == [
        check_linearizability, check_bounded_staleness, check_causal, check_consistent_prefix, check_convergence,
        check_convergence, check_late_writes, check_lost_writes, check_monotonic_reads, check_monotonic_writes,
        check_pram, check_read_your_writes, check_sequential, check_stale_reads, check_writes_follow_reads]


def test_every_checker_keeps_the_contract(hb: Any) -> None:
    """check(history) -> CheckResult, with a verdict; a stale read is a violation for some."""
    h = (hb.put(1, "x", "a", 0, 10).put(1, "x", "b", 20, 30).get(2, "x", "a", 40, 50)
         .get(9, "x", "b", 60, 70, final=True).history())
    verdicts = {}
    for name in registry.names():
        r = get_checker(name)(h)
        assert isinstance(r, CheckResult)
        verdicts[name] = r.verdict
    assert verdicts == {"linearizable": False, "sequential": True, "stale-reads": False,
                        "lost-writes": True, "late-writes": True, "bounded-staleness": False,  # default bound 0v
                        "convergence": True, "eventual": True,
                        # one session per process: process 2's read of the overwritten a breaks none of these
                        "ryw": True, "monotonic-reads": True, "consistent-prefix": True, "causal": True,
                        # no key's order is recorded (no revision): nothing to judge
                        "monotonic-writes": "unknown", "wfr": "unknown", "pram": "unknown"}


def test_sequential_module_is_imported_only_when_asked(monkeypatch: Any) -> None:
    monkeypatch.delitem(sys.modules, "harness.checkers.sequential", raising=False)
    registry.entry("sequential")
    assert "harness.checkers.sequential" not in sys.modules
    get_checker("sequential")
    assert "harness.checkers.sequential" in sys.modules


@pytest.mark.parametrize("target, message", [
    ("harness.checkers.no_such_module:check", "checker module harness.checkers.no_such_module does not exist"),
    ("harness.checkers.sequential:no_such_function",
     "checker module harness.checkers.sequential has no function no_such_function"),
])
def test_broken_entries_name_the_problem(monkeypatch: Any, target: str, message: str) -> None:
    monkeypatch.setitem(registry.CHECKERS, "broken", CheckerEntry(target, "fine", "bad", "test"))
    with pytest.raises(CheckerMissing) as e:
        get_checker("broken")
    assert str(e.value) == message


def test_unknown_name() -> None:
    with pytest.raises(CheckerMissing) as e:
        get_checker("serializable")
    assert str(e.value) == ("unknown checker 'serializable' (expected one of: linearizable, bounded-staleness, "
                            "causal, consistent-prefix, convergence, eventual, late-writes, lost-writes, "
                            "monotonic-reads, monotonic-writes, pram, ryw, sequential, stale-reads, wfr)")


def test_a_callable_entry_is_used_as_is(monkeypatch: Any) -> None:
    def stand_in(history: History) -> CheckResult:
        return CheckResult("stand-in", True)

    monkeypatch.setitem(registry.CHECKERS, "stand-in", CheckerEntry(stand_in, "fine", "bad", "test"))
    assert get_checker("stand-in") is stand_in
