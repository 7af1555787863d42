"""history_views: window choice, partition sides, stale reads, late writes and the exact
linearization witness, on small hand-made histories with exact expected values, plus a
cross-check against the harness checkers' numbers in a committed run."""
from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from diagram_gen.shaping import history_views as hv
from harness.registry import level_class

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "results" / "20261201T185401Z-bench" / "scenarios" / "etcd-leader-in-minority"

_I = iter(range(10 ** 6))


def op(process, node, f, key, value=None, invoke=0.0, complete=0.0, type="ok", result=None, rc=None,
       revision=None, error=None, i=None, intended=None):
    """A history row as the resolver gives it (times in seconds after load start; a read's
    level_class from etcd's plugin, as the resolver takes it from the run's system)."""
    return {"i": next(_I) if i is None else i, "process": process, "node": node, "f": f, "key": key, "value": value,
            "read_consistency": rc if f == "get" else None, "invoke_s": invoke, "complete_s": complete,
            "latency_ms": None if complete is None else (complete - (intended if intended is not None else invoke)) * 1e3,
            "type": type, "result": result, "error": error, "revision": revision,
            **({"level_class": level_class(rc, "etcd")} if f == "get" else {})}


NEMESIS = [
    {"process": "nemesis", "f": "partition", "type": "ok", "at_s": 10.0, "in_effect_s": 10.08,
     "value": {"groups": [["n1", "n4"], ["n2", "n3", "n5"]], "labels": ["minority", "majority"]}},
    {"process": "nemesis", "f": "heal", "type": "ok", "at_s": 40.0, "in_effect_s": 40.1,
     "value": {"groups": [["n1", "n4"], ["n2", "n3", "n5"]]}},
]
SIDES = {"n1": "minority", "n2": "majority", "n3": "majority", "n4": "minority", "n5": "majority"}


# -- sides, classes ------------------------------------------------------------------------------

def test_node_sides_from_labels():
    assert hv.node_sides(NEMESIS) == SIDES
    assert list(hv.node_sides(NEMESIS)) == ["n1", "n2", "n3", "n4", "n5"]


def test_node_sides_without_labels_smaller_group_is_minority():
    rows = [{"f": "partition", "type": "ok", "value": {"groups": [["n5", "n2", "n1"], ["n3", "n4"]]}}]
    assert hv.node_sides(rows) == {"n1": "majority", "n2": "majority", "n3": "minority", "n4": "minority",
                                   "n5": "majority"}


def test_node_sides_equal_groups_and_failed_partition():
    rows = [{"f": "partition", "type": "fail", "value": {"groups": [["n1"], ["n2", "n3"]]}},
            {"f": "partition", "type": "ok", "value": {"groups": [["n1", "n2"], ["n3", "n4"]]}}]
    assert hv.node_sides(rows) == {"n1": "side-1", "n2": "side-1", "n3": "side-2", "n4": "side-2"}
    assert hv.node_sides([]) == {}


def test_fault_interval():
    assert hv.fault_interval(NEMESIS) == (10.08, 40.1)
    assert hv.fault_interval(NEMESIS[:1]) == (10.08, None)
    assert hv.fault_interval([]) == (None, None)


def test_op_class_and_tokens():
    assert hv.op_class(op(0, "n1", "put", "k", "a")) == hv.WRITE
    assert hv.op_class(op(0, "n1", "cas", "k", ["a", "b"])) == hv.WRITE
    assert hv.op_class(op(0, "n1", "get", "k", rc="linearizable")) == hv.STRONG_READ
    assert hv.op_class(op(0, "n1", "get", "k", rc=None)) == hv.STRONG_READ  # etcd's default read
    assert hv.op_class(op(0, "n1", "get", "k", rc="serializable")) == hv.WEAK_READ
    # the class is the row's level_class, whatever the level is called: a Cassandra ONE read is weak
    # (drawn as a linearizable read before the classes came from the plugins)
    assert hv.op_class({"f": "get", "read_consistency": "ONE", "level_class": level_class("ONE", "cassandra")}) == \
        hv.WEAK_READ
    assert hv.op_class({"f": "get", "read_consistency": "SERIAL", "level_class": "strong"}) == hv.STRONG_READ
    assert hv.op_class({"f": "get", "read_consistency": "x", "level_class": "session"}) == hv.SESSION_READ
    assert hv.op_class({"f": "get"}) is None  # no class: not drawn as any kind of read
    assert hv.op_class({"f": "partition"}) is None
    assert hv.written_token(op(0, "n1", "cas", "k", ["a", "b"])) == "b"
    assert hv.written_token(op(0, "n1", "put", "k", "a")) == "a"


# -- stale reads -----------------------------------------------------------------------------------

