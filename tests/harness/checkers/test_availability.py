"""Availability report on crafted histories: exact expected numbers."""
from __future__ import annotations

from typing import Any

from harness.checkers.availability import (check_availability, cluster_view, fault_windows, leader_changes,
                                           node_views, side_timeline)
from harness.recorder.history import Op

S = 1_000_000_000


def t(sec: float) -> int:
    return round(sec * 1000) * 1_000_000  # exact ns from ms


_seq = iter(range(10_000))


def op(node: str, f: str, inv: float, comp: float, typ: str = "ok", rc: str | None = None, error: str | None = None,
       **extra: Any) -> Op:
    if f == "get" and rc is None:
        rc = "linearizable"
    return Op(i=next(_seq), process=int(node[1:]), f=f, key="k0", value=None, invoke_ns=t(inv), complete_ns=t(comp),
              type=typ, node=node, read_consistency=rc, error=error, extra=extra)  # type: ignore[arg-type]


def nem(f: str, inv: float, comp: float, value: dict[str, Any], typ: str = "ok") -> Op:
    return Op(i=next(_seq), process="nemesis", f=f, key=None, value=value, invoke_ns=t(inv), complete_ns=t(comp),
              type=typ)  # type: ignore[arg-type]


PARTITION = nem("partition", 10.0, 10.1, {"shape": "leader-in-minority", "groups": [["n1", "n2"], ["n3", "n4", "n5"]],
                                          "labels": ["minority", "majority"], "leader": "n1"})
HEAL = nem("heal", 20.0, 20.05, {"shape": "leader-in-minority"})

HISTORY = [
    op("n3", "put", 9.5, 9.51),
    PARTITION,
    op("n3", "put", 10.2, 12.2, "info", error="timeout"),
    op("n4", "get", 10.3, 11.5),
    op("n4", "put", 10.5, 11.6),
    op("n1", "put", 11.0, 11.001, "fail", error="no_leader"),
    op("n1", "put", 12.0, 14.0, "info", error="timeout"),
    op("n2", "get", 12.0, 14.0, "info", error="timeout"),
    op("n2", "get", 12.5, 12.501, rc="serializable"),
    op("n1", "get", 15.0, 15.002, rc="serializable"),
    op("n3", "put", 19.5, 19.6),
    op("n2", "get", 19.8, 20.3),
    op("n4", "get", 19.9, 19.95),
    HEAL,
    op("n1", "get", 20.1, 20.15),
    op("n4", "put", 20.2, 20.3),
    op("n1", "put", 20.5, 20.6),
    op("n2", "put", 21.0, 21.25),
    op("n1", "get", 30.0, 30.001, final=True),  # a final read: not load
]


def member(leader: str | None, term: int, is_leader: bool = False) -> dict[str, Any]:
    return {"leader": leader, "term": term, "raft_index": 1, "is_leader": is_leader}


POLLS = [
    {"start_ns": t(8.99), "end_ns": t(9.0), "members": {"n1": member("n1", 2, True), "n2": member("n1", 2),
                                                         "n3": member("n1", 2), "n4": member("n1", 2),
                                                         "n5": member("n1", 2)}},
    {"start_ns": t(10.39), "end_ns": t(10.4), "members": {"n1": member("n1", 2, True), "n2": member("n1", 2),
                                                           "n3": member(None, 2), "n4": member(None, 2),
                                                           "n5": member(None, 2)}},
    {"start_ns": t(11.19), "end_ns": t(11.2), "members": {"n1": member(None, 2), "n2": member(None, 2),
                                                           "n3": member("n3", 3, True), "n4": member("n3", 3),
                                                           "n5": None}},
    {"start_ns": t(20.99), "end_ns": t(21.0), "members": {n: member("n3", 3, n == "n3")
                                                           for n in ("n1", "n2", "n3", "n4", "n5")}},
]


def report() -> dict[str, Any]:
    return check_availability(HISTORY, POLLS)


def test_window_from_nemesis_records() -> None:
    ws = fault_windows([PARTITION, HEAL], ["n1", "n2", "n3", "n4", "n5"])
    assert len(ws) == 1
    w = ws[0]
    assert (w.fault, w.start_ns, w.end_ns, w.repaired_ns, w.repair) == ("partition", t(10.1), t(20.0), t(20.05), "heal")
    assert w.sides == [("minority", ["n1", "n2"]), ("majority", ["n3", "n4", "n5"])]
    assert w.available_side == "majority"
    r = report()["windows"][0]
    assert r["applied_over_ms"] == 100.0 and r["duration_s"] == 9.9 and r["start_s"] == 10.1
    assert r["repaired_s"] == 20.05 and r["repair_applied_over_ms"] == 50.0


