"""The sequential checker against a brute-force oracle on many small random histories.

The oracle tries every order of the operations (each process's order kept, ``info`` writes
placed anywhere after their process's earlier ops or never) with the same register model;
no pruning, no forced orders, no shortcut. Any disagreement is a bug in one of them.
"""
from __future__ import annotations

import random
from typing import Any

from harness.checkers.datatypes import ILLEGAL, REGISTER
from harness.checkers.model import INF, History
from harness.checkers.sequential import check_sequential


def oracle(h: History) -> bool:
    items = [(op, inp) for op in h.ops if (inp := REGISTER.encode(op)) is not None]
    n = len(items)
    required = [op.complete != INF for op, _ in items]
    preds = [[j for j in range(n) if j != i and items[j][0].process == items[i][0].process and required[j]
              and items[j][0].complete <= items[i][0].invoke] for i in range(n)]
    keys = sorted({op.key for op, _ in items})
    seen: set[tuple[int, tuple[Any, ...]]] = set()

    def go(placed: int, states: tuple[Any, ...]) -> bool:
        if all(placed >> i & 1 for i in range(n) if required[i]):
            return True
        if (placed, states) in seen:
            return False
        seen.add((placed, states))
        for i in range(n):
            if placed >> i & 1 or not all(placed >> j & 1 for j in preds[i]):
                continue
            k = keys.index(items[i][0].key)
            nxt = REGISTER.step(states[k], items[i][1])
            if nxt is not ILLEGAL and go(placed | 1 << i, states[:k] + (nxt,) + states[k + 1:]):
                return True
        return False

    return go(0, (None,) * len(keys))


def random_history(rng: random.Random, hb: Any) -> History:
    """2-5 processes of 1-4 ops on 2-3 keys; written values unique (70 %) or repeated; reads
    return a value written to the key somewhere in the history, or absent; some ops time
    out (``info``: the process gets a new id, as the harness does) or fail."""
    hb.ops.clear()
    keys = rng.choice([["x", "y"], ["x", "y", "z"]])
    unique = rng.random() < 0.7
    plan = [(p, rng.choice(keys), rng.choices(["put", "get", "cas"], [4, 6, 1])[0])
            for p in range(rng.randint(2, 5)) for _ in range(rng.randint(1, 4))]
    values: dict[str, list[str]] = {k: [] for k in keys}
    for n, (_, key, f) in enumerate(plan):
        if f != "get":
            values[key].append(f"t{n}" if unique else f"t{n % 2}")
    written = {k: iter(v) for k, v in values.items()}
    clock = {p: rng.random() * 5 for p, _, _ in plan}
    process = {p: p for p, _, _ in plan}
    for p, key, f in plan:
        t, d = clock[p], 1 + rng.random() * 10
        outcome = rng.choices(["ok", "info", "fail"], [12, 1, 1])[0]
        end = None if outcome == "info" else t + d
        if f == "put":
            hb.put(process[p], key, next(written[key]), t, end, outcome)
        elif f == "cas":
            hb.cas(process[p], key, rng.choice(values[key] + [None]), next(written[key]), t, end, outcome)
        else:
            hb.get(process[p], key, rng.choice(values[key] + [None]), t, end, outcome)
        if outcome == "info":
            process[p] += 100
        clock[p] = t + d + rng.random() * 3
    return hb.history()


def test_agrees_with_brute_force_on_random_histories(hb: Any) -> None:
    rng = random.Random(20261205)
    seen: dict[tuple[Any, Any], int] = {}
    for n in range(1500):
        h = random_history(rng, hb)
        expected = oracle(h)
        r = check_sequential(h)
        assert r.verdict is expected, (n, [o.describe() for o in h.ops], r.evidence)
        how = (r.evidence["method"], expected)
        seen[how] = seen.get(how, 0) + 1
    # Every path is exercised: linearizable, a violation on one key, and the whole history
    # both ways (sequential per key yet not as a whole included).
    assert seen.get(("linearizable", True), 0) > 100 and seen.get(("per-key", False), 0) > 100
    assert seen.get(("whole-history", True), 0) > 100 and seen.get(("whole-history", False), 0) >= 10
