"""Sequential consistency (Lamport 1979): is there one total order of all operations that
respects each process's own order and that the sequential model accepts?

Unlike linearizability there is no real-time constraint: an operation may appear before one
that completed earlier, as long as every process sees its own operations in the order it
issued them. A read served by a lagging follower (it returns the old value after a newer
write was acknowledged) is therefore allowed, provided everyone sees the writes in one
order: two processes that see two writes in opposite orders are not.

**Verdict.** ``True``: an order exists (one was found). ``False``: none exists; proved by
a cycle of forced orders (``sequential_graph``), by a read of a value nobody wrote, or by an
exhausted search, with a small counterexample. ``"unknown"``: the search budget (states or
seconds) ran out first; the reason is in ``evidence["error"]``. Never a guess.

**Per key, then the whole history.** Linearizability is local (Herlihy & Wing 1990: a
history is linearizable iff each object's sub-history is), because real time orders
operations of different objects the same way for every object. Sequential consistency is
not: each key may have its own order, yet the orders can be impossible to merge, because
program order links keys. The store-buffering (Dekker) history ``p1: w(x,1) r(y)=0;
p2: w(y,1) r(x)=0`` is sequentially consistent per key and not as a whole (Adve &
Gharachorloo 1996). So:

1. If the history is linearizable, it is sequentially consistent (a linearization respects
   each process's order, since a process's operations do not overlap in time). This is the
   cheap common case.
2. Each key on its own (the key's operations, each process's order restricted to them): a
   violation on one key is a violation of the whole history (any order of the whole history,
   restricted to that key, would be an order of the key); the counterexample names the key.
3. The whole history, every key at once, with the same method.

**Cost.** Verifying sequential consistency is NP-complete (Gibbons & Korach 1997), and stays
NP-complete when each read's source write is known (unique written values) and even after
each key was found coherent (Cantin, Lipasti & Smith 2005). So each problem (a key, or the
whole history) gets: a short search guided by real time (an order close to it is usually
found in about one state per operation); if that fails, a polynomial proof of the common
violations (saturated forced orders, which unique values make strong; ``sequential_graph``);
then a bounded search pruned by those orders (``sequential_search``). Keys are first tried
with a small search cap each, so a violation on an easy key is not stuck behind a hard one.

**Indeterminate operations** (``info``), as in the linearizability checker: an
indeterminate read constrains nothing and is dropped; an indeterminate write, cas or delete
may be placed anywhere after its process's earlier operations, once, or never (it may have
taken effect at any point after it was sent, or not at all). It is not ordered before its
process's later operations (Jepsen, and this repository's workers, give the process a new
id after an ``info``; a request that timed out can still be applied after the client's next
one). It becomes required when a read returned the unique value only it wrote. This is
sound for ``False``: the search tries every such placement and omission, so a violation
holds whatever happened to the timed-out operations. ``fail`` operations did not take effect
and are dropped. See ``sequential_problem`` for the exact rules.

    >>> check_sequential(load_history("history.jsonl")).verdict    # doctest: +SKIP
    True
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from harness.checkers.datatypes import MODELS, Model, model_for
from harness.checkers.linearizability import check_linearizability
from harness.checkers.model import INF, CheckResult, History, Operation, TimeUnit
from harness.checkers.sequential_graph import forced_order
from harness.checkers.sequential_problem import Problem, build_problem
from harness.checkers.sequential_search import CAPPED, Budget, search

NAME = "sequential-consistency"
DEFAULT_MAX_STATES = 2_000_000
"""For the whole check (every key and the whole history): explored (placed set, states)
pairs beyond which the verdict is ``"unknown"``."""
DEFAULT_MAX_SECONDS = 60.0
LINEARIZABLE_SHORTCUT_STATES = 200_000
"""Per key, the linearizability check tried first: beyond this it is only a shortcut missed."""
QUICK_STATES_PER_OP = 2
"""The first, unpruned search of each problem stops after 2 states per operation (+1000)."""
FIRST_PASS_STATES = 20_000
"""Per key, the first pass's search cap (see ``check_sequential``)."""
#: How many ops a search counterexample lists from the end of its longest prefix.
PREFIX_TAIL = 6
#: How many stuck ops a search counterexample lists.
STUCK_LIMIT = 10


