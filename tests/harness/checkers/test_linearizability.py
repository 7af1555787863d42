"""Linearizability: agreement with every reference verdict, and crafted edge cases with exact
expected verdicts (indeterminate ops, cas, deletes, concurrency, per-key decomposition)."""
from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from harness.checkers.formats import load_history
from harness.checkers.linearizability import (_ILLEGAL, KV_STRING, REGISTER, Model, check_key,
                                              check_linearizability)
from harness.checkers.model import INF, History, Operation


def verdict(h: History, **kw: Any) -> object:
    return check_linearizability(h, **kw).verdict


# --- the shared reference histories ------------------------------------------------------

def test_agrees_with_reference_verdict(reference: Any) -> None:
    result = check_linearizability(load_history(reference.path))
    expected = reference.expected == "linearizable"
    assert result.verdict is expected, (reference.name, result.evidence)
    if not expected:
        ce = result.evidence["counterexample"]
        assert ce["cannot_linearize"], "a violation names the operations that cannot be placed"


def test_kv_violations_are_found_per_key(references: list[Any]) -> None:
    bad = next(r for r in references if r.name == "kv/c10-bad.txt")
    ev = check_linearizability(load_history(bad.path)).evidence
    assert ev["model"] == "kv-string" and ev["keys"] == 10
    assert ev["counterexample"]["key"] == ev["failed_keys"][0]


# --- crafted harness histories (times in ms) ---------------------------------------------

