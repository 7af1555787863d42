"""Session guarantees (Terry et al. 1994, "Session Guarantees for Weakly Consistent Replicated
Data"; consistent prefix from Terry 2013; causal as in Jepsen's and Viotti & Vukolic's
definitions): seven checkers, each a pure function ``history -> CheckResult``.

What a history must record (sessions, unique values, how each key's version order is
recovered, what is skipped) is ``harness.checkers.session_history``'s contract. Below,
*session order* is the order of one session's operations, a read *returns* the write whose
value it got, *older than w* means placed before ``w`` in the key's version order (the
initial absent value is older than every write), and a write is *applied* when it was
acknowledged (``ok``; a cas whose compare succeeded). ``fail`` writes are never required;
``info`` writes are never required (they may not have taken effect), so an indeterminate
write is never a violation on its own.

- **read-your-writes** (``ryw``): a read returns a value older than an applied write its own
  session made to that key earlier.
- **monotonic-reads**: a read returns a value older than one its session already read from
  that key (a read of a newer value, even of a write still in flight, is never one).
- **monotonic-writes**: the system ordered a session's write before that session's earlier
  applied write to the same key (an indeterminate earlier write is not required to come
  first: its client gave up on it). Judged where the order is the system's own
  (``revision``): on a key ordered by its one writer the order *is* session order, so
  nothing can be judged there. A reader that sees a writer's later write and then misses its earlier one on
  another key is reported by consistent-prefix and causal, not here (the replica it read
  from may have held both writes in order and only lagged).
- **writes-follow-reads** (``wfr``): the system ordered a session's write to a key before a
  write that session had already read from that key (``revision`` keys only, as above).
- **pram**: read-your-writes + monotonic-reads + monotonic-writes, one verdict (``False``
  beats ``"unknown"`` beats ``True``), each part's evidence under ``parts``.
- **causal**: a read misses a causal predecessor: an applied write to its key that
  happens-before it (session order and reads-from, transitively, the read's own reads-from
  included: a value whose write followed a newer one of the same key misses it), or a value
  its session already read from that key. Includes every read-your-writes, monotonic-reads and
  consistent-prefix violation; ``by_kind`` says which: ``own-write``, ``read-before``,
  ``observed-writer`` (the session had read a later write of the missed write's session),
  ``transitive`` (it learned of that session's writes through another session's).
- **consistent-prefix**: a reader observes a gap in one writer's order: its session read
  writer W's ``j``-th write (in this read or an earlier one), and the read returns a value
  older than an applied write W made to its key before its ``j``-th. Going back on one key
  without a gap is monotonic-reads, not this.

Each result's evidence: ``reads_judged``, ``violating_reads`` and
``violations_per_10k_reads`` (the issue's metric; a read counts once however many writes it
missed), or for monotonic-writes and writes-follow-reads the same three for writes;
``violations`` (at most ``max_examples``, each with the operations and their times);
``key_orders`` (keys ordered by revision, by one writer, skipped) and ``skipped`` (keys,
reads and sessions not judged, with reasons). Verdict ``False`` with any violation,
``"unknown"`` when nothing could be judged (``evidence["error"]`` says why), else ``True``.

    >>> r = check_causal(load_history("h.jsonl"))    # doctest: +SKIP
    >>> r.verdict, r.evidence["violations_per_10k_reads"], r.evidence["by_kind"]
    (False, 3333.333, {'transitive': 1})

(the history of ``tests/harness/checkers/test_session.py``'s ``gbench check`` test: 3 reads
judged, one missed a write it learned of through another session.)
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.checkers.model import CheckResult, History, Operation, TimeUnit, merge_verdicts
from harness.checkers.session_history import SessionFacts, Sid, SRead, SWrite, derive

RYW, MR, MW, WFR, PRAM, CAUSAL, CP = ("read-your-writes", "monotonic-reads", "monotonic-writes",
                                      "writes-follow-reads", "pram", "causal", "consistent-prefix")


@dataclass
class Findings:
    """One guarantee's count of judged operations and its violations."""

    unit: str
    """``reads`` or ``writes``: what was judged."""
    judged: int = 0
    violating: set[int] = field(default_factory=set)
    """Indices of the violating operations."""
    examples: list[dict[str, Any]] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, op: Operation, kind: str, example: Callable[[], dict[str, Any]], max_examples: int) -> None:
        """Record a violation by ``op`` (described lazily: only the first few are)."""
        if op.index in self.violating:
            return
        self.violating.add(op.index)
        self.by_kind[kind] += 1
        if len(self.examples) < max_examples:
            self.examples.append({"kind": kind, **example()})

    def counts(self) -> dict[str, Any]:
        n, v = self.judged, len(self.violating)
        return {f"{self.unit}_judged": n, f"violating_{self.unit}": v,
                f"violations_per_10k_{self.unit}": round(v * 10_000 / n, 3) if n else None}


