"""Partition shapes (pure): which directed links to cut, from node names and the leader.

A shape turns the node list (and, for leader-aware shapes, the current leader) into a
``Grouping``: the *sides* as reported (for availability per side) and the set of directed
links ``(src, dst)`` whose traffic is dropped. Jepsen calls this a grudge; ours is the
inverted view (links cut rather than nodes snubbed), which is what iptables rules need.

Shapes (``SHAPES``), for nodes ``n1..n5`` and leader ``n1``:

- ``halves``: ``[n1 n2] | [n3 n4 n5]`` (the first floor(n/2) nodes in name order, as
  Jepsen's ``bisect``; with an RNG the nodes are shuffled first).
- ``majority-minority`` with ``placement``:
  ``leader-in-minority`` = ``{leader + one follower} | {the other 3}`` (Diagram 4's
  failure scenario); ``leader-in-majority`` = ``{2 followers} | {leader + 2}``;
  ``random`` = a shuffled split. ``leader-in-minority`` / ``leader-in-majority`` are
  accepted as shape names too.
- ``isolate-leader``: ``{leader} | rest``; ``isolate-node``: ``{node} | rest`` (named, or
  picked by the seeded RNG).
- ``cut-from-leader``: one follower (``node``, or picked by the seeded RNG among the
  followers) loses its links to the leader only, both directions; every other link stays,
  so it still talks to the other followers. Sides ``[node] | rest`` (the rest includes the
  leader); the one cut is ``node <-> leader``.
- ``bridge``: Jepsen's: two halves that cannot talk to each other, plus one node that
  talks to both: ``[n1 n2] | n3 | [n4 n5]``.
- ``ring``: every node talks only to its two neighbours in name order (n1-n2-...-n5-n1):
  each node sees a majority, no two nodes see the same one.
- ``groups``: explicit groups (disjoint, covering every node); every pair of groups is cut.
- ``all`` (link faults only): every link between distinct nodes.

    >>> g = grouping("majority-minority", ["n1", "n2", "n3", "n4", "n5"], leader="n3",
    ...              placement="leader-in-minority")
    >>> g.groups
    (('n3', 'n1'), ('n2', 'n4', 'n5'))
    >>> ("n3", "n4") in g.cut and ("n2", "n4") in g.cut
    (True, False)
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any, Sequence

Link = tuple[str, str]
"""A directed link ``(src, dst)``: traffic sent by ``src`` to ``dst``."""

SHAPES: tuple[str, ...] = ("halves", "majority-minority", "leader-in-minority", "leader-in-majority",
                           "isolate-leader", "isolate-node", "cut-from-leader", "bridge", "ring", "groups", "all")
PLACEMENTS: tuple[str, ...] = ("leader-in-minority", "leader-in-majority", "random")
LEADER_SHAPES = frozenset({"isolate-leader", "leader-in-minority", "leader-in-majority", "cut-from-leader"})


class ShapeError(ValueError):
    """A shape cannot be built from these nodes / parameters (names the reason)."""


def node_order(nodes: Sequence[str]) -> list[str]:
    """Nodes in natural name order (n2 before n10)."""
    def key(s: str) -> tuple[Any, ...]:
        return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))
    return sorted(dict.fromkeys(nodes), key=key)


@dataclass(frozen=True)
class Grouping:
    """What a shape produced: the sides (for reporting), the links cut, and how it was chosen."""

    shape: str
    groups: tuple[tuple[str, ...], ...]
    """The sides, e.g. (minority, majority). Bridge: (half, (bridge,), half); ring: one per node."""
    cut: frozenset[Link]
    labels: tuple[str, ...] = ()
    """A name per group: ``minority``/``majority``, ``isolated``/``rest``, ``bridge``..."""
    details: dict[str, Any] = field(default_factory=dict)

    def side_of(self, node: str) -> int | None:
        """Index of the group holding ``node`` (None if it is in none)."""
        for i, g in enumerate(self.groups):
            if node in g:
                return i
        return None

    def label_of(self, node: str) -> str | None:
        i = self.side_of(node)
        return None if i is None else (self.labels[i] if self.labels else f"side{i}")

    def reachable(self, src: str, dst: str) -> bool:
        """Can a TCP connection from ``src`` to ``dst`` be set up (needs both directions)?"""
        return (src, dst) not in self.cut and (dst, src) not in self.cut

    def nodes(self) -> list[str]:
        return node_order([n for g in self.groups for n in g])

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, "groups": [list(g) for g in self.groups],
                "labels": list(self.labels), "cut": [list(l) for l in sorted(self.cut)], **self.details}


def cut_between(groups: Sequence[Sequence[str]]) -> frozenset[Link]:
    """Every directed link between nodes of different groups (a complete grudge)."""
    out = set()
    for i, a in enumerate(groups):
        for j, b in enumerate(groups):
            if i != j:
                out.update((x, y) for x in a for y in b)
    return frozenset(out)


def cut_except(nodes: Sequence[str], visible: dict[str, set[str]]) -> frozenset[Link]:
    """Every directed link (x, y), x != y, with y not in ``visible[x]``."""
    return frozenset((x, y) for x, y in permutations(nodes, 2) if y not in visible.get(x, set()))


def _check_nodes(nodes: Sequence[str], minimum: int, shape: str) -> list[str]:
    order = node_order(nodes)
    if len(order) != len(list(nodes)):
        raise ShapeError(f"duplicate node names in {list(nodes)}")
    if len(order) < minimum:
        raise ShapeError(f"shape {shape!r} needs at least {minimum} nodes, got {len(order)}")
    return order


def _need_leader(leader: str | None, order: list[str], shape: str) -> str:
    if leader is None:
        raise ShapeError(f"shape {shape!r} needs the current leader, and none is known")
    if leader not in order:
        raise ShapeError(f"leader {leader!r} is not one of the nodes {order}")
    return leader


def grouping(shape: str, nodes: Sequence[str], *, leader: str | None = None, node: str | None = None,
             groups: Sequence[Sequence[str]] | None = None, placement: str | None = None,
             rng: random.Random | None = None) -> Grouping:
    """Build the named shape. ``rng`` (seeded) decides every random choice; without it the
    choices are deterministic (first candidates in name order)."""
    if shape in ("leader-in-minority", "leader-in-majority"):
        placement, shape_name = shape, shape
        shape = "majority-minority"
    else:
        shape_name = shape
    if shape not in SHAPES:
        raise ShapeError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")

    if shape == "halves":
        order = _check_nodes(nodes, 2, shape)
        if rng is not None:
            rng.shuffle(order)
        k = len(order) // 2
        a, b = tuple(order[:k]), tuple(order[k:])
        return Grouping(shape_name, (a, b), cut_between([a, b]), ("half-a", "half-b"))

    if shape == "majority-minority":
        order = _check_nodes(nodes, 3, shape)
        placement = placement or "random"
        if placement not in PLACEMENTS:
            raise ShapeError(f"unknown placement {placement!r} (known: {', '.join(PLACEMENTS)})")
        n_min = (len(order) - 1) // 2
        if placement == "random":
            pool = list(order)
            if rng is not None:
                rng.shuffle(pool)
            minority = pool[:n_min]
        else:
            ld = _need_leader(leader, order, shape_name)
            followers = [x for x in order if x != ld]
            if placement == "leader-in-minority":
                minority = [ld] + (rng.sample(followers, n_min - 1) if rng is not None else followers[:n_min - 1])
            else:
                minority = rng.sample(followers, n_min) if rng is not None else followers[:n_min]
        mino = tuple(minority[:1] + node_order(minority[1:])) if placement == "leader-in-minority" \
            else tuple(node_order(minority))
        majo = tuple(x for x in order if x not in minority)
        details: dict[str, Any] = {"placement": placement}
        if leader is not None:
            details["leader"] = leader
        return Grouping(shape_name, (mino, majo), cut_between([mino, majo]), ("minority", "majority"), details)

    if shape in ("isolate-leader", "isolate-node"):
        order = _check_nodes(nodes, 2, shape)
        if shape == "isolate-leader":
            target = _need_leader(leader, order, shape)
        elif node is not None:
            if node not in order:
                raise ShapeError(f"unknown node {node!r} (nodes: {', '.join(order)})")
            target = node
        else:
            target = rng.choice(order) if rng is not None else order[0]
        rest = tuple(x for x in order if x != target)
        details = {"node": target}
        if leader is not None:
            details["leader"] = leader
        return Grouping(shape, ((target,), rest), cut_between([(target,), rest]), ("isolated", "rest"), details)

    if shape == "cut-from-leader":
        order = _check_nodes(nodes, 3, shape)
        ld = _need_leader(leader, order, shape)
        followers = [x for x in order if x != ld]
        if node is not None:
            if node not in order:
                raise ShapeError(f"unknown node {node!r} (nodes: {', '.join(order)})")
            if node == ld:
                raise ShapeError(f"node {node!r} is the leader now; shape 'cut-from-leader' cuts a follower "
                                 "from the leader")
            target = node
        else:
            target = rng.choice(followers) if rng is not None else followers[0]
        rest = tuple(x for x in order if x != target)
        return Grouping(shape, ((target,), rest), frozenset({(target, ld), (ld, target)}), ("cut-off", "rest"),
                        {"node": target, "leader": ld})

    if shape == "bridge":
        order = _check_nodes(nodes, 3, shape)
        if rng is not None:
            rng.shuffle(order)
        k = len(order) // 2
        a, br, b = tuple(node_order(order[:k])), order[k], tuple(node_order(order[k + 1:]))
        return Grouping(shape, (a, (br,), b), cut_between([a, b]), ("half-a", "bridge", "half-b"), {"bridge": br})

    if shape == "ring":
        order = _check_nodes(nodes, 3, shape)
        n = len(order)
        visible = {x: {order[(i - 1) % n], order[(i + 1) % n]} for i, x in enumerate(order)}
        return Grouping(shape, tuple((x,) for x in order), cut_except(order, visible), tuple(order),
                        {"neighbours": {x: node_order(v) for x, v in visible.items()}})

    if shape == "groups":
        order = _check_nodes(nodes, 2, shape)
        if not groups or len(groups) < 2:
            raise ShapeError("shape 'groups' needs at least two groups")
        seen: dict[str, int] = {}
        for gi, g in enumerate(groups):
            if not g:
                raise ShapeError(f"group {gi} is empty")
            for x in g:
                if x not in order:
                    raise ShapeError(f"unknown node {x!r} in group {gi} (nodes: {', '.join(order)})")
                if x in seen:
                    raise ShapeError(f"node {x!r} is in group {seen[x]} and group {gi}")
                seen[x] = gi
        missing = [x for x in order if x not in seen]
        if missing:
            raise ShapeError(f"node(s) {', '.join(missing)} in no group (every node must be in exactly one)")
        gs = tuple(tuple(g) for g in groups)
        return Grouping(shape, gs, cut_between(gs), tuple(f"group{i}" for i in range(len(gs))))

    # "all": every link between distinct nodes (link faults on the whole cluster)
    order = _check_nodes(nodes, 2, shape)
    return Grouping(shape, tuple((x,) for x in order), frozenset(permutations(order, 2)), tuple(order))


def rules_per_node(cut: frozenset[Link]) -> dict[str, dict[str, list[str]]]:
    """For each node, the peers whose packets it drops: ``{"in": [srcs], "out": [dsts]}``.

    A cut link (a, b) is enforced twice: ``b`` drops input from ``a`` and ``a`` drops output
    to ``b``, so either rule alone is enough and neither side's state matters.
    """
    out: dict[str, dict[str, list[str]]] = {}
    for a, b in sorted(cut):
        out.setdefault(b, {"in": [], "out": []})["in"].append(a)
        out.setdefault(a, {"in": [], "out": []})["out"].append(b)
    return {n: {"in": node_order(v["in"]), "out": node_order(v["out"])} for n, v in out.items()}