def test_sequential_put_get_is_linearizable(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(2, "k", "a", 20, 30)
    assert verdict(hb.history()) is True


def test_read_of_value_never_written_is_not_linearizable(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(2, "k", "zzz", 20, 30)
    r = check_linearizability(hb.history())
    assert r.verdict is False
    stuck = r.evidence["counterexample"]["cannot_linearize"]
    assert stuck[0]["f"] == "get" and stuck[0]["result"] == "zzz"
    assert stuck[0]["invoke_ms"] == 20.0 and stuck[0]["complete_ms"] == 30.0


def test_initial_state_is_absent(hb: Any) -> None:
    hb.get(1, "k", None, 0, 1)
    assert verdict(hb.history()) is True
    hb.get(1, "k2", "x", 0, 1)
    assert verdict(hb.history()) is False


def test_indeterminate_write_that_took_effect(hb: Any) -> None:
    # The client gave up at 100 ms; the value shows up later: allowed.
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 100, type="info").get(3, "k", "b", 500, 510)
    assert verdict(hb.history()) is True


def test_indeterminate_write_that_never_took_effect(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 100, type="info").get(3, "k", "a", 500, 510)
    assert verdict(hb.history()) is True


def test_indeterminate_write_cannot_take_effect_before_its_invocation(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(3, "k", "b", 20, 30).put(2, "k", "b", 40, 100, type="info")
    assert verdict(hb.history()) is False


def test_indeterminate_write_takes_effect_at_most_once(hb: Any) -> None:
    hb.put(2, "k", "b", 0, 100, type="info").get(3, "k", "b", 200, 210).put(1, "k", "a", 220, 230) \
        .get(3, "k", "b", 240, 250)
    assert verdict(hb.history()) is False


def test_failed_write_is_dropped(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10, type="fail").get(2, "k", None, 20, 30)
    assert verdict(hb.history()) is True
    hb.get(2, "k", "a", 40, 50)  # a failed write that is nonetheless observed
    assert verdict(hb.history()) is False


def test_timed_out_read_constrains_nothing(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(2, "k", "garbage", 20, 1000, type="info")
    assert verdict(hb.history()) is True


def test_cas_success_and_failure(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).cas(2, "k", "a", "b", 20, 30).get(3, "k", "b", 40, 50)
    assert verdict(hb.history()) is True


def test_cas_success_against_wrong_value_is_not_linearizable(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).cas(2, "k", "zzz", "b", 20, 30)
    assert verdict(hb.history()) is False


def test_failed_cas_is_not_applied(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).cas(2, "k", "x", "b", 20, 30, type="fail", error="cas_mismatch") \
        .get(3, "k", "a", 40, 50)
    assert verdict(hb.history()) is True
    hb.get(3, "k", "b", 60, 70)
    assert verdict(hb.history()) is False


def test_cas_on_absent_key(hb: Any) -> None:
    hb.cas(1, "k", None, "a", 0, 10).get(2, "k", "a", 20, 30)
    assert verdict(hb.history()) is True


def test_indeterminate_cas_either_way(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).cas(2, "k", "a", "b", 20, 100, type="info").get(3, "k", "b", 200, 210)
    assert verdict(hb.history()) is True
    hb.put(1, "k2", "a", 0, 10).cas(2, "k2", "a", "b", 20, 100, type="info").get(3, "k2", "a", 200, 210)
    assert verdict(hb.history()) is True


def test_concurrent_writes_both_orders_are_valid(hb: Any) -> None:
    for key, last in (("k1", "a"), ("k2", "b")):
        hb.put(1, key, "a", 0, 100).put(2, key, "b", 10, 90).get(3, key, last, 200, 210)
    assert verdict(hb.history()) is True


def test_sequential_writes_have_one_order(hb: Any) -> None:
    # Found by the real-time pre-check: b certainly came between a's write and its read.
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).get(3, "k", "a", 40, 50)
    r = check_linearizability(hb.history())
    assert r.verdict is False
    ce = r.evidence["counterexample"]
    assert "written only once" in ce["reason"] and "changed the value" in ce["reason"]
    assert ce["state_after_prefix"] == "a"
    assert [(o["f"], o.get("value"), o.get("result")) for o in ce["cannot_linearize"]] == \
        [("put", "a", None), ("put", "b", None), ("get", None, "a")]


def test_stale_read_of_initial_state(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(3, "k", None, 40, 50)
    ce = check_linearizability(hb.history()).evidence["counterexample"]
    assert "starts absent" in ce["reason"] and [o["f"] for o in ce["cannot_linearize"]] == ["put", "get"]


def test_reads_disagreeing_on_the_order_of_concurrent_writes(hb: Any) -> None:
    # Found by search: a and b overlap, so neither certainly precedes the other.
    hb.put(1, "k", "a", 0, 100).put(2, "k", "b", 0, 100).get(3, "k", "a", 10, 20).get(3, "k", "b", 30, 40) \
        .get(4, "k", "a", 50, 60)
    r = check_linearizability(hb.history())
    assert r.verdict is False
    ce = r.evidence["counterexample"]
    assert "reason" not in ce and ce["prefix_length"] == 2 and ce["state_after_prefix"] == "a"
    # the read of b had to come next, but the later read of a still needs a
    assert [(o["result"], o["invoke_ms"]) for o in ce["cannot_linearize"]] == [("b", 30.0), ("a", 50.0)]


def test_read_concurrent_with_write_may_see_either(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 100).get(3, "k", "a", 30, 40).get(4, "k", "b", 50, 60)
    assert verdict(hb.history()) is True
    hb.get(5, "k", "a", 70, 80)  # after someone saw b, a cannot come back
    assert verdict(hb.history()) is False


def test_touching_intervals_are_concurrent(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 10, 20).get(3, "k", "a", 20, 30)
    assert verdict(hb.history()) is True


def test_delete_makes_the_key_absent(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).delete(2, "k", 20, 30).get(3, "k", None, 40, 50)
    assert verdict(hb.history()) is True
    hb.get(3, "k", "a", 60, 70)
    assert verdict(hb.history()) is False


def test_keys_are_checked_independently(hb: Any) -> None:
    hb.put(1, "a", "a1", 0, 10).put(2, "b", "b1", 0, 10).get(3, "a", "a1", 20, 30).get(3, "b", None, 40, 50)
    r = check_linearizability(hb.history())
    assert r.verdict is False and r.evidence["failed_keys"] == ["b"] and r.evidence["keys"] == 2


def test_nemesis_records_are_ignored(hb: Any) -> None:
    hb.nemesis("partition", 5, 6).put(1, "k", "a", 0, 10).get(2, "k", "a", 20, 30)
    assert verdict(hb.history()) is True


def test_serializable_reads_can_be_excluded(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(1, "k", "b", 20, 30).get(2, "k", "a", 40, 50, rc="serializable")
    assert verdict(hb.history()) is False
    assert verdict(hb.history(), skip_read_consistency=frozenset({"serializable"})) is True


def test_search_budget_gives_unknown(hb: Any) -> None:
    for p in range(12):
        hb.put(p, "k", f"v{p}", 0, 100)
    hb.get(99, "k", "nope", 200, 210)
    r = check_linearizability(hb.history(), max_states=50)
    assert r.verdict == "unknown" and r.evidence["undecided_keys"] == ["k"]


# --- the search against brute force on small random histories ----------------------------

def _brute(ops: list[Operation], model: Model) -> bool:
    items = [(o, model.encode(o)) for o in ops]
    items = [(o, inp) for o, inp in items if inp is not None]
    required = {i for i, (o, _) in enumerate(items) if o.complete != INF}

    def rec(done: frozenset[int], state: Any) -> bool:
        if required <= done:
            return True
        horizon = min(items[i][0].complete for i in range(len(items)) if i not in done)
        for i, (o, inp) in enumerate(items):
            if i not in done and o.invoke <= horizon:
                nxt = model.step(state, inp)
                if nxt is not _ILLEGAL and rec(done | {i}, nxt):
                    return True
        return False

    return rec(frozenset(), model.init)


def _random_ops(rng: random.Random, kv: bool) -> list[Operation]:
    ops = []
    for i in range(rng.randint(1, 7)):
        t0 = rng.randint(0, 20)
        t1 = t0 + rng.randint(0, 8)
        outcome = rng.choices(["ok", "info", "fail"], [5, 3, 1])[0]
        if kv:
            f = rng.choice(["get", "put", "append"])
            value = None if f == "get" else rng.choice("ab")
            result = rng.choice(["", "a", "b", "ab", "ba"]) if f == "get" else None
        else:
            f = rng.choice(["read", "write", "cas", "delete"])
            value = {"read": None, "write": rng.randint(0, 2), "delete": None,
                     "cas": (rng.choice([None, 0, 1, 2]), rng.randint(0, 2))}[f]
            result = rng.choice([None, 0, 1, 2]) if f == "read" else rng.choice([True, False]) if f == "cas" else None
        complete = INF if outcome == "info" else t1
        ops.append(Operation(i, i, f, None, value, t0, complete, outcome, result))  # type: ignore[arg-type]
    return ops


def test_search_agrees_with_brute_force() -> None:
    rng = random.Random(20261124)
    seen = {True: 0, False: 0}
    for n in range(1500):
        kv = n % 2 == 1
        ops = _random_ops(rng, kv)
        model = KV_STRING if kv else REGISTER
        expected = _brute(ops, model)
        seen[expected] += 1
        assert check_key(ops, model).linearizable is expected, ops
    assert min(seen.values()) > 300, "the generator must produce both verdicts"


def test_read_completed_before_its_write_was_invoked(hb: Any) -> None:
    hb.get(1, "k", "a", 0, 10).put(2, "k", "a", 20, 30, type="info")
    ce = check_linearizability(hb.history()).evidence["counterexample"]
    assert "completed before the only op that writes" in ce["reason"]
    assert [o["f"] for o in ce["cannot_linearize"]] == ["get", "put"]


def _exhaustive(ops: list[Operation], model: Model) -> bool:
    """Plain memoised search over (placed set, state): the oracle for unique-token histories."""
    items = [(o, inp) for o in ops if (inp := model.encode(o)) is not None]
    required = frozenset(i for i, (o, _) in enumerate(items) if o.complete != INF)
    seen: set[tuple[frozenset[int], Any]] = set()
    stack: list[tuple[frozenset[int], Any]] = [(frozenset(), model.init)]
    while stack:
        done, state = stack.pop()
        if required <= done:
            return True
        horizon = min(items[i][0].complete for i in range(len(items)) if i not in done)
        for i, (o, inp) in enumerate(items):
            if i in done or o.invoke > horizon:
                continue
            nxt = model.step(state, inp)
            if nxt is not _ILLEGAL and (done | {i}, nxt) not in seen:
                seen.add((done | {i}, nxt))
                stack.append((done | {i}, nxt))
    return False


def _random_token_ops(rng: random.Random) -> list[Operation]:
    ops: list[Operation] = []
    tokens: list[str] = []
    for i in range(rng.randint(3, 11)):
        t0 = rng.randint(0, 30)
        t1 = t0 + rng.randint(0, 10)
        outcome = rng.choices(["ok", "info", "fail"], [6, 2, 1])[0]
        f = rng.choices(["read", "write", "cas", "delete"], [5, 4, 2, 1])[0]
        value: Any = None
        result: Any = None
        if f == "read":
            result = rng.choice(tokens + [None, None])
        elif f == "write":
            value = f"t{i}"
        elif f == "cas":
            value = (rng.choice(tokens + [None]), f"t{i}")
            result = rng.random() < 0.7
        if f in ("write", "cas"):
            tokens.append(f"t{i}")
        ops.append(Operation(i, i, f, None, value, t0, INF if outcome == "info" else t1, outcome, result))  # type: ignore[arg-type]
    return ops


def test_search_agrees_with_exhaustive_search_on_unique_tokens() -> None:
    rng = random.Random(7)
    seen = {True: 0, False: 0}
    for _ in range(1500):
        ops = _random_token_ops(rng)
        expected = _exhaustive(ops, REGISTER)
        seen[expected] += 1
        assert check_key(ops, REGISTER).linearizable is expected, ops
    assert min(seen.values()) > 300


def _simulated(hb: Any, n: int, clients: int, seed: int) -> Any:
    """A linearizable single-key history with heavy overlap: each op takes effect at a random
    point of its interval (timed-out writes sometimes never, sometimes late)."""
    rng = random.Random(seed)
    free = [0.0] * clients
    planned = []
    for i in range(n):
        c = min(range(clients), key=free.__getitem__)
        t0 = free[c] + rng.uniform(0, 0.2)
        t1 = t0 + rng.uniform(0.1, 3.0)
        free[c] = t1
        if rng.random() < 0.5:
            planned.append((rng.uniform(t0, t1), "get", c, t0, t1, None, "ok"))
        else:
            info = rng.random() < 0.02
            effect = (t0 + rng.uniform(0, 30) if rng.random() < 0.7 else None) if info else rng.uniform(t0, t1)
            planned.append((effect, "put", c, t0, t1, f"v{i}", "info" if info else "ok"))
    state = None
    results = {}
    for _, f, c, t0, _, token, _ in sorted((p for p in planned if p[0] is not None), key=lambda p: p[0]):
        if f == "put":
            state = token
        else:
            results[(c, t0)] = state
    for _, f, c, t0, t1, token, typ in planned:
        if f == "put":
            hb.put(c, "k", token, t0, t1, type=typ)
        else:
            hb.get(c, "k", results[(c, t0)], t0, t1)
    return hb


def test_heavily_concurrent_single_key_history(hb: Any) -> None:
    h = _simulated(hb, 3000, 48, seed=11).history()
    r = check_linearizability(h, max_states=100_000)
    assert r.verdict is True, r.evidence
    # One read made stale (it returns a value overwritten long before it began): caught.
    ops = list(h.ops)
    i = max(j for j, o in enumerate(ops) if o.f == "get" and o.result is not None)
    old = next(o for o in ops if o.f == "put" and o.outcome == "ok" and o.complete < ops[i].invoke - 20e6)
    ops[i] = replace(ops[i], result=old.value)
    bad = check_linearizability(History(tuple(ops), "history"), max_states=100_000)
    assert bad.verdict is False and bad.evidence["counterexample"]["cannot_linearize"][-1]["index"] == ops[i].index
