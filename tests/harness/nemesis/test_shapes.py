"""Partition shapes: exact groupings and exact cut sets."""
from __future__ import annotations

import random
from itertools import permutations

import pytest

from harness.nemesis.shapes import Grouping, ShapeError, cut_between, grouping, node_order, rules_per_node

N5 = ["n1", "n2", "n3", "n4", "n5"]
N3 = ["n1", "n2", "n3"]


def both(a: list[str], b: list[str]) -> frozenset[tuple[str, str]]:
    return frozenset({(x, y) for x in a for y in b} | {(y, x) for x in a for y in b})


def test_node_order_is_natural() -> None:
    assert node_order(["n10", "n2", "n1"]) == ["n1", "n2", "n10"]


def test_halves() -> None:
    g = grouping("halves", N5)
    assert g.groups == (("n1", "n2"), ("n3", "n4", "n5"))
    assert g.cut == both(["n1", "n2"], ["n3", "n4", "n5"])
    assert len(g.cut) == 12


def test_halves_shuffled_by_seeded_rng_is_reproducible() -> None:
    a = grouping("halves", N5, rng=random.Random(3))
    b = grouping("halves", N5, rng=random.Random(3))
    assert a.groups == b.groups and len(a.groups[0]) == 2 and len(a.groups[1]) == 3
    assert sorted(a.groups[0] + a.groups[1]) == N5


def test_leader_in_minority_is_the_spec_scenario() -> None:
    g = grouping("majority-minority", N5, leader="n3", placement="leader-in-minority")
    assert g.groups == (("n3", "n1"), ("n2", "n4", "n5"))
    assert g.labels == ("minority", "majority")
    assert g.cut == both(["n3", "n1"], ["n2", "n4", "n5"])
    assert g.details == {"placement": "leader-in-minority", "leader": "n3"}
    assert g.label_of("n3") == "minority" and g.label_of("n4") == "majority"
    # the shorthand shape name gives the same cut
    s = grouping("leader-in-minority", N5, leader="n3")
    assert s.shape == "leader-in-minority" and s.groups == g.groups and s.cut == g.cut


def test_leader_in_minority_with_rng_picks_a_follower() -> None:
    g = grouping("leader-in-minority", N5, leader="n1", rng=random.Random(7))
    assert g.groups[0][0] == "n1" and len(g.groups[0]) == 2 and g.groups[0][1] != "n1"
    assert len(g.groups[1]) == 3 and "n1" not in g.groups[1]


def test_leader_in_majority() -> None:
    g = grouping("majority-minority", N5, leader="n1", placement="leader-in-majority")
    assert g.groups == (("n2", "n3"), ("n1", "n4", "n5"))


def test_leader_in_minority_on_three_nodes_isolates_the_leader() -> None:
    g = grouping("leader-in-minority", N3, leader="n2")
    assert g.groups == (("n2",), ("n1", "n3"))
    assert g.cut == both(["n2"], ["n1", "n3"])


def test_leader_shapes_need_a_leader() -> None:
    with pytest.raises(ShapeError, match="needs the current leader"):
        grouping("leader-in-minority", N5, leader=None)
    with pytest.raises(ShapeError, match="not one of the nodes"):
        grouping("isolate-leader", N5, leader="n9")


def test_isolate_leader_and_node() -> None:
    g = grouping("isolate-leader", N5, leader="n4")
    assert g.groups == (("n4",), ("n1", "n2", "n3", "n5"))
    assert g.cut == both(["n4"], ["n1", "n2", "n3", "n5"]) and len(g.cut) == 8
    h = grouping("isolate-node", N5, node="n2")
    assert h.groups == (("n2",), ("n1", "n3", "n4", "n5"))
    with pytest.raises(ShapeError, match="unknown node 'n7'"):
        grouping("isolate-node", N5, node="n7")
    r1 = grouping("isolate-node", N5, rng=random.Random(11))
    r2 = grouping("isolate-node", N5, rng=random.Random(11))
    assert r1.groups == r2.groups


