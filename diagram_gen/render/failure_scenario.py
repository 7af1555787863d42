"""Failure-scenario renderer (the FAILURE diagram), Jepsen's perf-graph style: every operation
of a fault scenario as a point at (completion time, latency from its intended start), one
panel per operation class, colour = outcome, marker = partition side of the client's node,
the fault interval shaded, lettered markers for election / step-down / recovery, late writes
drawn as stars joined to the moment their value was first seen, and a side panel of measured
numbers.

Reads (spec keys):
- series ``ops`` (scenario history rows) and ``nemesis`` (its faults: the partition sides);
- figures ``fault_at``, ``heal_at`` (shading) and those the markers and side panel name;
- ``layout``: ``lost_writes`` (true: ring every acknowledged write the strong final reads
  show undone, ``history_views.lost_writes``, and derive ``lost_writes_drawn``),
  ``stale_reads`` (true: ring every load read that missed an acknowledged write, any level,
  ``history_views.stale_reads``, and derive ``stale_reads_drawn``),
  ``x_label``, ``y_label``, ``panels`` ([{class, title}]), ``markers``
  ([{at | between: [k1, k2], from: <figure added to it>, label, key}]), ``side_panel``
  ([{title, lines}] with ``{figure}`` placeholders).

Every number printed is a figure or a ``d.derive`` of the series; positions are data.
NotMeasured series or figures draw "not measured" instead of the points / marker / value.
"""
from __future__ import annotations

import math
import re
import textwrap
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from diagram_gen.model import NOT_MEASURED, ResolvedDiagram, format_figure
from diagram_gen.render.common import (FAULT_SHADE, NOT_MEASURED_COLOR, OUTCOME_COLORS, draw_footer, footer_height,
                                       new_figure)
from diagram_gen.render.boxes import claim_badge
from diagram_gen.render.timeline import fill
from diagram_gen.shaping import history_views as hv

#: marker and legend words per partition side label (the labels the harness's partition shapes
#: write: majority/minority, isolated/rest); any other side is drawn as "none"
SIDE_MARKERS = {"majority": "o", "minority": "^", "isolated": "^", "rest": "o", "none": "s"}
SIDE_LEGEND = {"majority": "client on a majority member", "minority": "client on a minority member",
               "isolated": "client on the isolated member", "rest": "client on another member"}
OUTCOME_ORDER = ("ok", "fail", "info")
DEFAULT_PANELS = [{"class": hv.WRITE, "title": "writes"},
                  {"class": hv.STRONG_READ, "title": "strong reads"},
                  {"class": hv.WEAK_READ, "title": "weak reads"}]
ELECTION_SHADE = "#bbdefb"
LINE_H = 0.0158  # figure fraction per side-panel text line (7.3 pt, line spacing 1.25, 8 in tall)
LATE_COLOR = "#000000"
LOST_COLOR = "#b71c1c"
STALE_COLOR = "#6a1b9a"


def _num(d: ResolvedDiagram, key: str | None) -> float | None:
    if key is None:
        return None
    try:
        v = d.value(key)
    except KeyError:
        return None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def marker_positions(d: ResolvedDiagram, markers: Sequence[Mapping[str, Any]]
                     ) -> list[tuple[str, str, float | None, float | None]]:
    """(key letter, label, x start, x end) per layout marker, in seconds after load start;
    None where a figure it needs is not measured. ``from`` adds a base figure (offsets like
    elected_after_s are measured from the partition)."""
    out = []
    for m in markers:
        base = 0.0
        if m.get("from") is not None:
            b = _num(d, str(m["from"]))
            base = b if b is not None else math.nan
        if "between" in m:
            k1, k2 = m["between"]
            a, b = _num(d, str(k1)), _num(d, str(k2))
        else:
            a = b = _num(d, str(m.get("at")))
        if a is None or b is None or math.isnan(base):
            out.append((str(m.get("key", "")), str(m.get("label", "")), None, None))
        else:
            out.append((str(m.get("key", "")), str(m.get("label", "")), base + a, base + b))
    return out


def spread(xs: Sequence[float], min_gap: float) -> list[float]:
    """Positions for labels at ``xs`` (sorted ascending) nudged right so neighbours are at
    least ``min_gap`` apart (order kept)."""
    out: list[float] = []
    for x in xs:
        out.append(x if not out or x >= out[-1] + min_gap else out[-1] + min_gap)
    return out