def _stale_history():
    """w1 writes 'a' (acked at 1.0), w2 writes 'b' (acked at 2.0), then a minority
    serializable read at 2.5 returns 'a' (missed w2), a majority linearizable read at 2.2
    returns 'b', and a read concurrent with w2 returns 'a' (not stale: w2 not acked yet)."""
    return [
        op(1, "n2", "put", "k", "a", 0.5, 1.0, i=1),
        op(2, "n3", "put", "k", "b", 1.5, 2.0, i=2),
        op(3, "n5", "get", "k", None, 1.6, 1.7, result="a", rc="linearizable", i=3),
        op(4, "n3", "get", "k", None, 2.2, 2.3, result="b", rc="linearizable", i=4),
        op(5, "n1", "get", "k", None, 2.5, 2.6, result="a", rc="serializable", i=5),
        op(6, "n4", "get", "k", None, 2.7, 2.8, result="b", rc="serializable", i=6),
    ]


def test_missed_writes_exact():
    h = _stale_history()
    idx = hv.index_key(h, "k")
    assert [w["i"] for w in hv.missed_writes(h[4], idx)] == [2]
    assert hv.missed_writes(h[2], idx) == []   # concurrent with w2: not stale
    assert hv.missed_writes(h[5], idx) == []   # returned the newest value
    # the initial absent value: every write acked before the read was missed
    absent = op(7, "n1", "get", "k", None, 3.0, 3.1, result=None, rc="serializable", i=7)
    assert [w["i"] for w in hv.missed_writes(absent, hv.index_key(h + [absent], "k"))] == [1, 2]


def test_missed_writes_overlap_uses_revisions_and_unacked_source_is_never_stale():
    h = [op(1, "n2", "put", "k", "a", 0.0, 1.0, revision=10, i=1),
         op(2, "n3", "put", "k", "b", 0.5, 1.2, revision=11, i=2),      # overlaps 'a', later revision
         op(3, "n1", "get", "k", None, 2.0, 2.1, result="a", rc="serializable", i=3),
         op(4, "n2", "put", "k", "c", 2.5, 4.5, type="info", i=4),
         op(5, "n1", "get", "k", None, 5.0, 5.1, result="c", rc="serializable", i=5)]
    idx = hv.index_key(h, "k")
    assert [w["i"] for w in hv.missed_writes(h[2], idx)] == [2]
    assert hv.missed_writes(h[4], idx) == []
    h[1] = {**h[1], "revision": 9}                                      # now 'b' may precede 'a'
    assert hv.missed_writes(h[2], hv.index_key(h, "k")) == []


def test_stale_reads_filters():
    h = _stale_history()
    got = hv.stale_reads(h, read_class=hv.WEAK_READ, nodes=["n1", "n4"], t0=2.0, t1=3.0)
    assert [(r["i"], [w["i"] for w in m]) for r, m in got] == [(5, [2])]
    assert hv.stale_reads(h, read_class=hv.WEAK_READ, nodes=["n1"], t0=2.6) == []
    assert hv.stale_reads(h, read_class=hv.STRONG_READ) == []


# -- concept window --------------------------------------------------------------------------------

def test_concept_window_picks_first_stale_minority_read_and_pads():
    h = _stale_history()
    # an earlier stale serializable read on a *majority* node must not be chosen
    h.append(op(8, "n5", "get", "k", None, 2.4, 2.45, result="a", rc="serializable", i=8))
    # an unserved minority linearizable read on another key, in flight across the window
    h.append(op(9, "n4", "get", "other", None, 1.0, 3.0, type="info", error="timeout", rc="linearizable", i=9))
    # a minority write on another key is not drawn
    h.append(op(10, "n1", "put", "other", "z", 1.0, 3.0, type="info", error="timeout", i=10))
    w = hv.concept_window(h, SIDES, fault_s=1.2, heal_s=40.0, pad_s=0.1)
    assert w is not None
    assert (w.key, w.write["i"], w.lin_read["i"], w.stale_read["i"]) == ("k", 2, 4, 5)
    assert [x["i"] for x in w.missed] == [2]
    assert w.returned_write["i"] == 1
    assert w.t0 == pytest.approx(1.4) and w.t1 == pytest.approx(2.7)
    assert [o["i"] for o in w.ops] == [9, 2, 3, 4, 8, 5, 6]
    lanes = hv.lanes(w.ops, SIDES)
    # majority first; within a side: non-serializable lanes, by first op class, node, process
    assert lanes == [(2, "n3", "majority"), (4, "n3", "majority"), (3, "n5", "majority"), (8, "n5", "majority"),
                     (9, "n4", "minority"), (5, "n1", "minority"), (6, "n4", "minority")]


