"""IMPLEMENTATION diagrams (type ``architecture``): a system's write path as numbered boxes
and arrows, each step annotated with what it measurably cost, plus a cluster panel
(members, quorum, failure tolerance, election settings) and an end-to-end bar.

Spec ``layout`` keys (all texts use ``{figure}`` placeholders, see boxes.fill):

* ``steps``: list of ``{id, title, lines: [template...]}`` in path order. The first half is
  drawn left to right on the top row, the rest right to left on the bottom row, and the last
  step's arrow returns to the first (the response reaching the client).
* ``lanes`` (instead of ``steps``): one or two ``{title, steps: [...]}``, each drawn as its own
  row, left to right, its title above it: two paths side by side (e.g. a primary's replication
  stream and a leaderless store's anti-entropy), with no arrow between them and none back.
* ``parallel_note``: optional template drawn between the rows (``steps`` only).
* ``end_to_end``: ``{title, lines}``; ``cluster``: ``{title, lines, correction, election,
  election_title, members}``: ``members`` names the first member circle and the rest
  (default ``[leader, followers]``), ``election_title`` heads the ``election`` lines (default
  "Leader election").
* ``legend``: one line under the purpose.
* ``stats``: ``{key: {series, column, stat, where, window, unit}}``: one statistic
  (shaping.series_stats.STATS) of a series column, over the rows matching ``where``, optionally
  only those whose ``window.column`` lies in [``window.from``, ``window.to``] (each a figure key
  or a number in that column's unit; absent = open); ``unit`` converts the column's unit (read
  off its name, e.g. ``replay_delay_s``). Each key must be listed in ``derived``.

Derived figures: when the spec binds a ``cluster_rows`` series (summary rows with a ``nodes``
column), ``quorum`` = floor(n/2)+1 and ``tolerance`` = floor((n-1)/2) are recorded through
``ResolvedDiagram.derive`` so templates may say ``{quorum}`` / ``{tolerance}``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Circle

from diagram_gen.model import Measured, ResolvedDiagram
from diagram_gen.render.boxes import (Box, anchor, box_canvas, chars_per_line, draw_arrow, draw_box, draw_label,
                                      fill, layout_get, mark_overflow, row_layout, wrap_text)
from diagram_gen.render.common import draw_footer
from diagram_gen.resolve import UNITS, clean_float, source_unit_of
from diagram_gen.shaping.series_stats import column_stat

STEP_FACE = "#eef3f8"
E2E_FACE = "#e8f5e9"
PANEL_FACE = "#fafafa"
CORRECTION_FACE = "#fff3e0"
LEADER_COLOR = "#1565c0"
FOLLOWER_COLOR = "#90a4ae"


def quorum_of(n: int) -> int:
    """Raft majority of ``n`` voting members."""
    return n // 2 + 1


def tolerance_of(n: int) -> int:
    """Members that may fail (or be cut off) while a majority remains: floor((n-1)/2)."""
    return (n - 1) // 2


def derive_cluster(d: ResolvedDiagram) -> None:
    """Record quorum and tolerance from the ``cluster_rows`` series' ``nodes`` column (when the
    spec binds it); both become NotMeasured when there is nothing to compute from."""
    if "cluster_rows" not in d.series:
        return
    ns = sorted({int(r["nodes"]) for r in d.rows("cluster_rows") if isinstance(r.get("nodes"), int)})
    n = ns[0] if len(ns) == 1 else None
    d.derive("quorum", quorum_of(n) if n else None, None, series="cluster_rows",
             how="floor(nodes/2)+1 (Raft majority) of the rows' nodes column")
    d.derive("tolerance", tolerance_of(n) if n else None, None, series="cluster_rows",
             how="floor((nodes-1)/2) (members that may fail while a majority remains) of the rows' nodes column")


def _in_unit(value: float, unit: str | None, want: str | None) -> float | None:
    """``value`` (in ``unit``) expressed in ``want``; the value itself when either is unknown
    or they are the same; None when the two units measure different things."""
    if unit is None or want is None or unit == want:
        return value
    if unit not in UNITS or want not in UNITS or UNITS[unit][0] != UNITS[want][0]:
        return None
    return clean_float(value * UNITS[unit][1] / UNITS[want][1])


def _window_bound(d: ResolvedDiagram, bound: Any, unit: str | None) -> tuple[bool, float | None]:
    """(known, value) of one window bound: a number, None (open) or a figure key (its measured
    value in the window column's unit; unknown when it is not measured or not convertible)."""
    if bound is None:
        return True, None
    if isinstance(bound, (int, float)) and not isinstance(bound, bool):
        return True, float(bound)
    f = d.figure(str(bound))
    if not isinstance(f, Measured) or isinstance(f.value, bool) or not isinstance(f.value, (int, float)):
        return False, None
    v = _in_unit(float(f.value), f.unit, unit)
    return v is not None, v


def derive_stats(d: ResolvedDiagram) -> None:
    """Record every ``layout.stats`` entry (module docstring) through ``d.derive``; an entry
    whose series, window bound or unit cannot be had becomes NotMeasured."""
    lay = d.spec.layout or {}
    for key, st in (layout_get(lay, "stats", {}) or {}).items():
        series, column, stat = str(st["series"]), str(st["column"]), str(st["stat"])
        where = dict(st.get("where") or {})
        win = st.get("window")
        window, known, wtext = None, True, ""
        if win:
            wcol = str(win["column"])
            ok_lo, lo = _window_bound(d, win.get("from"), source_unit_of(wcol))
            ok_hi, hi = _window_bound(d, win.get("to"), source_unit_of(wcol))
            known = ok_lo and ok_hi
            window = (wcol, lo, hi)
            wtext = f" with {wcol} in [{win.get('from', '-inf')} = {lo}, {win.get('to', 'inf')} = {hi}]"
        value = column_stat(d.rows(series), column, stat, where, window) if known else None
        src = source_unit_of(column)
        unit = None if stat == "count" else (st.get("unit") or src)
        if value is not None and stat != "count":
            value = _in_unit(float(value), src, unit)
        rows = ",".join(f"{k}={v}" for k, v in where.items())
        conv = f" ({src} -> {unit})" if unit != src and stat != "count" else ""
        d.derive(str(key), value, unit, series=series, how=f"{stat} of {column} over rows[{rows}]{wtext}{conv}")


def _lines(templates: Sequence[str], d: ResolvedDiagram) -> list[tuple[str, bool]]:
    return [fill(t, d) for t in templates]


def step_boxes(n: int, x0: float, x1: float, y_top_row: float, y_bottom_row: float, h: float,
               gap: float) -> list[Box]:
    """Boxes for ``n`` steps in a U: ceil(n/2) on the top row left to right, the rest on the
    bottom row right to left (aligned under the top row's columns, starting at the right)."""
    top_n = math.ceil(n / 2)
    cols = row_layout(top_n, x0, x1, y_top_row, h, gap)
    bottom = [Box(c.x, y_bottom_row, c.w, c.h) for c in reversed(cols)][: n - top_n]
    return cols + bottom


def lane_boxes(counts: Sequence[int], x0: float, x1: float, ys: Sequence[float], h: float,
               gap: float) -> list[list[Box]]:
    """One row of boxes per lane: lane i has ``counts[i]`` boxes filling [x0, x1] at ``ys[i]``."""
    if len(counts) > len(ys):
        raise ValueError(f"{len(counts)} lanes but room for {len(ys)}")
    return [row_layout(n, x0, x1, y, h, gap) for n, y in zip(counts, ys)]


#: lower edge of the two rows of step boxes, their height, the gap between boxes, their span
ROW_YS = (50.0, 26.5)
STEP_H, STEP_GAP, STEP_X0, STEP_X1 = 16.0, 5.0, 2.0, 91.0
#: lanes: taller rows (more steps side by side, so narrower boxes), the end-to-end box and the
#: panel reaching lower
LANE_YS, LANE_H, LANE_GAP, LANES_BOTTOM = (47.0, 21.5), 19.0, 3.2, 8.5


def _draw_step(ax: Any, d: ResolvedDiagram, st: Mapping[str, Any], bx: Box, title_size: float = 9.5,
               line_size: float = 8.8) -> None:
    title, _ = fill(str(st.get("title", st.get("id", ""))), d)
    draw_box(ax, bx, title, _lines(st.get("lines", []), d), face=STEP_FACE, title_size=title_size,
             line_size=line_size)


def _draw_loop(ax: Any, d: ResolvedDiagram, lay: Mapping[str, Any]) -> None:
    """``steps`` as a U: top row left to right, bottom row right to left, back to the first."""
    steps = list(layout_get(lay, "steps", []))
    boxes = step_boxes(len(steps), STEP_X0, STEP_X1, ROW_YS[0], ROW_YS[1], STEP_H, STEP_GAP)
    for st, bx in zip(steps, boxes):
        _draw_step(ax, d, st, bx)
    top_n = math.ceil(len(steps) / 2)
    for i in range(len(boxes) - 1):
        a, b = boxes[i], boxes[i + 1]
        if i == top_n - 1:          # down the right-hand side
            draw_arrow(ax, anchor(a, "bottom"), anchor(b, "top"))
        elif i < top_n - 1:
            draw_arrow(ax, anchor(a, "right"), anchor(b, "left"))
        else:
            draw_arrow(ax, anchor(a, "left"), anchor(b, "right"))
    if len(boxes) > 2:              # the response returns to the client
        draw_arrow(ax, anchor(boxes[-1], "top"), anchor(boxes[0], "bottom"), color=LEADER_COLOR, lw=1.8)
    note = layout_get(lay, "parallel_note", "")
    if note and len(boxes) >= 4:
        text, grey = fill(note, d)
        draw_label(ax, (boxes[1].x + boxes[top_n - 1].right) / 2, 46.2, text, grey, size=8,
                   width_units=boxes[top_n - 1].right - boxes[1].x, color="#6d4c41")


def _draw_lanes(ax: Any, d: ResolvedDiagram, lanes: Sequence[Mapping[str, Any]]) -> None:
    """Each lane its own row, left to right, titled above its first box."""
    rows = lane_boxes([len(ln.get("steps", [])) for ln in lanes], STEP_X0, STEP_X1, LANE_YS, LANE_H, LANE_GAP)
    for lane, boxes in zip(lanes, rows):
        if not boxes:
            continue
        text, grey = fill(str(lane.get("title", "")), d)
        draw_label(ax, STEP_X0, boxes[0].top + 0.5, text, grey, size=9.5, bold=True, ha="left", va="bottom",
                   width_units=STEP_X1 - STEP_X0, boxed=False, color=LEADER_COLOR)
        for st, bx in zip(lane["steps"], boxes):
            _draw_step(ax, d, st, bx, title_size=9.0, line_size=8.4)
        for a, b in zip(boxes, boxes[1:]):
            draw_arrow(ax, anchor(a, "right"), anchor(b, "left"))


def render(d: ResolvedDiagram) -> Figure:
    lay: Mapping[str, Any] = d.spec.layout or {}
    derive_cluster(d)
    derive_stats(d)
    fig, ax, W = box_canvas(d, 74.6, 10, 12)
    legend = layout_get(lay, "legend", "")
    if legend:
        text, _ = fill(legend, d)
        draw_label(ax, W / 2, 70.4, text, size=8, color="#555555", boxed=False, width_units=W - 10)

    # ---- write path ---------------------------------------------------------------------
    lanes = list(layout_get(lay, "lanes", []))
    if lanes:
        _draw_lanes(ax, d, lanes)
    else:
        _draw_loop(ax, d, lay)

    # ---- end to end -----------------------------------------------------------------------
    e2e = layout_get(lay, "end_to_end", {})
    bottom = LANES_BOTTOM if lanes else 11.5
    if e2e:
        bx = Box(2.0, bottom, 89.0, (LANE_YS[1] - 1.5 if lanes else 20.0) - bottom)
        draw_box(ax, bx, fill(str(e2e.get("title", "")), d)[0] or None, _lines(e2e.get("lines", []), d), face=E2E_FACE,
                 edge="#2e7d32", title_size=10, line_size=10.5)

    # ---- cluster panel ----------------------------------------------------------------------
    cl = layout_get(lay, "cluster", {})
    if cl:
        _cluster_panel(ax, d, cl, Box(94.5, bottom, 33.5, 66.0 - bottom))

    draw_footer(fig, d)
    return fig


def _cluster_panel(ax: Any, d: ResolvedDiagram, cl: Mapping[str, Any], panel: Box) -> None:
    draw_box(ax, panel, None, (), face=PANEL_FACE, edge="#607d8b")
    x, w = panel.x + 1.2, panel.w - 2.4
    y = panel.top - 1.0
    draw_label(ax, panel.cx, y - 0.8, fill(str(cl.get("title", "Cluster")), d)[0], size=10, bold=True, boxed=False)
    y -= 3.6
    # members as circles: the leader first (blue), then followers
    n = d.value("nodes")
    if isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 15:
        r = min(1.6, w / (2.6 * n))
        xs = [x + w * (i + 0.5) / n for i in range(n)]
        for i, cx in enumerate(xs):
            ax.add_patch(Circle((cx, y - r), r, facecolor=LEADER_COLOR if i == 0 else FOLLOWER_COLOR,
                                edgecolor="white", zorder=3))
        first, rest = (list(cl.get("members") or []) + ["leader", "followers"][len(cl.get("members") or []):])[:2]
        draw_label(ax, xs[0], y - 2 * r - 1.0, str(first), size=7, boxed=False, color=LEADER_COLOR)
        draw_label(ax, (xs[1] + xs[-1]) / 2 if n > 1 else xs[0], y - 2 * r - 1.0, str(rest), size=7,
                   boxed=False, color="#546e7a")
        y -= 2 * r + 2.6
    else:
        draw_label(ax, panel.cx, y - 0.8, "members: not measured", True, size=8.5, boxed=False)
        y -= 2.6
    for t in cl.get("lines", []):
        text, grey = fill(t, d)
        k = draw_label(ax, x, y, text, grey, size=8.5, ha="left", va="top", width_units=w, boxed=False)
        y -= k * 1.5 + 0.5
    corr = cl.get("correction")
    if corr:
        text, grey = fill(corr, d)
        nlines = len(wrap_text(text, chars_per_line(w - 1.6, 8)))
        h = nlines * 1.45 + 1.6
        draw_box(ax, Box(x, y - h, w, h), None, (), face=CORRECTION_FACE, edge="#ef6c00", lw=1.0)
        draw_label(ax, x + 0.8, y - 0.8, text, grey, size=8, ha="left", va="top", width_units=w - 1.6,
                   boxed=False)
        y -= h + 1.2
    elec = cl.get("election", [])
    if elec:
        draw_label(ax, x, y, str(cl.get("election_title", "Leader election")), size=9, bold=True, ha="left", va="top",
                   boxed=False)
        y -= 1.9
        for t in elec:
            text, grey = fill(t, d)
            cited = "(cited)" in text
            k = draw_label(ax, x, y, text, grey, size=7.8, ha="left", va="top", width_units=w, boxed=False,
                           color="#6d4c41" if cited else None)
            y -= k * 1.4 + 0.5
    mark_overflow(ax, panel, y)