def render(d: ResolvedDiagram) -> Figure:
    fig = new_figure(d)
    lay = d.spec.layout
    fig.text(0.5, 0.952, textwrap.fill(" ".join(str(d.spec.purpose).split()), 215), ha="center", va="top",
             fontsize=8.5, color="#424242")
    panels = list(lay.get("panels") or DEFAULT_PANELS)
    ops, nem = d.rows("ops"), d.rows("nemesis")
    sides = hv.node_sides(nem) if nem else {}
    points = hv.op_points(ops, sides) if ops else []
    late = hv.late_writes(ops) if ops else []
    lost = hv.lost_writes(ops) if ops and lay.get("lost_writes") else []
    stale = [r for r, _ in hv.stale_reads(ops, read_class=None)] if ops and lay.get("stale_reads") else []
    _derive(d, points, late, sides, ops)
    if lay.get("lost_writes"):
        d.derive("lost_writes_drawn", len(lost) if ops else None, None, series="ops",
                 how="history_views.lost_writes (rule of harness.checkers.lost_writes: acknowledged writes the "
                     "strong final reads show undone)")
    if lay.get("stale_reads"):
        d.derive("stale_reads_drawn", len(stale) if ops else None, None, series="ops",
                 how="history_views.stale_reads, any level (rule of harness.checkers.stale_reads: an ok load read "
                     "that missed a write acknowledged before it was invoked)")
    # the axes end above the footer and the x label (0.06 of the height), never lower than before
    left, right, top, gap = 0.062, 0.655, 0.845, 0.028
    bottom = max(0.118, footer_height(d, fig.get_figheight()) + 0.06)
    ph = (top - bottom - gap * (len(panels) - 1)) / len(panels)
    axes = []
    for k, p in enumerate(panels):
        y0 = top - (k + 1) * ph - k * gap
        ax = fig.add_axes((left, y0, right - left, ph), sharex=axes[0] if axes else None)
        axes.append(ax)
        _panel(ax, d, p, points, late, lost, stale)
    if ops and points:
        xmax = max(p.x_s for p in points)
        axes[0].set_xlim(0.0, math.ceil(xmax / 5.0) * 5.0)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel(str(lay.get("x_label", "time after load start (s)")))
    fig.text(0.012, (top + bottom) / 2, str(lay.get("y_label", "latency from intended start (ms, log)")),
             rotation=90, va="center", ha="center", fontsize=9)
    _markers(axes, d, list(lay.get("markers") or []))
    _legend(fig, top, sorted({q.side for q in points} & set(SIDE_LEGEND), key=list(SIDE_LEGEND).index))
    _side_panel(fig, d, list(lay.get("side_panel") or []), late)
    draw_footer(fig, d)
    return fig


def _derive(d: ResolvedDiagram, points: Sequence[hv.OpPoint], late: Sequence[hv.LateWrite],
            sides: Mapping[str, str], ops: Sequence[Mapping[str, Any]]) -> None:
    d.derive("ops_drawn", len(points) if ops else None, None, series="ops",
             how="load ops with a completion and a latency (history_views.op_points; nemesis and final reads excluded)")
    d.derive("late_writes_drawn", len(late) if ops else None, None, series="ops",
             how="history_views.late_writes (rule of harness.checkers.late_writes)")
    for side in sorted(set(sides.values()) & set(SIDE_LEGEND)):  # minority_list, majority_list, isolated_list...
        names = [n for n, s in sides.items() if s == side]
        d.derive(f"{side}_list", ", ".join(names), None, series="nemesis",
                 how=f"nodes labelled {side} in the first partition record (history_views.node_sides)")
    for k, lw in enumerate(late, 1):
        d.derive(f"late_write_{k}_delay", round(lw.delay_s, 3), "s", series="ops",
                 how=f"late write {k}: first read of its token invoke_s - the write's complete_s (give-up)")


