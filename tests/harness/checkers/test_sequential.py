"""Sequential consistency: small literal histories with exact verdicts and counterexamples.

Times are ms (the ``hb`` builder); ``put(p, key, token, t0, t1)``, ``get(p, key, result, t0, t1)``.
"""
from __future__ import annotations

from typing import Any

import pytest

from harness.checkers.datatypes import REGISTER
from harness.checkers.linearizability import check_linearizability
from harness.checkers.model import History
from harness.checkers.sequential import SequentialChecker, check_sequential, decide
from harness.checkers.sequential_problem import build_problem
from harness.checkers.sequential_search import Budget


def per_key(h: History) -> dict[Any, Any]:
    """Each key judged on its own, without the linearizability shortcut."""
    return {k: decide(build_problem(ops, REGISTER), Budget(None, None), h.time_unit, k)[0]
            for k, ops in h.by_key().items()}


def whole(h: History) -> Any:
    """The whole history judged by graph and search, without the linearizability shortcut."""
    return decide(build_problem(h.ops, REGISTER), Budget(None, None), h.time_unit, None, "history")


def cycle_of(ce: dict[str, Any]) -> set[tuple[int, int]]:
    return {(e["from"], e["to"]) for e in ce["cycle"]}


def op_ids(ce: dict[str, Any]) -> set[int]:
    return {d["index"] for d in ce["operations"]}


# (a) --------------------------------------------------------------------------------------

def test_stale_follower_read_is_sequential_but_not_linearizable(hb: Any) -> None:
    # p1 writes a then b; p2, served by a lagging follower, reads a after b was acknowledged
    # (30 ms < 40 ms), then catches up and reads b. One order explains everything:
    # put a, get a, put b, get b; only real time is violated.
    h = hb.put(1, "x", "a", 0, 10).put(1, "x", "b", 20, 30).get(2, "x", "a", 40, 50).get(2, "x", "b", 60, 70).history()
    assert check_linearizability(h).verdict is False
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"], r.evidence["linearizable"]) == (True, "per-key", False)
    assert "counterexample" not in r.evidence


def test_reading_back_in_time_is_not_sequential(hb: Any) -> None:
    # The same follower, but p2 reads b and then a again: a process cannot see the writes go backwards.
    h = hb.put(1, "x", "a", 0, 10).put(1, "x", "b", 20, 30).get(2, "x", "b", 40, 50).get(2, "x", "a", 60, 70).history()
    r = check_sequential(h)
    assert r.verdict is False
    ce = r.evidence["counterexample"]
    assert (ce["scope"], ce["key"]) == ("key", "x")
    assert cycle_of(ce) == {(0, 1), (1, 0)}  # program order a -> b; p2's reads force b -> a
    assert op_ids(ce) == {0, 1, 2, 3}


# (b) --------------------------------------------------------------------------------------

def test_two_readers_see_two_writes_in_opposite_orders(hb: Any) -> None:
    h = (hb.put(1, "x", "1", 0, 10).put(2, "x", "2", 0, 10)
         .get(3, "x", "1", 20, 30).get(3, "x", "2", 40, 50)
         .get(4, "x", "2", 20, 30).get(4, "x", "1", 40, 50).history())
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"]) == (False, "per-key")
    ce = r.evidence["counterexample"]
    assert (ce["scope"], ce["key"]) == ("key", "x")
    assert cycle_of(ce) == {(0, 1), (1, 0)}  # op 0 = put 1, op 1 = put 2: each forced before the other
    # The minimal set: both writes and both readers' two reads.
    assert op_ids(ce) == {0, 1, 2, 3, 4, 5}
    assert [e["why"] for e in ce["cycle"]] == [
        "op 4 returned op 1's value and comes after op 0, which writes the same key: op 0 must come before op 1",
        "op 5 returned op 0's value and comes after op 1, which writes the same key: op 1 must come before op 0"]


def test_one_reader_seeing_both_orders_over_time_is_fine(hb: Any) -> None:
    # Control for (b): p4 sees 2 then 2 again: one order (put 1, put 2) explains both readers.
    h = (hb.put(1, "x", "1", 0, 10).put(2, "x", "2", 0, 10)
         .get(3, "x", "1", 20, 30).get(3, "x", "2", 40, 50)
         .get(4, "x", "2", 20, 30).get(4, "x", "2", 40, 50).history())
    assert check_sequential(h).verdict is True


# (c) indeterminate writes -----------------------------------------------------------------

def test_sequential_only_if_the_indeterminate_write_took_effect(hb: Any) -> None:
    # b timed out (info), yet p3 read it: b took effect. p4 then reads a after p3 saw b
    # (not linearizable), which is fine in the order put a, get a, put b, get b.
    h = (hb.put(1, "x", "a", 0, 10).put(2, "x", "b", 5, None, "info")
         .get(3, "x", "b", 20, 30).get(4, "x", "a", 40, 50).history())
    assert check_linearizability(h).verdict is False
    assert check_sequential(h).verdict is True
    assert per_key(h) == {"x": True}


