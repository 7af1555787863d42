"""Stale reads: a read that returned a value older than one whose write had already been
acknowledged when the read began.

Rule, per key (values must be unique tokens; keys where they are not are skipped):

- The read returned ``v``. Its *sources* are the ops that could have produced ``v``: the one
  write of token ``v``; for an absent value, the initial state and every delete that did not
  fail.
- A write or delete ``w`` is *missed* by the read when ``w`` was acknowledged (``ok``; a cas
  whose compare succeeded) before the read was invoked, and ``w`` certainly took effect
  after every source: the source completed before ``w`` was invoked (real time), or, when
  the two overlapped, both report a revision and the source's is lower (etcd's response
  revision is the write's own). A source whose outcome is ``info`` or ``fail`` has no known
  effect time, so it never "certainly precedes" anything: reads of such values are never
  called stale here (the late-write checker looks at them).
- The read is stale when it missed at least one write.

Reported per stale read:

- ``stale_ms``: read invoke time minus the acknowledgement time of the *newest* missed write
  (the one acknowledged last): the read was at least this far behind that write.
- ``superseded_ms``: read invoke time minus the acknowledgement of the *oldest* missed write:
  the returned value had been superseded for at least this long.
- ``versions``: how many missed writes there are, i.e. acknowledged writes that certainly
  took effect after the returned value and before the read began. When writes overlap each
  other, each one still counts once (each installed a version, in some order). Writes that
  overlap the returned value's own write are *not* counted, since they may have taken
  effect before it; writes never acknowledged are not counted either. So ``versions`` is a
  lower bound on how many versions the read was behind.

Results are grouped by ``read_consistency``; only stale reads at a level in
``strict_levels`` (default: the levels whose class is ``strong``, ``_tokens.strong_levels``)
make the verdict ``False``: a stale read at a weaker level is reported, but it is what that
level allows.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Collection

from harness.checkers._tokens import (index_writes, is_acked, span, trusted_levels,
                                      span_name, untraceable_reason, written_token)
from harness.checkers.model import CheckResult, History, Operation

NAME = "stale-reads"


def _precedes(s: Operation | None, w: Operation) -> bool:
    """Did source ``s`` (``None`` = the initial state) certainly take effect before ``w``?"""
    if s is None:
        return True
    if s.outcome != "ok" or (s.f == "cas" and s.result is not True):
        return False
    if s.complete < w.invoke:
        return True
    if w.complete < s.invoke:
        return False
    return s.revision is not None and w.revision is not None and s.revision < w.revision


@dataclass
class _Acked:
    """One key's acknowledged writes/deletes sorted by acknowledgement time."""

    ops: list[Operation]
    completes: list[float]
    max_latency: float
    """Longest invoke-to-ack span: a write acked later than ``t + max_latency`` was
    certainly invoked after ``t``, which lets most of a window be counted, not scanned."""


def _missed(read: Operation, sources: list[Operation | None], acked: _Acked
            ) -> tuple[int, Operation, Operation] | None:
    """(count, oldest, newest) of the acked writes before ``read.invoke`` that certainly
    follow every source (by acknowledgement time), or None if there are none."""
    ops, completes = acked.ops, acked.completes
    end = bisect.bisect_left(completes, read.invoke)
    if end == 0:
        return None
    real = [s for s in sources if s is not None]
    if not real:  # only the initial state: every earlier acknowledged write was missed
        return end, ops[0], ops[end - 1]
    if any(s.outcome != "ok" for s in real):
        return None
    # A write acknowledged before a source was invoked certainly precedes it: skip those.
    lo = bisect.bisect_left(completes, max(s.invoke for s in real))
    # Acked after every source completed + the longest latency: invoked after it, so missed.
    certain_from = max(lo, bisect.bisect_right(completes, max(s.complete for s in real) + acked.max_latency))
    boundary = [ops[j] for j in range(lo, min(certain_from, end)) if all(_precedes(s, ops[j]) for s in sources)]
    certain = max(0, end - certain_from)
    count = certain + len(boundary)
    if count == 0:
        return None
    oldest = boundary[0] if boundary else ops[certain_from]
    newest = ops[end - 1] if certain else boundary[-1]
    return count, oldest, newest


@dataclass(frozen=True)
class ReadLag:
    """One traceable read and what it missed (``missed`` 0: it missed nothing)."""

    key: Any
    read: Operation
    source: Operation | None
    """The write whose value it returned (None: the initial state or a delete)."""
    missed: int
    oldest: Operation | None
    newest: Operation | None


@dataclass
class ReadLags:
    """Every traceable read's lag, and what could not be traced."""

    lags: list[ReadLag]
    checked_keys: int
    skipped: dict[str, str]
    unexplained: int