def test_concept_window_needs_a_linearizable_read_between_write_and_stale_read():
    h = _stale_history()
    h[3] = {**h[3], "invoke_s": 2.45, "complete_s": 2.55}   # the lin read now ends after the stale read began
    assert hv.concept_window(h, SIDES, 1.2, 40.0) is None
    assert hv.concept_window(_stale_history(), SIDES, 2.6, 40.0) is None   # stale read before the window rule's start


# -- witness ----------------------------------------------------------------------------------------

def test_witness_orders_and_points_exact():
    h = [op(1, "n1", "put", "x", "1", 0.0, 2.0, i=1),
         op(2, "n2", "get", "x", None, 1.0, 3.0, result="1", rc="linearizable", i=2),
         op(3, "n3", "get", "x", None, 4.0, 5.0, result="1", rc="linearizable", i=3)]
    got = hv.linearize_register(h)
    assert [(p.op["i"], p.point_s, p.state_after) for p in got] == [(1, 1.0, "1"), (2, 2.0, "1"), (3, 4.5, "1")]
    for p in got:
        assert p.op["invoke_s"] <= p.point_s <= p.op["complete_s"]


def test_witness_read_before_write_when_concurrent():
    # the read overlaps the write and returns the old value: read first, then write
    h = [op(1, "n1", "put", "x", "a", 0.0, 1.0, i=1),
         op(2, "n1", "put", "x", "b", 2.0, 4.0, i=2),
         op(3, "n2", "get", "x", None, 3.0, 3.5, result="a", rc="linearizable", i=3)]
    got = hv.linearize_register(h)
    assert [p.op["i"] for p in got] == [1, 3, 2]
    assert [p.point_s for p in got] == [0.5, 3.25, 3.5]


def test_witness_none_for_stale_read():
    """The concept diagram's violation: a read that starts after 'b' was acknowledged returns 'a'."""
    h = [op(1, "n1", "put", "x", "a", 0.0, 1.0, i=1),
         op(2, "n2", "put", "x", "b", 2.0, 3.0, i=2),
         op(3, "n3", "get", "x", None, 3.5, 4.0, result="a", rc="serializable", i=3)]
    assert hv.linearize_register(h) is None
    assert [p.op["i"] for p in hv.linearize_register(h[:2])] == [1, 2]


def test_witness_info_write_placed_only_when_needed_and_fail_dropped():
    h = [op(1, "n1", "put", "x", "a", 0.0, 1.0, i=1),
         op(2, "n1", "put", "x", "q", 1.5, 9.0, type="info", i=2),           # never observed: left out
         op(3, "n2", "put", "x", "b", 2.0, 2.5, type="info", i=3),           # observed below: placed
         op(4, "n3", "cas", "x", ["zz", "c"], 2.6, 2.7, type="fail", i=4),  # did not happen
         op(5, "n3", "get", "x", None, 3.0, 3.5, result="b", rc="linearizable", i=5)]
    got = hv.linearize_register(h)
    assert [p.op["i"] for p in got] == [1, 3, 5]
    # p = latest invoke so far (0, 2, 3); q = earliest completion from here on (1, 3.5, 3.5): midpoints
    assert [p.point_s for p in got] == [0.5, 2.75, 3.25]


def test_witness_points_with_info_op_last_and_unknown_initial_state():
    h = [op(1, "n2", "get", "x", None, 0.0, 1.0, result="old", rc="linearizable", i=1),   # fixes the unknown state
         op(2, "n1", "cas", "x", ["old", "new"], 0.5, 2.0, i=2),
         op(3, "n3", "get", "x", None, 3.0, 4.0, result="new", rc="linearizable", i=3)]
    got = hv.linearize_register(h)
    assert [(p.op["i"], p.point_s, p.state_after) for p in got] == [(1, 0.5, "old"), (2, 1.25, "new"),
                                                                  (3, 3.5, "new")]
    bad = h + [op(4, "n1", "cas", "x", ["old", "newer"], 5.0, 6.0, i=4)]   # the compare cannot succeed
    assert hv.linearize_register(bad) is None


def test_witness_refuses_too_many_ops():
    h = [op(k, "n1", "put", "x", str(k), float(k), float(k) + 0.5, i=k) for k in range(hv.MAX_WITNESS_OPS + 1)]
    with pytest.raises(ValueError, match="max"):
        hv.linearize_register(h)


# -- late writes, op points -------------------------------------------------------------------------