def _panel(ax: Any, d: ResolvedDiagram, p: Mapping[str, Any], points: Sequence[hv.OpPoint],
           late: Sequence[hv.LateWrite], lost: Sequence[hv.LostWrite] = (),
           stale: Sequence[Mapping[str, Any]] = ()) -> None:
    cls = str(p.get("class"))
    ax.set_yscale("log")
    ax.grid(True, which="major", color="#e0e0e0", lw=0.6)
    ax.set_axisbelow(True)
    title = ax.text(0.005, 0.97, str(p.get("title", cls)), transform=ax.transAxes, ha="left", va="top",
                    fontsize=9.5, fontweight="bold", zorder=10, bbox=dict(fc="white", ec="none", alpha=0.85, pad=1.5))
    if p.get("note"):
        ax.annotate(fill(str(p["note"]), d), xy=(1.0, 0.5), xycoords=title, xytext=(8, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=7.6, style="italic", color="#4a148c", zorder=10,
                    bbox=dict(fc="white", ec="#ce93d8", lw=0.6, alpha=0.9, pad=1.5))
    fa, ha = _num(d, "fault_at"), _num(d, "heal_at")
    if fa is not None and ha is not None:
        ax.axvspan(fa, ha, color=FAULT_SHADE, alpha=0.55, lw=0, zorder=0)
    mine = [q for q in points if q.op_class == cls]
    if not mine:
        ax.text(0.5, 0.5, NOT_MEASURED if not points else "no operations", transform=ax.transAxes,
                ha="center", va="center", color=NOT_MEASURED_COLOR, fontsize=12)
        ax.set_ylim(1, 1e4)
        return
    for outcome in OUTCOME_ORDER:
        for side in sorted({q.side for q in mine}, key=lambda s: (hv.SIDES.index(s) if s in hv.SIDES else 9, s)):
            sel = [q for q in mine if q.outcome == outcome and q.side == side]
            if not sel:
                continue
            big = outcome == "info"
            ax.scatter([q.x_s for q in sel], [max(q.latency_ms, 1e-3) for q in sel],
                       s=16 if big else 6, marker=SIDE_MARKERS.get(side, "s"),
                       c=OUTCOME_COLORS.get(outcome, "#757575"), alpha=0.95 if big else 0.5,
                       linewidths=0.4 if big else 0, edgecolors="#212121" if big else "none",
                       rasterized=True, zorder=4 if big else 3 if outcome == "fail" else 2)
    lats = [max(q.latency_ms, 1e-3) for q in mine]
    lo, hi = min(lats), max(lats)
    # a decade of headroom above the slowest op keeps the panel title and note off the points
    ax.set_ylim(10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi) + 0.75))
    if cls == hv.WRITE:
        _late(ax, late)
        if lost:  # acknowledged, then undone: a ring around each one's point
            xs = [float(lw.write["complete_s"]) for lw in lost]
            ys = [max(float(lw.write.get("latency_ms") or 1e-3), 1e-3) for lw in lost]
            ax.scatter(xs, ys, s=22, marker="o", facecolors="none", edgecolors=LOST_COLOR, linewidths=0.7,
                       zorder=5, rasterized=True, label="acknowledged, then lost")
            ax.legend(loc="lower right", fontsize=7.5, frameon=True, framealpha=0.9)
    mine_stale = [r for r in stale if hv.op_class(r) == cls and r.get("complete_s") is not None
                  and r.get("latency_ms") is not None]
    if mine_stale:  # answered, but without a write acknowledged before it was asked
        ax.scatter([float(r["complete_s"]) for r in mine_stale], [max(float(r["latency_ms"]), 1e-3) for r in mine_stale],
                   s=22, marker="o", facecolors="none", edgecolors=STALE_COLOR, linewidths=0.7, zorder=5,
                   rasterized=True, label="stale: missed an acknowledged write")
        ax.legend(loc="lower right", fontsize=7.5, frameon=True, framealpha=0.9)


def _late(ax: Any, late: Sequence[hv.LateWrite]) -> None:
    for k, lw in enumerate(late, 1):
        x0 = float(lw.write["complete_s"])
        y = float(lw.write.get("latency_ms") or 1.0) * (1.6 ** (k - 1))
        x1 = float(lw.first_read["invoke_s"])
        ax.plot([x0, x1], [y, y], color=LATE_COLOR, lw=0.9, ls=(0, (4, 2)), zorder=5)
        ax.plot([x0], [y], marker="*", ms=12, color="#fdd835", mec=LATE_COLOR, mew=0.9, zorder=6, ls="none")
        ax.plot([x1], [y], marker="*", ms=12, color="white", mec=LATE_COLOR, mew=0.9, zorder=6, ls="none")
        ax.text(x1 + 0.5, y, str(k), fontsize=7.5, va="center", ha="left", zorder=7, fontweight="bold")


