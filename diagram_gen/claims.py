"""Spec claims checked against measurements: holds / contradicted / not measured.

Why: the original diagram spec states things ("minority writes are never committed",
"p99 ~15 ms") that a measurement can contradict. A claim names one figure and the condition
under which it holds (``holds_if``: eq, ne, lt, le, gt, ge, between). Its ``status`` says
what the diagram does with it:

- ``asserted``: the diagram says this. ``--check`` fails unless the measurement holds it
  (contradicted or not measured both fail: an assertion needs evidence).
- ``corrected``: the original spec said this and the diagram shows the measurement instead.
  ``--check`` fails unless the measurement contradicts it (a correction the data does not
  support is itself wrong). Every contradicted claim is listed in the contradictions report.

Bounds: a figure qualified "≤ U" (a Prometheus bucket upper bound) only says the value lies
in (-inf, U]; "≥ L" in [L, inf). A claim is decided only when it holds for every value in
that interval (holds) or for none (contradicted); otherwise it is "not measured".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagram_gen.model import Cited, Claim, Measured, NotMeasured, ResolvedDiagram, format_figure

HOLDS, CONTRADICTED, NOT_MEASURED = "holds", "contradicted", "not measured"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str                 # holds | contradicted | not measured
    measured_text: str           # the figure as printed
    reason: str                  # why this verdict
    measured: Measured | None = None

    @property
    def passes(self) -> bool:
        """Whether ``--check`` accepts this claim (see module docstring)."""
        return self.verdict == (HOLDS if self.claim.status == "asserted" else CONTRADICTED)

    @property
    def failure(self) -> str | None:
        if self.passes:
            return None
        c = self.claim
        if c.status == "asserted":
            return (f"asserted claim {c.id!r} ({c.text}) is {self.verdict}: measured {self.measured_text}; "
                    f"{self.reason}")
        return (f"corrected claim {c.id!r} ({c.text}) is not contradicted by the measurement ({self.verdict}: "
                f"measured {self.measured_text}; {self.reason}): the correction is unsupported")

    def as_dict(self) -> dict[str, Any]:
        c = self.claim
        return {"id": c.id, "text": c.text, "status": c.status, "figure": c.figure, "holds_if": dict(c.holds_if),
                "spec_ref": c.spec_ref, "verdict": self.verdict, "measured": self.measured_text,
                "reason": self.reason, "passes": self.passes,
                "provenance": self.measured.provenance.as_dict() if self.measured else None}


def _condition_text(op: str, arg: Any) -> str:
    sym = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
    return f"between {arg[0]} and {arg[1]}" if op == "between" else f"{sym[op]} {arg!r}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def decide(value: Any, qualifier: str | None, op: str, arg: Any) -> tuple[str, str]:
    """(verdict, reason) for one measured value against ``{op: arg}``."""
    cond = _condition_text(op, arg)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if qualifier is None and op in ("eq", "ne"):
        same = _same(value, arg)
        ok = same if op == "eq" else not same
        return (HOLDS if ok else CONTRADICTED), f"holds if {cond}"
    if not numeric:
        return NOT_MEASURED, f"value {value!r} is not a number, cannot test {cond}"
    lo, hi = {None: (value, value), "≤": (float("-inf"), value), "≥": (value, float("inf"))}.get(qualifier, (None, None))
    if lo is None:
        return NOT_MEASURED, f"unknown qualifier {qualifier!r}"
    if op == "between":
        a, b = arg
        every, none = a <= lo and hi <= b, hi < a or lo > b
    elif op == "lt":
        every, none = hi < arg, lo >= arg
    elif op == "le":
        every, none = hi <= arg, lo > arg
    elif op == "gt":
        every, none = lo > arg, hi <= arg
    elif op == "ge":
        every, none = lo >= arg, hi < arg
    else:  # eq / ne on a bound: decidable only when arg is outside the interval
        outside = arg < lo or arg > hi
        every, none = (False, outside) if op == "eq" else (outside, False)
    if every:
        return HOLDS, f"holds if {cond}"
    if none:
        return CONTRADICTED, f"holds if {cond}"
    return NOT_MEASURED, f"the measurement is a bound ({qualifier} {value}): cannot decide {cond}"


def evaluate(claim: Claim, d: ResolvedDiagram) -> Verdict:
    """Judge one claim against the diagram's (resolved or renderer-derived) figure."""
    f = d.figures.get(claim.figure, d.derived.get(claim.figure))
    if f is None:
        return Verdict(claim, NOT_MEASURED, "not measured",
                       f"figure {claim.figure!r} was neither bound nor derived by the renderer")
    if isinstance(f, NotMeasured):
        return Verdict(claim, NOT_MEASURED, format_figure(f), f"figure {claim.figure!r} not measured: {f.reason}")
    if isinstance(f, Cited):
        return Verdict(claim, NOT_MEASURED, format_figure(f), f"figure {claim.figure!r} is cited, not measured: a "
                                                               "citation cannot decide a claim")
    (op, arg), = claim.holds_if.items()
    verdict, reason = decide(f.value, f.qualifier, op, arg)
    return Verdict(claim, verdict, format_figure(f), reason, measured=f)


def evaluate_all(d: ResolvedDiagram) -> list[Verdict]:
    return [evaluate(c, d) for c in d.spec.claims]


# -- the contradictions report ------------------------------------------------------------------
def contradiction_entry(v: Verdict, spec_file: str, diagram_id: str) -> dict[str, Any]:
    """One report row: the original statement, where the spec says it, what was measured."""
    m = v.measured
    return {"diagram": diagram_id, "spec_file": spec_file, "claim": v.claim.id, "status": v.claim.status,
            "text": v.claim.text, "spec_ref": v.claim.spec_ref, "holds_if": dict(v.claim.holds_if),
            "measured": v.measured_text, "value": m.value if m else None, "unit": m.unit if m else None,
            "provenance": m.provenance.as_dict() if m else None,
            "note": ("the diagram shows the measurement instead (correction)" if v.claim.status == "corrected"
                     else "an asserted claim the measurement contradicts: the diagram is wrong")}


def contradictions_markdown(entries: list[dict[str, Any]]) -> str:
    lines = ["# Spec claims contradicted by measurement", "",
             "Each row is a statement of the diagram spec that a measurement contradicts. `corrected`: the "
             "diagram shows the measurement instead; `asserted`: the diagram itself is wrong and `--check` fails.",
             ""]
    if not entries:
        return "\n".join(lines + ["No claim is contradicted.", ""])
    lines += ["| diagram | claim | status | spec says | where | measured | run | file | query |",
              "|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        p = e["provenance"] or {}
        cells = [e["diagram"], e["claim"], e["status"], e["text"], e["spec_ref"] or "", e["measured"],
                 p.get("run_id", ""), p.get("file", ""), p.get("query", "")]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines + [""])
