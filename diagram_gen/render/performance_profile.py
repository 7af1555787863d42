"""PERFORMANCE diagrams (type ``performance_profile``): HDR percentile spectra, throughput
against concurrency, a load-generator cross-check table, and the spec's claims.

Shaping (pure, tested) and drawing are separate, as in Jepsen's perf code:
``hdr_x`` / ``spectrum_points`` / ``sweep_points`` / ``tool_table_rows`` shape series rows;
``render`` draws.

Spec ``layout`` keys:

* ``host``, ``saturation``: header templates (the measured host replaces the spec's).
* ``spectra``: ``[{title, lines: [{series, label, color}]}]``: one panel each; series are
  ``{from: hlog}`` spectra (rows ``percentile`` in percent, ``value_ms``).
* ``spectrum_note``: caption under the spectra.
* ``throughput``: ``{title, lines: [{series, label, color}]}``: summary rows plotted as
  throughput_ops_s against concurrency.
* ``curves``: ``{title, x, y, x_label, y_label, x_scale (linear | symlog), y_max, lines:
  [{series, label, color}]}``: any rows plotted as column ``y`` against column ``x`` (the
  t-visibility probe's ``p_visible`` against ``delay_ms``), in the throughput panel's place
  (beside it when both are given).
* ``bars``: ``{title, x, categories: [{value, label}], y, y_label, y_scale (linear | symlog),
  linthresh, missing_label, legend, lines: [{series, label, color}]}``: per category (rows whose
  column ``x`` equals ``value``) one bar per series at the median of its numeric ``y`` values,
  each value a dot on it (the convergence probe's trials); a series with rows in a category but
  no numeric ``y`` there gets a cross and ``missing_label`` in the legend. Drawn beside the
  curves (left of them) when both are given, else in the bottom row's whole width.
* ``tool_table``: ``{title, tool, harness, match, note}``: rows of the ``tool`` series beside
  the ``harness`` row with the same ``match`` column, ``note`` under the table (which tool it
  is); every printed cell is recorded with ``ResolvedDiagram.derive``.
* ``claims_panel`` (boxes.draw_claims), ``claims_note``.
* ``notes``: ``{title, lines}`` templates drawn in the right-hand panel when there is no
  ``claims_panel`` (a guarantee whose spec gives no figures to set beside this host's).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

from diagram_gen.model import NOT_MEASURED, ResolvedDiagram
from diagram_gen.render.boxes import (Box, canvas, chars_per_line, draw_box, draw_claims, fill, layout_get,
                                      line_height, mark_overflow, wrap_text)
from diagram_gen.render.common import NOT_MEASURED_COLOR, draw_footer, new_figure

#: percentile ticks of an HDR plot, and their labels
PERCENTILE_TICKS = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)
PERCENTILE_LABELS = ("50%", "90%", "99%", "99.9%", "99.99%", "99.999%")


# ---------------------------------------------------------------------------------------
# shaping (pure)
# ---------------------------------------------------------------------------------------
def hdr_x(percentile: float) -> float:
    """The HDR plot's x for a percentile given in percent: 1/(1-p) = 100/(100-pct), computed
    in decimal so the standard ticks are exact (99.9 -> 1000.0). Infinite at 100."""
    pct = Decimal(repr(float(percentile)))
    if pct >= 100:
        return float("inf")
    return float(Decimal(100) / (Decimal(100) - pct))


def spectrum_points(rows: Sequence[Mapping[str, Any]]) -> tuple[list[float], list[float]]:
    """(x, y) of a spectrum: x = hdr_x(percentile), y = value_ms; the 100th percentile (x
    infinite) and rows without a value are dropped; sorted by x, duplicates of x kept once
    (the last value, i.e. the highest)."""
    pts: dict[float, float] = {}
    for r in rows:
        p, v = r.get("percentile"), r.get("value_ms")
        if not isinstance(p, (int, float)) or not isinstance(v, (int, float)) or p >= 100:
            continue
        pts[hdr_x(p)] = float(v)
    xs = sorted(pts)
    return xs, [pts[x] for x in xs]


def sweep_points(rows: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[float]]:
    """(concurrency, throughput_ops_s) sorted by concurrency; one point per concurrency (the
    first row in file order when a level appears twice)."""
    pts: dict[int, float] = {}
    for r in rows:
        c, t = r.get("concurrency"), r.get("throughput_ops_s")
        if isinstance(c, int) and not isinstance(c, bool) and isinstance(t, (int, float)) and c not in pts:
            pts[c] = float(t)
    cs = sorted(pts)
    return cs, [pts[c] for c in cs]


def xy_points(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> tuple[list[float], list[float]]:
    """(xs, ys) of the rows whose ``x`` and ``y`` columns are numbers (not booleans), sorted by
    x; a repeated x keeps its first row in file order."""
    pts: dict[float, float] = {}
    for r in rows:
        a, b = r.get(x), r.get(y)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (a, b)) or float(a) in pts:
            continue
        pts[float(a)] = float(b)
    xs = sorted(pts)
    return xs, [pts[v] for v in xs]


def category_values(rows: Sequence[Mapping[str, Any]], x: str, y: str,
                    categories: Sequence[Any]) -> list[tuple[list[float], bool]]:
    """Per category (rows whose ``x`` equals it), in the given order: (the numeric, non-boolean
    ``y`` values in file order, whether any row is in the category at all)."""
    out = []
    for c in categories:
        mine = [r for r in rows if r.get(x) == c]
        vals = [float(r[y]) for r in mine if isinstance(r.get(y), (int, float)) and not isinstance(r.get(y), bool)]
        out.append((vals, bool(mine)))
    return out


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count); ValueError when empty."""
    v = sorted(values)
    if not v:
        raise ValueError("median of nothing")
    m = len(v) // 2
    return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2


