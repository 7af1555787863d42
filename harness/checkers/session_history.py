"""The history contract of the session-guarantee checkers, and what they derive from a history.

``harness.checkers.session`` judges read-your-writes, monotonic reads and writes,
writes-follow-reads, PRAM, causal and consistent prefix. They all need the same three facts
about each read: *whose session* issued it, *which write* it returned, and *where that write
stands* in its key's version order. This module states what a history must record for those
facts to be known (the contract the session workloads keep) and derives them, skipping and
counting whatever cannot be known. It never guesses an order.

The contract
------------

- **Session.** An operation's session is ``extra.session`` (an integer or a string, compared
  as given: ``1`` and ``"1"`` differ) when the record has one, else its ``process``
  (``Operation.session_id``). A session issues one
  operation at a time: each is invoked after the previous one completed (or, for an
  indeterminate one, after its client gave up). A session whose operations overlap has no
  session order: it is listed under ``skipped.sessions``, its reads are not judged and its
  writes give no order.
- **Values.** Every value written to a key is unique (a put's token, a cas's new value); the
  workloads write ``"<session>:<seq>"`` (``harness.workload.generator`` already writes
  ``"<process>:<seq>"``). The checkers rely on uniqueness only: the writer and its place in
  its session come from the write's own record, found by the value a read returned. A key
  with a repeated value is skipped.
- **Operations.** put/write, cas (a cas whose compare succeeded writes its new value) and
  get/read. A key with any other operation (delete, append) is skipped: after a delete an
  absent value has no place in the order. An absent value (a read returning null) is the
  key's initial state, before every write.
- **Outcomes.** ``fail`` (and a cas whose compare failed): not applied (never required,
  never an order). ``info``: maybe
  applied, at an unknown time: it is never required of a read, so it is never a violation
  on its own; a read that *returned* it shows it was applied, and that read counts.
- **Per-key version order**, recovered in this order of preference:

  1. ``revision``: when every acknowledged write of the key reports one (and some write
     does), the key's order is the revision order. A write's ``revision`` must be its commit position in the log that
     holds the key (etcd's revision, a PostgreSQL commit LSN, a Redis replication offset of
     the key's primary); the checkers compare revisions within one key only, so a Redis
     Cluster's per-shard offsets are fine. Two writes of one key with the same revision
     make the key skipped. An indeterminate write without a revision has no known place.
  2. **One writer**: when every write of the key that was not ``fail`` comes from one
     sequential session, the order is that session's order (a session's next write starts
     only after its previous one was acknowledged). An indeterminate write is placed only
     when it is that session's last write to the key (a later write may have overtaken it).
  3. Otherwise (several writer sessions, some acknowledged write without a revision) the
     order is not recoverable: the key is skipped (``skipped.keys``) and its reads counted
     in ``skipped.reads``, never judged.

- **Not needed:** a ``deps`` list on writes. What a session had read or written before a
  write follows from session order and from which write each read returned (values are
  unique), so the causal checker derives it instead of trusting the workload's claim.

A read is *judged* when its session is sequential, its key's order is recoverable and the
write it returned has a known place; the per-10,000 metrics count judged reads only. A read
of an unknown value, of a failed write or of an unplaced write is skipped with its reason.

    >>> facts = derive(load_history("history.jsonl"))                  # doctest: +SKIP
    >>> facts.reads[0].judged, facts.reads[0].pos
    (True, 3.0)
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from harness.checkers._tokens import WRITE_FS, written_token
from harness.checkers.model import INF, History, Operation

Sid = Any
"""A session id: an ``extra.session`` or a process (int or str)."""

BEFORE_ALL = -math.inf
"""The position of the initial (absent) value: before every write."""


@dataclass(frozen=True)
class SWrite:
    """One write with what the session checkers know of it."""

    op: Operation
    session: Sid
    seq: int
    """1-based position among its session's writes (every outcome counts)."""
    pos: float | None
    """Its place in the key's version order (a revision, or its seq on a one-writer key);
    ``None`` when unknown (failed, indeterminate and overtakable, or the key is skipped)."""
    applied: bool
    """It certainly took effect: acknowledged (for cas: the compare succeeded)."""

    @property
    def failed(self) -> bool:
        """It certainly did not take effect: ``fail``, or a cas whose compare ran and failed."""
        return self.op.outcome == "fail" or (self.op.outcome == "ok" and not self.applied)


