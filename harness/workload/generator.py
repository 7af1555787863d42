"""What operation comes next, on which key, with which value, and when (pure, seeded).

Each client (logical process) owns one ``OpGenerator`` seeded from (workload seed,
process id), so a run's operation sequence is reproducible. Values carry a unique token
(``<process>:<seq>``) at their start, padded to the value size; the checkers compare
tokens, and a read recovers the token from the bytes it got back.
"""
from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from typing import Any

from harness.workload.spec import OPS, Workload

TOKEN_SEP = b"|"
_PAD = b"guarantees-bench-" * 64


def value_for(token: str, size: int) -> bytes:
    """The exact bytes stored for a token (deterministic, so cas can compare full values)."""
    head = token.encode() + TOKEN_SEP
    if len(head) >= size:
        return head
    body = size - len(head)
    reps, rest = divmod(body, len(_PAD))
    return head + _PAD * reps + _PAD[:rest]


def token_of(value: bytes | None) -> str | None:
    """The token a stored value starts with (None for an absent key)."""
    if value is None:
        return None
    head, sep, _ = value.partition(TOKEN_SEP)
    return head.decode(errors="replace") if sep else value[:64].decode(errors="replace")


class KeyChooser:
    """uniform, zipfian (YCSB-style skew, theta), sequential (round-robin) over N keys, or
    disjoint: client ``start`` of ``clients`` walks its own block of ``N // clients`` keys in
    order (block ``start % clients``), so no two clients write one key and, until a block
    wraps, every write goes to a key nobody wrote before: each acknowledged write is its key's
    last, and the final reads show every one that was lost (Jepsen's set workload, on keys)."""

    def __init__(self, count: int, distribution: str, rng: random.Random, theta: float = 0.99,
                 prefix: str = "k", start: int = 0, clients: int = 1) -> None:
        self.count, self.distribution, self.rng, self.prefix = count, distribution, rng, prefix
        self._block = max(1, count // max(1, clients))
        self._base = (start % max(1, clients)) * self._block
        self._width = len(str(count - 1))
        self._seq = itertools.count(start)
        self._seq_start = start
        self._cum: list[float] | None = None
        if distribution == "zipfian":
            acc, cum = 0.0, []
            for i in range(1, count + 1):
                acc += 1.0 / (i ** theta)
                cum.append(acc)
            self._cum = cum

    def key(self, index: int) -> str:
        return f"{self.prefix}{index:0{self._width}d}"

    def next_index(self) -> int:
        if self.distribution == "uniform":
            return self.rng.randrange(self.count)
        if self.distribution == "sequential":
            return next(self._seq) % self.count
        if self.distribution in ("disjoint", "read-own-writes"):
            return self._base + (next(self._seq) - self._seq_start) % self._block
        assert self._cum is not None
        return min(bisect.bisect_left(self._cum, self.rng.random() * self._cum[-1]), self.count - 1)

    def next_key(self) -> str:
        return self.key(self.next_index())


@dataclass(frozen=True)
class PlannedOp:
    """An operation to invoke: ``f``, ``key``, and the argument as recorded in the history."""

    f: str
    key: str
    value: Any  # put: token; cas: [expected_token, new_token]; get/delete: None


class OpGenerator:
    """Per-client operation stream following the workload's mix."""

    def __init__(self, w: Workload, process: int) -> None:
        self.w, self.process = w, process
        self.rng = random.Random(f"{w.seed}/{process}")
        self.keys = KeyChooser(w.keys.count, w.keys.distribution, self.rng, w.keys.zipf_theta,
                               w.keys.prefix, start=process, clients=w.load.concurrency)
        self._ops = [op for op in OPS if w.mix.get(op, 0) > 0]
        self._weights = [float(w.mix[op]) for op in self._ops]
        self._seq = itertools.count(1)
        #: last token this client wrote or read per key: the expected value for its next cas.
        self.last_seen: dict[str, str | None] = {}
        #: read-own-writes: the key of this client's latest write (its gets read it)
        self.last_written: str | None = None

    def new_token(self) -> str:
        return f"{self.process}:{next(self._seq)}"

    def next(self) -> PlannedOp:
        f = self._ops[0] if len(self._ops) == 1 else self.rng.choices(self._ops, self._weights)[0]
        if f == "get" and self.last_written is not None and self.w.keys.distribution == "read-own-writes":
            return PlannedOp("get", self.last_written, None)
        key = self.keys.next_key()
        if f != "get":
            self.last_written = key
        if f == "put":
            return PlannedOp("put", key, self.new_token())
        if f == "cas":
            return PlannedOp("cas", key, [self.last_seen.get(key), self.new_token()])
        return PlannedOp(f, key, None)


def open_loop_schedule(rate_ops_s: float, clients: int, client_index: int) -> tuple[float, float]:
    """(offset_s, interval_s) for one client of an open-loop load at ``rate_ops_s`` in total.

    Client ``i`` of ``C`` intends to start operation ``k`` at ``offset + k * interval``,
    with ``interval = C / rate`` and offsets staggered evenly; latency is measured from
    that intended start, so a stalled system is charged for the requests it delayed
    (coordinated omission corrected, as wrk2 does).
    """
    interval = clients / rate_ops_s
    return client_index * interval / clients, interval
