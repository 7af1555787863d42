"""Spec claims set beside measurements: holds / contradicted / not measured, or cited.

Why: the original diagram spec states things ("minority writes are never committed",
"p99 ~15 ms") that a measurement can contradict. A judged claim names one figure and the
condition under which it holds (``holds_if``: eq, ne, lt, le, gt, ge, between). Its
``status`` says what the diagram does with it:

- ``asserted``: the diagram says this. ``--check`` fails unless the measurement holds it
  (contradicted or not measured both fail: an assertion needs evidence).
- ``corrected``: the original spec said this and the diagram shows the measurement instead.
  ``--check`` fails unless the measurement contradicts it (a correction the data does not
  support is itself wrong). Every contradicted claim is listed in the contradictions report.
- ``cited``: a figure the spec measured on its own benchmark host. No ``holds_if`` and no
  verdict: the spec's figure (``cited``) is drawn beside this host's measurement
  (``figure``), both hosts named -- the spec's as the spec describes it (``spec_host``),
  this one from the manifest of the run that measured the figure (CPU, logical cores,
  data-dir device; ``footer.<run>.host``). It never fails ``--check`` and the report lists it
  apart ("other hardware: cited, not judged").

Which claims are judged (the rule every spec follows):

1. Only behaviour is judged: who refuses or serves writes and reads, what is lost or applied
   late, what the checker accepts, and ratios between systems measured side by side on the
   same host. Its verdict must not depend on how fast the host is.
2. An absolute latency or throughput figure of the spec (its host: 16 cores, NVMe) is
   ``cited``. Another host neither confirms nor corrects it; a fresh run on a slower or
   faster machine must not turn a diagram red.
3. Behaviour that comes and goes between runs of one scenario (late writes after the heal:
   seen in 9 of 10 runs; the 23-25 s ReadIndex stall after the heal: 2 of 10) is judged only
   on the run where it was observed: every binding the claim reads carries ``run: <id>``.
   An unpinned judged claim (``run_of``: the newest run) must be one a fresh run decides the
   same way unless the system's behaviour changed ("no minority write is acknowledged",
   "the checker accepts the linearizable reads").

``evaluate`` is the single judgement: ``--check``, the sidecar, the badges and the report
all use its Verdict.

Bounds: a figure qualified "≤ U" (a Prometheus bucket upper bound) only says the value lies
in (-inf, U]; "≥ L" in [L, inf). A claim is decided only when it holds for every value in
that interval (holds) or for none (contradicted); otherwise it is "not measured". Likewise a
claim on a yes/no verdict is "not measured" when the checker answered neither (``"unknown"``:
it gave up), not contradicted: giving up says nothing about the behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagram_gen.model import Cited, Claim, Measured, NotMeasured, ResolvedDiagram, format_figure

HOLDS, CONTRADICTED, NOT_MEASURED, CITED = "holds", "contradicted", "not measured", "cited"
#: a cited claim's measurement whose run records no host
HOST_NOT_RECORDED = "host not recorded"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str                 # holds | contradicted | not measured | cited
    measured_text: str           # the figure as printed
    reason: str                  # why this verdict
    measured: Measured | None = None
    #: cited claims: the spec's figure, the spec's host (as the spec describes it) and this host
    cited_text: str | None = None
    spec_host: str | None = None
    this_host: str | None = None

    @property
    def passes(self) -> bool:
        """Whether ``--check`` accepts this claim (see module docstring): a cited claim always."""
        if self.claim.status == "cited":
            return True
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
        out = {"id": c.id, "text": c.text, "status": c.status, "figure": c.figure,
               "holds_if": dict(c.holds_if) if c.holds_if is not None else None,
               "spec_ref": c.spec_ref, "verdict": self.verdict, "measured": self.measured_text,
               "reason": self.reason, "passes": self.passes,
               "provenance": self.measured.provenance.as_dict() if self.measured else None}
        if c.status == "cited":
            out.update(cited=self.cited_text, spec_host=self.spec_host, this_host=self.this_host)
        return out


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
    if isinstance(arg, bool) and not isinstance(value, bool):  # a checker's "unknown" is no verdict either way
        return NOT_MEASURED, f"value {value!r} is not true/false, cannot test {cond}"
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


def _cited(claim: Claim, d: ResolvedDiagram, f: Any) -> Verdict:
    """A cited claim: the spec's figure and host beside this host's measurement, not judged."""
    def citation(key: str | None) -> str:
        c = d.figures.get(key) if key else None
        return c.text if isinstance(c, Cited) else NOT_MEASURED

    measured = f if isinstance(f, Measured) else None
    host = d.derived.get(f"footer.{measured.provenance.run_id}.host") if measured else None
    this_host = str(host.value) if isinstance(host, Measured) else (HOST_NOT_RECORDED if measured else None)
    spec_host = citation(claim.spec_host)
    text = format_figure(f) if f is not None else NOT_MEASURED
    where = f"measured on {this_host}" if measured else "not measured here"
    return Verdict(claim, CITED, text, f"cited, not judged: the spec's figure comes from other hardware ({spec_host}); "
                                       f"{where}", measured=measured, cited_text=citation(claim.cited),
                   spec_host=spec_host, this_host=this_host)


def evaluate(claim: Claim, d: ResolvedDiagram) -> Verdict:
    """Judge one claim against the diagram's (resolved or renderer-derived) figure; a cited
    claim is set beside it instead (verdict ``cited``)."""
    f = d.figures.get(claim.figure, d.derived.get(claim.figure))
    if claim.status == "cited":
        return _cited(claim, d, f)
    if f is None:
        return Verdict(claim, NOT_MEASURED, "not measured",
                       f"figure {claim.figure!r} was neither bound nor derived by the renderer")
    if isinstance(f, NotMeasured):
        return Verdict(claim, NOT_MEASURED, format_figure(f), f"figure {claim.figure!r} not measured: {f.reason}")
    if isinstance(f, Cited):
        return Verdict(claim, NOT_MEASURED, format_figure(f), f"figure {claim.figure!r} is cited, not measured: a "
                                                               "citation cannot decide a claim")
    assert claim.holds_if is not None  # spec.py: every judged claim has one
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
            "text": v.claim.text, "spec_ref": v.claim.spec_ref, "holds_if": dict(v.claim.holds_if or {}),
            "measured": v.measured_text, "value": m.value if m else None, "unit": m.unit if m else None,
            "provenance": m.provenance.as_dict() if m else None,
            "note": ("the diagram shows the measurement instead (correction)" if v.claim.status == "corrected"
                     else "an asserted claim the measurement contradicts: the diagram is wrong")}


def cited_entry(v: Verdict, spec_file: str, diagram_id: str) -> dict[str, Any]:
    """One row of the report's cited section: the spec's figure and host beside this host's."""
    m = v.measured
    return {"diagram": diagram_id, "spec_file": spec_file, "claim": v.claim.id, "text": v.claim.text,
            "spec_ref": v.claim.spec_ref, "cited": v.cited_text, "spec_host": v.spec_host,
            "measured": v.measured_text, "this_host": v.this_host, "value": m.value if m else None,
            "unit": m.unit if m else None, "provenance": m.provenance.as_dict() if m else None}


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cells in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return out


