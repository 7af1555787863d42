"""What moved when the diagrams were rebuilt from fresh runs (issue 12 item 5): the pull request
description of the scheduled bench job's regenerated diagrams.

Two builds are compared through their sidecars (``provenance.build_sidecar``): ``before`` (the
diagrams as they were, read from the output root before the build) and ``after``. For each
diagram, figure by figure:

- a numeric figure whose value changed is judged against **its series' noise**: the same
  binding resolved in every run it may read (``Resolver.candidate_runs``; at most
  ``MAX_NOISE_RUNS``, newest first), grouped by batch (``manifest.batch.id``: the runs of one
  night, repeated on fresh clusters; a run outside a batch is a group of its own), and
  ``change_stats.run_noise`` of those groups: one run's standard deviation, from the repeats
  when they give enough degrees of freedom, else from successive values. It **moved beyond
  noise** when the shift exceeds ``change_stats.NOISE_FACTOR`` (1.96 * sqrt(2)) of those
  standard deviations, the rule the change detector uses; otherwise "within noise". When the
  noise cannot be found (a value the renderer derived from series, a benchmark file, fewer
  than two runs with the figure) the move is listed as "noise not measured" with the reason,
  never judged either way;
- a text figure (a verdict, a node name) that changed is listed as changed;
- a figure measured now and not before, or the other way round, is listed with the reason;
- a claim whose verdict changed is listed;
- the runs each diagram's figures and series come from (what its footer names), before and
  after, and which of them are new.

Shaping only (``compare``, ``moves_markdown``, ``moves_json``); the noise comes from a callable
(``figure_noise`` with a Resolver in ``gbench diagrams --moves``), so the rules are unit-tested
on constructed sidecars.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.errors import GbenchError
from harness.results.change_stats import NOISE_FACTOR, Noise, beyond_noise, run_noise
from harness.results.changes import format_percent, format_value

#: The newest runs a figure's noise is measured over.
MAX_NOISE_RUNS = 200
#: Rows per table in the Markdown (the rest counted); keeps the description under GitHub's limit.
MAX_ROWS = 40
#: GitHub refuses a pull request body over 65536 characters.
MAX_CHARS = 60_000

BEYOND, WITHIN, NOT_JUDGED = "beyond noise", "within noise", "noise not measured"
TEXT_CHANGED, NEW, GONE = "text changed", "newly measured", "no longer measured"


@dataclass(frozen=True)
class FigureNoise:
    """A figure's noise: ``noise`` (None: not measured, ``note`` says why), the runs whose
    values gave it, and how many batches they form."""

    noise: Noise | None
    note: str
    runs: int = 0
    groups: int = 0


NoiseOf = Callable[[str, str], FigureNoise]


@dataclass
class FigureMove:
    """One figure of one diagram that is not what it was. ``status``: BEYOND, WITHIN,
    NOT_JUDGED, TEXT_CHANGED, NEW or GONE."""

    diagram: str
    key: str
    status: str
    before: Any
    after: Any
    before_text: str
    after_text: str
    unit: str | None
    run_before: str | None
    run_after: str | None
    change_percent: float | None = None
    noise_sd: float | None = None
    noise_note: str = ""
    shift_in_noise: float | None = None


@dataclass
class DiagramRuns:
    diagram: str
    before: list[str]
    after: list[str]

    @property
    def new(self) -> list[str]:
        return [r for r in self.after if r not in self.before]


@dataclass
class MovesReport:
    moves: list[FigureMove]
    claims: list[dict[str, Any]]
    runs: list[DiagramRuns]
    unchanged: int
    noise_factor: float = NOISE_FACTOR
    diagrams: int = 0
    fresh_runs: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[FigureMove]:
        return [m for m in self.moves if m.status == status]


# -- reading -------------------------------------------------------------------------------------
def read_sidecars(out_root: Path) -> dict[str, dict[str, Any]]:
    """``<guarantee>/<kind>`` -> sidecar, for every ``<guarantee>/<kind>.json`` under
    ``out_root`` that is a diagram's sidecar (has ``figures``); {} when ``out_root`` does not
    exist. GbenchError naming the file when one cannot be read: the comparison would otherwise
    call every figure of that diagram new."""
    root = Path(out_root)
    out: dict[str, dict[str, Any]] = {}
    if not root.is_dir():
        return out
    for path in sorted(root.glob("*/*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GbenchError(f"{path}: cannot read the diagram's sidecar: {e}") from None
        if isinstance(doc, dict) and isinstance(doc.get("figures"), list):
            out[f"{path.parent.name}/{path.stem}"] = doc
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _run_of(entry: Mapping[str, Any] | None) -> str | None:
    p = (entry or {}).get("provenance")
    return p.get("run_id") if isinstance(p, Mapping) else None


def sidecar_runs(doc: Mapping[str, Any]) -> list[str]:
    """The runs a diagram's figures and series come from (its footer names them)."""
    runs = {_run_of(e) for sec in ("figures", "series") for e in doc.get(sec, []) if isinstance(e, Mapping)}
    return sorted(r for r in runs if r)


