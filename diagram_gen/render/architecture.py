"""IMPLEMENTATION diagrams (type ``architecture``): a system's write path as numbered boxes
and arrows, each step annotated with what it measurably cost, plus a cluster panel
(members, quorum, failure tolerance, election settings) and an end-to-end bar.

Spec ``layout`` keys (all texts use ``{figure}`` placeholders, see boxes.fill):

* ``steps``: list of ``{id, title, lines: [template...]}`` in path order. The first half is
  drawn left to right on the top row, the rest right to left on the bottom row, and the last
  step's arrow returns to the first (the response reaching the client).
* ``parallel_note``: optional template drawn between the rows.
* ``end_to_end``: ``{title, lines}``; ``cluster``: ``{title, lines, correction, election}``.
* ``legend``: one line under the purpose.

Derived figures: when the spec binds a ``cluster_rows`` series (summary rows with a ``nodes``
column), ``quorum`` = floor(n/2)+1 and ``tolerance`` = floor((n-1)/2) are recorded through
``ResolvedDiagram.derive`` so templates may say ``{quorum}`` / ``{tolerance}``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Circle

from diagram_gen.model import ResolvedDiagram
from diagram_gen.render.boxes import (Box, anchor, box_canvas, chars_per_line, draw_arrow, draw_box, draw_label,
                                      fill, layout_get, mark_overflow, row_layout, wrap_text)
from diagram_gen.render.common import draw_footer

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


def render(d: ResolvedDiagram) -> Figure:
    lay: Mapping[str, Any] = d.spec.layout or {}
    derive_cluster(d)
    fig, ax, W = box_canvas(d, 74.6, 10, 12)
    legend = layout_get(lay, "legend", "")
    if legend:
        draw_label(ax, W / 2, 70.4, legend, size=8, color="#555555", boxed=False, width_units=W - 10)

    # ---- write path ---------------------------------------------------------------------
    steps = list(layout_get(lay, "steps", []))
    boxes = step_boxes(len(steps), 2.0, 91.0, 50.0, 26.5, 16.0, 5.0)
    for st, bx in zip(steps, boxes):
        lines = _lines(st.get("lines", []), d)
        draw_box(ax, bx, st.get("title", st.get("id", "")), lines, face=STEP_FACE, title_size=9.5,
                 line_size=8.8)
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

    # ---- end to end -----------------------------------------------------------------------
    e2e = layout_get(lay, "end_to_end", {})
    if e2e:
        bx = Box(2.0, 11.5, 89.0, 8.5)
        draw_box(ax, bx, e2e.get("title"), _lines(e2e.get("lines", []), d), face=E2E_FACE,
                 edge="#2e7d32", title_size=10, line_size=10.5)

    # ---- cluster panel ----------------------------------------------------------------------
    cl = layout_get(lay, "cluster", {})
    if cl:
        _cluster_panel(ax, d, cl, Box(94.5, 11.5, 33.5, 54.5))

    draw_footer(fig, d)
    return fig


def _cluster_panel(ax: Any, d: ResolvedDiagram, cl: Mapping[str, Any], panel: Box) -> None:
    draw_box(ax, panel, None, (), face=PANEL_FACE, edge="#607d8b")
    x, w = panel.x + 1.2, panel.w - 2.4
    y = panel.top - 1.0
    draw_label(ax, panel.cx, y - 0.8, cl.get("title", "Cluster"), size=10, bold=True, boxed=False)
    y -= 3.6
    # members as circles: the leader first (blue), then followers
    n = d.value("nodes")
    if isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 15:
        r = min(1.6, w / (2.6 * n))
        xs = [x + w * (i + 0.5) / n for i in range(n)]
        for i, cx in enumerate(xs):
            ax.add_patch(Circle((cx, y - r), r, facecolor=LEADER_COLOR if i == 0 else FOLLOWER_COLOR,
                                edgecolor="white", zorder=3))
        draw_label(ax, xs[0], y - 2 * r - 1.0, "leader", size=7, boxed=False, color=LEADER_COLOR)
        draw_label(ax, (xs[1] + xs[-1]) / 2 if n > 1 else xs[0], y - 2 * r - 1.0, "followers", size=7,
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
        draw_label(ax, x, y, "Leader election", size=9, bold=True, ha="left", va="top", boxed=False)
        y -= 1.9
        for t in elec:
            text, grey = fill(t, d)
            cited = "(cited)" in text
            k = draw_label(ax, x, y, text, grey, size=7.8, ha="left", va="top", width_units=w, boxed=False,
                           color="#6d4c41" if cited else None)
            y -= k * 1.4 + 0.5
    mark_overflow(ax, panel, y)
