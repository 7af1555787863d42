"""Late writes: writes the client was told failed, or gave up on, whose effect shows up later.

Per key, values must be unique tokens (keys where they are not are skipped). A write here is
a put or a cas (its new token). Times are ms for the harness's ns histories, event
positions for Jepsen logs (field names end in ``_ms`` / ``_events``).

- **Failed write observed** (a violation): an ``ok`` read returned the token of a write whose
  outcome was ``fail`` ("certainly did not take effect"). Reported with the first
  observation.
- **Late write**: a write whose outcome was ``info`` (the client gave up at ``give_up``),
  first observed by a read invoked more than ``min_delay_ms`` after the give-up.
  ``delay`` = that read's invoke time minus the give-up time. Observation by any read
  counts. ``delay`` says when the value was first *seen*, not when it took effect; so each
  entry also carries, when the history proves it, ``took_effect_after``: a lower bound on
  the effect time, from a trusted read (``strict_levels``, default: the levels whose class is
  ``strong``) that returned a different
  value and completed before a trusted read returned the late token (had the token been in
  effect at the first read, something overwrote it, and a write's value cannot come back).
  ``proven_late`` is true when that bound is after the give-up time.
- **Overwrote a newer acknowledged value**: the same argument, when the earlier trusted read
  returned the token of an acknowledged write invoked after the late write was: the late
  write took effect after that newer write and replaced it. ``newer_than_give_up`` says the
  newer write was even invoked after the client gave up on the late one.

Late writes are allowed by the ``info`` contract (it may take effect at any time), so only
failed-write observations make the verdict ``False``; the rest is evidence.
"""
from __future__ import annotations

from typing import Any, Collection

from harness.checkers._tokens import (index_writes, is_acked, span, span_name, trusted_levels,
                                      untraceable_reason, written_token)
from harness.checkers.model import CheckResult, History, Operation, TimeUnit

NAME = "late-writes"


def check_late_writes(history: History, min_delay_ms: float = 0.0,
                      strict_levels: Collection[str | None] | None = None, system: str | None = None
                      ) -> CheckResult:
    """Find failed writes that were observed and indeterminate writes observed late.
    ``system``: whose plugin classes the read levels (None: looked up over every plugin)."""
    strict_levels = trusted_levels(history, strict_levels, system)
    unit = history.time_unit
    threshold = min_delay_ms * 1e6 if unit == "ns" else min_delay_ms
    delay_f = span_name(unit, "delay")
    failed_seen: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    checked = 0
    for key, kw in index_writes(history).items():
        if not kw.reads or not any(w.outcome != "ok" for w in kw.writes):
            continue
        why = untraceable_reason(kw)
        if why:
            skipped[str(key)] = why
            continue
        checked += 1
        # First observation (any level) and first trusted observation of each token.
        first_seen: dict[Any, Operation] = {}
        first_strict: dict[Any, Operation] = {}
        for r in kw.reads:  # invocation order
            first_seen.setdefault(r.result, r)
            if r.read_consistency in strict_levels:
                first_strict.setdefault(r.result, r)
        strict_reads = [r for r in kw.reads if r.read_consistency in strict_levels]
        for w in kw.writes:
            if w.outcome == "ok" and (w.f != "cas" or w.result is not False):
                continue
            tok = written_token(w)
            seen = first_seen.get(tok)
            if seen is None:
                continue
            if w.outcome == "fail" or (w.f == "cas" and w.result is False):
                failed_seen.append({"key": key, "write": w.describe(unit), "first_read": seen.describe(unit),
                                    delay_f: span(unit, seen.invoke - w.complete)})
                continue
            if w.give_up is None or seen.invoke - w.give_up <= threshold:
                continue
            entry: dict[str, Any] = {"key": key, "write": w.describe(unit), "first_read": seen.describe(unit),
                                     delay_f: span(unit, seen.invoke - w.give_up), "proven_late": False}
            r2 = first_strict.get(tok)
            if r2 is not None:
                entry.update(_effect_bound(w, r2, strict_reads, kw.by_token, unit))
            late.append(entry)
    evidence: dict[str, Any] = {"keys_checked": checked, "failed_writes_observed": failed_seen,
                                "late_writes": late}
    if skipped:
        evidence["skipped_keys"] = skipped
    if failed_seen:
        return CheckResult(NAME, False, evidence)
    if skipped and not checked:
        evidence["error"] = "no key has traceable (unique) written values"
        return CheckResult(NAME, "unknown", evidence)
    return CheckResult(NAME, True, evidence)


def _effect_bound(w: Operation, r2: Operation, strict_reads: list[Operation], by_token: dict[Any, Operation],
                  unit: TimeUnit) -> dict[str, Any]:
    """What trusted reads before ``r2`` (which saw ``w``'s token) prove about ``w``'s effect."""
    tok = written_token(w)
    before = [r for r in strict_reads if r.complete < r2.invoke and r.result != tok]
    if not before:
        return {}
    r1 = max(before, key=lambda r: r.invoke)
    out: dict[str, Any] = {"took_effect_after": r1.describe(unit), "proven_late": False}
    if w.give_up is not None and r1.invoke > w.give_up:
        out["proven_late"] = True
        out[span_name(unit, "late_by_at_least")] = span(unit, r1.invoke - w.give_up)
    newer = [r for r in before if r.result in by_token and is_acked(by_token[r.result])
             and by_token[r.result].invoke > w.invoke]
    if newer:
        r = max(newer, key=lambda r: r.invoke)
        nw = by_token[r.result]
        out["overwrote_newer"] = {"value": r.result, "write": nw.describe(unit), "observed_by": r.describe(unit),
                                  "newer_than_give_up": w.give_up is not None and nw.invoke > w.give_up}
    return out


class LateWritesChecker:
    """``Checker`` protocol wrapper around ``check_late_writes``."""

    name = NAME

    def __init__(self, min_delay_ms: float = 0.0,
                 strict_levels: Collection[str | None] | None = None, system: str | None = None) -> None:
        self.min_delay_ms, self.strict_levels, self.system = min_delay_ms, strict_levels, system

    def check(self, history: History) -> CheckResult:
        return check_late_writes(history, self.min_delay_ms, self.strict_levels, self.system)