def test_late_writes_exact():
    h = [op(1, "n2", "put", "k", "old", 0.0, 1.0, i=1),
         op(2, "n2", "put", "k", "late", 1.5, 3.5, type="info", error="timeout", i=2),
         op(3, "n3", "put", "k", "newer", 5.0, 5.5, i=3),
         op(4, "n3", "get", "k", None, 6.0, 6.2, result="newer", rc="linearizable", i=4),
         op(5, "n3", "get", "k", None, 8.0, 8.1, result="late", rc="linearizable", i=5),
         op(6, "n2", "put", "k", "early", 9.0, 11.0, type="info", i=6),
         op(7, "n2", "get", "k", None, 10.0, 10.5, result="early", rc="serializable", i=7)]
    got = hv.late_writes(h)
    assert len(got) == 1
    lw = got[0]
    assert (lw.write["i"], lw.first_read["i"], lw.took_effect_after["i"], lw.proven_late, lw.overwrote["i"]) == \
        (2, 5, 4, True, 3)
    assert lw.delay_s == pytest.approx(4.5)


def _final(row):
    return {**row, "extra": {"final": True}}


def test_lost_writes_exact():
    h = [op(1, "n1", "put", "a", "a1", 0.0, 1.0, i=1),      # a: survived, then a2 and a3 acknowledged after it
         op(2, "n1", "put", "a", "a2", 2.0, 2.1, i=2),
         op(3, "n1", "put", "a", "a3", 3.0, 3.1, i=3),
         op(4, "n1", "put", "a", "a4", 3.0, 4.0, type="info", i=4),
         _final(op(9, "n2", "get", "a", None, 20.0, 20.1, result="a1", rc="linearizable", i=5)),
         op(1, "n1", "put", "b", "b1", 0.0, 1.0, i=6),      # b: absent at the end, never deleted
         _final(op(9, "n2", "get", "b", None, 20.0, 20.1, result=None, rc="linearizable", i=7)),
         op(1, "n1", "put", "c", "c1", 0.0, 1.0, i=8),      # c: an indeterminate delete: nothing concluded
         op(1, "n1", "delete", "c", None, 2.0, 3.0, type="info", i=9),
         _final(op(9, "n2", "get", "c", None, 20.0, 20.1, result=None, rc="linearizable", i=10)),
         op(1, "n1", "put", "d", "d1", 0.0, 1.0, i=11),     # d: only a serializable final read: not trusted
         _final(op(9, "n2", "get", "d", None, 20.0, 20.1, result=None, rc="serializable", i=12)),
         op(1, "n1", "put", "e", "e1", 0.0, 1.0, i=13),     # e: survived (its last write is the final value)
         _final(op(9, "n2", "get", "e", None, 20.0, 20.1, result="e1", rc="linearizable", i=14))]
    got = hv.lost_writes(h)
    assert [(lw.write["i"], lw.final_read["i"]) for lw in got] == [(2, 5), (3, 5), (6, 7)]


def test_rows_by_key_groups_in_order_and_indexes_as_the_whole_history():
    h = [op(1, "n1", "put", "a", "a1", 0.0, 1.0, i=1),
         op(2, "n1", "put", "b", "b1", 0.5, 1.5, i=2),
         {"process": "nemesis", "f": "partition", "i": 3, "key": None},
         op(3, "n2", "get", "a", None, 2.0, 2.1, result="a1", rc="linearizable", i=4),
         op(4, "n1", "put", "a", "a2", 3.0, 3.1, i=5)]
    per = hv.rows_by_key(h)
    assert {k: [r["i"] for r in v] for k, v in per.items()} == {"a": [1, 4, 5], "b": [2], None: [3]}
    assert hv.index_key(per["a"], "a") == hv.index_key(h, "a")


def test_op_points_excludes_nemesis_and_final_reads():
    h = [op(1, "n1", "put", "k", "a", 1.0, 1.002, intended=0.999, i=1),
         {**op(2, "n2", "get", "k", None, 2.0, 2.5, rc="serializable", result="a", i=2), "extra": {"final": True}},
         {"process": "nemesis", "f": "partition", "i": 3, "invoke_s": 1.0, "complete_s": 1.1}]
    pts = hv.op_points(h, SIDES)
    assert [(p.x_s, round(p.latency_ms, 6), p.outcome, p.op_class, p.side) for p in pts] == \
        [(1.002, 3.0, "ok", hv.WRITE, "minority")]


# -- against the committed run: the same numbers as the harness checkers -----------------------------

def _bench_rows():
    if not (BENCH / "history.jsonl.gz").exists():
        pytest.skip("committed bench run not present")
    origin = json.loads((BENCH / "timeline.json").read_text())["load_start_ns"]
    rows = []
    with gzip.open(BENCH / "history.jsonl.gz", "rt") as fh:
        for line in fh:
            r = json.loads(line)
            r["invoke_s"] = (r["invoke_ns"] - origin) / 1e9
            r["complete_s"] = None if r["complete_ns"] is None else (r["complete_ns"] - origin) / 1e9
            start = r["intended_ns"] if r["intended_ns"] is not None else r["invoke_ns"]
            r["latency_ms"] = None if r["complete_ns"] is None else (r["complete_ns"] - start) / 1e6
            if r["f"] == "get":
                r["level_class"] = level_class(r["read_consistency"], "etcd")
            rows.append(r)
    nem = []
    for line in (BENCH / "nemesis.jsonl").read_text().splitlines():
        r = json.loads(line)
        r["at_s"], r["in_effect_s"] = (r["invoke_ns"] - origin) / 1e9, (r["complete_ns"] - origin) / 1e9
        nem.append(r)
    return rows, nem, json.loads((BENCH / "failure_summary.json").read_text())