def test_per_second_timeline_of_the_minority() -> None:
    rows = report()["windows"][0]["timeline"]["minority"]
    assert [r["t_s"] for r in rows] == [float(k) for k in range(11)]
    assert rows[0] == {"t_s": 0.0, "attempted": 1, "ok": 0, "fail": 1, "info": 0, "p50_ms": None, "p99_ms": None}
    assert rows[1] == {"t_s": 1.0, "attempted": 2, "ok": 0, "fail": 0, "info": 2, "p50_ms": None, "p99_ms": None}
    assert rows[2] == {"t_s": 2.0, "attempted": 1, "ok": 1, "fail": 0, "info": 0, "p50_ms": 1.0, "p99_ms": 1.0}
    assert rows[3] == {"t_s": 3.0, "attempted": 0, "ok": 0, "fail": 0, "info": 0, "p50_ms": None, "p99_ms": None}
    assert rows[4]["p50_ms"] == 2.0
    assert rows[9] == {"t_s": 9.0, "attempted": 1, "ok": 1, "fail": 0, "info": 0, "p50_ms": 500.0, "p99_ms": 500.0}
    # latencies 50, 100, 250 ms: nearest-rank p50 = 2nd, p99 = 3rd
    assert rows[10] == {"t_s": 10.0, "attempted": 3, "ok": 3, "fail": 0, "info": 0, "p50_ms": 100.0, "p99_ms": 250.0}


def test_majority_timeline_starts_before_the_fault() -> None:
    rows = report()["windows"][0]["timeline"]["majority"]
    assert rows[0]["t_s"] == -1.0 and rows[0]["ok"] == 1  # the put at 9.5 s
    assert rows[1] == {"t_s": 0.0, "attempted": 3, "ok": 2, "fail": 0, "info": 1, "p50_ms": 1100.0, "p99_ms": 1200.0}


def test_minority_behaviour_during_the_partition() -> None:
    d = report()["windows"][0]["during"]["minority"]
    assert d["write"] == {"attempted": 2, "ok": 0, "fail": 1, "info": 1,
                          "errors": {"fail": {"no_leader": 1}, "info": {"timeout": 1}},
                          "completed_after_repair": {"ok": 0, "fail": 0, "info": 0},
                          "served": False, "first_ok_after_s": None, "last_ok_after_s": None}
    # the linearizable read invoked at 19.8 s completed only after the heal: not served during
    assert d["read_linearizable"]["attempted"] == 1 and d["read_linearizable"]["info"] == 1
    assert d["read_linearizable"]["completed_after_repair"] == {"ok": 1, "fail": 0, "info": 0}
    assert d["read_linearizable"]["served"] is False
    assert d["read_serializable"]["served"] is True
    assert d["read_serializable"]["first_ok_after_s"] == 2.401 and d["read_serializable"]["last_ok_after_s"] == 4.902


def test_unavailability_on_the_majority() -> None:
    u = report()["windows"][0]["unavailability"]
    assert u["write"]["first_ok_after_s"] == 1.5
    assert u["write"]["gap_s"] == 2.09
    assert u["write"]["first_ok"] == {"process": 4, "node": "n4", "f": "put", "key": "k0", "invoke_s": 10.5,
                                      "complete_s": 11.6}
    assert u["read_linearizable"]["first_ok_after_s"] == 1.4 and u["read_linearizable"]["gap_s"] is None
    assert "read_serializable" not in u  # no such ops on the majority


def test_recovery_after_heal() -> None:
    r = report()["windows"][0]["recovery"]
    assert r["per_node"] == {
        "n1": {"write": 0.6, "read_linearizable": 0.15},
        "n2": {"write": 1.25, "read_linearizable": 0.3},
        "n3": {"write": 0.0},
        "n4": {"write": 0.3, "read_linearizable": 0.0},
        "n5": {},
    }
    assert r["no_ops_after_repair"] == ["n1/read_serializable", "n2/read_serializable"]
    assert r["full_service_after_s"] == 1.25 and r["slowest_node"] == "n2" and r["every_node_recovered"] is True