def _markers(axes: Sequence[Any], d: ResolvedDiagram, markers: Sequence[Mapping[str, Any]]) -> None:
    pos = marker_positions(d, markers)
    drawn = sorted([(a, b, key, label) for key, label, a, b in pos if a is not None and b is not None])
    for a, b, key, _ in drawn:
        for ax in axes:
            if b - a > 1e-9:
                ax.axvspan(a, b, color=ELECTION_SHADE, alpha=0.8, lw=0, zorder=1)
            ax.axvline(b, color="#37474f", lw=0.8, ls=":", zorder=1)
    top = axes[0]
    x0, x1 = top.get_xlim()
    xs = spread([b for _, b, _, _ in drawn], (x1 - x0) * 0.03)
    for (a, b, key, _), xl in zip(drawn, xs):
        top.annotate(key, (b, 1.0), xycoords=("data", "axes fraction"), xytext=(xl, 1.09),
                     textcoords=("data", "axes fraction"), ha="center", va="center", fontsize=8.5,
                     fontweight="bold", annotation_clip=False,
                     bbox=dict(boxstyle="circle,pad=0.2", fc="white", ec="#37474f", lw=0.8),
                     arrowprops=dict(arrowstyle="-", color="#37474f", lw=0.7))
    missing = [key for key, _, a, _ in pos if a is None]
    if missing:
        top.text(1.0, 1.09, f"{', '.join(missing)}: {NOT_MEASURED}", transform=top.transAxes, ha="right",
                 va="center", fontsize=7.5, color=NOT_MEASURED_COLOR)


def _legend(fig: Figure, top: float, sides: Sequence[str]) -> None:
    h = [Line2D([], [], marker="o", ls="none", color=OUTCOME_COLORS[o], label=o, ms=5) for o in OUTCOME_ORDER]
    h += [Line2D([], [], marker=SIDE_MARKERS[s], ls="none", color="#616161", label=SIDE_LEGEND[s], ms=5)
          for s in sides]
    h += [Patch(fc=FAULT_SHADE, label="partition in effect"),
          Patch(fc=ELECTION_SHADE, label="election (between polls)"),
          Line2D([], [], marker="*", ls="none", color="#fdd835", mec="black", ms=10, label="late write: gave up"),
          Line2D([], [], marker="*", ls="none", color="white", mec="black", ms=10, label="its value first seen")]
    fig.legend(handles=h, loc="lower left", bbox_to_anchor=(0.055, top + 0.043), ncol=5, fontsize=7.3,
               frameon=False, handletextpad=0.3, columnspacing=1.2, labelspacing=0.3)


def _side_panel(fig: Figure, d: ResolvedDiagram, blocks: Sequence[Mapping[str, Any]],
                late: Sequence[hv.LateWrite]) -> None:
    """The text column right of the panels, from 0.915 of the height down to the footer: laid
    out once to measure, then drawn smaller when it would run into the footer."""
    top, floor = 0.915, footer_height(d, fig.get_figheight()) + 0.008
    used = top - _side_text(fig, d, blocks, late, 1.0, draw=False)
    _side_text(fig, d, blocks, late, min(1.0, (top - floor) / used) if used > 0 else 1.0, draw=True)


