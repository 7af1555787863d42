"""Bounded staleness (Terry, "Replicated data consistency explained through baseball", 2013;
Azure Cosmos DB's level of the same name): every read returns a value at most K versions, or
at most T time, behind the writes acknowledged before the read began.

Built on the stale-read rule (``harness.checkers.stale_reads.read_lags``: values must be
unique tokens per key; a write counts as *missed* by a read when it was acknowledged before
the read began and certainly took effect after the value the read returned). Per read:

- ``versions`` behind: how many acknowledged writes it certainly missed;
- ``behind`` (time): read invoke time minus the acknowledgement of the *oldest* missed
  write, i.e. for how long the returned value had already been superseded by an
  acknowledged write when the read began (0 when it missed none).

A bound of K versions is violated by a read more than K versions behind; a bound of T by a
read more than T behind. Both quantities are lower bounds (writes that overlap the returned
value's own write may have come before it, and are not counted), so every reported
violation is certain, while a violation hidden by overlapping writes can go unreported.

Bounds are written as ``3v`` (versions) or a duration: ``250us``, ``100ms``, ``5s``. A time
bound needs a timed history (the harness's, in ns); an event-ordered log (Jepsen) has no
durations, so the verdict is ``unknown`` there. ``levels``: judge only reads at these
read-consistency levels (default: every read; the evidence is grouped per level either way).

    >>> check_bounded_staleness(history, "100ms").verdict   # doctest: +SKIP
    False
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Collection, Literal

from harness.checkers._tokens import span, span_name
from harness.checkers.model import CheckResult, History
from harness.checkers.stale_reads import level_of, read_lags

NAME = "bounded-staleness"
_BOUND = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(v|ns|us|ms|s)\s*$")
_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


@dataclass(frozen=True)
class Bound:
    """K versions (``kind="versions"``, ``value`` an int) or T (``kind="time"``, ``value`` ns)."""

    kind: Literal["versions", "time"]
    value: float
    text: str


def parse_bound(text: str) -> Bound:
    """``"3v"`` -> 3 versions, ``"100ms"`` -> 1e8 ns; ValueError saying what is expected."""
    m = _BOUND.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a staleness bound: a number of versions (3v) or a duration "
                         "(250us, 100ms, 5s)")
    number, unit = m.groups()
    if unit == "v":
        if "." in number:
            raise ValueError(f"{text!r}: a version count is a whole number")
        return Bound("versions", int(number), text.strip())
    return Bound("time", float(number) * _NS_PER[unit], text.strip())


def check_bounded_staleness(history: History, bound: str | Bound = "0v", levels: Collection[str] | None = None,
                            max_examples: int = 100) -> CheckResult:
    """Judge every traceable read against ``bound``; see the module docstring.

    The default bound, ``0v``, is "no read misses an acknowledged write" (the stale-read
    rule as a verdict for every level)."""
    b = bound if isinstance(bound, Bound) else parse_bound(bound)
    unit = history.time_unit
    if b.kind == "time" and unit != "ns":
        return CheckResult(NAME, "unknown", {"bound": b.text, "error": "a time bound needs a timed history; "
                                                                      f"this {history.format} log orders events only"})
    behind_f = span_name(unit, "behind")
    found = read_lags(history)
    groups: dict[str, dict[str, Any]] = {}
    examples: list[dict[str, Any]] = []
    for lag in found.lags:
        r, level = lag.read, level_of(lag.read)
        if levels is not None and level not in levels:
            continue
        g = groups.setdefault(level, {"reads": 0, "violations": 0, "max_versions": 0, f"max_{behind_f}": 0.0,
                                      "listed": 0})
        g["reads"] += 1
        behind = r.invoke - lag.oldest.complete if lag.oldest is not None else 0.0
        g["max_versions"] = max(g["max_versions"], lag.missed)
        g[f"max_{behind_f}"] = max(g[f"max_{behind_f}"], span(unit, behind))
        over = lag.missed > b.value if b.kind == "versions" else behind > b.value
        if not over:
            continue
        g["violations"] += 1
        if g["listed"] < max_examples:
            g["listed"] += 1
            examples.append({"key": lag.key, "read_consistency": r.read_consistency, "read": r.describe(unit),
                             "returned": r.result, "versions": lag.missed, behind_f: span(unit, behind),
                             "oldest_missed": lag.oldest.describe(unit) if lag.oldest is not None else None})
    for g in groups.values():
        g.pop("listed")
    evidence: dict[str, Any] = {"bound": b.text, "bound_kind": b.kind, "keys_checked": found.checked_keys,
                                "by_read_consistency": groups, "violations": examples}
    if found.skipped:
        evidence["skipped_keys"] = found.skipped
    if found.unexplained:
        evidence["reads_of_unwritten_values"] = found.unexplained
    if any(g["violations"] for g in groups.values()):
        return CheckResult(NAME, False, evidence)
    if not found.checked_keys or not groups:
        evidence["error"] = ("no key has traceable (unique) written values and reads" if not found.checked_keys
                             else f"no read at the levels judged ({', '.join(sorted(levels or ()))})")
        return CheckResult(NAME, "unknown", evidence)
    return CheckResult(NAME, True, evidence)