def _write(w: SWrite, unit: TimeUnit) -> dict[str, Any]:
    d = w.op.describe(unit)
    if w.op.revision is not None:
        d["revision"] = w.op.revision
    return d


def _read_example(r: SRead, unit: TimeUnit, missed: SWrite, **more: Any) -> dict[str, Any]:
    return {"session": r.session, "key": r.op.key, "read": r.op.describe(unit), "returned": r.op.result,
            "returned_write": None if r.returned is None else _write(r.returned, unit),
            "missed": _write(missed, unit), **more}


def _gt(a: float | None, b: float | None) -> bool:
    """Placed after (both places known)."""
    return a is not None and b is not None and a > b


def _newer(a: SWrite | None, b: SWrite | None) -> SWrite | None:
    """The higher-placed of two placed writes (either may be None)."""
    if a is None or b is None:
        return a or b
    return a if _gt(a.pos, b.pos) else b


def _ryw(facts: SessionFacts, max_examples: int) -> Findings:
    out = Findings("reads")
    own: dict[tuple[Sid, Any], SWrite] = {}
    unit = facts.history.time_unit
    for x in facts.in_order():
        k = (x.session, x.op.key)
        if isinstance(x, SWrite):
            if x.applied and x.pos is not None:
                own[k] = _newer(own.get(k), x)  # type: ignore[assignment]
        elif x.judged:
            out.judged += 1
            w = own.get(k)
            if w is not None and _gt(w.pos, x.pos):
                out.add(x.op, "own-write", lambda: _read_example(x, unit, w), max_examples)
    return out


def _mr(facts: SessionFacts, max_examples: int) -> Findings:
    out = Findings("reads")
    seen: dict[tuple[Sid, Any], SRead] = {}
    unit = facts.history.time_unit
    for r in facts.reads:
        if not r.judged:
            continue
        out.judged += 1
        k = (r.session, r.op.key)
        prev = seen.get(k)
        if prev is not None and _gt(prev.pos, r.pos):
            assert prev.returned is not None
            out.add(r.op, "read-before", lambda: _read_example(r, unit, prev.returned,  # type: ignore[arg-type]
                                                                earlier_read=prev.op.describe(unit)), max_examples)
        elif prev is None or _gt(r.pos, prev.pos):
            seen[k] = r
    return out


def _ordered_after(facts: SessionFacts, max_examples: int, wfr: bool) -> Findings:
    """monotonic-writes (``wfr`` False): each write against its session's earlier writes to
    the key; writes-follow-reads: against the writes its session had read from the key.
    Both on ``revision`` keys only."""
    out = Findings("writes")
    before: dict[tuple[Sid, Any], SWrite] = {}
    via: dict[tuple[Sid, Any], SRead] = {}
    unit = facts.history.time_unit
    for x in facts.in_order():
        k = (x.session, x.op.key)
        order = facts.keys.get(x.op.key)
        if order is None or order.how != "revision" or x.session in facts.overlapping:
            continue
        if isinstance(x, SRead):
            if wfr and x.judged and x.returned is not None:
                if _newer(before.get(k), x.returned) is x.returned:
                    before[k], via[k] = x.returned, x
            continue
        if x.pos is None:
            continue
        prev = before.get(k)
        if prev is not None:
            out.judged += 1
            if _gt(prev.pos, x.pos):
                more = {"read": via[k].op.describe(unit)} if wfr else {}
                out.add(x.op, "read-then-write" if wfr else "write-then-write",
                        lambda: {"session": x.session, "key": x.op.key, "write": _write(x, unit),  # type: ignore[union-attr]
                                 ("returned_by_read" if wfr else "earlier_write"): _write(prev, unit), **more},
                        max_examples)
        if not wfr and x.applied:  # a write its client gave up on is not ordered before its next one
            before[k] = _newer(prev, x)  # type: ignore[assignment]
    return out


