"""The session checkers' history contract: sessions, per-key version order (revision, one
writer, not recoverable), what is placed, and what is skipped with which reason."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.checkers.formats import load_history
from harness.checkers.session_history import BEFORE_ALL, derive
from harness.errors import HistoryParseError


def test_the_session_is_extra_session_else_the_process(hb: Any, tmp_path: Path) -> None:
    hb.put(1, "x", "s:1", 0, 10, session="s").put(2, "x", "s:2", 20, 30, session="s").get(3, "x", "s:2", 40, 50)
    h = load_history(hb.write(tmp_path / "h.jsonl"))
    assert [op.session_id for op in h.ops] == ["s", "s", 3]
    assert h.ops[0].describe()["session"] == "s" and "session" not in h.ops[2].describe()
    facts = derive(h)
    # two processes, one session: the key has one writer, ordered by the session's writes
    assert facts.keys["x"].how == "one-writer"
    assert [(w.session, w.seq, w.pos) for w in facts.writes] == [("s", 1, 1.0), ("s", 2, 2.0)]
    assert facts.reads[0].returned is facts.writes[1] and facts.reads[0].judged


def test_a_session_that_is_not_a_name_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "h.jsonl"
    f.write_text('{"process": 1, "f": "get", "key": "x", "invoke_ns": 0, "complete_ns": 5, "type": "ok", '
                 '"extra": {"session": [1]}}\n')
    with pytest.raises(HistoryParseError, match="extra.session must be an integer or a string"):
        load_history(f)


def test_revisions_order_a_key_with_several_writers(hb: Any) -> None:
    # b's write began first but committed later: the revision, not real time, is the order
    hb.put(2, "x", "2:1", 0, 50, revision=9).put(1, "x", "1:1", 10, 20, revision=7).get(3, "x", None, 60, 70)
    facts = derive(hb.history())
    assert facts.keys["x"].how == "revision"
    assert [(w.op.value, w.pos) for w in facts.writes] == [("2:1", 9.0), ("1:1", 7.0)]
    assert facts.reads[0].pos == BEFORE_ALL and facts.reads[0].judged


def test_unrecoverable_orders_are_skipped_with_their_reason(hb: Any) -> None:
    (hb.put(1, "many", "1:1", 0, 10).put(2, "many", "2:1", 0, 10).get(3, "many", "1:1", 20, 30)
       .put(1, "twice", "v", 40, 50).put(1, "twice", "v", 60, 70).get(3, "twice", "v", 80, 90)
       .put(1, "gone", "1:3", 100, 110).delete(1, "gone", 120, 130).get(3, "gone", None, 140, 150)
       .put(1, "same", "1:4", 160, 170, revision=5).put(2, "same", "2:2", 160, 170, revision=5))
    facts = derive(hb.history())
    skipped = facts.skipped(max_examples=10)
    assert skipped["key_examples"] == {
        "many": "several writer sessions and no revision on every acknowledged write",
        "twice": "a value is written twice", "gone": "has delete operations",
        "same": "two writes report the same revision"}
    assert skipped["reads"] == {"key skipped: several writer sessions and no revision on every acknowledged write": 1,
                                "key skipped: a value is written twice": 1, "key skipped: has delete operations": 1}
    assert facts.key_orders() == {"skipped": 4}
    assert not any(r.judged for r in facts.reads)


def test_an_indeterminate_write_is_placed_only_when_nothing_can_overtake_it(hb: Any) -> None:
    # one writer: 1:1 ok, 1:2 timed out (may land after 1:3), 1:3 ok, 1:4 timed out (its last write)
    (hb.put(1, "x", "1:1", 0, 10).put(1, "x", "1:2", 20, 30, type="info").put(1, "x", "1:3", 40, 50)
       .put(1, "x", "1:4", 60, 70, type="info").put(1, "x", "1:5", 80, 90, type="fail")
       .get(2, "x", "1:2", 100, 110).get(2, "x", "1:4", 120, 130).get(2, "x", "1:5", 140, 150)
       .get(2, "x", "nobody", 160, 170))
    facts = derive(hb.history())
    assert [(w.op.value, w.pos, w.applied) for w in facts.writes] == [
        ("1:1", 1.0, True), ("1:2", None, False), ("1:3", 3.0, True), ("1:4", 4.0, False), ("1:5", None, False)]
    assert [r.skip for r in facts.reads] == ["returned an indeterminate write with no known place", None,
                                             "returned a failed write (see late-writes)",
                                             "returned a value no write in the history wrote"]
    # only applied, placed writes can be required of a read
    assert facts.keys["x"].latest_applied(1, 99) is facts.writes[2]
    assert facts.keys["x"].latest_applied(1, 0) is None


def test_a_session_with_overlapping_operations_is_not_judged(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 30).get(1, "x", None, 10, 20).put(2, "y", "2:1", 0, 10, type="info").get(2, "y", None, 5, 15)
    facts = derive(hb.history())
    # ops in invocation order: 0 put x (1), 1 put y (2), 2 get y (2), 3 get x (1)
    assert facts.skipped(10)["sessions"] == {"1": "op 3 was invoked before op 0 of the same session ended",
                                             "2": "op 2 was invoked before op 1 of the same session ended"}
    assert facts.keys["x"].reason == "its one writer session is not sequential"
    assert [r.skip for r in facts.reads] == ["its session is not sequential"] * 2


def test_an_indeterminate_operation_ends_when_its_client_gave_up(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 10, type="info").get(1, "x", None, 10, 20)
    facts = derive(hb.history())
    assert facts.overlapping == {} and facts.reads[0].judged


def test_a_cas_writes_its_new_value_when_its_compare_succeeded(tmp_path: Path) -> None:
    # a Jepsen register log: a cas whose compare failed ran but wrote nothing
    f = tmp_path / "r.log"
    f.write_text("".join(f"INFO  jepsen.util - {p}\t:{t}\t:{fn}\t{v}\n" for p, t, fn, v in [
        (0, "invoke", "write", "1"), (0, "ok", "write", "1"), (0, "invoke", "cas", "[1 2]"), (0, "ok", "cas", "[1 2]"),
        (0, "invoke", "cas", "[1 3]"), (0, "fail", "cas", "[1 3]"), (1, "invoke", "read", "nil"),
        (1, "ok", "read", "3")]))
    facts = derive(load_history(f))
    assert [(w.op.f, w.pos, w.applied, w.failed) for w in facts.writes] == [
        ("write", 1.0, True, False), ("cas", 2.0, True, False), ("cas", None, False, True)]
    assert facts.reads[0].skip == "returned a failed write (see late-writes)"
