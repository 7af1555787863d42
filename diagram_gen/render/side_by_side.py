"""COMPARISON diagrams (type ``side_by_side``): two (or more) systems as table columns, every
cell a resolved figure, with the hardware in a visible header line and the spec's claims
next to the measurements that confirm or correct them.

Spec ``layout`` keys:

* ``header``: template naming the hardware (drawn under the purpose).
* ``columns``: ``[{title, subtitle, color}]`` templates, one per system.
* ``sections``: ``[{title, rows: [{label, cells: [...], verdict?}]}]``; a cell is a figure key,
  a template with ``{placeholders}``, or ``{text: ...}`` (a grey remark: no counterpart); ``verdict: true`` colours yes/no cells as ok/fail.
* ``classification``: templates drawn in the right panel (what each model guarantees).
* ``claims_panel``: ``[{claim, spec, measured}]`` (see boxes.draw_claims).
* ``ratio``: ``{key, numerator, denominator, column}``: a derived figure, the ratio of one
  summary column between two series (each must hold exactly one row); list ``key`` in
  ``layout.derived``.
* ``label_width``, ``table_end``: the row-label column's width and where the table ends (canvas
  units, defaults 36 and 85; the right panel starts just after the table): many columns need a
  narrower label column and a wider table.
* ``aggregates``: ``[{key, series, column, how, unit?}]``: derived figures, the ``max`` or
  ``min`` of one column over a series' rows (e.g. the slowest of a probe's trials); rows
  without a number there are left out; list each ``key`` in ``layout.derived``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from diagram_gen.model import Measured, NotMeasured, ResolvedDiagram, Series
from diagram_gen.render.boxes import (Box, box_canvas, chars_per_line, draw_box, draw_claims, draw_label,
                                      figure_reason, figure_status, figure_text, fill, layout_get,
                                      line_height, mark_overflow, status_color, wrap_text)
from diagram_gen.render.common import NOT_MEASURED_COLOR, OUTCOME_COLORS, draw_footer
from diagram_gen.sources import get_path

SECTION_FACE = "#eceff1"
ROW_SHADE = "#f7f9fa"


def derive_ratio(d: ResolvedDiagram, spec: Mapping[str, Any]) -> None:
    """``numerator[column] / denominator[column]`` as a derived figure (unit "x"), only when
    both series come from one run or from runs on one recorded host (their ``footer.<run>.host``
    agree): a ratio of figures measured on two hosts would compare the hosts, not the systems."""
    key, num, den, col = spec["key"], spec["numerator"], spec["denominator"], spec["column"]
    runs = [s.provenance.run_id for s in (d.series.get(num), d.series.get(den)) if isinstance(s, Series)]
    hosts = [d.derived.get(f"footer.{r}.host") for r in runs]
    if len(set(runs)) == 2 and (any(not isinstance(h, Measured) for h in hosts)
                                or len({h.value for h in hosts if isinstance(h, Measured)}) != 1):
        d.figures[key] = NotMeasured(key, f"{num} ({runs[0]}) and {den} ({runs[1]}) were not measured on one "
                                          "recorded host: a ratio is judged only side by side on one host",
                                     {"derived": f"{num}.{col} / {den}.{col}"})
        return
    a, b = d.rows(num), d.rows(den)
    value = None
    if len(a) == 1 and len(b) == 1:
        va, vb = a[0].get(col), b[0].get(col)
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and vb:
            value = va / vb
    d.derive(key, value, "x", series=[num, den], how=f"{num}.{col} / {den}.{col}")


AGGREGATES = {"max": max, "min": min}


LABEL_WIDTH, TABLE_END = 36.0, 85.0


def table_geometry(ncol: int, x_label: float, label_w: float, x_tab_end: float) -> tuple[list[float], float]:
    """(left x of each value column, column width): the columns share what the label column
    leaves of the table."""
    n = max(1, ncol)
    col_w = (x_tab_end - x_label - label_w) / n
    return [x_label + label_w + i * col_w for i in range(n)], col_w


def column_extreme(rows: Sequence[Mapping[str, Any]], column: str, how: str) -> tuple[float | int | None, int]:
    """(``how`` of ``column`` -- a key or a dotted path, ``writes.ok`` -- over the rows that hold
    a number there, how many did); (None, 0) when none does. Booleans and strings ("not
    measured: ...") are not numbers."""
    vals = []
    for r in rows:
        v, err = get_path(r, column)
        if err is None and isinstance(v, (int, float)) and not isinstance(v, bool):
            vals.append(v)
    return (AGGREGATES[how](vals) if vals else None), len(vals)


def derive_aggregates(d: ResolvedDiagram, specs: Sequence[Mapping[str, Any]]) -> None:
    """Each ``{key, series, column, how, unit}`` as a derived figure naming how many rows it
    was taken over; not measured (with the reason) when no row has a number in the column."""
    for a in specs:
        key, series, column, how = a["key"], a["series"], a["column"], a.get("how", "max")
        if how not in AGGREGATES:
            raise ValueError(f"{d.spec.source_file}: layout.aggregates {key}: how is one of "
                             f"{', '.join(AGGREGATES)}, got {how!r}")
        rows = d.rows(series)
        value, n = column_extreme(rows, column, how)
        if value is None and rows:
            d.figures[key] = NotMeasured(key, f"no row of {series} has a number in {column}",
                                         {"derived": f"{how} of {series}.{column}"})
            continue
        d.derive(key, value, a.get("unit"), series=series, how=f"{how} of {column} over {n} of {len(rows)} rows")


def cell_text(d: ResolvedDiagram, cell: Any) -> tuple[str, str, str | None]:
    """(text, status, reason) of one table cell: a figure key, a template, or ``{text: ...}``
    (a remark where a system has no counterpart: drawn grey, status "remark")."""
    if isinstance(cell, Mapping):
        return str(fill(str(cell.get("text", "")), d)[0]), "remark", None
    cell = str(cell)
    if "{" in cell:
        text, grey = fill(cell, d)
        return text, ("not measured" if grey and text.replace("not measured", "").strip(" |") == "" else
                      ("partly" if grey else "measured")), None
    return figure_text(d, cell), figure_status(d, cell), figure_reason(d, cell)


def render(d: ResolvedDiagram) -> Figure:
    lay: Mapping[str, Any] = d.spec.layout or {}
    r = layout_get(lay, "ratio", None)
    if r:
        derive_ratio(d, r)
    derive_aggregates(d, layout_get(lay, "aggregates", []))
    fig, ax, W = box_canvas(d, 75.0, 9.5, 10)
    header = layout_get(lay, "header", "")
    if header:
        text, grey = fill(header, d)
        text = "\n".join(wrap_text(text, chars_per_line(W - 8, 8.8 * 1.1))[:2])
        ax.text(W / 2, 71.0, text, ha="center", va="center", fontsize=8.8, fontweight="bold", linespacing=1.2,
                color=NOT_MEASURED_COLOR if grey else "#263238",
                bbox=dict(boxstyle="round,pad=0.35", facecolor="#e3f2fd", edgecolor="#90caf9"))

    # ---- table --------------------------------------------------------------------------
    cols: Sequence[Mapping[str, Any]] = layout_get(lay, "columns", [])
    x_label = 1.5
    x_tab_end = float(layout_get(lay, "table_end", TABLE_END))
    col_x, col_w = table_geometry(len(cols), x_label, float(layout_get(lay, "label_width", LABEL_WIDTH)), x_tab_end)
    y = 67.3
    for cx, c in zip(col_x, cols):
        t, g = fill(c.get("title", ""), d)
        st, sg = fill(c.get("subtitle", ""), d)
        color = c.get("color", "#37474f")
        ax.add_patch(Rectangle((cx + 0.3, y - 5.2), col_w - 0.6, 5.2, facecolor=color, edgecolor="none", zorder=1))
        ax.text(cx + col_w / 2, y - 1.0, t, ha="center", va="top", fontsize=10.5, fontweight="bold",
                color="white", zorder=2)
        sub = wrap_text(st, chars_per_line(col_w - 1.5, 7.5))
        ax.text(cx + col_w / 2, y - 2.9, "\n".join(sub[:2]), ha="center", va="top", fontsize=7.5,
                color="white", zorder=2, linespacing=1.1)
    y -= 6.0
    sections = layout_get(lay, "sections", [])
    n_lines = sum(1 + len(s.get("rows", [])) for s in sections)
    row_h = min(2.3, (y - 13.0) / max(1, n_lines))
    fs = 8.6 if row_h >= 2.0 else 8.0
    for s in sections:
        ax.add_patch(Rectangle((x_label, y - row_h), x_tab_end - x_label, row_h, facecolor=SECTION_FACE,
                               edgecolor="none", zorder=1))
        ax.text(x_label + 0.6, y - row_h / 2, s.get("title", ""), va="center", ha="left", fontsize=fs + 0.4,
                fontweight="bold", color="#263238", zorder=2)
        y -= row_h
        for i, row in enumerate(s.get("rows", [])):
            if i % 2 == 1:
                ax.add_patch(Rectangle((x_label, y - row_h), x_tab_end - x_label, row_h, facecolor=ROW_SHADE,
                                       edgecolor="none", zorder=1))
            ax.text(x_label + 1.2, y - row_h / 2, row.get("label", ""), va="center", ha="left", fontsize=fs,
                    color="#37474f", zorder=2)
            for cx, cell in zip(col_x, row.get("cells", [])):
                text, status, reason = cell_text(d, cell)
                color = status_color("measured" if status == "partly" else status)
                style = "italic" if status == "remark" else "normal"
                if row.get("verdict") and status == "measured":
                    color = OUTCOME_COLORS["ok"] if text == "yes" else OUTCOME_COLORS["fail"]
                    text = {"yes": "yes ✓", "no": "no ✗"}.get(text, text)
                ax.text(cx + col_w / 2, y - row_h / 2 + (0.35 if reason else 0), text, va="center",
                        ha="center", fontsize=fs if status != "remark" else fs - 0.6, color=color, zorder=2,
                        fontweight="bold" if status == "measured" else "normal", fontstyle=style)
                if reason:
                    rl = wrap_text(reason, chars_per_line(col_w - 1, 6.0))
                    ax.text(cx + col_w / 2, y - row_h / 2 - 0.55, rl[0] + ("…" if len(rl) > 1 else ""),
                            va="center", ha="center", fontsize=6.0, color=NOT_MEASURED_COLOR, zorder=2)
            y -= row_h
    ax.plot([x_label, x_tab_end], [y, y], color="#b0bec5", lw=0.8)

    # ---- right panel: what the models guarantee, and the spec's claims ----------------------
    px = x_tab_end + 2.0
    pw = W - px - 1.5
    panel = Box(px, 9.5, pw, 67.3 - 9.5)
    draw_box(ax, panel, None, (), face="#fafafa", edge="#b0bec5", lw=0.8)
    yy = panel.top - 1.0
    cls = layout_get(lay, "classification", [])
    if cls:
        ax.text(px + 1.0, yy, "What each one guarantees", fontsize=9.5, fontweight="bold", va="top", ha="left")
        yy -= 2.0
        for t in cls:
            text, grey = fill(t, d)
            lines = wrap_text(text, chars_per_line(pw - 2.0, 7.8))
            ax.text(px + 1.0, yy, "\n".join(lines), fontsize=7.8, va="top", ha="left", linespacing=1.25,
                    color=NOT_MEASURED_COLOR if grey else "#212121")
            yy -= len(lines) * line_height(7.8) + 0.8
        yy -= 0.6
    claims = layout_get(lay, "claims_panel", [])
    if claims:
        ax.text(px + 1.0, yy, "The spec's claims vs this measurement", fontsize=9.5, fontweight="bold",
                va="top", ha="left")
        yy -= 2.2
        yy = draw_claims(ax, d, claims, px + 1.0, yy, pw - 2.0, size=7.6)
    mark_overflow(ax, panel, yy)
    if d.spec.key_insight:
        text, grey = fill(d.spec.key_insight.strip(), d)
        draw_label(ax, x_label, y - 0.5, text, grey, size=8.4, ha="left", va="top",
                   width_units=x_tab_end - x_label, boxed=False, color="#1b5e20", bold=True)
    draw_footer(fig, d)
    return fig