def test_the_same_write_failed_so_its_value_cannot_be_read(hb: Any) -> None:
    # Control: with b `fail` (certainly not applied) nobody wrote b: p3's read is impossible.
    h = (hb.put(1, "x", "a", 0, 10).put(2, "x", "b", 5, 8, "fail")
         .get(3, "x", "b", 20, 30).get(4, "x", "a", 40, 50).history())
    r = check_sequential(h)
    assert r.verdict is False
    ce = r.evidence["counterexample"]
    assert ce["reason"] == ("op 2 cannot be placed: it read 'b', which no operation in the history wrote to this "
                            "key (every key starts absent; failed writes did not take effect)")
    assert op_ids(ce) == {2}


@pytest.mark.parametrize("later_process", [1001, 1])
def test_sequential_only_if_the_indeterminate_write_did_not_take_effect_before_the_next_op(
        hb: Any, later_process: int) -> None:
    # p1 writes a, then b times out; the client (renamed 1001 as the harness does, or the same
    # id reused) then reads a. Had b taken effect before that read, p1 would read back in time;
    # it may instead take effect after everything, or never: sequentially consistent.
    h = (hb.put(1, "x", "a", 0, 10).put(1, "x", "b", 20, None, "info")
         .get(later_process, "x", "a", 30, 40).history())
    assert per_key(h) == {"x": True}
    assert check_sequential(h).verdict is True


def test_an_acknowledged_write_cannot_be_skipped_by_its_own_process(hb: Any) -> None:
    # Control: the same with b acknowledged: p1 must see its own write.
    h = hb.put(1, "x", "a", 0, 10).put(1, "x", "b", 20, 25).get(1, "x", "a", 30, 40).history()
    r = check_sequential(h)
    assert r.verdict is False
    assert cycle_of(r.evidence["counterexample"]) == {(0, 1), (1, 0)}


def test_an_indeterminate_write_seen_in_opposite_orders_is_still_a_violation(hb: Any) -> None:
    h = (hb.put(1, "x", "a", 0, 10).put(2, "x", "b", 20, None, "info")
         .get(3, "x", "b", 30, 40).get(3, "x", "a", 50, 60)
         .get(4, "x", "a", 30, 40).get(4, "x", "b", 50, 60).history())
    r = check_sequential(h)
    assert r.verdict is False
    assert op_ids(r.evidence["counterexample"]) == {0, 1, 2, 3, 4, 5}


def test_an_indeterminate_cas_that_was_read_succeeded(hb: Any) -> None:
    # The cas a -> b timed out, and b was read: it applied, after a. p4's stale read of a is fine.
    h = (hb.put(1, "x", "a", 0, 10).cas(2, "x", "a", "b", 15, None, "info")
         .get(3, "x", "b", 30, 40).get(4, "x", "a", 50, 60).history())
    assert check_sequential(h).verdict is True
    # ...but it cannot have applied before a was written: a reader that saw b then a is impossible.
    h2 = (hb.get(5, "x", "b", 70, 80).get(5, "x", "a", 90, 100).history())
    r = check_sequential(h2)
    assert r.verdict is False


# (d) across keys --------------------------------------------------------------------------

def test_store_buffering_is_sequential_per_key_but_not_as_a_whole(hb: Any) -> None:
    # Dekker's store buffering (Adve & Gharachorloo 1996, fig. 5): p1 writes x then reads y
    # absent; p2 writes y then reads x absent. Per key there is an order (the read before the
    # write), but together: w(x) < r(y) (p1) < w(y) (r(y) saw the initial value) < r(x) (p2)
    # < w(x) (r(x) saw the initial value): a cycle. TSO allows this outcome; SC does not.
    h = (hb.put(1, "x", "x1", 0, 10).get(1, "y", None, 20, 30)
         .put(2, "y", "y1", 0, 10).get(2, "x", None, 20, 30).history())
    assert per_key(h) == {"x": True, "y": True}
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"]) == (False, "whole-history")
    ce = r.evidence["counterexample"]
    assert (ce["scope"], ce["key"]) == ("history", None)
    # ops in invocation order: 0 put x (p1), 1 put y (p2), 2 get y (p1), 3 get x (p2)
    assert cycle_of(ce) == {(0, 2), (2, 1), (1, 3), (3, 0)}
    assert op_ids(ce) == {0, 1, 2, 3}


def test_independent_reads_of_independent_writes(hb: Any) -> None:
    # IRIW: p3 sees x1 before y1, p4 sees y1 before x1: per key fine, as a whole not.
    h = (hb.put(1, "x", "x1", 0, 10).put(2, "y", "y1", 0, 10)
         .get(3, "x", "x1", 20, 30).get(3, "y", None, 40, 50)
         .get(4, "y", "y1", 20, 30).get(4, "x", None, 40, 50).history())
    assert per_key(h) == {"x": True, "y": True}
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"]) == (False, "whole-history")
    assert op_ids(r.evidence["counterexample"]) == {0, 1, 2, 3, 4, 5}