# -- comparing -----------------------------------------------------------------------------------
def judge_move(diagram: str, b: Mapping[str, Any] | None, a: Mapping[str, Any], noise_of: NoiseOf,
               factor: float = NOISE_FACTOR) -> FigureMove | None:
    """The move of one figure from ``b`` (its before entry, None when absent) to ``a``; None
    when it did not move (same status, value and run)."""
    b_measured = b is not None and b.get("status") == "measured"
    a_measured = a.get("status") == "measured"
    key = str(a["key"])
    common = dict(diagram=diagram, key=key, before=None if b is None else b.get("value"), after=a.get("value"),
                  before_text="absent" if b is None else str(b.get("text")), after_text=str(a.get("text")),
                  unit=a.get("unit") if a_measured else (b or {}).get("unit"), run_before=_run_of(b),
                  run_after=_run_of(a))
    if not b_measured and not a_measured:
        return None
    if not b_measured:
        note = "" if b is None else f"before: {b.get('reason') or b.get('status')}"
        return FigureMove(status=NEW, noise_note=note, **common)
    if not a_measured:
        return FigureMove(status=GONE, noise_note=str(a.get("reason") or a.get("status")), **common)
    assert b is not None
    if b.get("value") == a.get("value") and _run_of(b) == _run_of(a):
        return None
    bv, av = b.get("value"), a.get("value")
    if not (_is_number(bv) and _is_number(av)):
        return None if bv == av else FigureMove(status=TEXT_CHANGED, **common)
    shift = av - bv
    pct = None if bv == 0 else 100.0 * (av / bv - 1.0)
    if shift == 0:  # the same value from another run: named in the runs table, not a move
        return None
    fn = noise_of(diagram, key)
    beyond = beyond_noise(shift, fn.noise, factor)
    status = NOT_JUDGED if beyond is None else BEYOND if beyond else WITHIN
    sd = None if fn.noise is None else fn.noise.sd
    return FigureMove(status=status, change_percent=pct, noise_sd=sd, noise_note=fn.note,
                      shift_in_noise=None if not sd else abs(shift) / sd, **common)


def compare(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]], noise_of: NoiseOf,
            factor: float = NOISE_FACTOR) -> MovesReport:
    """Every move from the ``before`` sidecars to the ``after`` ones (``read_sidecars``'
    shape), diagram by diagram in name order."""
    moves: list[FigureMove] = []
    claims: list[dict[str, Any]] = []
    runs: list[DiagramRuns] = []
    unchanged = 0
    for diagram in sorted(after):
        a_doc, b_doc = after[diagram], before.get(diagram, {})
        b_figs = {str(e["key"]): e for e in b_doc.get("figures", []) if isinstance(e, Mapping) and "key" in e}
        for a in a_doc.get("figures", []):
            m = judge_move(diagram, b_figs.get(str(a["key"])), a, noise_of, factor)
            if m is None:
                unchanged += a.get("status") == "measured"
            else:
                moves.append(m)
        b_claims = {str(c.get("id")): c for c in b_doc.get("claims", []) if isinstance(c, Mapping)}
        for c in a_doc.get("claims", []):
            old = b_claims.get(str(c.get("id")), {}).get("verdict", "absent")
            if old != c.get("verdict"):
                claims.append({"diagram": diagram, "claim": c.get("id"), "before": old, "after": c.get("verdict"),
                               "text": c.get("text") or c.get("claim") or ""})
        runs.append(DiagramRuns(diagram, sidecar_runs(b_doc), sidecar_runs(a_doc)))
    fresh = sorted({r for d in runs for r in d.new})
    return MovesReport(moves, claims, runs, unchanged, factor, len(after), fresh)


def figure_noise(values: Sequence[tuple[str | None, float]]) -> FigureNoise:
    """The noise of a figure from its values in the runs it may read, oldest first, each with
    its batch id (None: a run outside any batch)."""
    groups: list[list[float]] = []
    last: object = object()
    for batch, v in values:
        if batch is None or batch != last:
            groups.append([])
        groups[-1].append(v)
        last = batch
    noise = run_noise(groups)
    if noise is None:
        return FigureNoise(None, f"{len(values)} run(s) with this figure: too few to measure its noise",
                           len(values), len(groups))
    return FigureNoise(noise, f"{noise.describe()}, over {len(values)} runs in {len(groups)} group(s)",
                       len(values), len(groups))


# -- writing -------------------------------------------------------------------------------------
def _fmt(v: Any, unit: str | None) -> str:
    """A number as the change summary writes it (``changes.format_value``); text as it is."""
    if _is_number(v):
        return format_value(v, unit or "")
    return "—" if v is None else str(v)


def _runs(m: FigureMove) -> str:
    return m.run_after or "—" if m.run_before == m.run_after else f"{m.run_before or '—'} → {m.run_after or '—'}"