def tool_table_rows(tool: Sequence[Mapping[str, Any]], harness: Sequence[Mapping[str, Any]],
                    match: str) -> list[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    """Each tool row with the harness row of the same ``match`` value (or None), in tool-row
    order."""
    by = {}
    for h in harness:
        by.setdefault(h.get(match), h)
    return [(t, by.get(t.get(match))) for t in tool]


def x_ticks(max_x: float) -> tuple[list[float], list[str]]:
    """The percentile ticks up to the first one at or beyond ``max_x``."""
    xs, labels = [], []
    for p, lab in zip(PERCENTILE_TICKS, PERCENTILE_LABELS):
        xs.append(hdr_x(p))
        labels.append(lab)
        if xs[-1] >= max_x:
            break
    return xs, labels


# ---------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------
def _spectrum_panel(ax: Any, d: ResolvedDiagram, panel: Mapping[str, Any]) -> None:
    ax.set_title(panel.get("title", ""), fontsize=10.5, fontweight="bold", loc="left")
    max_x, any_line = 10.0, False
    missing = []
    for ln in panel.get("lines", []):
        label, grey = fill(ln.get("label", ln["series"]), d)
        xs, ys = spectrum_points(d.rows(ln["series"]))
        if not xs:
            missing.append(label.split(" (")[0])
            continue
        any_line = True
        max_x = max(max_x, xs[-1])
        ax.plot(xs, ys, color=ln.get("color"), lw=1.8, label=label, drawstyle="steps-post")
    ticks, labels = x_ticks(max_x)
    ax.set_xscale("log")
    ax.set_xlim(1.0, ticks[-1])
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(labels)
    ax.set_xlabel("percentile (HDR scale: 1/(1-p))")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, which="major", color="#e0e0e0", lw=0.7)
    if any_line:
        ax.set_yscale("log")
        ax.legend(loc="lower right", fontsize=7.8, frameon=True, framealpha=0.9)
    else:
        ax.set_yticks([])
    if missing:
        ax.text(0.98, 0.04, "not measured: " + ", ".join(missing), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=8, color=NOT_MEASURED_COLOR)


