"""Late writes: failed writes observed (a violation), indeterminate writes seen late, and late
writes that overwrote a newer acknowledged value."""
from __future__ import annotations

from typing import Any

from harness.checkers.late_writes import check_late_writes
from harness.checkers.linearizability import check_linearizability


def late_overwrite(hb: Any) -> Any:
    """x1 times out at 1 s; x2 is written and seen; x1 shows up 30 s after the give-up."""
    return hb.put(1, "k", "x1", 0, 1000, type="info", error="timeout") \
        .put(2, "k", "x2", 2000, 2010).get(3, "k", "x2", 3000, 3010, rc="linearizable") \
        .get(3, "k", "x1", 31000, 31010, rc="linearizable")


def test_late_write_overwriting_a_newer_acked_value(hb: Any) -> None:
    h = late_overwrite(hb).history()
    r = check_late_writes(h)
    assert r.verdict is True  # allowed by the info contract, but reported
    (late,) = r.evidence["late_writes"]
    assert late["write"]["value"] == "x1" and late["delay_ms"] == 30000.0
    assert late["first_read"]["invoke_ms"] == 31000.0
    assert late["proven_late"] is True and late["late_by_at_least_ms"] == 2000.0
    assert late["took_effect_after"]["result"] == "x2"
    over = late["overwrote_newer"]
    assert over["value"] == "x2" and over["newer_than_give_up"] is True and over["write"]["complete_ms"] == 2010.0
    assert check_linearizability(h).verdict is True  # linearizable nonetheless


def test_threshold_filters_short_delays(hb: Any) -> None:
    h = late_overwrite(hb).history()
    assert check_late_writes(h, min_delay_ms=30000).evidence["late_writes"] == []
    assert len(check_late_writes(h, min_delay_ms=29999).evidence["late_writes"]) == 1


def test_info_write_seen_without_proof_of_lateness(hb: Any) -> None:
    # Only observed after the give-up, but nothing shows it was not already in effect.
    hb.put(1, "k", "x1", 0, 1000, type="info").get(2, "k", "x1", 5000, 5010)
    (late,) = check_late_writes(hb.history()).evidence["late_writes"]
    assert late["delay_ms"] == 4000.0 and late["proven_late"] is False and "overwrote_newer" not in late


def test_serializable_reads_prove_nothing(hb: Any) -> None:
    hb.put(1, "k", "x1", 0, 1000, type="info").get(2, "k", None, 2000, 2010, rc="serializable") \
        .get(2, "k", "x1", 5000, 5010, rc="serializable")
    (late,) = check_late_writes(hb.history()).evidence["late_writes"]
    assert late["proven_late"] is False and late["delay_ms"] == 4000.0


def test_info_write_never_observed_or_seen_before_give_up(hb: Any) -> None:
    hb.put(1, "k", "x1", 0, 1000, type="info").get(2, "k", "x1", 500, 510).put(1, "j", "y", 0, 10, type="info")
    r = check_late_writes(hb.history())
    assert r.verdict is True and r.evidence["late_writes"] == []


def test_failed_write_observed_is_a_violation(hb: Any) -> None:
    hb.put(1, "k", "f1", 0, 10, type="fail", error="no_leader").get(2, "k", "f1", 20, 30, rc="serializable")
    r = check_late_writes(hb.history())
    assert r.verdict is False
    (seen,) = r.evidence["failed_writes_observed"]
    assert seen["write"]["value"] == "f1" and seen["delay_ms"] == 10.0


def test_failed_cas_observed_is_a_violation(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).cas(2, "k", "a", "b", 20, 30, type="fail").get(3, "k", "b", 40, 50)
    assert check_late_writes(hb.history()).verdict is False