def decide(p: Problem, budget: Budget, unit: TimeUnit, key: Any = None, scope: str = "key",
           cap: int | None = None) -> tuple[Any, dict[str, Any]]:
    """Verdict (True / False / "unknown") for one problem, and what shows it. ``cap``: at
    most this many search states for this problem (``info["error"]`` is then ``"cap"``).

    First a short search without the forced orders (an order close to real time is usually
    found in about one state per operation, far sooner than the graph is built); then the
    forced orders (a cycle or an impossible read is a violation with a small counterexample);
    then the search again, pruned by them."""
    info: dict[str, Any] = {"ops": p.n, "required": p.n_req}
    where = {"scope": scope, "key": key}
    quick_cap = QUICK_STATES_PER_OP * p.n + 1000
    quick = search(p, (), budget, quick_cap if cap is None else min(cap, quick_cap))
    info["states"] = quick.states
    if quick.sequential is True:
        return True, info
    if quick.sequential is None and quick.stopped != CAPPED:
        info["error"] = quick.stopped
        return "unknown", info
    g = forced_order(p, budget.deadline)
    info["graph"] = {"rounds": g.rounds, "forced_edges": len(g.edges), "fixpoint": g.fixpoint}
    if g.skipped:
        info["graph"]["skipped"] = g.skipped
    if g.bad_read is not None:
        i, why = g.bad_read
        info["counterexample"] = {**where, "reason": f"op {p.ops[i].index} cannot be placed: {why}",
                                  "operations": [p.ops[i].describe(unit)]}
        return False, info
    if g.cycle is not None:
        ops = sorted((p.ops[i] for i in g.involved or []), key=lambda o: (str(o.process), o.invoke, o.index))
        info["counterexample"] = {
            **where,
            "reason": "these operations force a cycle: no single order respects every process's order and "
                      "what each read returned",
            "cycle": [{"from": p.ops[a].index, "to": p.ops[b].index, "why": why} for a, b, why in g.cycle],
            "operations": [o.describe(unit) for o in ops]}
        return False, info
    res = quick if quick.sequential is False else search(p, g.edges.keys(), budget, cap)
    if res is not quick:
        info["states"] += res.states
    if res.sequential is True:
        return True, info
    if res.sequential is None:
        info["error"] = res.stopped
        return "unknown", info
    prefix = res.prefix or []
    info["counterexample"] = {
        **where,
        "reason": "exhaustive search: every order that respects each process's order gets stuck; the longest "
                  f"places {sum(1 for i in prefix if i < p.n_req)} of {p.n_req} required ops",
        "prefix_length": len(prefix),
        "prefix_tail": [p.ops[i].describe(unit) for i in prefix[-PREFIX_TAIL:]],
        "state_after_prefix": res.state_after_prefix,
        "cannot_place": [p.ops[i].describe(unit) for i in (res.stuck or [])[:STUCK_LIMIT]]}
    return False, info


def check_sequential(history: History, model: Model | str | None = None,
                     max_states: int | None = DEFAULT_MAX_STATES,
                     max_seconds: float | None = DEFAULT_MAX_SECONDS) -> CheckResult:
    """Judge sequential consistency (see the module docstring for the method and verdicts)."""
    m = model_for(history.format) if model is None else MODELS[model] if isinstance(model, str) else model
    unit = history.time_unit
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    budget = Budget(max_states, deadline)
    groups = history.by_key()
    evidence: dict[str, Any] = {"model": m.name, "keys": len(groups), "ops": len(history.ops)}
    # 1. Linearizable implies sequentially consistent (unless a process's ops touch in time).
    if not program_order_ties(history.ops):
        lin = check_linearizability(history, m, max_states=LINEARIZABLE_SHORTCUT_STATES)
        evidence["linearizable"] = lin.verdict
        if lin.verdict is True:
            evidence.update(method="linearizable", states_explored=lin.evidence.get("states_explored", 0))
            return CheckResult(NAME, True, evidence)
    # 2. Each key on its own: first every key with a small search cap (a violation on any
    #    key decides, so an easy one must not wait behind a hard one), then the undecided
    #    keys with what is left of the budget.
    failed: list[Any] = []
    undecided: list[Any] = []
    first_ce: dict[str, Any] | None = None
    reasons: list[str] = []
    keys = sorted(groups, key=lambda k: (k is not None, str(k)))
    problems = {key: build_problem(groups[key], m) for key in keys}
    for cap in (FIRST_PASS_STATES, None):
        again = []
        for key in keys:
            verdict, info = decide(problems[key], budget, unit, key, "key", cap)
            if verdict is False:
                failed.append(key)
                first_ce = first_ce or info["counterexample"]
                break
            if verdict != True:  # noqa: E712 - "unknown"
                if info.get("error") == CAPPED:
                    again.append(key)
                else:
                    undecided.append(key)
                    reasons.append(info.get("error") or "undecided")
        if failed or not again:
            break
        keys = again
    evidence["per_key"] = {"keys": len(groups), "not_sequential": failed, "undecided": undecided}
    evidence["states_explored"] = budget.states
    if failed:
        evidence.update(method="per-key", counterexample=first_ce)
        return CheckResult(NAME, False, evidence)
    if len(groups) == 1:
        if undecided:
            evidence.update(method="per-key", error=reasons[0])
            return CheckResult(NAME, "unknown", evidence)
        evidence["method"] = "per-key"
        return CheckResult(NAME, True, evidence)
    # 3. The whole history: program order links the keys.
    verdict, info = decide(build_problem(history.ops, m), budget, unit, None, "history")
    evidence["whole_history"] = {k: v for k, v in info.items() if k != "counterexample"}
    evidence["states_explored"] = budget.states
    evidence["method"] = "whole-history"
    if verdict is False:
        evidence["counterexample"] = info["counterexample"]
        return CheckResult(NAME, False, evidence)
    if verdict is True:
        return CheckResult(NAME, True, evidence)
    evidence["error"] = info.get("error") or "undecided"
    return CheckResult(NAME, "unknown", evidence)


def program_order_ties(ops: Sequence[Operation]) -> bool:
    """Does an op of some process start exactly when its predecessor completed? (The
    linearizability checker treats such a pair as concurrent, so a linearization would not
    prove this checker's program order; ``Problem.po_ties`` is the same test on kept ops.)"""
    completions: dict[Any, set[float]] = {}
    for op in sorted(ops, key=lambda o: (o.invoke, o.index)):
        seen = completions.setdefault(op.process, set())
        if op.invoke in seen:
            return True
        if op.complete != INF:
            seen.add(op.complete)
    return False


class SequentialChecker:
    """``Checker`` protocol wrapper around ``check_sequential``."""

    name = NAME

    def __init__(self, model: Model | str | None = None, max_states: int | None = DEFAULT_MAX_STATES,
                 max_seconds: float | None = DEFAULT_MAX_SECONDS) -> None:
        self.model, self.max_states, self.max_seconds = model, max_states, max_seconds

    def check(self, history: History) -> CheckResult:
        return check_sequential(history, self.model, self.max_states, self.max_seconds)