def _throughput_panel(ax: Any, d: ResolvedDiagram, spec: Mapping[str, Any]) -> None:
    ax.set_title(spec.get("title", ""), fontsize=10, fontweight="bold", loc="left")
    levels: set[int] = set()
    missing = []
    for ln in spec.get("lines", []):
        cs, ts = sweep_points(d.rows(ln["series"]))
        if not cs:
            missing.append(ln.get("label", ln["series"]))
            continue
        levels.update(cs)
        ax.plot(cs, ts, marker="o", color=ln.get("color"), lw=1.6, label=ln.get("label", ln["series"]))
    ax.set_xscale("log", base=2)
    ticks = sorted(levels) or [1]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(t) for t in ticks])
    if len(ticks) == 1:
        ax.set_xlim(ticks[0] / 4, ticks[0] * 4)
    ax.set_xlabel("concurrent clients (closed loop)")
    ax.set_ylabel("throughput (ops/s)")
    ax.set_ylim(bottom=0)
    ax.grid(True, color="#e0e0e0", lw=0.7)
    if levels:
        # one level: its points stand in the middle, so the legend goes to the right
        ax.legend(loc="upper right" if len(levels) == 1 else "upper left", fontsize=7.5)
    notes = []
    if len(levels) == 1:
        notes.append("one concurrency level measured so far")
    if missing:
        notes.append("not measured: " + ", ".join(missing))
    if notes:
        ax.text(0.98, 0.04, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5,
                color=NOT_MEASURED_COLOR)


def _curves_panel(ax: Any, d: ResolvedDiagram, spec: Mapping[str, Any]) -> None:
    ax.set_title(fill(str(spec.get("title", "")), d)[0], fontsize=10, fontweight="bold", loc="left")
    missing, drawn = [], False
    for ln in spec.get("lines", []):
        label = fill(ln.get("label", ln["series"]), d)[0]
        xs, ys = xy_points(d.rows(ln["series"]), str(spec["x"]), str(spec["y"]))
        if not xs:
            missing.append(label)
            continue
        drawn = True
        ax.plot(xs, ys, marker="o", ms=3.5, color=ln.get("color"), lw=1.6, label=label,
                ls=ln.get("style", "-"))
    if spec.get("x_scale", "linear") == "symlog":
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel(str(spec.get("x_label", spec["x"])))
    ax.set_ylabel(str(spec.get("y_label", spec["y"])))
    if isinstance(spec.get("y_max"), (int, float)):
        ax.set_ylim(-0.03 * float(spec["y_max"]), float(spec["y_max"]) * 1.05)
    ax.grid(True, color="#e0e0e0", lw=0.7)
    if drawn:
        ax.legend(loc=str(spec.get("legend", "lower right")), fontsize=7.2, frameon=True, framealpha=0.9)
    if missing:
        ax.text(0.98, 0.04, "not measured: " + ", ".join(missing), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7.5, color=NOT_MEASURED_COLOR)


def _bars_panel(ax: Any, d: ResolvedDiagram, spec: Mapping[str, Any]) -> None:
    ax.set_title(fill(str(spec.get("title", "")), d)[0], fontsize=10, fontweight="bold", loc="left")
    cats = list(spec.get("categories") or [])
    lines = list(spec.get("lines") or [])
    n = max(1, len(lines))
    width = 0.8 / n
    missing, crossed = [], False
    for i, ln in enumerate(lines):
        label = fill(ln.get("label", ln["series"]), d)[0]
        rows = d.rows(ln["series"])
        if not rows:
            missing.append(label)
            continue
        per = category_values(rows, str(spec["x"]), str(spec["y"]), [c.get("value") for c in cats])
        xs, hs = [], []
        for j, (vals, present) in enumerate(per):
            x = j - 0.4 + width * (i + 0.5)
            if vals:
                xs.append(x)
                hs.append(median(vals))
                ax.scatter([x] * len(vals), vals, s=7, color="#212121", zorder=4, linewidths=0)
            elif present:
                ax.scatter([x], [0], marker="x", s=22, color=ln.get("color"), zorder=4, linewidths=1.2)
                crossed = True
        ax.bar(xs, hs, width=width * 0.92, color=ln.get("color"), label=label, zorder=3)
    if spec.get("y_scale", "linear") == "symlog":
        ax.set_yscale("symlog", linthresh=float(spec.get("linthresh", 1.0)))
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([fill(str(c.get("label", c.get("value"))), d)[0] for c in cats], fontsize=7.8)
    ax.set_xlim(-0.5, len(cats) - 0.5)
    ax.set_ylabel(str(spec.get("y_label", spec["y"])))
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", color="#e0e0e0", lw=0.7)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    if crossed:
        handles.append(Line2D([], [], marker="x", ls="none", color="#616161", ms=5))
        labels.append(str(spec.get("missing_label", "no value")))
    if len(labels) > int(crossed):  # a bar was drawn: its dots are trials
        handles.append(Line2D([], [], marker="o", ls="none", color="#212121", ms=2.5))
        labels.append(str(spec.get("dot_label", "one trial")))
        ax.legend(handles, labels, loc=str(spec.get("legend", "upper left")), fontsize=7.0, frameon=True,
                  framealpha=0.9, ncol=int(spec.get("legend_columns", 1)))
    if missing:
        ax.text(0.98, 0.96, "not measured: " + ", ".join(missing), transform=ax.transAxes, ha="right", va="top",
                fontsize=7.5, color=NOT_MEASURED_COLOR)