@dataclass(frozen=True)
class SRead:
    """One ``ok`` read, the write it returned and whether it can be judged."""

    op: Operation
    session: Sid
    returned: SWrite | None
    """``None`` for an absent value or a value no write in the history wrote."""
    pos: float | None
    """The returned write's place (``BEFORE_ALL`` for absent); ``None`` when unknown."""
    skip: str | None
    """Why it is not judged (``None``: judged)."""

    @property
    def judged(self) -> bool:
        return self.skip is None


@dataclass
class KeyOrder:
    """One key's recovered order and, per writer session, its applied writes for look-ups."""

    how: str
    """``revision`` | ``one-writer`` | ``skipped``."""
    reason: str | None = None
    applied: dict[Sid, tuple[list[int], list[SWrite]]] = field(default_factory=dict)
    """Per writer session: the seqs of its applied, placed writes (ascending) and, at each,
    the write with the highest position among those up to it (prefix maximum)."""

    def latest_applied(self, writer: Sid, upto_seq: float) -> SWrite | None:
        """The highest-placed applied write of ``writer`` to this key with seq <= ``upto_seq``."""
        entry = self.applied.get(writer)
        if entry is None:
            return None
        i = bisect.bisect_right(entry[0], upto_seq)
        return entry[1][i - 1] if i else None


@dataclass
class SessionFacts:
    """What ``derive`` found: reads and writes in invocation order, key orders, skips."""

    history: History
    reads: list[SRead]
    writes: list[SWrite]
    keys: dict[Any, KeyOrder]
    overlapping: dict[Sid, str]
    """Sessions that are not sequential (their reads are not judged, their writes not ordered)."""
    skipped_reads: Counter[str]

    def in_order(self) -> Iterator[SWrite | SRead]:
        """Writes and judged-or-not reads together, in invocation (= session) order."""
        return heapq.merge(self.writes, self.reads, key=lambda x: x.op.index)

    def key_orders(self) -> dict[str, int]:
        """How many keys are ordered by revision, by their one writer, or skipped."""
        return dict(Counter(o.how for o in self.keys.values()))

    def skipped(self, max_examples: int) -> dict[str, Any]:
        """The evidence's ``skipped`` section: keys by reason (with a few examples), reads
        by reason, sessions."""
        by_reason: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for key, order in self.keys.items():
            if order.how == "skipped":
                assert order.reason is not None
                by_reason[order.reason] += 1
                if len(examples) < max_examples:
                    examples[str(key)] = order.reason
        return {"keys": dict(by_reason), "key_examples": examples, "reads": dict(self.skipped_reads),
                "sessions": {str(s): why for s, why in list(self.overlapping.items())[:max_examples]}}


def _done_by(op: Operation) -> float:
    """When ``op``'s session may start its next operation."""
    if op.complete != INF:
        return op.complete
    return op.give_up if op.give_up is not None else INF


def overlapping_sessions(history: History) -> dict[Sid, str]:
    """Sessions whose operations overlap, each with its first overlap."""
    last: dict[Sid, Operation] = {}
    out: dict[Sid, str] = {}
    for op in history.ops:
        sid = op.session_id
        prev = last.get(sid)
        if prev is not None and _done_by(prev) > op.invoke and sid not in out:
            out[sid] = f"op {op.index} was invoked before op {prev.index} of the same session ended"
        last[sid] = op
    return out


def _key_order(writes: list[SWrite], other_fs: set[str], repeated: bool, overlapping: dict[Sid, str]) -> KeyOrder:
    """How this key's writes are ordered (see the module docstring), positions not yet set."""
    if other_fs:
        return KeyOrder("skipped", f"has {', '.join(sorted(other_fs))} operations")
    if repeated:
        return KeyOrder("skipped", "a value is written twice")
    live = [w for w in writes if not w.failed]
    acked = [w for w in live if w.applied]
    revisions = [w.op.revision for w in live if w.op.revision is not None]
    if revisions and all(w.op.revision is not None for w in acked):
        if len(set(revisions)) != len(revisions):
            return KeyOrder("skipped", "two writes report the same revision")
        return KeyOrder("revision")
    writers = {w.session for w in live}
    if len(writers) > 1:
        return KeyOrder("skipped", "several writer sessions and no revision on every acknowledged write")
    if writers & set(overlapping):
        return KeyOrder("skipped", "its one writer session is not sequential")
    return KeyOrder("one-writer")