def test_bench_run_matches_checkers():
    rows, nem, fs = _bench_rows()
    sides = hv.node_sides(nem)
    assert sides == {"n1": "minority", "n2": "majority", "n3": "majority", "n4": "minority", "n5": "majority"}
    part = fs["partition"]
    minority = [n for n, s in sides.items() if s == "minority"]
    stale = hv.stale_reads(rows, nodes=minority, t0=part["fault_at_s"], t1=part["heal_started_at_s"])
    staleness = part["minority_behaviour"]["staleness"]["weak"]["serializable"]
    assert len(stale) == staleness["stale_reads"] == 1116
    assert max(len(m) for _, m in stale) == staleness["versions_behind_max"]
    late = hv.late_writes(rows)
    want = {x["write"]["value"]: (x["delay_ms"], x["overwrote_newer"]["value"]) for x in fs["late_writes"]["late_writes"]}
    got = {lw.write["value"]: (round(lw.delay_s * 1e3, 3), hv.written_token(lw.overwrote)) for lw in late}
    assert got == want
    assert all(lw.proven_late for lw in late)


def test_bench_run_concept_window_is_exact_and_linearizable_without_the_stale_read():
    rows, nem, fs = _bench_rows()
    sides = hv.node_sides(nem)
    part = fs["partition"]
    w = hv.concept_window(rows, sides, part["fault_at_s"], part["heal_started_at_s"])
    assert (w.key, w.write["i"], w.write["value"], w.lin_read["i"], w.stale_read["i"], w.stale_read["result"]) == \
        ("reg2", 2252, "10001:73", 2254, 2279, "1:65")
    assert len(w.missed) == 7 and len(w.ops) == 31
    key_ops = [o for o in w.ops if o["key"] == w.key and hv.op_class(o) in (hv.WRITE, hv.STRONG_READ)]
    wit = hv.linearize_register(key_ops)
    assert wit is not None and len(wit) == 19
    assert all(p.op["invoke_s"] <= p.point_s <= p.op["complete_s"] for p in wit)
    assert [p.point_s for p in wit] == sorted(p.point_s for p in wit)
    assert hv.linearize_register(key_ops + [w.stale_read]) is None
    assert math.isclose((w.stale_read["invoke_s"] - w.write["complete_s"]) * 1e3, 22.2, abs_tol=0.05)


def test_window_rules_are_named_and_pick_stale_reads_of_their_class():
    assert sorted(hv.WINDOW_RULES) == ["divergence-then-convergence", "stale-session-read",
                                       "stale-session-read-in-minority", "stale-weak-read-in-minority",
                                       "stalest-weak-read"]
    assert [r.needs_fault for _, r in sorted(hv.WINDOW_RULES.items())] == [True, False, True, True, False]
    rows = [op(1, "n2", "put", "k", "a", 1.0, 1.1, i=1), op(2, "n2", "put", "k", "b", 2.0, 2.1, i=2),
            op(3, "n3", "get", "k", None, 2.2, 2.3, result="b", rc="linearizable", i=3),
            {**op(4, "n1", "get", "k", None, 2.5, 2.6, result="a", rc="serializable", i=4), "level_class": "session"}]
    sides = {"n1": "minority", "n2": "majority", "n3": "majority"}
    assert hv.WINDOW_RULES["stale-weak-read-in-minority"].pick(rows, sides, 0.5, 9.0) is None
    w = hv.WINDOW_RULES["stale-session-read-in-minority"].pick(rows, sides, 0.5, 9.0)
    assert w is not None and (w.write["i"], w.lin_read["i"], w.stale_read["i"]) == (2, 3, 4)


# -- sequential consistency: the no-fault window, the sequential witness, member roles ----------------

def session_get(process, node, key, result, invoke, complete, i, rc="plain"):
    """A plain read as ZooKeeper's plugin classes it (session), without depending on its registry."""
    return {**op(process, node, "get", key, None, invoke, complete, result=result, i=i), "read_consistency": rc,
            "level_class": "session"}