def _cp(facts: SessionFacts, max_examples: int) -> Findings:
    out = Findings("reads")
    observed: dict[Sid, dict[Sid, tuple[int, SRead]]] = {}
    unit = facts.history.time_unit
    for r in facts.reads:
        seen = observed.setdefault(r.session, {})
        w = r.returned  # what a read returns it has observed (a gap can show within one read)
        if w is not None and w.session not in facts.overlapping and w.seq > seen.get(w.session, (0, r))[0]:
            seen[w.session] = (w.seq, r)
        if r.judged:
            out.judged += 1
            order = facts.keys.get(r.op.key)
            missed, observation = None, None
            if order is not None:
                for writer in (order.applied if len(order.applied) < len(seen) else seen):
                    if writer in seen and writer in order.applied:
                        j, obs = seen[writer]
                        earlier = order.latest_applied(writer, j - 1)  # the writer's, before its j-th
                        if earlier is not None and _gt(earlier.pos, r.pos) and _newer(missed, earlier) is earlier:
                            missed, observation = earlier, obs
            if missed is not None and observation is not None:
                out.add(r.op, "gap", lambda: _read_example(
                    r, unit, missed, observed=observation.op.describe(unit),  # type: ignore[union-attr]
                    observed_write=_write(observation.returned, unit)), max_examples)  # type: ignore[union-attr,arg-type]
    return out


@dataclass
class _Past:
    """A session's causal past: per writer session, the highest seq it happens-after, and
    the read through which it learned of it (``None``: its own write). Copied on write once
    a write has kept a reference (``shared``)."""

    known: dict[Sid, int] = field(default_factory=dict)
    via: dict[Sid, SRead | None] = field(default_factory=dict)
    shared: bool = False

    def own(self) -> dict[Sid, int]:
        if self.shared:
            self.known, self.shared = dict(self.known), False
        return self.known


def _causal(facts: SessionFacts, max_examples: int) -> Findings:
    out = Findings("reads")
    unit = facts.history.time_unit
    past: dict[Sid, _Past] = {}
    vectors: dict[int, dict[Sid, int]] = {}
    seen: dict[tuple[Sid, Any], SRead] = {}
    # writes take their causal past when invoked, reads learn when they complete: a read
    # completing at the instant a write of its session is invoked came first
    events = sorted([(w.op.invoke, 1, w.op.index, w) for w in facts.writes]
                    + [(r.op.complete, 0, r.op.index, r) for r in facts.reads])
    for _, _, _, x in events:
        if x.session in facts.overlapping:
            continue
        p = past.setdefault(x.session, _Past())
        if isinstance(x, SWrite):
            p.own()[x.session] = x.seq
            p.via[x.session] = None
            vectors[x.op.index], p.shared = p.known, True
            continue
        w = x.returned  # reads-from: the returned write's past is the read's past too
        if w is not None and w.session not in facts.overlapping:
            for writer, s in vectors.get(w.op.index, {w.session: w.seq}).items():
                if s > p.known.get(writer, 0):
                    p.own()[writer] = s
                    p.via[writer] = x
        k = (x.session, x.op.key)
        if x.judged:
            out.judged += 1
            missed, kind, via = _missed_predecessor(facts, x, p, seen.get(k))
            if missed is not None:
                more = {} if via is None else {"learned_via": via.op.describe(unit)}
                out.add(x.op, kind, lambda: _read_example(x, unit, missed, **more), max_examples)  # type: ignore[arg-type]
            if k not in seen or _gt(x.pos, seen[k].pos):
                seen[k] = x
    return out


def _missed_predecessor(facts: SessionFacts, r: SRead, p: _Past, before: SRead | None
                        ) -> tuple[SWrite | None, str, SRead | None]:
    """The highest-placed causal predecessor ``r`` returned a value older than, its kind and
    the read through which ``r``'s session learned of it."""
    missed, kind, via = None, "", None
    order = facts.keys.get(r.op.key)
    if order is not None:
        for writer in (order.applied if len(order.applied) < len(p.known) else p.known):
            if writer not in p.known or writer not in order.applied:
                continue
            w = order.latest_applied(writer, p.known[writer])
            if w is not None and _gt(w.pos, r.pos) and _newer(missed, w) is w:
                missed, via = w, p.via.get(writer)
                kind = ("own-write" if via is None else "observed-writer"
                        if via.returned is not None and via.returned.session == writer else "transitive")
    if before is not None and _gt(before.pos, r.pos) and _newer(missed, before.returned) is before.returned:
        missed, kind, via = before.returned, "read-before", before
    return missed, kind, via


