"""Linearizability: is there one order of the operations, consistent with real time, that a
sequential model accepts?

How (and why it is fast enough in pure Python):

- **P-compositionality.** A history is linearizable iff each key's sub-history is (Herlihy &
  Wing's locality), so each key is checked on its own. The search is exponential in the
  number of overlapping operations, so splitting a 10-client, 10-key history into 10
  histories of about 1 concurrent client each turns minutes into milliseconds.
- **Wing-Gong/Lowe search with memoisation**, as Porcupine does: depth-first over
  "linearize one more operation", remembering every (set of linearized ops, model state)
  already explored, since the future depends only on those two. Sets are bitsets held in
  Python ints; the search is an explicit stack (no recursion limit).
- Required ops are numbered by completion time, so "the unplaced op that must go first" is
  the lowest zero bit, and the set is stored as (that op, the bits above it): a small int
  even on a key with 50,000 operations. Pending ``info`` ops have their own small bitset.
- **Reads are taken greedily**: a legal read-only candidate (read, failed compare) can be
  moved to the front of any valid continuation without changing it, so when one exists it
  is the only branch explored.
- **Candidates that make the must-go-first op legal are tried first** (e.g. the write whose
  value a pending read returned): linearizable histories are then found almost without
  backtracking, even with 64 overlapping clients.
- **Values written only once (the harness's unique tokens) are never left while an
  unplaced op still needs them**, and a real-time pre-check finds the common violation
  (an op that certainly ran between a value's only write and a read of it, e.g. a stale
  read) without searching at all; exhaustive search is left for the rest.
- **Indeterminate ops nobody can observe are dropped**, and **identical ones are
  interchangeable** (only the earliest-invoked may be placed first).

Porcupine needs none of the last four to be fast in Go; in Python they are the difference
between milliseconds and minutes on long single-key histories.

Semantics of outcomes (``harness.checkers.model.Operation``):

- ``ok``: took effect once, between its invocation and completion.
- ``fail``: did not take effect: dropped (a failed cas whose compare *ran* is ``ok`` with
  result ``False`` and is kept as a constraint).
- ``info``: may take effect at any point after invocation, or never: its completion is +inf,
  and the search succeeds once every ``ok`` op is placed (unplaced ``info`` ops "never
  happened", which is the same as placing them last). An indeterminate read constrains
  nothing and is dropped.

Models: ``register`` (read/get, write/put, cas, delete; initial value absent = ``None``)
and ``kv-string`` (get, put, append on strings; initial ``""``).

On a violation the evidence names the key and gives a small counterexample, as Porcupine
does: the longest linearizable prefix found (its last few ops) and the operations that could
not be placed after it; or, from the pre-check, the reason and the two or three operations
that contradict each other.

    >>> check_linearizability(load_history("etcd_000.log")).verdict   # doctest: +SKIP
    False
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Sequence

# The models live in datatypes (the sequential-consistency checker shares them); KV_STRING, REGISTER,
# MODELS, Model and model_for stay importable from here.
from harness.checkers.datatypes import (CAS_MAYBE as _CAS_MAYBE, CAS_OK as _CAS_OK, DELETE as _DELETE,  # noqa: F401
                                        ILLEGAL as _ILLEGAL, KV_STRING, MODELS, READ as _READ,
                                        READ_ONLY as _READ_ONLY, REGISTER, WRITE as _WRITE, Model, model_for)
from harness.checkers.model import INF, CheckResult, History, Operation, TimeUnit

NAME = "linearizability"
DEFAULT_MAX_STATES = 2_000_000
"""Per key: beyond this many explored (bitset, state) pairs the verdict is ``"unknown"``
(about 20 s and a few hundred MB in the worst case)."""


@dataclass
class KeyOutcome:
    """The search's answer for one key's sub-history."""

    linearizable: bool | None
    """``None`` when the state budget ran out."""
    states: int
    ops: int
    prefix: list[Operation] | None = None
    """Violation: the longest linearizable prefix found, in linearization order."""
    stuck: list[Operation] | None = None
    """Violation: the ops that could not be placed after that prefix: first the op that had
    to come next (the unplaced op with the earliest completion), then the overlapping ops
    the model rejects in that state, then the unplaced ops that still need that state (a
    value written only once: changing it would strand them)."""
    state_after_prefix: Any = None
    reason: str | None = None
    """Violation found by the real-time pre-check (no search): what contradicts what."""


def _sandwiched(inputs: list[tuple[Any, ...]], calls: list[float], rets: list[float], n_req: int,
                once: set[Any], needers: dict[Any, list[int]]) -> tuple[str, list[int], Any] | None:
    """The common violations, found without search (a stale read is the typical one).

    For a value ``v`` installed only once (by required op ``w``, or as the initial absent
    value) and a required op ``r`` that needs the state to be ``v`` (a read of ``v``, a
    successful cas from ``v``): the state is ``v`` from ``w``'s point to ``r``'s, so an op
    ``x`` that certainly falls between them (invoked after ``w`` completed, completed
    before ``r`` was invoked) must leave ``v`` unchanged. A write, a successful cas, a delete
    (unless ``v`` is absent) or a read of another value cannot: not linearizable. Likewise
    ``r`` cannot complete before ``w`` (even an indeterminate one) is invoked. Required ops
    are numbered by completion, so "completed before r was invoked" is a prefix.
    Returns (reason, op ids, v) or None.
    """
    if not needers:
        return None
    installer: dict[Any, int] = {}
    for i, (kind, a, b) in enumerate(inputs):
        if kind in (_WRITE, _CAS_OK, _CAS_MAYBE, _DELETE):
            v = a if kind == _WRITE else None if kind == _DELETE else b
            if v in once:
                installer[v] = i
    # Prefix maxima over required ops 0..p-1: latest-invoked state changer, delete, and the
    # two latest-invoked reads with different values.
    NONE = (-INF, -1)
    chg, dele = [NONE], [NONE]
    reads: list[tuple[tuple[float, int], tuple[float, int]]] = [(NONE, NONE)]
    for i in range(n_req):
        kind, a, b = inputs[i]
        c = (calls[i], i)
        chg.append(max(chg[-1], c) if kind == _WRITE or (kind == _CAS_OK and a != b) else chg[-1])
        dele.append(max(dele[-1], c) if kind == _DELETE else dele[-1])
        r1, r2 = reads[-1]
        if kind == _READ:
            if r1[1] >= 0 and inputs[r1[1]][1] == a:
                r1 = max(r1, c)
            elif c > r1:
                r1, r2 = c, r1
            elif c > r2:
                r2 = c
        reads.append((r1, r2))
    for v, rs in needers.items():
        w = installer.get(v)
        if w is None and v is not None:
            continue  # the initial state is the only once-only installer left: v is None
        w_ret = -INF if w is None else rets[w]
        for r in rs:
            if w is not None and rets[r] < calls[w]:
                return (f"the first op below needs {v!r}, but completed before the only op that writes "
                        f"{v!r} (the second) was invoked", [r, w], v)
            if w is not None and w >= n_req:
                continue  # an indeterminate installer may take effect at any later time
            p = bisect.bisect_left(rets, calls[r], 0, n_req)
            x = -1
            if chg[p][0] > w_ret:
                x = chg[p][1]
            elif v is not None and dele[p][0] > w_ret:
                x = dele[p][1]
            else:
                r1, r2 = reads[p]
                if r1[0] > w_ret and inputs[r1[1]][1] != v:
                    x = r1[1]
                elif r2[0] > w_ret and inputs[r2[1]][1] != v:
                    x = r2[1]
            if x >= 0:
                did = f"read {inputs[x][1]!r}" if inputs[x][0] == _READ else "changed the value"
                if w is None:
                    return (f"the key starts absent and nothing makes it absent again, yet the first op below "
                            f"{did} and completed before the second, which needs it absent, was invoked", [x, r], v)
                return (f"{v!r} is written only once (first op below); the second op certainly ran after that "
                        f"write and before the third, which needs {v!r}, yet it {did}", [w, x, r], v)
    return None


def check_key(ops: Sequence[Operation], model: Model, max_states: int | None = DEFAULT_MAX_STATES) -> KeyOutcome:
    """Search one key's operations (any order) for a linearization.

    Layout: required (``ok``) ops are numbered by completion time, so the unplaced one that
    must come next ("must") is the lowest unset bit; the placed set is kept as
    ``(must, rel)`` with ``rel`` = placed ops at or above ``must``, shifted down (a small
    int even for long histories). Pending ``info`` ops have their own bitset, numbered by
    invocation. Memo key: ``(must, rel, info, state)``.
    """
    items = [(op, inp) for op in ops if (inp := model.encode(op)) is not None]
    items = model.prune(items)
    req = sorted((t for t in items if t[0].complete != INF), key=lambda t: (t[0].complete, t[0].invoke, t[0].index))
    opt = sorted((t for t in items if t[0].complete == INF), key=lambda t: (t[0].invoke, t[0].index))
    n_req, n_opt = len(req), len(opt)
    if n_req == 0:
        return KeyOutcome(True, 0, len(items))
    all_ops = [op for op, _ in req] + [op for op, _ in opt]
    inputs = [inp for _, inp in req] + [inp for _, inp in opt]  # id < n_req: required; else info
    read_only = [inp[0] in _READ_ONLY for inp in inputs]
    calls = [op.invoke for op in all_ops]
    rets = [op.complete for op in all_ops]
    # For each must op k: required ops invoked no later than k completes (call == return is
    # concurrent), as a mask relative to k (ops below k are already placed), and how many
    # info ops (a prefix in invocation order) are invoked by then.
    by_call = sorted(range(n_req), key=calls.__getitem__)
    rel_masks: list[int] = []
    opt_counts: list[int] = []
    cal_rel, j, o = 0, 0, 0  # bit p: op k + p (ops below k are placed whenever k is must)
    for k in range(n_req):
        while j < n_req and calls[by_call[j]] <= rets[k]:
            if by_call[j] >= k:
                cal_rel |= 1 << (by_call[j] - k)
            j += 1
        while o < n_opt and calls[n_req + o] <= rets[k]:
            o += 1
        rel_masks.append(cal_rel)
        opt_counts.append(o)
        cal_rel >>= 1
    # Identical info ops are interchangeable: one may go only after the earlier-invoked ones.
    blockers = [0] * n_opt
    first_of: dict[tuple[Any, ...], int] = {}
    for b in range(n_opt):
        blockers[b] = first_of.get(inputs[n_req + b], 0)
        first_of[inputs[n_req + b]] = blockers[b] | (1 << b)
    step = model.step
    # Required ops that need the state to equal a value (reads, successful cas), per value
    # that can be installed only once: leaving such a value with one of them unplaced is a
    # dead end.
    once = model.once_only(inputs)
    needers: dict[Any, list[int]] = {}
    for i in range(n_req):
        kind, a, _ = inputs[i]
        if kind in (_READ, _CAS_OK) and a in once:
            needers.setdefault(a, []).append(i)

    sandwich = _sandwiched(inputs, calls, rets, n_req, once, needers)
    if sandwich is not None:
        reason, ids, value = sandwich
        return KeyOutcome(False, 0, len(items), [], [all_ops[i] for i in ids], value, reason)

    def stranded(k: int, rel: int, state: Any) -> list[int]:
        """Up to two unplaced required ops that need ``state`` (leaving it strands them)."""
        lst = needers[state]
        out = []
        for j in range(bisect.bisect_left(lst, k), len(lst)):
            i = lst[j]
            if not (rel >> (i - k)) & 1:
                out.append(i)
                if len(out) == 2:
                    break
        return out

    def expand(k: int, rel: int, info: int, state: Any) -> list[tuple[int, Any]]:
        """Legal next placements as (op id, new state), most promising first."""
        must_inp = inputs[k]
        first: list[tuple[int, Any]] = []
        rest: list[tuple[int, Any]] = []
        # Leaving a once-only state is allowed only to the last op that needs it.
        need = stranded(k, rel, state) if state in needers else []
        stay = len(need) > 1
        only = need[0] if len(need) == 1 else -1
        m = rel_masks[k] & ~rel
        while m:
            b = m & -m
            m ^= b
            i = k + b.bit_length() - 1
            nxt = step(state, inputs[i])
            if nxt is _ILLEGAL or ((stay or only not in (-1, i)) and nxt != state):
                continue
            if read_only[i]:
                return [(i, nxt)]  # greedy: a legal read-only op can always go first
            if i == k or step(nxt, must_inp) is not _ILLEGAL:
                first.append((i, nxt))
            else:
                rest.append((i, nxt))
        m = ((1 << opt_counts[k]) - 1) & ~info
        while m:
            b = m & -m
            m ^= b
            ob = b.bit_length() - 1
            if blockers[ob] & ~info:
                continue
            nxt = step(state, inputs[n_req + ob])
            if nxt is _ILLEGAL or ((stay or only != -1) and nxt != state):
                continue
            if step(nxt, must_inp) is not _ILLEGAL:
                first.append((n_req + ob, nxt))
            else:
                rest.append((n_req + ob, nxt))
        first.extend(rest)
        return first

    seen: set[tuple[int, int, int, Any]] = set()
    # Explicit DFS stack: [must, rel, info, state, candidates, next candidate, path], where
    # path = (op placed, parent's path) is shared, so remembering the best prefix is O(1).
    stack: list[list[Any]] = [[0, 0, 0, model.init, expand(0, 0, 0, model.init), 0, None]]
    # Deepest prefix so far: most ok ops placed, then fewest info ops (placing every pending
    # info op would make prefixes longer without explaining anything).
    best_score, best_node, best_state = (0, 0), None, model.init
    placed_req = 0
    budget = max_states if max_states is not None else -1
    while stack:
        top = stack[-1]
        cands = top[4]
        if top[5] == len(cands):
            stack.pop()
            if top[6] is not None and top[6][0] < n_req:
                placed_req -= 1
            continue
        i, new_state = cands[top[5]]
        top[5] += 1
        k, rel, info = top[0], top[1], top[2]
        if i < n_req:
            rel |= 1 << (i - k)
            if i == k:  # advance must past the run of placed ops
                shift = (~rel & (rel + 1)).bit_length() - 1
                k += shift
                rel >>= shift
                if k == n_req:
                    return KeyOutcome(True, len(seen), len(items))
        else:
            info |= 1 << (i - n_req)
        key = (k, rel, info, new_state)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) == budget:
            return KeyOutcome(None, len(seen), len(items))
        node = (i, top[6])
        stack.append([k, rel, info, new_state, expand(k, rel, info, new_state), 0, node])
        if i < n_req:
            placed_req += 1
        score = (placed_req, placed_req - len(stack) + 1)
        if score > best_score:
            best_score, best_node, best_state = score, node, new_state
    best_path: list[int] = []
    while best_node is not None:
        best_path.append(best_node[0])
        best_node = best_node[1]
    best_path.reverse()
    # Violation: explain with the deepest prefix reached.
    placed = set(best_path)
    must = next(i for i in range(n_req) if i not in placed)
    stuck_ids = [must] + [i for i in range(must + 1, n_req) if i not in placed and calls[i] <= rets[must]
                          and step(best_state, inputs[i]) is _ILLEGAL]
    stuck_ids += [i for i in needers.get(best_state, ()) if i not in placed and i not in stuck_ids]
    stuck = [all_ops[i] for i in stuck_ids]
    return KeyOutcome(False, len(seen), len(items), [all_ops[i] for i in best_path], stuck, best_state)


def check_linearizability(history: History, model: Model | str | None = None,
                          max_states: int | None = DEFAULT_MAX_STATES,
                          skip_read_consistency: frozenset[str] = frozenset(),
                          prefix_tail: int = 6) -> CheckResult:
    """Check every key; verdict False if any key is not linearizable.

    ``model``: a ``Model``, a name from ``MODELS``, or ``None`` for the format's model.
    ``skip_read_consistency``: reads at these levels are dropped first (e.g.
    ``{"serializable"}``: such reads are allowed to be stale, so they would only make a
    linearizability verdict say what the stale-read checker already reports).
    ``prefix_tail``: how many of the prefix's last ops the counterexample lists.
    """
    m = model_for(history.format) if model is None else MODELS[model] if isinstance(model, str) else model
    groups = history.by_key()
    failures, unknown, states, n_ops = [], [], 0, 0
    for key in sorted(groups, key=lambda k: (k is not None, str(k))):
        ops = groups[key]
        if skip_read_consistency:
            ops = [o for o in ops if not (o.is_read and o.read_consistency in skip_read_consistency)]
        out = check_key(ops, m, max_states)
        states += out.states
        n_ops += out.ops
        if out.linearizable is False:
            failures.append((key, out))
        elif out.linearizable is None:
            unknown.append(key)
    evidence: dict[str, Any] = {"model": m.name, "keys": len(groups), "ops_checked": n_ops,
                                "states_explored": states}
    if failures:
        key, out = failures[0]
        evidence["failed_keys"] = [k for k, _ in failures]
        evidence["counterexample"] = counterexample(key, out, history.time_unit, prefix_tail)
        if unknown:
            evidence["undecided_keys"] = unknown
        return CheckResult(NAME, False, evidence)
    if unknown:
        evidence["undecided_keys"] = unknown
        evidence["error"] = f"search exceeded {max_states} states on {len(unknown)} key(s)"
        return CheckResult(NAME, "unknown", evidence)
    return CheckResult(NAME, True, evidence)


def counterexample(key: str | None, out: KeyOutcome, unit: TimeUnit, prefix_tail: int = 6) -> dict[str, Any]:
    """The failing key's evidence: prefix length, its last ops, state, and the stuck ops."""
    prefix = out.prefix or []
    if out.reason:
        return {"key": key, "reason": out.reason, "prefix_length": 0, "prefix_tail": [],
                "state_after_prefix": out.state_after_prefix,
                "cannot_linearize": [o.describe(unit) for o in out.stuck or []]}
    return {"key": key, "prefix_length": len(prefix),
            "prefix_tail": [o.describe(unit) for o in prefix[-prefix_tail:]] if prefix_tail else [],
            "state_after_prefix": out.state_after_prefix,
            "cannot_linearize": [o.describe(unit) for o in out.stuck or []]}


class LinearizabilityChecker:
    """``Checker`` protocol wrapper around ``check_linearizability``."""

    name = NAME

    def __init__(self, model: Model | str | None = None, max_states: int | None = DEFAULT_MAX_STATES,
                 skip_read_consistency: frozenset[str] = frozenset()) -> None:
        self.model, self.max_states, self.skip = model, max_states, skip_read_consistency

    def check(self, history: History) -> CheckResult:
        return check_linearizability(history, self.model, self.max_states, self.skip)