def test_leader_changes_from_polls() -> None:
    rep = report()
    assert rep["leader_changes"] == [{"t_s": 9.0, "leader": "n1", "term": 2}, {"t_s": 11.2, "leader": "n3", "term": 3}]
    ld = rep["windows"][0]["leader"]
    assert ld["leader_before"] == "n1" and ld["term_before"] == 2 and ld["leader_side"] == "minority"
    assert ld["new_leader"] == "n3" and ld["new_term"] == 3
    assert ld["elected_after_s"] == 1.1 and ld["elected_not_before_s"] == 0.3
    assert ld["old_leader_stepped_down_after_s"] == 1.1 and ld["old_leader_stepped_down_not_before_s"] == 0.3
    assert rep["poll_interval"] == {"polls": 4, "median_ms": 1400.0, "max_ms": 9800.0}
    views = node_views(POLLS)
    assert views["n1"] == [{"t_s": 9.0, "leader": "n1", "term": 2, "is_leader": True},
                           {"t_s": 11.2, "leader": None, "term": 2, "is_leader": False},
                           {"t_s": 21.0, "leader": "n3", "term": 3, "is_leader": False}]
    assert views["n5"][2] == {"t_s": 11.2, "answered": False}


def test_deposed_leader_still_claiming_is_outranked_by_term() -> None:
    p = {"members": {"n1": member("n1", 2, True), "n3": member("n3", 3, True)}}
    assert cluster_view(p) == ("n3", 3)
    assert leader_changes([]) == []


def test_final_reads_and_nemesis_are_not_load() -> None:
    rep = report()
    assert rep["ops"] == {"load": 16, "nemesis": 2}
    assert rep["nodes"] == ["n1", "n2", "n3", "n4", "n5"]


def test_kill_window_and_unrepaired_fault() -> None:
    kill = nem("kill", 5.0, 5.01, {"target": "leader", "nodes": ["n2"], "leader": "n2"})
    hist = [kill, op("n1", "put", 5.5, 6.0), op("n2", "put", 5.5, 5.6, "fail", error="connect_failed")]
    rep = check_availability(hist, nodes=["n1", "n2", "n3"])
    w = rep["windows"][0]
    assert w["sides"] == {"affected": ["n2"], "rest": ["n1", "n3"]} and w["available_side"] == "rest"
    assert w["end_s"] is None and w["recovery"] is None and w["leader"] is None
    assert w["unavailability"]["write"]["first_ok_after_s"] == 0.99
    assert w["during"]["affected"]["write"]["errors"] == {"fail": {"connect_failed": 1}, "info": {}}


def test_a_node_whose_ops_all_fail_after_the_repair_never_recovered() -> None:
    hist = HISTORY + [op("n5", "put", 20.5, 22.5, "info", error="timeout")]
    r = check_availability(hist, POLLS)["windows"][0]["recovery"]
    assert r["per_node"]["n5"] == {"write": None}
    assert r["every_node_recovered"] is False and r["full_service_after_s"] is None and r["slowest_node"] is None


def test_failed_fault_opens_no_window() -> None:
    bad = nem("partition", 1.0, 1.0, {"shape": "halves"}, typ="fail")
    assert check_availability([bad], nodes=["n1", "n2"])["windows"] == []


def test_side_timeline_empty() -> None:
    assert side_timeline([], 0, S) == []


def test_op_classes_for_consistency_levels() -> None:
    from harness.checkers.availability import classes_of, is_service_class, op_class
    from harness.recorder.history import Op

    def op(f: str, rc: str | None = None, wc: str | None = None) -> Op:
        return Op(i=0, process=1, f=f, key="k", value=None, invoke_ns=0, complete_ns=1, type="ok",
                  read_consistency=rc, write_consistency=wc)

    assert [op_class(op("put")), op_class(op("cas", wc="QUORUM")), op_class(op("delete", wc="ONE"))] == \
        ["write", "write_QUORUM", "write_ONE"]
    assert [op_class(op("get", rc)) for rc in ("linearizable", "serializable", None, "SERIAL", "ONE", "QUORUM")] == \
        ["read_linearizable", "read_serializable", "read", "read_SERIAL", "read_ONE", "read_QUORUM"]
    ops = [op("get", "QUORUM"), op("put", wc="ONE"), op("get", "ONE"), op("get", "linearizable")]
    assert classes_of(ops) == ("write", "write_ONE", "read_ONE", "read_QUORUM", "read_linearizable")
    # the level's class comes from the plugins: etcd's serializable and Cassandra's ONE are weak
    assert [is_service_class(c) for c in ("read_serializable", "read_ONE", "read_QUORUM", "read_linearizable",
                                          "read_SERIAL", "read", "write", "write_ONE")] == \
        [False, False, False, True, True, True, True, True]
    assert is_service_class("read_ONE", "cassandra") is False and is_service_class("read_linearizable", "etcd")