def _side_text(fig: Figure, d: ResolvedDiagram, blocks: Sequence[Mapping[str, Any]], late: Sequence[hv.LateWrite],
               scale: float, draw: bool) -> float:
    """Lay the side panel out at ``scale`` times its font sizes and spacing (drawing it when
    ``draw``); returns the height fraction where it ends."""
    x0, y = 0.672, 0.915
    width_chars = int(74 / scale)

    def text(yy: float, t: str, **kw: Any) -> None:
        if draw:
            kw["fontsize"] = kw["fontsize"] * scale
            fig.text(x0, yy, t, va="top", ha="left", **kw)

    for b in blocks:
        title = fill(str(b.get("title", "")), d)
        text(y, title, fontsize=8.6, fontweight="bold")
        y -= 0.021 * scale
        size = float(b.get("font_size", 7.3))
        chars = int(width_chars * 7.3 / size * (0.9 if b.get("rows_from") else 1.0))  # mono glyphs are wider
        lines = [fill(str(t), d) for t in b.get("lines") or []]
        if b.get("rows_from"):
            lines += run_rows(d, str(b["rows_from"]), str(b.get("row", "")), dict(b.get("units") or {}))
        if "Late writes" in str(b.get("title", "")):
            lines += [_late_line(d, k, lw) for k, lw in enumerate(late, 1)]
        for t in lines:
            wrapped = textwrap.wrap(t, chars, subsequent_indent="    ") or [""]
            text(y, "\n".join(wrapped), fontsize=size, linespacing=1.25,
                 family="DejaVu Sans Mono" if b.get("rows_from") else None)
            y -= (LINE_H * size / 7.3 * len(wrapped) + 0.003) * scale
        y -= 0.008 * scale
    claims = d.spec.claims
    if claims:
        text(y, "Spec claims checked against this measurement", fontsize=8.6, fontweight="bold")
        y -= 0.021 * scale
        # grouped by what the measurement says (not by what the spec file expects), so a
        # verdict that flips on new results is drawn as it is
        verdicts = {c.id: claim_badge(d, c.id)[0] for c in claims}
        prefix = f"{_prefix(d)}-"
        for verdict, mark, color in (("confirmed", "✔ holds", "#2e7d32"), ("corrected", "✘ corrected", "#c62828"),
                                     ("contradicted", "! no longer as the spec file expects", "#6a1b9a"),
                                     ("cited", "◇ cited (other hardware, not judged)", "#6d4c41"),
                                     (NOT_MEASURED, "? not measured", NOT_MEASURED_COLOR)):
            names = [c.id.removeprefix(prefix).replace("-", " ") for c in claims if verdicts[c.id] == verdict]
            if names:
                t = "\n".join(textwrap.wrap(f"{mark}: " + "; ".join(names), width_chars, subsequent_indent="    "))
                text(y, t, fontsize=7.3, linespacing=1.25, color=color)
                y -= (LINE_H * (t.count("\n") + 1) + 0.003) * scale
    return y


def run_rows(d: ResolvedDiagram, key: str, template: str, units: Mapping[str, str | None]) -> list[str]:
    """One line per row of a ``scenario_runs`` series: ``template`` with ``<run_id>`` (``<run>``:
    its timestamp), ``<provider>``, ``<partitions_via>`` and each field of ``units`` (column ->
    unit), whose value is recorded with ``derive`` (so the sidecar names the run's file for it).
    Angle brackets, not braces: these name row columns, not the diagram's figures."""
    rows = d.rows(key)
    if not rows:
        return [f"{key}: {NOT_MEASURED}"]
    out = []
    for r in rows:
        vals: dict[str, str] = {k: str(r.get(k)) for k in ("run_id", "provider", "partitions_via")}
        vals["run"] = str(r.get("run_id"))[:16]  # the timestamp part: the sidecar has the whole id
        for col, unit in units.items():
            v = r.get(col)
            f = d.derive(f"{key}.{r['run_id']}.{col}", v if isinstance(v, (int, float)) else None, unit,
                         series=key, how=f"{r['file']}: column {col} of the row for {r['run_id']}")
            vals[col] = format_figure(f)
        out.append(re.sub(r"<(\w+)>", lambda m: vals.get(m.group(1), m.group(0)), template))
    return out


def _prefix(d: ResolvedDiagram) -> str:
    """Common prefix of the claim ids (``lin-fail``), left off when listing them."""
    ids = [c.id for c in d.spec.claims]
    parts = [i.split("-") for i in ids]
    common = []
    for seg in zip(*parts):
        if len(set(seg)) != 1:
            break
        common.append(seg[0])
    return "-".join(common)


def _late_line(d: ResolvedDiagram, k: int, lw: hv.LateWrite) -> str:
    w = lw.write
    s = (f"{k}: {w.get('f')} {hv.written_token(w)} on {w.get('key')} via {w.get('node')}: "
         f"first seen {d.text(f'late_write_{k}_delay')} after the client gave up")
    if lw.overwrote is not None:
        s += f", overwrote the newer acknowledged {hv.written_token(lw.overwrote)}"
    elif lw.proven_late:
        s += ", proven applied after the give-up"
    return s