def contradictions_markdown(entries: list[dict[str, Any]], cited: list[dict[str, Any]] | None = None) -> str:
    """The report: contradicted claims (judged), then the cited ones (other hardware, not judged)."""
    lines = ["# Spec claims contradicted by measurement", "",
             "Each row is a statement of the diagram spec that a measurement contradicts. `corrected`: the "
             "diagram shows the measurement instead; `asserted`: the diagram itself is wrong and `--check` fails.",
             ""]
    if not entries:
        lines += ["No claim is contradicted.", ""]
    else:
        rows = []
        for e in entries:
            p = e["provenance"] or {}
            rows.append([e["diagram"], e["claim"], e["status"], e["text"], e["spec_ref"] or "", e["measured"],
                         p.get("run_id", ""), p.get("file", ""), p.get("query", "")])
        lines += _table(["diagram", "claim", "status", "spec says", "where", "measured", "run", "file", "query"], rows)
        lines.append("")
    if cited:
        lines += ["## Other hardware: cited, not judged", "",
                  "Figures the spec measured on its own benchmark host. A different host neither confirms nor "
                  "corrects them: each is shown beside this host's measurement, both hosts named.", ""]
        rows = []
        for e in cited:
            p = e["provenance"] or {}
            rows.append([e["diagram"], e["claim"], e["cited"], e["spec_host"], e["spec_ref"] or "", e["measured"],
                         e["this_host"] or "", p.get("run_id", ""), p.get("file", ""), p.get("query", "")])
        lines += _table(["diagram", "claim", "spec says", "spec's host", "where", "measured here", "this host", "run",
                         "file", "query"], rows)
        lines.append("")
    return "\n".join(lines)
