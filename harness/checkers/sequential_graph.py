"""Orders every sequentially consistent order must contain, and the cycles that prove none exists.

With unique written values (the harness writes unique tokens) each read names the one write
it read from (Gibbons & Korach's *read-mapping*). Sequential consistency is then the
existence of a write order per key such that program order (po), reads-from (rf), that
write order (co) and from-reads (fr: a read precedes the write that overwrote its value)
form no cycle (Shasha & Snir's axiomatic view of SC). Guessing the write orders is the
NP-complete part (Gibbons & Korach 1997: verifying SC is NP-complete, and stays so with a
read-mapping; one key with a read-mapping is polynomial). But many orders are *forced*,
and this module derives them by saturation until nothing changes:

- **po**: each op after its process's previous op (``Problem.po_pred``);
- **rf**: a read (or successful cas) after the one op that installed its value;
- **init**: a read of the initial value (absent, never re-installed) before every write of
  that key;
- **R1**: if ``r`` reads ``w``'s value and another write ``w2`` of that key precedes ``r``,
  then ``w2`` precedes ``w`` (nothing may overwrite ``w`` between ``w`` and ``r``);
- **R2**: if ``r`` reads ``w``'s value and ``w`` precedes another write ``w2`` of that key,
  then ``r`` precedes ``w2``. A successful cas is both a read and a write, so two cas from
  the same once-written value order each other both ways: a cycle.

Every edge holds in every legal order, so a cycle proves the history is not sequentially
consistent; the cycle, with the operations that forced each derived edge, is the
counterexample (e.g. two readers that saw two writes in opposite orders: six operations).
No cycle proves nothing: the search (``sequential_search``) decides, using these edges to
prune. "Precedes" is decided with vector clocks over program-order chains (a chain is one
process's run of operations), so each round is linear in operations times chains.

Only register steps qualify (values installed by one op); values written more than once
(Jepsen's 0..4) give no rf edge for their reads.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.checkers.datatypes import CAS_OK, DELETE, WRITE
from harness.checkers.sequential_problem import INSTALLERS, MISSING, Problem, installed_value, needed_value

#: Vector clocks are operations x chains int32s (80 MB at this limit); above it the graph is skipped
#: and the search alone decides.
MAX_CLOCK_CELLS = 20_000_000
MAX_ROUNDS = 30
#: A counterexample lists at most this many operations (the cycle itself is always listed).
MAX_EXPLAINED_OPS = 40

_PO, _RF, _INIT, _R1, _R2 = "po", "rf", "init", "R1", "R2"


@dataclass
class Edge:
    order: int
    rule: str
    via: int = -1
    """R1: the read that forced it; R2: the write the reader read from."""


@dataclass
class GraphOutcome:
    """What saturation found. ``cycle``/``bad_read`` set: not sequentially consistent."""

    edges: dict[tuple[int, int], Edge] = field(default_factory=dict)
    cycle: list[tuple[int, int, str]] | None = None
    """(from node, to node, why) around the cycle."""
    involved: list[int] | None = None
    """Nodes of the counterexample: the cycle plus the operations that forced its edges."""
    bad_read: tuple[int, str] | None = None
    rounds: int = 0
    skipped: str | None = None
    """Why no graph was built (too many cells, not register steps)."""
    fixpoint: bool = False


def forced_order(p: Problem, deadline: float | None = None) -> GraphOutcome:
    """Saturate the forced edges among required nodes; stop at a cycle or a fixpoint."""
    out = GraphOutcome()
    n = p.n_req
    if not p.installer_kinds:
        out.skipped = "not register steps"
        return out
    if n == 0:
        out.fixpoint = True
        return out
    inputs, key_of, init = p.inputs, p.key_of, p.model.init
    # Required installers per key, and who installed each once-only value.
    source: dict[tuple[int, Any], int] = {}
    installed: set[tuple[int, Any]] = set()
    for i, inp in enumerate(inputs):
        if inp[0] in INSTALLERS:
            v = installed_value(inp)
            installed.add((key_of[i], v))
            if i < n and v in p.once[key_of[i]]:
                source[(key_of[i], v)] = i
    readers: list[tuple[int, int]] = []  # (reader, the required op it read from)
    init_readers: list[int] = []
    for i in range(n):
        v = needed_value(inputs[i])
        if v is MISSING:
            continue
        kv = (key_of[i], v)
        if kv not in installed and v != init:
            what = "read" if inputs[i][0] != CAS_OK else "compared against"
            out.bad_read = (i, f"it {what} {v!r}, which no operation in the history wrote to this key "
                               f"(every key starts absent; failed writes did not take effect)")
            return out
        if v not in p.once[key_of[i]]:
            continue
        if kv in source:
            readers.append((i, source[kv]))
        elif kv not in installed:  # the initial value, never installed again
            init_readers.append(i)
    # Chains: program-order trees split into paths (first child continues the parent's chain).
    children: list[list[int]] = [[] for _ in range(n)]
    roots = []
    for i in range(n):
        (children[p.po_pred[i]] if p.po_pred[i] >= 0 else roots).append(i)
    chain, pos = [0] * n, [0] * n
    n_chains = 0
    stack = [(r, -1) for r in reversed(roots)]
    while stack:
        i, parent = stack.pop()
        if parent >= 0 and children[parent][0] == i:
            chain[i], pos[i] = chain[parent], pos[parent] + 1
        else:
            chain[i], pos[i] = n_chains, 0
            n_chains += 1
        stack.extend((c, i) for c in reversed(children[i]))
    if n * n_chains > MAX_CLOCK_CELLS:
        out.skipped = f"{n} operations x {n_chains} program-order chains exceed the vector-clock limit"
        return out
    edges = out.edges

    def add(a: int, b: int, rule: str, via: int = -1) -> bool:
        if (a, b) in edges:
            return False
        edges[(a, b)] = Edge(len(edges), rule, via)
        return True

    for i in range(n):
        if p.po_pred[i] >= 0:
            add(p.po_pred[i], i, _PO)
    for r, w in readers:
        add(w, r, _RF)
    # Installers per key: arrays sorted by (chain, pos) for the vectorised rules.
    per_key: dict[int, list[int]] = {}
    for i in range(n):
        if inputs[i][0] in (WRITE, CAS_OK, DELETE):
            per_key.setdefault(key_of[i], []).append(i)
    inst: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k, lst in per_key.items():
        lst.sort(key=lambda i: (chain[i], pos[i]))
        inst[k] = (np.array(lst), np.array([chain[i] for i in lst]), np.array([pos[i] for i in lst]))
    for r in init_readers:
        k = key_of[r]
        if k in inst:
            nodes, chains, _ = inst[k]
            firsts = np.flatnonzero(np.r_[True, chains[1:] != chains[:-1]])
            for j in firsts:
                w = int(nodes[j])
                if w == r:  # a cas from the initial value is its chain's first write: take the next
                    w = int(nodes[j + 1]) if j + 1 < len(nodes) and chains[j + 1] == chains[j] else -1
                if w >= 0:
                    add(r, w, _INIT)
    by_key_readers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in {key_of[r] for r, _ in readers}:
        pairs = [(r, w) for r, w in readers if key_of[r] == k and k in inst]
        if pairs:
            by_key_readers[k] = (np.array([r for r, _ in pairs]), np.array([w for _, w in pairs]))
    chain_np, pos_np = np.array(chain), np.array(pos)
    while True:
        out.rounds += 1
        succ: list[list[int]] = [[] for _ in range(n)]
        preds: list[list[int]] = [[] for _ in range(n)]
        for a, b in edges:
            succ[a].append(b)
            preds[b].append(a)
        order = _topological(n, succ, preds)
        if order is None:
            out.cycle, out.involved = _explain(p, edges, succ, preds)
            return out
        if out.rounds > MAX_ROUNDS or (deadline is not None and time.monotonic() > deadline):
            return out
        vc = np.zeros((n, n_chains), dtype=np.int32)
        for i in order:
            ps = preds[i]
            if len(ps) == 1:
                vc[i] = vc[ps[0]]
            elif ps:
                vc[i] = vc[ps].max(axis=0)
            vc[i, chain[i]] = pos[i] + 1
        new: list[tuple[int, int, str, int]] = []
        for k, (rs, ws) in by_key_readers.items():
            new.extend(_derive(vc, inst[k], rs, ws, chain_np, pos_np))
        added = False
        for a, b, rule, via in new:
            added = add(a, b, rule, via) or added
        if not added:
            out.fixpoint = True
            return out


#: Readers are handled in blocks of about this many (reader, installer) cells.
_BLOCK_CELLS = 2_000_000


def _derive(vc: np.ndarray, installers: tuple[np.ndarray, np.ndarray, np.ndarray], rs: np.ndarray, ws: np.ndarray,
            chain: np.ndarray, pos: np.ndarray) -> list[tuple[int, int, str, int]]:
    """Rules R1 and R2 for one key's mapped readers ``rs`` (each read from ``ws``), with
    ``vc[i, c]`` = how many ops of chain ``c`` precede or are op ``i``. Only the edges not
    already implied are returned, one per (reader, chain): the last installer of a chain that
    precedes the reader (R1), the first that follows the source (R2)."""
    nodes, chains, poss = installers
    out: list[tuple[int, int, str, int]] = []
    vn = vc[nodes]  # installers x chains
    step = max(1, _BLOCK_CELLS // max(1, len(nodes)))
    for lo in range(0, len(rs), step):
        r, w = rs[lo:lo + step], ws[lo:lo + step]
        others = (nodes[None, :] != w[:, None]) & (nodes[None, :] != r[:, None])
        # R1: installers that precede r (and do not already precede w) must precede w.
        cand = (poss[None, :] < vc[r][:, chains]) & ~(poss[None, :] < vc[w][:, chains]) & others
        rr, cc = np.nonzero(cand)
        if rr.size:
            ch = chains[cc]
            last = np.r_[(rr[1:] != rr[:-1]) | (ch[1:] != ch[:-1]), True]
            out.extend((int(nodes[c]), int(w[i]), _R1, int(r[i])) for i, c in zip(rr[last], cc[last]))
        # R2: installers that w precedes (and r does not already precede) must follow r.
        cand = (vn[:, chain[w]].T > pos[w][:, None]) & ~(vn[:, chain[r]].T > pos[r][:, None]) & others
        rr, cc = np.nonzero(cand)
        if rr.size:
            ch = chains[cc]
            first = np.r_[True, (rr[1:] != rr[:-1]) | (ch[1:] != ch[:-1])]
            out.extend((int(r[i]), int(nodes[c]), _R2, int(w[i])) for i, c in zip(rr[first], cc[first]))
    return out


def _topological(n: int, succ: list[list[int]], preds: list[list[int]]) -> list[int] | None:
    indeg = [len(ps) for ps in preds]
    queue = deque(i for i in range(n) if indeg[i] == 0)
    order = []
    while queue:
        i = queue.popleft()
        order.append(i)
        for s in succ[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                queue.append(s)
    return order if len(order) == n else None


def _explain(p: Problem, edges: dict[tuple[int, int], Edge], succ: list[list[int]], preds: list[list[int]]
             ) -> tuple[list[tuple[int, int, str]], list[int]]:
    """A short cycle and the operations that forced its derived edges."""
    n = p.n_req
    # Nodes on some cycle: what Kahn's algorithm cannot remove, from either direction.
    indeg = [len(ps) for ps in preds]
    alive = [True] * n
    queue = deque(i for i in range(n) if indeg[i] == 0)
    while queue:
        i = queue.popleft()
        alive[i] = False
        for s in succ[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                queue.append(s)
    # Shortest cycle through the earliest-invoked node left (BFS back to itself).
    best: list[int] | None = None
    for start in [i for i in range(n) if alive[i]][:20]:
        cyc = _path(start, start, succ, alive, edges, None)
        if cyc is not None and (best is None or len(cyc) < len(best)):
            best = cyc
    assert best is not None
    cycle = [(best[j], best[j + 1], _why(p, best[j], best[j + 1], edges[(best[j], best[j + 1])]))
             for j in range(len(best) - 1)]
    involved: list[int] = []
    seen: set[int] = set()

    def note(i: int) -> None:
        if i not in seen:
            seen.add(i)
            involved.append(i)

    for a, _, _ in cycle:
        note(a)
    todo = [(a, b) for a, b, _ in cycle]
    expanded: set[tuple[int, int]] = set()
    everyone = [True] * n
    while todo and len(involved) < MAX_EXPLAINED_OPS:
        a, b = todo.pop(0)
        if (a, b) in expanded:
            continue
        expanded.add((a, b))
        e = edges[(a, b)]
        if e.rule == _R1:  # a precedes the read e.via, which read b's value
            path = _path(a, e.via, succ, everyone, edges, e.order)
        elif e.rule == _R2:  # a read e.via's value, and e.via precedes b
            path = _path(e.via, b, succ, everyone, edges, e.order)
        else:
            continue
        if path is None:
            continue
        for i in path:
            note(i)
        todo.extend((path[j], path[j + 1]) for j in range(len(path) - 1))
    return cycle, involved


def _path(src: int, dst: int, succ: list[list[int]], allowed: list[bool], edges: dict[tuple[int, int], Edge],
          before: int | None) -> list[int] | None:
    """Shortest path src -> dst (src == dst: a cycle) over allowed nodes and, if ``before`` is
    set, only edges added before that one (so an explanation never uses what it explains)."""
    parent: dict[int, int] = {}
    queue = deque([src])
    while queue:
        i = queue.popleft()
        for s in succ[i]:
            if not allowed[s] or s in parent:
                continue
            if before is not None and edges[(i, s)].order >= before:
                continue
            parent[s] = i
            if s == dst:
                path = [dst]
                cur = i
                while cur != src:
                    path.append(cur)
                    cur = parent[cur]
                path.append(src)
                return path[::-1]
            queue.append(s)
    return None


def _why(p: Problem, a: int, b: int, e: Edge) -> str:
    oa, ob = p.ops[a], p.ops[b]
    if e.rule == _PO:
        return f"program order of process {oa.process}"
    if e.rule == _RF:
        return f"op {ob.index} returned the value op {oa.index} wrote"
    if e.rule == _INIT:
        return f"op {oa.index} returned the initial value, so it precedes every write of the key"
    if e.rule == _R1:
        return (f"op {p.ops[e.via].index} returned op {ob.index}'s value and comes after op {oa.index}, "
                f"which writes the same key: op {oa.index} must come before op {ob.index}")
    return (f"op {oa.index} returned op {p.ops[e.via].index}'s value, which op {ob.index} overwrites "
            f"later: op {oa.index} must come before op {ob.index}")