# p1 writes a, p2 writes b strictly after (real time), p3 then reads a from its server: stale,
# not linearizable, sequential (order: put a, get a, put b); p4's later read sees b.
SEQ = [op(1, "n2", "put", "k", "a", 1.0, 1.1, i=1), op(2, "n3", "put", "k", "b", 2.0, 2.1, i=2),
       session_get(3, "n4", "k", "a", 2.2, 2.3, i=3), session_get(4, "n1", "k", "b", 2.4, 2.5, i=4)]


def test_stale_read_window_without_a_fault():
    w = hv.stale_read_window(SEQ, hv.SESSION_READ)
    assert w is not None
    assert (w.key, w.write["i"], w.stale_read["i"], w.returned_write["i"], w.lin_read) == ("k", 2, 3, 1, None)
    assert (round(w.t0, 9), round(w.t1, 9)) == (0.95, 2.35)
    assert [o["i"] for o in w.ops] == [1, 2, 3]
    assert [m["i"] for m in w.missed] == [2]
    # the rule: any node, no sides, no fault times
    r = hv.WINDOW_RULES["stale-session-read"]
    assert r.pick(SEQ, {}, None, None) == w
    assert hv.stale_read_window(SEQ, hv.WEAK_READ) is None
    assert r.pick(SEQ[:2] + SEQ[3:], {}, None, None) is None
    assert r.miss == "no stale session read in the history"


def test_stale_read_window_prefers_a_read_real_time_shows_stale():
    # first stale read: its value's write (x) overlaps the write it missed (y); only revisions
    # order them. The second (on key m) is stale by real time alone: it is the one chosen.
    rows = [op(1, "n2", "put", "j", "x", 1.0, 1.5, revision=5, i=1), op(2, "n3", "put", "j", "y", 1.1, 1.2, revision=6, i=2),
            session_get(3, "n4", "j", "x", 1.6, 1.7, i=3),
            op(1, "n2", "put", "m", "p", 3.0, 3.1, i=4), op(2, "n3", "put", "m", "q", 3.2, 3.3, i=5),
            session_get(3, "n4", "m", "p", 3.4, 3.5, i=6)]
    assert [r["i"] for r, _ in hv.stale_reads(rows, read_class=hv.SESSION_READ)] == [3, 6]
    w = hv.stale_read_window(rows, hv.SESSION_READ)
    assert (w.key, w.write["i"], w.stale_read["i"]) == ("m", 5, 6)
    # without the evident one, the first is taken
    w1 = hv.stale_read_window(rows[:3], hv.SESSION_READ)
    assert (w1.key, w1.write["i"], w1.stale_read["i"], w1.returned_write["i"]) == ("j", 2, 3, 1)


def test_sequential_register_keeps_program_order_not_real_time():
    seq = hv.sequential_register(SEQ)
    assert [(r["i"], s) for r, s in seq] == [(1, "a"), (3, "a"), (2, "b"), (4, "b")]
    assert hv.linearize_register(SEQ) is None
    # program order forbids it: p1 reads the key absent, writes a, then b; p3 reads b, then a.
    # No order keeps both processes' orders (b before a in p3 needs a written after b)
    bad = [session_get(1, "n2", "k", None, 0.5, 0.6, i=0), op(1, "n2", "put", "k", "a", 1.0, 1.1, i=1),
           op(1, "n2", "put", "k", "b", 2.0, 2.1, i=2),
           session_get(3, "n4", "k", "b", 2.2, 2.3, i=3), session_get(3, "n4", "k", "a", 2.4, 2.5, i=4)]
    assert hv.sequential_register(bad) is None
    # the window starts unknown: without p1's first read, p3's b can come first
    assert [(r["i"], s) for r, s in hv.sequential_register(bad[1:])] == [(3, "b"), (1, "a"), (4, "a"), (2, "b")]
    # a failed write constrains nothing; an info write is placed only when a read needs it
    maybe = [op(1, "n2", "put", "k", "a", 1.0, 1.1, i=1), op(2, "n3", "put", "k", "c", 1.2, 9.0, type="info", i=2),
             op(2, "n3", "put", "k", "z", 1.3, 1.4, type="fail", i=3), session_get(3, "n4", "k", "a", 2.0, 2.1, i=4)]
    assert [(r["i"], s) for r, s in hv.sequential_register(maybe)] == [(1, "a"), (4, "a")]
    with pytest.raises(ValueError):
        hv.sequential_register([op(1, "n2", "put", "k", str(n), n, n + 0.5, i=n) for n in range(hv.MAX_WITNESS_OPS + 1)])


