"""Search for one total order that program order, the forced edges and the model accept.

Depth-first over "place one more operation": an op may be placed once every edge into it
(program order, and the forced orders of ``sequential_graph``) comes from a placed op, and
the model accepts it in the current state of its key. The search succeeds when every
required op is placed (optional ``info`` ops placed or not). Pruning, each sound:

- **Memoisation** of (placed set, every key's state): the future depends only on those.
  The placed set is exact: required ops are numbered in invocation order and kept as
  (first unplaced op, bits of the placed ops above it), which stays small when the order
  found is close to real time; optional ops as a bitset. The key states are kept as a
  128-bit Zobrist hash (one random number per (key, value), XORed), so a memo entry is a
  few machine words whatever the number of keys; two different states collide with
  probability about 2^-128 per pair (below 10^-25 at the default state budget).
- **Reads first**: a legal read-only op (a read, a failed compare) at a process's front
  can go now: it changes no state, so placing it earlier keeps any valid continuation valid.
- **Values written once are never left while an unplaced op still needs them** (the
  harness's unique tokens): such a branch can never place that op.
- **Optional ops that would change nothing are not placed** (an indeterminate cas whose
  compare fails here): placing one is the same as omitting it.
- Ties are tried in invocation order, so a history that is linearizable or nearly so is
  found almost without backtracking.

A budget of states and a deadline bound the search; past either, the answer is "unknown".
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from harness.checkers.datatypes import ILLEGAL, READ_ONLY
from harness.checkers.sequential_problem import MISSING, Problem, needed_value

_SEED = 0x5C0
CAPPED = "cap"
"""``SearchOutcome.stopped`` when the per-search cap (not the whole budget) ran out."""


@dataclass
class SearchOutcome:
    sequential: bool | None
    """``None``: the budget ran out first (``stopped`` says which)."""
    states: int
    stopped: str | None = None
    prefix: list[int] | None = None
    """Violation: the longest prefix of placed ops found (node ids, in order)."""
    stuck: list[int] | None = None
    """Violation: required ops that could go next after that prefix but that the model (or a
    once-written value still needed) refused."""
    state_after_prefix: dict[Any, Any] | None = None


@dataclass
class Budget:
    """States and wall time shared by every search of one check."""

    max_states: int | None
    deadline: float | None
    states: int = 0

    def exhausted(self) -> str | None:
        if self.max_states is not None and self.states >= self.max_states:
            return f"search exceeded {self.max_states} states"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return "search exceeded its time limit"
        return None


def search(p: Problem, edges: Any, budget: Budget, cap: int | None = None) -> SearchOutcome:
    """Find an order (see the module docstring). ``edges``: (a, b) pairs among required nodes.
    ``cap``: give up (``stopped="cap"``) after this many states of this search."""
    n, n_req = p.n, p.n_req
    if n_req == 0:
        return SearchOutcome(True, 0)
    stopped = budget.exhausted()
    if stopped:
        return SearchOutcome(None, 0, stopped)
    inputs, key_of, step = p.inputs, p.key_of, p.model.step
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    pairs = set(edges)
    pairs.update((p.po_pred[i], i) for i in range(n) if p.po_pred[i] >= 0)
    for a, b in pairs:
        succ[a].append(b)
        indeg[b] += 1
    read_only = [inp[0] in READ_ONLY for inp in inputs]
    # Unplaced required ops that need each once-only (key, value).
    need_of: list[tuple[int, Any] | None] = [None] * n
    needers: dict[tuple[int, Any], int] = {}
    for i in range(n_req):
        v = needed_value(inputs[i])
        if v is not MISSING and v in p.once[key_of[i]]:
            need_of[i] = (key_of[i], v)
            needers[need_of[i]] = needers.get(need_of[i], 0) + 1  # type: ignore[index]
    states = [p.model.init] * len(p.keys)
    rng = random.Random(_SEED)
    zob: dict[tuple[int, Any], int] = {}

    def z(kid: int, v: Any) -> int:
        h = zob.get((kid, v))
        if h is None:
            init = p.model.init
            h = zob[(kid, v)] = 0 if v == init and type(v) is type(init) else rng.getrandbits(128)
        return h

    enabled = {i for i in range(n) if indeg[i] == 0}

    def expand() -> list[tuple[int, Any]]:
        cands: list[tuple[int, Any]] = []
        for i in sorted(enabled):
            kid = key_of[i]
            st = states[kid]
            nxt = step(st, inputs[i])
            if nxt is ILLEGAL:
                continue
            if i >= n_req and nxt == st:
                continue
            if nxt != st:
                left = needers.get((kid, st), 0)
                if left and left > (need_of[i] == (kid, st)):
                    continue  # would strand an op that still needs this once-written value
            elif read_only[i]:
                return [(i, nxt)]
            cands.append((i, nxt))
        return cands

    def place(i: int, nxt: Any) -> Any:
        kid = key_of[i]
        prev = states[kid]
        states[kid] = nxt
        enabled.discard(i)
        for s in succ[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                enabled.add(s)
        if need_of[i] is not None:
            needers[need_of[i]] -= 1  # type: ignore[index]
        return prev

    def unplace(i: int, prev: Any) -> None:
        states[key_of[i]] = prev
        for s in succ[i]:
            if indeg[s] == 0:
                enabled.discard(s)
            indeg[s] += 1
        enabled.add(i)
        if need_of[i] is not None:
            needers[need_of[i]] += 1  # type: ignore[index]

    seen: set[tuple[int, int, int, int]] = set()
    # Frame: [candidates, next index, node placed, previous state of its key, k, rel, opt, h, path]
    stack: list[list[Any]] = [[expand(), 0, -1, None, 0, 0, 0, 0, None]]
    best_depth, best_path = -1, None
    placed_req = 0
    start_states = budget.states
    while stack:
        top = stack[-1]
        cands = top[0]
        if top[1] == len(cands):
            stack.pop()
            if top[2] >= 0:
                unplace(top[2], top[3])
                if top[2] < n_req:
                    placed_req -= 1
            continue
        i, nxt = cands[top[1]]
        top[1] += 1
        k, rel, opt, h = top[4], top[5], top[6], top[7]
        kid = key_of[i]
        h ^= z(kid, states[kid]) ^ z(kid, nxt)
        if i < n_req:
            rel |= 1 << (i - k)
            if i == k:
                shift = (~rel & (rel + 1)).bit_length() - 1
                k += shift
                rel >>= shift
                if k == n_req:
                    budget.states += len(seen) & 1023
                    return SearchOutcome(True, budget.states - start_states)
        else:
            opt |= 1 << (i - n_req)
        memo = (k, rel, opt, h)
        if memo in seen:
            continue
        seen.add(memo)
        if len(seen) & 1023 == 0:
            budget.states += 1024
            stopped = budget.exhausted() or (CAPPED if cap is not None and len(seen) >= cap else None)
            if stopped:
                return SearchOutcome(None, budget.states - start_states, stopped)
        prev = place(i, nxt)
        path = (i, top[8])
        if i < n_req:
            placed_req += 1
        stack.append([expand(), 0, i, prev, k, rel, opt, h, path])
        if placed_req > best_depth:
            best_depth, best_path = placed_req, path
    budget.states += len(seen) & 1023
    # Exhausted: not sequentially consistent. Replay the deepest prefix to say what was stuck.
    order: list[int] = []
    while best_path is not None:
        order.append(best_path[0])
        best_path = best_path[1]
    order.reverse()
    placed = set(order)
    states = [p.model.init] * len(p.keys)
    for i in order:
        states[key_of[i]] = step(states[key_of[i]], inputs[i])
    preds_placed = [True] * n
    for a, b in pairs:
        if a not in placed:
            preds_placed[b] = False
    stuck = [i for i in range(n_req) if i not in placed and preds_placed[i]]
    touched = {key_of[i] for i in stuck}
    return SearchOutcome(False, budget.states - start_states, None, order, stuck,
                         {p.keys[kid]: states[kid] for kid in sorted(touched)})