def _fmt_size(v: Any) -> str:
    """A value size column as a short label (not a measurement: a workload parameter)."""
    if isinstance(v, int) and not isinstance(v, bool):
        if v >= 1024 * 1024 and v % (1024 * 1024) == 0:
            return f"{v // (1024 * 1024)} MiB"
        if v >= 1024 and v % 1024 == 0:
            return f"{v // 1024} KiB"
        return f"{v} B"
    return "?"


def _tool_table(ax: Any, d: ResolvedDiagram, spec: Mapping[str, Any]) -> None:
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.0, 1.0, spec.get("title", ""), fontsize=10, fontweight="bold", va="top", ha="left")
    tool_key, harness_key, match = spec["tool"], spec["harness"], spec.get("match", "workload")
    pairs = tool_table_rows(d.rows(tool_key), d.rows(harness_key), match)
    cols = [("operation", 0.0, "left"), ("ops/s tool | ours", 0.36, "center"),
            ("p50 tool | ours", 0.61, "center"), ("p99 tool | ours", 0.86, "center")]
    y = 0.86
    for name, x, ha in cols:
        ax.text(x, y, name, fontsize=7.8, fontweight="bold", ha=ha, va="center", color="#37474f")
    ax.plot([0, 1], [y - 0.045, y - 0.045], color="#b0bec5", lw=0.8)
    if not pairs:
        ax.text(0.5, 0.5, NOT_MEASURED, ha="center", va="center", fontsize=9, color=NOT_MEASURED_COLOR)
        return
    step = min(0.115, 0.78 / len(pairs))
    y -= 0.045 + step * 0.65
    for t, h in pairs:
        rc = t.get("read_consistency") or ""
        c = t.get("concurrency")
        op = (f"{t.get('op', '?')}" + (f" {rc[:3]}." if rc else "") + f" {_fmt_size(t.get('value_size'))}"
              + (f" ×{c}" if isinstance(c, int) else ""))
        ax.text(0.0, y, op, fontsize=7.8, ha="left", va="center")
        wl = t.get(match)
        for (col, unit), (_n, x, _ha) in zip((("throughput_ops_s", "ops/s"), ("p50_ms", "ms"), ("p99_ms", "ms")),
                                             cols[1:]):
            vals = []
            for who, row, series in (("tool", t, tool_key), ("harness", h, harness_key)):
                v = row.get(col) if row is not None else None
                f = d.derive(f"table.{wl}.{who}.{col}", v if isinstance(v, (int, float)) else None,
                             None, series=series, how=f"rows[{match}={wl}].{col}")
                vals.append(d.text(f.key) if f.key in d.derived else NOT_MEASURED)
            ax.text(x, y, " | ".join(vals), fontsize=7.8, ha="center", va="center",
                    color=NOT_MEASURED_COLOR if NOT_MEASURED in vals else "#212121")
        y -= step
    ax.text(0.0, y + step * 0.35, str(spec.get("note", "ops/s in ops/s, p50/p99 in ms")),
            fontsize=6.8, color="#616161", va="top")


def _right_panel(fig: Figure, W: float, y: float, title: str) -> tuple[Any, float, float, Box, float]:
    """The right-hand panel under the header ending at ``y`` (figure fraction), titled:
    (canvas, x, width, box, y of the first line below the title), in canvas units."""
    cv = canvas(fig)
    px = 88.0
    pw_u = W - px - 1.2
    top_u = (y - 0.012) * fig.get_size_inches()[1] * 10
    panel = Box(px, 9.5, pw_u, top_u - 9.5)
    draw_box(cv, panel, None, (), face="#fafafa", edge="#b0bec5", lw=0.8)
    yy = panel.top - 1.0
    cv.text(px + 1.0, yy, title, fontsize=9.5, fontweight="bold", va="top")
    return cv, px, pw_u, panel, yy - 2.2