def _place(w: SWrite, how: str, last_seq: int) -> SWrite:
    """``w`` with its position in a key ordered ``how`` (``last_seq``: the writer's last
    write to the key that did not fail)."""
    pos: float | None = None
    if not w.failed and how == "revision":
        pos = None if w.op.revision is None else float(w.op.revision)
    elif not w.failed and how == "one-writer" and (w.applied or w.seq == last_seq):
        pos = float(w.seq)
    return SWrite(w.op, w.session, w.seq, pos, w.applied)


def _index(order: KeyOrder, ws: list[SWrite], overlapping: dict[Sid, str]) -> None:
    """Fill ``order.applied`` from the key's placed writes (invocation order = seq order)."""
    for w in ws:
        if not (w.applied and w.pos is not None) or w.session in overlapping:
            continue
        seqs, best = order.applied.setdefault(w.session, ([], []))
        seqs.append(w.seq)
        best.append(best[-1] if best and best[-1].pos >= w.pos else w)  # type: ignore[operator]


def _read_skip(op: Operation, order: KeyOrder | None, returned: SWrite | None, overlapping: dict[Sid, str]
               ) -> str | None:
    if op.session_id in overlapping:
        return "its session is not sequential"
    if order is not None and order.how == "skipped":
        return f"key skipped: {order.reason}"
    if op.result is not None and returned is None:
        return "returned a value no write in the history wrote"
    if returned is not None and returned.failed:
        return "returned a failed write (see late-writes)"
    if returned is not None and returned.pos is None:
        return "returned an indeterminate write with no known place"
    return None


def derive(history: History) -> SessionFacts:
    """The facts every session checker reads: one pass over the writes, one over the reads."""
    overlapping = overlapping_sessions(history)
    seq: Counter[Sid] = Counter()
    by_key: dict[Any, list[SWrite]] = {}
    other_fs: dict[Any, set[str]] = {}
    for op in history.ops:
        if op.f in WRITE_FS:
            sid = op.session_id
            seq[sid] += 1
            applied = op.outcome == "ok" and (op.f != "cas" or op.result is True)
            by_key.setdefault(op.key, []).append(SWrite(op, sid, seq[sid], None, applied))
        elif not op.is_read:
            other_fs.setdefault(op.key, set()).add(op.f)
    keys: dict[Any, KeyOrder] = {}
    by_token: dict[Any, dict[Any, SWrite]] = {}
    for key in dict.fromkeys([*by_key, *other_fs]):  # first-written order: evidence is reproducible
        ws = by_key.get(key, [])
        tokens = [written_token(w.op) for w in ws]
        repeated = None in tokens or len(set(tokens)) != len(tokens)
        order = keys[key] = _key_order(ws, other_fs.get(key, set()), repeated, overlapping)
        last_seq = max((w.seq for w in ws if not w.failed), default=0)
        ws = by_key[key] = [_place(w, order.how, last_seq) for w in ws]
        _index(order, ws, overlapping)
        by_token[key] = {written_token(w.op): w for w in ws}
    reads: list[SRead] = []
    skipped_reads: Counter[str] = Counter()
    for op in history.ops:
        if not (op.is_read and op.outcome == "ok"):
            continue
        returned = None if op.result is None else by_token.get(op.key, {}).get(op.result)
        skip = _read_skip(op, keys.get(op.key), returned, overlapping)
        if skip is not None:
            skipped_reads[skip] += 1
        pos = BEFORE_ALL if op.result is None else (None if returned is None else returned.pos)
        reads.append(SRead(op, op.session_id, returned, pos, skip))
    writes = sorted((w for ws in by_key.values() for w in ws), key=lambda w: w.op.index)
    return SessionFacts(history, reads, writes, keys, overlapping, skipped_reads)
