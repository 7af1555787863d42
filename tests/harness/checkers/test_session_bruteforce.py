"""The session checkers against brute-force oracles on many small random histories.

The oracles read the guarantees' definitions literally: pairs of operations compared
directly (quadratic), and causality as the transitive closure of session order and
reads-from built edge by edge, with no vectors, no prefix maxima, no event sweep. Histories
keep the contract by construction: sessions are sequential, every value is unique, and
either every write that did not fail carries a revision (a random commit order, so every
violation kind occurs; an indeterminate write's revision is sometimes missing, leaving it
unplaced: reads of it are not judged, but what they observed still counts) or every key has
one writer session and no revisions.
"""
from __future__ import annotations

import math
import random
from typing import Any

import pytest

from harness.checkers.model import History, Operation
from harness.checkers.session import (check_causal, check_consistent_prefix, check_monotonic_reads,
                                      check_monotonic_writes, check_read_your_writes, check_writes_follow_reads)

NEVER = -math.inf


def random_history(rng: random.Random, hb: Any, revisions: bool) -> History:
    hb.ops.clear()
    sessions = list(range(rng.randint(2, 4)))
    keys = ["x", "y", "z"][:rng.randint(1, 3)]
    owner = {k: rng.choice(sessions) for k in keys}
    clock = {s: rng.random() * 3 for s in sessions}
    plan = [(s, rng.random() < 0.45) for s in sessions for _ in range(rng.randint(2, 7))]
    rng.shuffle(plan)  # sessions interleave; each stays sequential
    written: list[tuple[str, str, float, bool]] = []  # key, value, invoke, ok or info
    seq = {s: 0 for s in sessions}
    commit_order = list(range(1, len(plan) + 1))
    rng.shuffle(commit_order)
    for s, is_write in plan:
        t0 = clock[s]
        t1 = t0 + rng.random() * 4 + 0.1
        clock[s] = t1 + rng.random()
        if is_write:
            mine = [k for k in keys if owner[k] == s] if not revisions else keys
            if not mine:
                is_write = False
            else:
                key = rng.choice(mine)
                seq[s] += 1
                value = f"{s}:{seq[s]}"
                outcome = rng.choices(["ok", "info", "fail"], [8, 1, 1])[0]
                rev = commit_order.pop() if revisions and outcome != "fail" else None
                if outcome == "info" and rng.random() < 0.4:
                    rev = None
                hb.put(s, key, value, t0, t1, type=outcome, revision=rev)
                if outcome != "fail":
                    written.append((key, value, t0, outcome == "ok"))
                continue
        key = rng.choice(keys)
        candidates = [v for k, v, w0, _ in written if k == key and w0 < t1]
        hb.get(s, key, rng.choice(candidates + [None]), t0, t1)
    return hb.history()