def _capped(rows: list[str], total: int, what: str) -> list[str]:
    return rows[:MAX_ROWS] + ([f"", f"… and {total - MAX_ROWS} more {what} (diagram-moves.json lists all)"]
                              if total > MAX_ROWS else [])


def moves_markdown(r: MovesReport, title: str = "Diagrams regenerated from fresh runs") -> str:
    """The pull request description: figures beyond noise first, then the other moves, claims
    and the runs the footers name. Under MAX_CHARS characters."""
    beyond, within, unjudged = r.by_status(BEYOND), r.by_status(WITHIN), r.by_status(NOT_JUDGED)
    text_changed, new, gone = r.by_status(TEXT_CHANGED), r.by_status(NEW), r.by_status(GONE)
    diagrams_with_new = [d for d in r.runs if d.new]
    lines = [f"# {title}", "",
             f"{r.diagrams} diagrams; {len(diagrams_with_new)} now name runs they did not name before "
             f"({len(r.fresh_runs)} run(s): {', '.join(r.fresh_runs) or 'none'}). "
             f"{len(beyond)} figure(s) moved beyond their series' noise, {len(within)} within it, "
             f"{len(unjudged)} moved with the noise not measured; {len(text_changed)} text figure(s) changed, "
             f"{len(new)} newly measured, {len(gone)} no longer measured, {len(r.claims)} claim verdict(s) changed; "
             f"{r.unchanged} measured figure(s) unchanged.", "",
             f"Noise: one run's standard deviation of the figure over the runs it may read (from a batch's repeats "
             f"on fresh clusters when they are enough, else from successive runs); beyond noise = a shift of more "
             f"than {r.noise_factor:.2f} of them (1.96 * sqrt(2): what two runs of one configuration differ by "
             f"at most 95 % of the time).", ""]
    head = ["| diagram | figure | before | after | change | shift / run sd | noise | runs |", "|---|---|---|---|---|---|---|---|"]

    def row(m: FigureMove) -> str:
        sn = "—" if m.shift_in_noise is None else f"{m.shift_in_noise:.1f}"
        return (f"| {m.diagram} | {m.key} | {_fmt(m.before, m.unit)} | {_fmt(m.after, m.unit)} | "
                f"{format_percent(m.change_percent)} | {sn} | {m.noise_note} | {_runs(m)} |")

    lines += [f"## Moved beyond noise ({len(beyond)})", ""]
    lines += (head + _capped([row(m) for m in beyond], len(beyond), "figures")) if beyond else ["None."]
    for name, items in (("Moved within noise", within), ("Moved, noise not measured", unjudged)):
        if items:
            lines += ["", f"## {name} ({len(items)})", ""] + head + _capped([row(m) for m in items], len(items), "figures")
    if text_changed or new or gone:
        lines += ["", f"## Text changed, newly measured, no longer measured ({len(text_changed) + len(new) + len(gone)})",
                  "", "| diagram | figure | status | before | after | why | runs |", "|---|---|---|---|---|---|---|"]
        items = text_changed + new + gone
        lines += _capped([f"| {m.diagram} | {m.key} | {m.status} | {m.before_text} | {m.after_text} | "
                          f"{m.noise_note or '—'} | {_runs(m)} |" for m in items], len(items), "figures")
    if r.claims:
        lines += ["", f"## Claim verdicts that changed ({len(r.claims)})", "",
                  "| diagram | claim | before | after |", "|---|---|---|---|"]
        lines += _capped([f"| {c['diagram']} | {c['claim']} | {c['before']} | {c['after']} |" for c in r.claims],
                         len(r.claims), "claims")
    lines += ["", "## Runs the footers name", "", "| diagram | before | after | new |", "|---|---|---|---|"]
    lines += _capped([f"| {d.diagram} | {len(d.before)} | {len(d.after)} | {', '.join(d.new) or '—'} |"
                      for d in r.runs], len(r.runs), "diagrams")
    text = "\n".join(lines) + "\n"
    if len(text) > MAX_CHARS:  # only with very long cells: cut at a line, say so
        text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n\n… cut at GitHub's size limit (diagram-moves.json lists all)\n"
    return text


def moves_json(r: MovesReport) -> dict[str, Any]:
    counts = Counter(m.status for m in r.moves)
    return {"schema_version": 1, "noise_factor": r.noise_factor, "max_noise_runs": MAX_NOISE_RUNS,
            "diagrams": r.diagrams, "unchanged": r.unchanged, "counts": dict(sorted(counts.items())),
            "fresh_runs": r.fresh_runs, "moves": [asdict(m) for m in r.moves], "claims": r.claims,
            "runs": [{"diagram": d.diagram, "before": d.before, "after": d.after, "new": d.new} for d in r.runs]}


__all__ = ["BEYOND", "GONE", "NEW", "NOT_JUDGED", "TEXT_CHANGED", "WITHIN", "FigureMove", "FigureNoise", "MovesReport",
           "compare", "figure_noise", "judge_move", "moves_json", "moves_markdown", "read_sidecars", "sidecar_runs"]