def _notes_panel(fig: Figure, d: ResolvedDiagram, notes: Mapping[str, Any], W: float, y: float) -> None:
    """The right-hand panel with ``notes.title`` and each of ``notes.lines`` (templates)."""
    cv, px, pw_u, panel, yy = _right_panel(fig, W, y, fill(str(notes.get("title", "")), d)[0])
    for t in notes.get("lines", []):
        text, grey = fill(t, d)
        lines = wrap_text(text, chars_per_line(pw_u - 2, 8.0))
        cv.text(px + 1.0, yy, "\n".join(lines), fontsize=8.0, va="top", linespacing=1.25,
                color=NOT_MEASURED_COLOR if grey else "#212121")
        yy -= len(lines) * line_height(8.0) + 1.0
    mark_overflow(cv, panel, yy)


def render(d: ResolvedDiagram) -> Figure:
    lay: Mapping[str, Any] = d.spec.layout or {}
    fig = new_figure(d)
    W = fig.get_size_inches()[0] * 10
    y = 0.944
    for key, size, color in (("host", 8.6, "#263238"), ("saturation", 8.4, "#b71c1c")):
        tmpl = layout_get(lay, key, "")
        if not tmpl:
            continue
        text, grey = fill(tmpl, d)
        lines = wrap_text(text, chars_per_line(W - 6, size * 1.05))
        fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=size, linespacing=1.2,
                 color=NOT_MEASURED_COLOR if grey else color, fontweight="bold" if key == "host" else "normal")
        y -= 0.024 * len(lines) + 0.004

    spectra = layout_get(lay, "spectra", [])
    left, right_end = 0.055, 0.655
    n = max(1, len(spectra))
    gap = 0.06
    pw = (right_end - left - gap * (n - 1)) / n
    for i, panel in enumerate(spectra):
        ax = fig.add_axes((left + i * (pw + gap), 0.505, pw, 0.34))
        _spectrum_panel(ax, d, panel)
        if n >= 3:  # narrower panels: smaller percentile labels, so 99.99% and 99.999% stay apart
            ax.tick_params(axis="x", labelsize=6.6)
    note = layout_get(lay, "spectrum_note", "")
    if note:
        fig.text(left, 0.435, fill(note, d)[0], fontsize=7.5, color="#616161", ha="left", va="top")

    tp = layout_get(lay, "throughput", None)
    tt = layout_get(lay, "tool_table", None)
    cu = layout_get(lay, "curves", None)
    ba = layout_get(lay, "bars", None)
    if ba:  # the bars take the throughput panel's place, the curves beside them
        bw = float(ba.get("width", 0.30)) if cu else right_end - left
        _bars_panel(fig.add_axes((left, 0.12, bw, 0.25)), d, ba)
        if cu:
            cx = left + bw + 0.06
            _curves_panel(fig.add_axes((cx, 0.12, right_end - cx, 0.25)), d, cu)
    else:
        if tp:  # the tool table's (or the curves') room too when there is none
            _throughput_panel(fig.add_axes((left, 0.12, 0.225 if (tt or cu) else right_end - left, 0.25)), d, tp)
        if tt:
            _tool_table(fig.add_axes((0.335, 0.10, 0.32, 0.30)), d, tt)
        elif cu:
            _curves_panel(fig.add_axes((0.375 if tp else left, 0.12, right_end - (0.375 if tp else left), 0.25)), d,
                          cu)

    claims = layout_get(lay, "claims_panel", [])
    if claims:
        cv, px, pw_u, panel, yy = _right_panel(fig, W, y, "The spec's figures beside this host's")
        cn = layout_get(lay, "claims_note", "")
        if cn:
            text, grey = fill(cn, d)
            if text.count(" (cited)") == 1:
                text = text.replace(" (cited)", "")
                text += " (cited)"
            lines = wrap_text(text, chars_per_line(pw_u - 2, 7.6))
            cv.text(px + 1.0, yy, "\n".join(lines), fontsize=7.6, va="top", color="#6d4c41", linespacing=1.25)
            yy -= len(lines) * line_height(7.6) + 1.0
        yy = draw_claims(cv, d, claims, px + 1.0, yy, pw_u - 2.0, size=7.6)
        mark_overflow(cv, panel, yy)
    elif layout_get(lay, "notes", None):
        _notes_panel(fig, d, layout_get(lay, "notes", {}), W, y)
    draw_footer(fig, d)
    return fig