def test_cut_from_leader_cuts_one_link_pair() -> None:
    g = grouping("cut-from-leader", N5, leader="n5", node="n1")
    assert g.groups == (("n1",), ("n2", "n3", "n4", "n5"))
    assert g.labels == ("cut-off", "rest")
    assert g.cut == frozenset({("n1", "n5"), ("n5", "n1")})
    assert g.details == {"node": "n1", "leader": "n5"}
    assert not g.reachable("n1", "n5") and g.reachable("n1", "n2") and g.reachable("n2", "n5")
    assert rules_per_node(g.cut) == {"n1": {"in": ["n5"], "out": ["n5"]}, "n5": {"in": ["n1"], "out": ["n1"]}}
    # Without a node: the first follower in name order; with an RNG: a seeded choice among followers.
    assert grouping("cut-from-leader", N5, leader="n1").details["node"] == "n2"
    picks = {grouping("cut-from-leader", N5, leader="n3", rng=random.Random(s)).details["node"] for s in range(40)}
    assert picks == {"n1", "n2", "n4", "n5"}


def test_cut_from_leader_refuses_the_leader_and_needs_one() -> None:
    with pytest.raises(ShapeError, match="'n5' is the leader now"):
        grouping("cut-from-leader", N5, leader="n5", node="n5")
    with pytest.raises(ShapeError, match="needs the current leader"):
        grouping("cut-from-leader", N5, node="n1")
    with pytest.raises(ShapeError, match="unknown node 'n9'"):
        grouping("cut-from-leader", N5, leader="n5", node="n9")
    with pytest.raises(ShapeError, match="at least 3 nodes"):
        grouping("cut-from-leader", ["n1", "n2"], leader="n1")


def test_bridge() -> None:
    g = grouping("bridge", N5)
    assert g.groups == (("n1", "n2"), ("n3",), ("n4", "n5"))
    assert g.details == {"bridge": "n3"}
    assert g.cut == both(["n1", "n2"], ["n4", "n5"])
    assert g.reachable("n1", "n3") and g.reachable("n3", "n5") and not g.reachable("n1", "n4")


def test_ring() -> None:
    g = grouping("ring", N5)
    # n1 sees n5 and n2 only, etc.
    assert g.details["neighbours"] == {"n1": ["n2", "n5"], "n2": ["n1", "n3"], "n3": ["n2", "n4"],
                                       "n4": ["n3", "n5"], "n5": ["n1", "n4"]}
    assert g.cut == both(["n1"], ["n3", "n4"]) | both(["n2"], ["n4", "n5"]) | both(["n3"], ["n5"])
    assert len(g.cut) == 10
    for x in N5:  # every node sees a majority (itself + 2)
        assert sum(1 for y in N5 if y != x and g.reachable(x, y)) == 2


def test_explicit_groups() -> None:
    g = grouping("groups", N5, groups=[["n1"], ["n2", "n3"], ["n4", "n5"]])
    assert g.groups == (("n1",), ("n2", "n3"), ("n4", "n5"))
    assert g.cut == cut_between([["n1"], ["n2", "n3"], ["n4", "n5"]])
    assert len(g.cut) == 2 * (1 * 2 + 1 * 2 + 2 * 2)
    with pytest.raises(ShapeError, match="unknown node 'n6'"):
        grouping("groups", N5, groups=[["n1", "n6"], ["n2", "n3", "n4", "n5"]])
    with pytest.raises(ShapeError, match="in no group"):
        grouping("groups", N5, groups=[["n1"], ["n2"]])
    with pytest.raises(ShapeError, match="group 0 and group 1"):
        grouping("groups", N5, groups=[["n1", "n2"], ["n2", "n3", "n4", "n5"]])


def test_all_links() -> None:
    g = grouping("all", N3)
    assert g.cut == frozenset(permutations(N3, 2))


def test_unknown_shape_and_placement() -> None:
    with pytest.raises(ShapeError, match="unknown shape"):
        grouping("triangle", N5)
    with pytest.raises(ShapeError, match="unknown placement"):
        grouping("majority-minority", N5, leader="n1", placement="leader-nowhere")


def test_rules_per_node() -> None:
    g = grouping("isolate-node", N3, node="n1")
    assert rules_per_node(g.cut) == {"n1": {"in": ["n2", "n3"], "out": ["n2", "n3"]},
                                     "n2": {"in": ["n1"], "out": ["n1"]},
                                     "n3": {"in": ["n1"], "out": ["n1"]}}


def test_to_dict_is_json_friendly() -> None:
    import json
    g: Grouping = grouping("bridge", N5)
    d = json.loads(json.dumps(g.to_dict()))
    assert d["groups"] == [["n1", "n2"], ["n3"], ["n4", "n5"]] and d["bridge"] == "n3"
    assert ["n1", "n4"] in d["cut"]