@pytest.mark.parametrize("y_read, verdict", [(None, True), ("y1", False)])
def test_message_passing(hb: Any, y_read: Any, verdict: bool) -> None:
    # p1 writes x then y; p2 reads y then x (absent). If p2 saw neither write, it is just
    # behind (sequential, not linearizable); if it saw y1 it must see x1 (program order of p1).
    h = (hb.put(1, "x", "x1", 0, 10).put(1, "y", "y1", 20, 30)
         .get(2, "y", y_read, 40, 50).get(2, "x", None, 60, 70).history())
    assert check_linearizability(h).verdict is False
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"]) == (verdict, "whole-history")


def test_a_violation_on_one_key_decides_without_the_whole_history(hb: Any) -> None:
    h = (hb.put(1, "a", "a1", 0, 10).get(2, "a", None, 20, 30)
         .put(1, "x", "1", 0, 10).put(2, "x", "2", 0, 10)
         .get(3, "x", "1", 20, 30).get(3, "x", "2", 40, 50)
         .get(4, "x", "2", 20, 30).get(4, "x", "1", 40, 50).history())
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"]) == (False, "per-key")
    assert r.evidence["counterexample"]["key"] == "x"
    assert "whole_history" not in r.evidence


# search, budget, composition --------------------------------------------------------------

def test_repeated_values_are_judged_by_exhaustive_search(hb: Any) -> None:
    # 1 is written twice, so a read of 1 names no single write and the forced orders cannot
    # see the violation: p2 reads 2, then 1, then 2 again, but 2 is written once, before the
    # second 1 (program order of p1). Only the search proves it.
    h = (hb.put(1, "x", "1", 0, 10).put(1, "x", "2", 20, 30).put(1, "x", "1", 40, 50)
         .get(2, "x", "2", 60, 70).get(2, "x", "1", 80, 90).get(2, "x", "2", 100, 110).history())
    r = check_sequential(h)
    assert r.verdict is False
    ce = r.evidence["counterexample"]
    assert ce["reason"].startswith("exhaustive search: every order that respects each process's order gets stuck")
    assert "cycle" not in ce and ce["cannot_place"]


def test_out_of_budget_is_unknown_with_the_reason(hb: Any) -> None:
    h = hb.put(1, "x", "a", 0, 10).put(1, "x", "b", 20, 30).get(2, "x", "a", 40, 50).history()
    r = check_sequential(h, max_seconds=0)
    assert (r.verdict, r.evidence["error"]) == ("unknown", "search exceeded its time limit")


def test_linearizable_histories_are_sequential_without_search(hb: Any) -> None:
    h = hb.put(1, "x", "a", 0, 10).get(2, "x", "a", 20, 30).put(1, "y", "b", 0, 10).history()
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"], r.evidence["linearizable"]) == (True, "linearizable", True)


def test_failed_and_indeterminate_reads_constrain_nothing(hb: Any) -> None:
    h = (hb.put(1, "x", "a", 0, 10).get(2, "x", "zzz", 20, None, "info").get(3, "x", "zzz", 20, 30, "fail")
         .history())
    assert check_sequential(h).verdict is True


def test_checker_protocol_wrapper(hb: Any) -> None:
    h = hb.put(1, "x", "a", 0, 10).get(2, "x", "b", 20, 30).history()
    r = SequentialChecker().check(h)
    assert (r.checker, r.verdict) == ("sequential-consistency", False)


def test_reference_histories_are_decided(reference: Any) -> None:
    """Every shared reference history gets a verdict (not "unknown"), and a linearizable one
    is sequential (a linearization respects each process's order)."""
    from harness.checkers.formats import load_history

    r = check_sequential(load_history(reference.path))
    assert r.verdict in (True, False), r.evidence.get("error")
    if reference.expected == "linearizable":
        assert r.verdict is True


def test_touching_program_order_skips_the_linearizability_shortcut(hb: Any) -> None:
    # p1's read starts the instant its write completed: the linearizability checker may order
    # them either way, so its verdict is not used; the search decides (p1 reads its own write).
    h = hb.put(1, "x", "a", 0, 10).get(1, "x", "a", 10, 20).history()
    r = check_sequential(h)
    assert (r.verdict, r.evidence["method"]) == (True, "per-key")
    assert "linearizable" not in r.evidence


def test_without_the_graph_the_search_alone_still_decides(hb: Any, monkeypatch: Any) -> None:
    # Past the vector-clock limit the forced orders are skipped: (b) is then proved by search.
    from harness.checkers import sequential_graph

    monkeypatch.setattr(sequential_graph, "MAX_CLOCK_CELLS", 0)
    h = (hb.put(1, "x", "1", 0, 10).put(2, "x", "2", 0, 10)
         .get(3, "x", "1", 20, 30).get(3, "x", "2", 40, 50)
         .get(4, "x", "2", 20, 30).get(4, "x", "1", 40, 50).history())
    verdict, info = decide(build_problem(h.ops, REGISTER), Budget(None, None), h.time_unit, "x")
    assert verdict is False and info["graph"]["skipped"] == "6 operations x 4 program-order chains exceed the " \
                                                           "vector-clock limit"
    assert info["counterexample"]["reason"].startswith("exhaustive search")
