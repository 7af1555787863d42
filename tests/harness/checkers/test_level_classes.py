"""The token checkers and availability take what a read level guarantees from the system's
plugin (harness.registry.level_class), never from a list of names of their own: a stand-in
system whose levels are named unlike any real one is judged by the classes it declares."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness import registry
from harness.api import Level
from harness.checkers.availability import is_service_class
from harness.checkers.late_writes import check_late_writes
from harness.checkers.lost_writes import check_lost_writes
from harness.checkers.stale_reads import check_stale_reads
from harness.errors import ConfigError


@dataclass(frozen=True)
class StandIn:
    name: str = "standin"
    levels: tuple[Level, ...] = (Level("leader-read", "read", "strong", "asks the leader"),
                                 Level("local-read", "read", "weak", "the node's own copy"),
                                 Level("sticky-read", "read", "session", "the client's own writes"))
    default_read_level: str | None = "leader-read"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(registry.SYSTEMS, "standin", StandIn())
    return "standin"


def test_stale_reads_fail_the_verdict_only_at_strong_levels(hb: Any, standin: str) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 30, 40).get(3, "k", "a", 50, 60, rc="local-read")
    r = check_stale_reads(hb.history(), system=standin)
    assert r.verdict is True and r.evidence["by_read_consistency"]["local-read"]["stale"] == 1
    hb.get(4, "k", "a", 70, 80, rc="leader-read")
    assert check_stale_reads(hb.history(), system=standin).verdict is False
    hb2 = type(hb)()
    hb2.put(1, "k", "a", 0, 10).put(2, "k", "b", 30, 40).get(3, "k", "a", 50, 60, rc="sticky-read")
    assert check_stale_reads(hb2.history(), system=standin).verdict is True  # session: not trusted as strong


def test_lost_writes_trust_only_strong_final_reads(hb: Any, standin: str) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).get(9, "k", "a", 100, 110, rc="local-read", final=True)
    r = check_lost_writes(hb.history(), system=standin)
    assert r.verdict == "unknown"  # a weak final read proves nothing
    hb.get(9, "k", "a", 120, 130, rc="leader-read", final=True)
    assert check_lost_writes(hb.history(), system=standin).verdict is False


def test_late_writes_bound_the_effect_with_strong_reads_only(hb: Any, standin: str) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "x", 20, 30, "info", error="timeout") \
        .get(3, "k", "a", 40, 50, rc="leader-read").get(3, "k", "x", 60, 70, rc="leader-read")
    (lw,) = check_late_writes(hb.history(), system=standin).evidence["late_writes"]
    assert lw["proven_late"] is True
    hb2 = type(hb)()
    hb2.put(1, "k", "a", 0, 10).put(2, "k", "x", 20, 30, "info", error="timeout") \
        .get(3, "k", "a", 40, 50, rc="local-read").get(3, "k", "x", 60, 70, rc="leader-read")
    (lw,) = check_late_writes(hb2.history(), system=standin).evidence["late_writes"]
    assert lw["proven_late"] is False  # the earlier read was weak: it proves nothing about the effect time


def test_service_classes_and_an_unknown_level(standin: str) -> None:
    assert [is_service_class(c, standin) for c in ("read_leader-read", "read_local-read", "read_sticky-read",
                                                    "read", "write")] == [True, False, True, True, True]
    with pytest.raises(ConfigError, match="unknown level 'ONE' for standin"):
        is_service_class("read_ONE", standin)
    # without a system the level is looked up over every registered plugin
    assert is_service_class("read_local-read") is False
