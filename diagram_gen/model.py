"""The data a renderer receives: every number it may draw, already resolved against ``results/``.

This module is the contract between the three parts of ``diagram_gen``:

    specs/<guarantee>/<kind>.yaml  --(spec.py: load, validate, lint)-->  DiagramSpec
    DiagramSpec + results/          --(resolve.py: bindings -> values)-->  ResolvedDiagram
    ResolvedDiagram                 --(render/<type>.py)-->               matplotlib Figure
    Figure + ResolvedDiagram        --(build.py)-->  <id>.svg, <id>.png, <id>.json (sidecar)

Why a renderer never reads ``results/`` itself: every number in a diagram must trace back to
a run, so the only numbers a renderer may print are those in ``ResolvedDiagram.figures`` (a
scalar: measured, cited or "not measured") and those it derives from
``ResolvedDiagram.series`` (tabular data from one results file) *through*
``ResolvedDiagram.derive``, which records the derivation in the sidecar. Axis tick labels
are the only other numbers allowed on a diagram.

Example (what a renderer does)::

    def render(d: ResolvedDiagram) -> Figure:
        fig, ax = new_figure(d)                      # render/common.py
        ax.text(0, 0, f"put p99 {d.text('put_p99')}")  # "52.4 ms", or "not measured"
        ops = d.rows("ops")                           # () when the series is not measured
        n = d.derive("stale_reads", sum(1 for o in ops if o["stale"]), None,
                     series="ops", how="count of rows with stale = true")
        ...
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

#: The six diagram types of the spec, one renderer each (render/<type>.py).
DIAGRAM_TYPES = ("timeline", "architecture", "side_by_side", "failure_scenario",
                 "performance_profile", "decision_tree")
#: The six diagram kinds per guarantee, in gallery order, and the type each one uses.
KIND_TYPES = {"concept": "timeline", "implementation": "architecture", "comparison": "side_by_side",
              "failure": "failure_scenario", "performance": "performance_profile", "decision": "decision_tree"}

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Provenance:
    """Where one value came from: a run, a file under ``results/``, and the query inside it."""
    run_id: str
    #: path relative to the repository root, e.g. ``results/20261201T192252Z-etcd/summary.json``
    file: str
    #: how the value was read from the file, e.g. ``rows[system=etcd,tool=harness,op=put,value_size=256,outcome=ok].p99_ms``
    query: str

    def as_dict(self) -> dict[str, str]:
        return {"run_id": self.run_id, "file": self.file, "query": self.query}


@dataclass(frozen=True)
class Measured:
    key: str
    value: float | int | str | bool
    unit: str | None
    provenance: Provenance
    #: for derived values: the series keys and the derivation, else None
    derived: str | None = None
    #: printed before the value: "≤" for a Prometheus bucket upper bound, "≥" for a lower bound
    qualifier: str | None = None


@dataclass(frozen=True)
class Cited:
    """A fact that cannot be measured here (e.g. a documented default), drawn visibly as cited."""
    key: str
    text: str
    source: str


@dataclass(frozen=True)
class NotMeasured:
    """A binding that resolved to nothing. Rendered as "not measured", never as a default."""
    key: str
    reason: str
    binding: Mapping[str, Any]


Figure = Union[Measured, Cited, NotMeasured]


@dataclass(frozen=True)
class Series:
    """Tabular data read from one results file: one dict per row (tidy: one row per observation)."""
    key: str
    rows: tuple[Mapping[str, Any], ...]
    provenance: Provenance


@dataclass(frozen=True)
class Claim:
    """A statement of the spec, set beside a measurement (claims.py says how each is decided).

    ``status: asserted`` -- the diagram says this; a contradicting measurement fails ``--check``.
    ``status: corrected`` -- the original spec said this and our measurement says otherwise;
    the diagram shows the measurement and the report lists the correction. ``--check`` fails if
    the measurement does *not* contradict it (a correction the data does not support).
    ``status: cited`` -- a figure the spec measured on other hardware: drawn beside this
    host's ``figure``, both hosts named, never judged (no ``holds_if``)."""
    id: str
    text: str
    status: str                    # "asserted" | "corrected" | "cited"
    figure: str                    # key into figures
    holds_if: Mapping[str, Any] | None  # one of {eq|ne|lt|le|gt|ge: number} or {between: [lo, hi]}; None when cited
    spec_ref: str | None = None    # where the original spec says it, e.g. "G-LIN-FAILURE data_consistency.minority_writes"
    #: cited claims: the figure keys of the spec's number and of the spec's host (both ``cited:`` bindings)
    cited: str | None = None
    spec_host: str | None = None