def test_roles_at_takes_the_last_poll_started_by_then():
    members = [{"poll": 0, "node": "n1", "start_s": 0.0, "is_leader": True},
               {"poll": 0, "node": "n2", "start_s": 0.0, "is_leader": False},
               {"poll": 1, "node": "n1", "start_s": 0.5, "is_leader": False},
               {"poll": 1, "node": "n2", "start_s": 0.5, "is_leader": True},
               {"poll": 1, "node": "n3", "start_s": 0.5, "status": "down"}]
    assert hv.roles_at(members, 0.2) == {"n1": "leader", "n2": "follower"}
    assert hv.roles_at(members, 0.5) == {"n1": "follower", "n2": "leader"}
    assert list(hv.roles_at(members, 9.0)) == ["n1", "n2"]
    assert hv.roles_at(members, -1.0) == {}
    assert hv.roles_at([], 1.0) == {}


# -- bounded staleness: read lags and the stalest read; eventual: divergence then convergence ------

def replica_get(process, node, key, result, invoke, complete, i):
    """A PostgreSQL replica read (weak class), answered by the standby the client is pinned to."""
    return {**op(process, node, "get", key, None, invoke, complete, result=result, i=i), "read_consistency": "replica",
            "level_class": "weak"}


# key r: a1 (acked 1.1), a2 (2.1), a3 (3.1), a4 (3.5); key s: b1 (1.0), b2 (1.5)
LAG = [op(1, "n2", "put", "r", "a1", 1.0, 1.1, i=1), op(2, "n3", "put", "r", "a2", 2.0, 2.1, i=2),
       op(3, "n2", "put", "r", "a3", 3.0, 3.1, i=3), op(4, "n3", "put", "r", "a4", 3.4, 3.5, i=4),
       replica_get(5, "n2", "r", "a1", 3.2, 3.3, i=5),   # missed a2, a3: 2 versions, behind 3.2 - 2.1
       replica_get(6, "n3", "r", "a4", 3.6, 3.7, i=6),   # up to date
       op(1, "n2", "put", "s", "b1", 0.9, 1.0, i=7), op(2, "n3", "put", "s", "b2", 1.4, 1.5, i=8),
       replica_get(7, "n2", "s", "b1", 4.5, 4.6, i=9),   # missed b2: 1 version, behind 4.5 - 1.5
       replica_get(8, "n3", "s", None, 0.5, 0.6, i=10),  # before any write: up to date
       {**replica_get(9, "n2", "s", "b1", 9.0, 9.1, i=11), "extra": {"final": True}}]  # final: not judged


def test_read_lag_and_lag_summary_exact():
    idx = hv.index_key(LAG, "r")
    assert [(r["i"], v, round(b, 9)) for r in idx.reads for v, b in [hv.read_lag(r, idx)]] == \
        [(5, 2, 1.1), (6, 0, 0.0)]
    s = hv.lag_summary(LAG)
    assert (s.reads, s.stale, s.max_versions, round(s.max_behind_s, 9)) == (4, 2, 2, 3.0)
    assert hv.lag_summary(LAG, hv.STRONG_READ) is None


def test_stalest_read_window_most_versions_then_longest_behind():
    w = hv.stalest_read_window(LAG, hv.WEAK_READ)
    assert (w.key, w.stale_read["i"], w.write["i"], w.returned_write["i"]) == ("r", 5, 3, 1)
    assert [m["i"] for m in w.missed] == [2, 3]
    assert (round(w.t0, 9), round(w.t1, 9)) == (0.999, 3.301)
    assert [o["i"] for o in w.ops] == [1, 2, 3, 5]
    # without key r, key s's only stale read; ties on versions go to the longest behind
    rest = [r for r in LAG if r["key"] != "r"]
    assert hv.stalest_read_window(rest, hv.WEAK_READ).stale_read["i"] == 9
    tie = LAG + [op(3, "n2", "put", "s", "b3", 5.0, 5.1, i=12), replica_get(10, "n2", "s", "b1", 5.2, 5.3, i=13)]
    assert hv.stalest_read_window(tie, hv.WEAK_READ).stale_read["i"] == 13  # 2 versions, behind 3.7 > 1.1
    rule = hv.WINDOW_RULES["stalest-weak-read"]
    assert rule.pick(LAG, {}, None, None) == w and not rule.needs_fault
    assert hv.stalest_read_window(LAG, hv.SESSION_READ) is None


def _final_get(process, node, key, result, invoke, i):
    return {**replica_get(process, node, key, result, invoke, invoke + 0.01, i), "extra": {"final": True}}


# partition [5, 13): the old primary acknowledges x1 on key k (6.0-6.1), a read sees it (7.0),
# after the heal a client's read misses it (14.0), and every node's final read returns absent
DIV = [op(1, "n1", "put", "k", "x1", 6.0, 6.1, i=1),
       op(2, "n3", "get", "k", None, 7.0, 7.1, result="x1", rc="linearizable", i=2),
       op(3, "n2", "get", "k", None, 14.0, 14.1, result=None, rc="linearizable", i=3),
       _final_get(91, "n3", "k", None, 20.0, 4), _final_get(92, "n1", "k", None, 20.1, 5),
       _final_get(93, "n2", "k", None, 20.2, 6),
       {**op(94, "n1", "get", "k", None, 20.3, 20.4, result=None, rc="linearizable", i=7), "extra": {"final": True}},
       # key j: written before the partition, never diverged
       op(4, "n1", "put", "j", "y1", 1.0, 1.1, i=8), _final_get(91, "n3", "j", "y1", 20.5, 9),
       _final_get(92, "n1", "j", "y1", 20.6, 10)]