def read_lags(history: History) -> ReadLags:
    """Per traceable read (unique tokens per key), the acknowledged writes it certainly
    missed (the rule of the module docstring); the shared core of ``check_stale_reads`` and
    ``harness.checkers.bounded_staleness``."""
    out = ReadLags([], 0, {}, 0)
    for key, kw in index_writes(history).items():
        if not kw.reads:
            continue
        why = untraceable_reason(kw)
        if why:
            out.skipped[str(key)] = why
            continue
        out.checked_keys += 1
        acked_ops = sorted((o for o in kw.writes + kw.deletes if is_acked(o)), key=lambda o: o.complete)
        acked = _Acked(acked_ops, [o.complete for o in acked_ops],
                       max((o.complete - o.invoke for o in acked_ops), default=0))
        non_failed_deletes: list[Operation | None] = [d for d in kw.deletes if d.outcome != "fail"]
        for r in kw.reads:
            if r.result is None:
                sources: list[Operation | None] = [None, *non_failed_deletes]
            else:
                src = kw.by_token.get(r.result)
                if src is None:
                    out.unexplained += 1  # a value never written: linearizability reports it
                    continue
                sources = [src]
            missed = _missed(r, sources, acked)
            source = sources[0] if r.result is not None else None
            if missed is None:
                out.lags.append(ReadLag(key, r, source, 0, None, None))
            else:
                out.lags.append(ReadLag(key, r, source, *missed))
    return out


def level_of(op: Operation) -> str:
    """The read's level as results group it (``default`` when the history names none)."""
    return str(op.read_consistency) if op.read_consistency is not None else "default"


def check_stale_reads(history: History, strict_levels: Collection[str | None] | None = None,
                      max_examples: int = 100, system: str | None = None) -> CheckResult:
    """Find stale reads; see the module docstring for the exact rule and fields.

    ``max_examples``: stale reads listed per read-consistency level (all are counted).
    ``system``: whose plugin classes the read levels (None: looked up over every plugin).
    """
    strict_levels = trusted_levels(history, strict_levels, system)
    unit = history.time_unit
    stale_f, super_f = span_name(unit, "stale"), span_name(unit, "superseded")
    groups: dict[str, dict[str, Any]] = {}
    examples: list[dict[str, Any]] = []
    found = read_lags(history)
    for lag in found.lags:
        r = lag.read
        g = groups.setdefault(level_of(r), {"reads": 0, "stale": 0, f"max_{stale_f}": None, "max_versions": 0,
                                            "listed": 0})
        g["reads"] += 1
        if not lag.missed:
            continue
        assert lag.oldest is not None and lag.newest is not None
        stale = span(unit, r.invoke - lag.newest.complete)
        g["stale"] += 1
        g[f"max_{stale_f}"] = stale if g[f"max_{stale_f}"] is None else max(g[f"max_{stale_f}"], stale)
        g["max_versions"] = max(g["max_versions"], lag.missed)
        if g["listed"] < max_examples:
            g["listed"] += 1
            examples.append({
                "key": lag.key, "read_consistency": r.read_consistency, "read": r.describe(unit),
                "returned": r.result,
                "returned_write": lag.source.describe(unit) if lag.source is not None else None,
                "versions": lag.missed, stale_f: stale,
                super_f: span(unit, r.invoke - lag.oldest.complete),
                "newest_missed": lag.newest.describe(unit),
                "newest_missed_value": written_token(lag.newest) if lag.newest.f != "delete" else None,
            })
    for g in groups.values():
        g.pop("listed")
    evidence: dict[str, Any] = {"keys_checked": found.checked_keys, "by_read_consistency": groups,
                                "stale_reads": examples}
    if found.skipped:
        evidence["skipped_keys"] = found.skipped
    if found.unexplained:
        evidence["reads_of_unwritten_values"] = found.unexplained
    strict = {("default" if lv is None else str(lv)) for lv in strict_levels}
    if any(g["stale"] for lv, g in groups.items() if lv in strict):
        return CheckResult(NAME, False, evidence)
    if found.skipped and not found.checked_keys:
        evidence["error"] = "no key has traceable (unique) written values"
        return CheckResult(NAME, "unknown", evidence)
    return CheckResult(NAME, True, evidence)


class StaleReadsChecker:
    """``Checker`` protocol wrapper around ``check_stale_reads``."""

    name = NAME

    def __init__(self, strict_levels: Collection[str | None] | None = None, system: str | None = None) -> None:
        self.strict_levels, self.system = strict_levels, system

    def check(self, history: History) -> CheckResult:
        return check_stale_reads(history, self.strict_levels, system=self.system)

