"""Verdict merging and check_safe."""
from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.linearizability import LinearizabilityChecker
from harness.checkers.model import CheckResult, History, check_safe, compose, merge_verdicts


@pytest.mark.parametrize("verdicts, merged", [
    ([], True),
    ([True, True], True),
    ([True, "unknown"], "unknown"),
    (["unknown", False, True], False),
    ([False, "unknown"], False),
])
def test_false_beats_unknown_beats_true(verdicts: list[Any], merged: Any) -> None:
    assert merge_verdicts(verdicts) == merged


def test_compose_keeps_each_result() -> None:
    r = compose([CheckResult("a", True), CheckResult("b", "unknown", {"error": "x"})], "all")
    assert r.verdict == "unknown" and r.evidence["b"]["evidence"] == {"error": "x"}
    assert not r.valid


def test_check_safe_turns_an_exception_into_unknown() -> None:
    def broken(history: History) -> CheckResult:
        raise KeyError("boom")

    r = check_safe(broken, History((), "history"))
    assert r.verdict == "unknown" and r.checker == "broken" and "KeyError" in r.evidence["error"]


def test_check_safe_runs_protocol_checkers(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 1)
    r = check_safe(LinearizabilityChecker(), hb.history())
    assert r.verdict is True and r.checker == "linearizability"