def test_divergence_window_exact():
    w = hv.divergence_window(DIV, 5.0, 13.0)
    assert (w.key, w.write["i"], w.lin_read["i"], w.stale_read["i"], w.returned_write) == ("k", 1, 2, 3, None)
    assert [m["i"] for m in w.missed] == [1]
    assert (round(w.t0, 9), round(w.t1, 9)) == (4.95, 20.26)
    # load ops on the key and the weak final reads, not the strong final read
    assert [o["i"] for o in w.ops] == [1, 2, 3, 4, 5, 6]
    assert [r["node"] for r in hv.final_reads(DIV, "k")] == ["n1", "n2", "n3"]
    rule = hv.WINDOW_RULES["divergence-then-convergence"]
    assert rule.needs_fault and rule.pick(DIV, {}, 5.0, 13.0) == w


def test_divergence_window_needs_a_read_that_saw_it_one_that_missed_it_and_agreeing_finals():
    without = lambda i: [r for r in DIV if r["i"] != i]  # noqa: E731
    assert hv.divergence_window(without(2), 5.0, 13.0) is None            # nobody saw x1
    w = hv.divergence_window(without(3), 5.0, 13.0)                        # only the final reads missed it
    assert w.stale_read["i"] == 4 and w.stale_read["node"] == "n3"
    disagree = [dict(r, result="x1") if r["i"] == 6 else r for r in DIV]
    assert hv.divergence_window(disagree, 5.0, 13.0) is None              # n2 still has x1: not converged
    one_node = [r for r in DIV if r["i"] not in (5, 6)]
    assert hv.divergence_window(one_node, 5.0, 13.0) is None              # one node agrees with nobody
    assert hv.divergence_window(DIV, 6.5, 13.0) is None                   # the write is before the fault
    # a window whose post-heal read is a client's is preferred to an earlier one with final reads only
    early = [op(5, "n1", "put", "m", "z1", 5.5, 5.6, i=20),
             op(6, "n2", "get", "m", None, 5.8, 5.9, result="z1", rc="linearizable", i=21),
             _final_get(91, "n1", "m", None, 21.0, 22), _final_get(92, "n2", "m", None, 21.1, 23)]
    assert hv.divergence_window(DIV + early, 5.0, 13.0).key == "k"
    assert hv.divergence_window(without(3) + early, 5.0, 13.0).key == "m"


def test_postgres_run_lags_match_the_staleness_checkers():
    run = REPO / "results" / "20261205T141128Z-postgres"
    path = run / "workloads" / "postgres-register-replica" / "history.jsonl.gz"
    if not path.exists():
        pytest.skip("committed postgres run not present")
    rows = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            r = json.loads(line)
            r["invoke_s"], r["complete_s"] = r["invoke_ns"] / 1e9, r["complete_ns"] / 1e9
            if r["f"] == "get":
                r["level_class"] = level_class(r["read_consistency"], "postgres")
            rows.append(r)
    verdict = [v for v in json.loads((run / "summary.json").read_text())["verdicts"]
               if v["workload"] == "postgres-register-replica" and v["checker"] == "stale-reads"][0]
    want = verdict["evidence"]["by_read_consistency"]["replica"]
    s = hv.lag_summary(rows)
    assert (s.reads, s.stale, s.max_versions) == (want["reads"], want["stale"], want["max_versions"]) == (17277, 417, 3)
    assert round(s.max_behind_s * 1e3, 3) == 3.686
    # the bounded-staleness checker itself (harness/checkers/bounded_staleness.py) on the same file
    from harness.checkers.bounded_staleness import check_bounded_staleness
    from harness.checkers.formats import load_history
    g = check_bounded_staleness(load_history(path), "0v", levels=["replica"]).evidence["by_read_consistency"]["replica"]
    assert (g["reads"], g["violations"], g["max_versions"], g["max_behind_ms"]) == \
        (s.reads, s.stale, s.max_versions, round(s.max_behind_s * 1e3, 3))
    w = hv.stalest_read_window(rows, hv.WEAK_READ)
    assert (w.key, w.stale_read["node"], w.stale_read["result"], len(w.missed), len(w.ops)) == \
        ("replica1", "n3", "1:1422", 3, 22)