class Oracle:
    """The definitions, pair by pair, on a history that keeps the contract."""

    def __init__(self, h: History) -> None:
        self.ops = list(h.ops)
        self.writes = {(op.key, op.value): op for op in self.ops if op.f == "put"}
        self.by_index = {op.index: op for op in self.ops if op.f == "put"}
        self.seq: dict[int, int] = {}
        count: dict[Any, int] = {}
        for op in self.ops:
            if op.f == "put":
                count[op.session_id] = count.get(op.session_id, 0) + 1
                self.seq[op.index] = count[op.session_id]
        self.reads = [op for op in self.ops if op.f == "get" and op.outcome == "ok"]
        # a key's order: its revisions if any write has one, else its one writer's acknowledged
        # writes (plus its last one), else none (several writers, no revisions: not judged)
        self.place: dict[int, float] = {}
        for key in {op.key for op in self.ops}:
            live = [op for op in self.ops if op.f == "put" and op.key == key and op.outcome != "fail"]
            if any(op.revision is not None for op in live):
                self.place.update((op.index, float(op.revision)) for op in live if op.revision is not None)
            elif len({op.session_id for op in live}) == 1:
                last = max(op.index for op in live)
                self.place.update((op.index, float(self.seq[op.index])) for op in live
                                  if op.outcome == "ok" or op.index == last)

    def pos(self, read: Operation) -> float | None:
        key_placed = any(w.key == read.key for i, w in self.by_index.items() if i in self.place) or not any(
            w.key == read.key and w.outcome != "fail" for w in self.by_index.values())
        if not key_placed:
            return None  # the key's order is not recoverable
        return NEVER if read.result is None else self.place.get(self.writes[(read.key, read.result)].index)

    def judged(self) -> list[Operation]:
        return [r for r in self.reads if self.pos(r) is not None]

    def returned(self, read: Operation) -> Operation | None:
        return None if read.result is None else self.writes[(read.key, read.result)]

    def before(self, a: Operation, b: Operation) -> bool:
        return a.session_id == b.session_id and a.index < b.index

    def applied_writes(self) -> list[Operation]:
        return [w for w in self.ops if w.f == "put" and w.outcome == "ok"]

    def ryw(self) -> set[int]:
        return {r.index for r in self.judged() for w in self.applied_writes()
                if w.key == r.key and self.before(w, r) and self.place[w.index] > self.pos(r)}  # type: ignore[operator]

    def mr(self) -> set[int]:
        return {r.index for r in self.judged() for r0 in self.judged()
                if r0.key == r.key and self.before(r0, r) and self.pos(r0) > self.pos(r)}  # type: ignore[operator]

    def mw(self) -> tuple[int, set[int]]:
        ws = [w for w in self.ops if w.f == "put" and w.index in self.place]
        judged = {w2.index for w2 in ws for w1 in self.applied_writes()
                  if w1.key == w2.key and self.before(w1, w2)}
        bad = {w2.index for w2 in ws for w1 in self.applied_writes()
               if w1.key == w2.key and self.before(w1, w2) and self.place[w1.index] > self.place[w2.index]}
        return len(judged), bad

    def wfr(self) -> tuple[int, set[int]]:
        ws = [w for w in self.ops if w.f == "put" and w.index in self.place]
        pairs = [(r, w) for w in ws for r in self.judged() if r.key == w.key and r.result is not None
                 and self.before(r, w)]
        bad = {w.index for r, w in pairs if self.pos(r) > self.place[w.index]}  # type: ignore[operator]
        return len({w.index for _, w in pairs}), bad

    def cp(self) -> set[int]:
        out = set()
        for r in self.judged():
            for r0 in self.reads:
                w0 = self.returned(r0)
                if w0 is None or not (r0 is r or self.before(r0, r)):
                    continue
                for w in self.applied_writes():
                    if (w.key == r.key and w.session_id == w0.session_id and self.seq[w.index] < self.seq[w0.index]
                            and self.place[w.index] > self.pos(r)):  # type: ignore[operator]
                        out.add(r.index)
        return out

    def causal(self) -> set[int]:
        n = len(self.ops)
        hb = [[False] * n for _ in range(n)]
        for a in self.ops:
            for b in self.ops:
                if self.before(a, b) or (b.f == "get" and b.outcome == "ok" and self.returned(b) is a):
                    hb[a.index][b.index] = True
        for m in range(n):  # Floyd-Warshall closure
            for i in range(n):
                if hb[i][m]:
                    for j in range(n):
                        hb[i][j] = hb[i][j] or hb[m][j]
        return {r.index for r in self.judged() for w in self.applied_writes()
                if w.key == r.key and hb[w.index][r.index] and self.place[w.index] > self.pos(r)  # type: ignore[operator]
                } | self.mr()


def _indices(result: Any) -> set[int]:
    return {(v.get("write") or v["read"])["index"] for v in result.evidence["violations"]}


@pytest.mark.parametrize("revisions", [True, False], ids=["revision-order", "one-writer-order"])
def test_the_checkers_agree_with_the_oracles(hb: Any, revisions: bool) -> None:
    rng = random.Random(20261205 + revisions)
    kinds = {name: 0 for name in ("ryw", "mr", "mw", "wfr", "cp", "causal")}
    for _ in range(1000):
        h = random_history(rng, hb, revisions)
        o = Oracle(h)
        got = {name: check(h, max_examples=1000) for name, check in (
            ("ryw", check_read_your_writes), ("mr", check_monotonic_reads), ("mw", check_monotonic_writes),
            ("wfr", check_writes_follow_reads), ("cp", check_consistent_prefix), ("causal", check_causal))}
        want = {"ryw": o.ryw(), "mr": o.mr(), "cp": o.cp(), "causal": o.causal()}
        assert want["causal"] >= want["ryw"] | want["mr"] | want["cp"]  # causal includes the three
        for name, bad in want.items():
            assert _indices(got[name]) == bad, (name, [op.describe() for op in h.ops])
            assert got[name].evidence["reads_judged"] == len(o.judged())
            kinds[name] += bool(bad)
        for name, (judged, bad) in (("mw", o.mw()), ("wfr", o.wfr())):
            assert (got[name].evidence["writes_judged"], _indices(got[name])) == ((judged, bad) if revisions
                                                                                 else (0, set())), name
            kinds[name] += bool(bad)
    # the generator reaches every kind it can (one-writer keys have no recorded order to judge)
    assert all(kinds[n] for n in kinds if revisions or n not in ("mw", "wfr")), kinds