_NOTHING = {"reads": "no read could be judged", "writes": "no write could be judged"}
_WHY_NO_WRITES = ("no session wrote a key (monotonic-writes: twice; writes-follow-reads: after reading it) whose "
                  "order the system recorded (revision on every acknowledged write)")


def _result(name: str, facts: SessionFacts, found: Findings, max_examples: int, why_none: str | None = None
            ) -> CheckResult:
    evidence: dict[str, Any] = {**found.counts(), "violations": found.examples}
    if name == CAUSAL:
        evidence["by_kind"] = dict(found.by_kind)
    evidence["key_orders"] = facts.key_orders()
    evidence["skipped"] = facts.skipped(max_examples)
    if found.violating:
        return CheckResult(name, False, evidence)
    if not found.judged:
        evidence["error"] = why_none or (_NOTHING[found.unit] + " (see skipped)")
        return CheckResult(name, "unknown", evidence)
    return CheckResult(name, True, evidence)


_FINDERS: dict[str, Callable[[SessionFacts, int], Findings]] = {
    RYW: _ryw, MR: _mr, CAUSAL: _causal, CP: _cp,
    MW: lambda facts, n: _ordered_after(facts, n, wfr=False),
    WFR: lambda facts, n: _ordered_after(facts, n, wfr=True)}


def _judge(name: str, facts: SessionFacts, max_examples: int) -> CheckResult:
    why = _WHY_NO_WRITES if name in (MW, WFR) else None
    return _result(name, facts, _FINDERS[name](facts, max_examples), max_examples, why)


def check_read_your_writes(history: History, max_examples: int = 100) -> CheckResult:
    """Read-your-writes; see the module docstring."""
    return _judge(RYW, derive(history), max_examples)


def check_monotonic_reads(history: History, max_examples: int = 100) -> CheckResult:
    """Monotonic reads; see the module docstring."""
    return _judge(MR, derive(history), max_examples)


def check_monotonic_writes(history: History, max_examples: int = 100) -> CheckResult:
    """Monotonic writes (``revision`` keys); see the module docstring."""
    return _judge(MW, derive(history), max_examples)


def check_writes_follow_reads(history: History, max_examples: int = 100) -> CheckResult:
    """Writes-follow-reads (``revision`` keys); see the module docstring."""
    return _judge(WFR, derive(history), max_examples)


def check_causal(history: History, max_examples: int = 100) -> CheckResult:
    """Causal: no read misses a causal predecessor; see the module docstring."""
    return _judge(CAUSAL, derive(history), max_examples)


def check_consistent_prefix(history: History, max_examples: int = 100) -> CheckResult:
    """Consistent prefix: no reader sees a gap in one writer's order; see the module docstring."""
    return _judge(CP, derive(history), max_examples)


def check_pram(history: History, max_examples: int = 100) -> CheckResult:
    """PRAM = read-your-writes + monotonic-reads + monotonic-writes, on one derivation."""
    facts = derive(history)
    ryw, mr = _ryw(facts, max_examples), _mr(facts, max_examples)
    parts = {RYW: _result(RYW, facts, ryw, max_examples), MR: _result(MR, facts, mr, max_examples),
             MW: _judge(MW, facts, max_examples)}
    reads = Findings("reads", ryw.judged, ryw.violating | mr.violating)
    mw = parts[MW].evidence
    evidence: dict[str, Any] = {**reads.counts(), "writes_judged": mw["writes_judged"],
                                "violating_writes": mw["violating_writes"],
                                "violations_per_10k_writes": mw["violations_per_10k_writes"]}
    evidence["parts"] = {n: {k: v for k, v in r.evidence.items() if k not in ("key_orders", "skipped")}
                         | {"verdict": r.verdict} for n, r in parts.items()}
    evidence["key_orders"] = facts.key_orders()
    evidence["skipped"] = facts.skipped(max_examples)
    verdict = merge_verdicts(r.verdict for r in parts.values())
    if verdict == "unknown":
        evidence["error"] = "; ".join(f"{n}: {r.evidence['error']}" for n, r in parts.items() if r.verdict == "unknown")
    return CheckResult(PRAM, verdict, evidence)
