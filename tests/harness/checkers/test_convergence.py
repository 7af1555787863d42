"""Convergence: replicas agreeing after writes stop, on crafted histories with exact values."""
from __future__ import annotations

from typing import Any

from harness.checkers.convergence import candidates, check_convergence


def test_replicas_that_catch_up_converge_and_the_time_it_took(hb: Any) -> None:
    # writes a (0-10), b (20-30); n2 still returns a at 40 and 50, then b from 70; n1 has b at 35
    hb.put(1, "k", "a", 0, 10, node="n1").put(1, "k", "b", 20, 30, node="n1") \
        .get(2, "k", "b", 35, 36, node="n1").get(3, "k", "a", 40, 41, node="n2") \
        .get(3, "k", "a", 50, 51, node="n2").get(3, "k", "b", 70, 71, node="n2").get(3, "k", "b", 90, 91, node="n2")
    r = check_convergence(hb.history())
    assert r.verdict is True
    assert r.evidence["keys"]["k"] == {"converged": True, "quiet_at": 30.0, "candidates": ["b"],
                                       "last_read_by_node": {"n1": "b", "n2": "b"}, "converged_after_ms": 40.0}
    assert (r.evidence["keys_converged"], r.evidence["max_converged_after_ms"]) == (1, 40.0)


def test_replicas_left_disagreeing_diverge(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10, node="n1").put(1, "k", "b", 20, 30, node="n1") \
        .get(2, "k", "b", 40, 41, node="n1").get(3, "k", "a", 50, 51, node="n2")
    r = check_convergence(hb.history())
    assert r.verdict is False and r.evidence["keys_diverged"] == 1
    k = r.evidence["keys"]["k"]
    assert (k["converged"], k["last_read_by_node"], k["converged_after_ms"]) == (False, {"n1": "b", "n2": "a"}, None)


def test_agreeing_on_a_value_no_write_left_last_is_not_convergence(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(1, "k", "b", 20, 30).get(2, "k", "a", 40, 41, node="n1") \
        .get(3, "k", "a", 50, 51, node="n2")
    assert check_convergence(hb.history()).verdict is False


def test_candidates_concurrent_indeterminate_failed_and_deleted(hb: Any) -> None:
    ops = hb.put(1, "k", "a", 0, 50).put(2, "k", "b", 10, 40).put(3, "k", "c", 60, 65, type="info") \
        .put(4, "k", "d", 70, 80, type="fail").history().ops
    assert candidates(list(ops[:2])) == ["a", "b"]  # overlapping: either may be last
    assert candidates(list(ops)) == ["a", "b", "c"]  # c may or may not have taken effect; d did not
    ops = type(hb)().put(1, "k", "a", 0, 10).delete(1, "k", 20, 30).cas(2, "k", "x", "y", 40, 50, result=True) \
        .history().ops
    assert candidates(list(ops[:2])) == [None]  # deleted after a was acknowledged
    assert candidates([]) == [None]


def test_a_key_whose_only_writes_are_indeterminate_may_still_be_absent(hb: Any) -> None:
    # a put in flight when its primary was killed (info): nothing may have been written; every
    # node reading the key absent is convergence, as is every node reading "a"
    hb.put(1, "k", "a", 0, 20, type="info").put(2, "j", "x", 0, 20, type="fail") \
        .get(3, "k", None, 30, 31, node="n1").get(4, "k", None, 32, 33, node="n2")
    r = check_convergence(hb.history())
    assert r.verdict is True
    assert r.evidence["keys"]["k"]["candidates"] == ["a", None]
    assert candidates([op for op in hb.history().ops if op.key == "j"]) == [None]
    ops = type(hb)().put(1, "k", "a", 0, 10, type="info").put(2, "k", "b", 20, 30).history().ops
    assert candidates(list(ops)) == ["b"]  # b acknowledged after a's client gave up: b is last


def test_quiescence_waits_for_an_indeterminate_write_and_no_settled_read_is_unknown(hb: Any) -> None:
    # c's client gave up at 65: reads before that are not settled
    hb.put(1, "k", "a", 0, 10).put(2, "k", "c", 20, 65, type="info").get(3, "k", "a", 40, 41, node="n1")
    r = check_convergence(hb.history())
    assert r.verdict == "unknown" and r.evidence["keys_without_settled_reads"] == ["k"]
    hb.get(3, "k", "c", 70, 71, node="n1").get(4, "k", "c", 72, 73, node="n2")
    r = check_convergence(hb.history())
    assert r.verdict is True and r.evidence["keys"]["k"]["quiet_at"] == 65.0
    assert r.evidence["keys"]["k"]["candidates"] == ["a", "c"]


def test_reads_without_a_node_count_as_one_more_node(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(2, "k", "a", 20, 21).get(3, "k", "a", 22, 23, node="n1")
    r = check_convergence(hb.history())
    assert r.verdict is True and r.evidence["keys"]["k"]["last_read_by_node"] == {"unknown": "a", "n1": "a"}