@dataclass(frozen=True)
class DiagramSpec:
    id: str                        # e.g. G-LIN-FAILURE
    guarantee: str                 # folder name, e.g. linearizability
    kind: str                      # one of KIND_TYPES
    type: str                      # one of DIAGRAM_TYPES
    title: str
    purpose: str
    source_file: str               # the spec YAML, relative to the repo root
    figures: Mapping[str, Mapping[str, Any]]   # key -> binding (or citation)
    series: Mapping[str, Mapping[str, Any]]    # key -> series binding
    claims: tuple[Claim, ...]
    #: the renderer's own section (layout, labels, boxes, tree...): free-form, type-specific,
    #: linted for numeric literals like everything else
    layout: Mapping[str, Any]
    key_insight: str | None = None


@dataclass
class ResolvedDiagram:
    spec: DiagramSpec
    figures: dict[str, Figure]
    series: dict[str, Series | NotMeasured]
    #: footer lines: run ids, dates, hardware (cores, disk, measured fsync)
    footer: list[str] = field(default_factory=list)
    #: values a renderer derived from series (filled by derive)
    derived: dict[str, Measured] = field(default_factory=dict)

    # -- reading --------------------------------------------------------------------------
    def figure(self, key: str) -> Figure:
        try:
            return self.figures[key] if key in self.figures else self.derived[key]
        except KeyError:
            raise KeyError(f"{self.spec.source_file}: figure {key!r} is not bound in the spec") from None

    def value(self, key: str) -> float | int | str | bool | None:
        """The measured value, or None when not measured / cited (never a default)."""
        f = self.figure(key)
        return f.value if isinstance(f, Measured) else None

    def text(self, key: str, digits: int = 3) -> str:
        """What to print: ``52.4 ms`` / ``not measured`` / ``<citation text> (cited)``."""
        return format_figure(self.figure(key), digits)

    def rows(self, key: str) -> tuple[Mapping[str, Any], ...]:
        s = self.series.get(key)
        if s is None:
            raise KeyError(f"{self.spec.source_file}: series {key!r} is not bound in the spec")
        return s.rows if isinstance(s, Series) else ()

    def derive(self, key: str, value: float | int | str | bool | None, unit: str | None, *,
               series: str | Sequence[str], how: str) -> Figure:
        """Record a number computed from series rows so the sidecar can trace it. A value of
        None (nothing to compute from) becomes NotMeasured."""
        names = [series] if isinstance(series, str) else list(series)
        srcs = [self.series.get(n) for n in names]
        if value is None or any(not isinstance(s, Series) for s in srcs):
            nm = NotMeasured(key, f"derived from unmeasured series {names}", {"derived": how})
            self.figures.setdefault(key, nm)
            return nm
        first = srcs[0]
        assert isinstance(first, Series)
        prov = Provenance(first.provenance.run_id, first.provenance.file,
                          "; ".join(s.provenance.query for s in srcs if isinstance(s, Series)) + f" -> {how}")
        m = Measured(key, value, unit, prov, derived=how)
        self.derived[key] = m
        return m


def format_value(value: float | int | str | bool, unit: str | None, digits: int = 3) -> str:
    """Significant-digit formatting that never rounds up past the measured value's magnitude
    class in a misleading way: 52.419 -> "52.4", 0.0943 -> "0.0943", 27300 -> "27300"."""
    if isinstance(value, bool) or isinstance(value, str):
        s = str(value).lower() if isinstance(value, bool) else value
    elif isinstance(value, int):
        s = str(value)
    else:
        if value == 0 or not math.isfinite(value):
            s = str(value)
        else:
            mag = math.floor(math.log10(abs(value)))
            decimals = max(0, digits - 1 - mag)
            s = f"{value:.{decimals}f}"
    return f"{s} {unit}" if unit else s


def format_figure(f: Figure, digits: int = 3) -> str:
    if isinstance(f, Measured):
        s = format_value(f.value, f.unit, digits)
        return f"{f.qualifier} {s}" if f.qualifier else s
    if isinstance(f, Cited):
        return f"{f.text} (cited)"
    return NOT_MEASURED
