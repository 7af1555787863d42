"""DECISION diagrams (type ``decision_tree``): a chain of questions (each "no" leads to the next)
whose "yes" branches end in answers, possibly through one follow-up question; the edges into
the answers carry measured trade-offs.

Drawn as a spine: the questions in one row left to right, "no" arrows between them, the
"yes" branch hanging below each question. Columns are as wide as the number of answers they
hold, so a follow-up question's two answers sit side by side.

Spec ``layout`` keys:

* ``start``: the entry text; ``answers``: ``{kind: {label, color}}``;
* ``chain``: ``[{id, question, if_yes: BRANCH}]`` where BRANCH is either an answer
  ``{answer: kind, edge?, reason?, examples?}`` or a follow-up
  ``{question, if_yes: ANSWER, if_no: ANSWER}`` (``yes``/``no`` are YAML booleans, hence
  ``if_yes``/``if_no``); every text may use ``{placeholders}``;
* ``notes``: templates drawn in the band at the top;
* ``aggregates``: derived figures, as in side_by_side (``side_by_side.derive_aggregates``).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure

from diagram_gen.render.boxes import (Box, TreeNode, anchor, box_canvas, chars_per_line, draw_arrow, draw_box,
                                      draw_label, fill, layout_get, line_height, wrap_text)
from diagram_gen.model import ResolvedDiagram
from diagram_gen.render.common import NOT_MEASURED_COLOR, draw_footer
from diagram_gen.render.side_by_side import derive_aggregates

Q_FACE = "#fffde7"
Q_EDGE = "#f9a825"


def branch_leaves(branch: Mapping[str, Any] | None) -> int:
    """How many answers a yes-branch ends in (1 for an answer, 2 for a follow-up question)."""
    if not branch:
        return 0
    if "answer" in branch:
        return 1
    return branch_leaves(branch.get("if_yes")) + branch_leaves(branch.get("if_no"))


def chain_tree(chain: Sequence[Mapping[str, Any]]) -> TreeNode:
    """The chain as a TreeNode (the shape the spec's YAML describes): question -> yes branch,
    no -> next question. Used for validation and tests; the drawing uses ``column_spans``."""
    def branch(b: Mapping[str, Any], bid: str) -> TreeNode:
        if "answer" in b:
            return TreeNode(bid)
        kids = tuple(branch(b[k], f"{bid}.{k}") for k in ("if_yes", "if_no") if b.get(k))
        return TreeNode(bid, kids)

    node: TreeNode | None = None
    for q in reversed(list(chain)):
        kids = [branch(q["if_yes"], f"{q['id']}.if_yes")] if q.get("if_yes") else []
        if node is not None:
            kids.append(node)
        node = TreeNode(q["id"], tuple(kids))
    if node is None:
        raise ValueError("empty decision chain")
    return node


def column_spans(chain: Sequence[Mapping[str, Any]], x0: float, x1: float, gap: float) -> list[tuple[float, float]]:
    """(x, width) of each question's column: widths proportional to its answers, ``gap``
    between columns."""
    weights = [max(1, branch_leaves(q.get("if_yes"))) for q in chain]
    unit = (x1 - x0 - gap * (len(chain) - 1)) / sum(weights)
    out, x = [], x0
    for w in weights:
        out.append((x, unit * w))
        x += unit * w + gap
    return out


def _answer_box(ax: Any, d: ResolvedDiagram, ans: Mapping[str, Any], kinds: Mapping[str, Any], box: Box) -> None:
    kind = kinds.get(ans.get("answer"), {"label": str(ans.get("answer", "?")).upper(), "color": "#455a64"})
    color = kind.get("color", "#455a64")
    draw_box(ax, box, None, (), face="#ffffff", edge=color, lw=1.6)
    # coloured header band with the verdict
    hb = Box(box.x, box.top - 3.0, box.w, 3.0)
    draw_box(ax, hb, None, (), face=color, edge=color, lw=1.0)
    label = kind.get("label", "")
    size = 8.6
    while size > 6.0 and len(label) > chars_per_line(box.w - 1.0, size * 1.12):
        size -= 0.4
    ax.text(hb.cx, hb.cy, label, ha="center", va="center", fontsize=size, fontweight="bold",
            color="white", zorder=4)
    y = hb.y - 0.8
    inner = box.w - 1.6
    reason = ans.get("reason")
    if reason:
        text, grey = fill(reason, d)
        lines = wrap_text(text, chars_per_line(inner, 7.8 * 1.04))
        ax.text(box.x + 0.8, y, "\n".join(lines), ha="left", va="top", fontsize=7.8, fontstyle="italic",
                color=NOT_MEASURED_COLOR if grey else "#37474f", linespacing=1.2, zorder=4)
        y -= len(lines) * line_height(7.8) * 0.95 + 0.6
    for ex in ans.get("examples", []):
        text, grey = fill(ex, d)
        cited = text.endswith("(cited)")
        lines = wrap_text("• " + text, chars_per_line(inner, 7.6))
        ax.text(box.x + 0.8, y, "\n".join(lines), ha="left", va="top", fontsize=7.6, linespacing=1.2,
                color=NOT_MEASURED_COLOR if grey else ("#6d4c41" if cited else "#212121"), zorder=4)
        y -= len(lines) * line_height(7.6) * 0.95 + 0.35
    if y < box.y:
        ax.text(box.cx, box.y + 0.3, "(text overflows)", ha="center", fontsize=6.5, color=NOT_MEASURED_COLOR)


def _edge(ax: Any, d: ResolvedDiagram, start: tuple[float, float], end: tuple[float, float], word: str,
          template: str | None, width: float, at: float = 0.5, label_x: float | None = None) -> None:
    """An arrow with its word (yes/no) and, when given, the measured trade-off label placed
    ``at`` (0..1) along it."""
    draw_arrow(ax, start, end, color="#546e7a", lw=1.3)
    mx, my = start[0] + (end[0] - start[0]) * at, start[1] + (end[1] - start[1]) * at
    if label_x is not None:
        mx = label_x
    if template:
        text, grey = fill(template, d)
        lines = wrap_text(text, chars_per_line(width, 7.2 * 1.05))
        ax.text(mx, my - 0.2, "\n".join(lines), ha="center", va="center", fontsize=7.2, linespacing=1.15,
                color=NOT_MEASURED_COLOR if grey else "#0d47a1", zorder=5, fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.25", facecolor="#e3f2fd", edgecolor="#90caf9", lw=0.6))
        dx = end[0] - start[0]
        wx, wy = start[0] + dx * 0.18, start[1] + (end[1] - start[1]) * 0.18
        ax.text(wx + (0.6 if dx >= 0 else -0.6), wy, word, ha="right" if dx < 0 else "left", va="center",
                fontsize=7.5, color="#2e7d32" if word == "yes" else "#c62828", fontweight="bold", zorder=5)
    else:
        draw_label(ax, mx, my, word, size=7.5, color="#2e7d32" if word == "yes" else "#c62828", bold=True)


def render(d: ResolvedDiagram) -> Figure:
    lay: Mapping[str, Any] = d.spec.layout or {}
    derive_aggregates(d, layout_get(lay, "aggregates", []))
    fig, ax, W = box_canvas(d, 75.2, 9.5, 10)
    chain = list(layout_get(lay, "chain", []))
    kinds = layout_get(lay, "answers", {})
    if not chain:
        draw_footer(fig, d)
        return fig
    chain_tree(chain)  # validates the shape (duplicate ids raise)

    # top band: start + notes
    start = Box(1.5, 65.8, 19.0, 5.4)
    draw_box(ax, start, None, (), face="#263238", edge="#263238")
    ax.text(start.cx, start.cy, fill(layout_get(lay, "start", "Start"), d)[0], ha="center", va="center",
            fontsize=9.5, fontweight="bold", color="white", zorder=4)
    ny = 71.6
    for t in layout_get(lay, "notes", []):
        text, grey = fill(t, d)
        lines = wrap_text(text, chars_per_line(W - 26.0, 7.8))
        ax.text(24.0, ny, "\n".join(lines), ha="left", va="top", fontsize=7.8, linespacing=1.2,
                color=NOT_MEASURED_COLOR if grey else ("#6d4c41" if "(cited)" in text else "#37474f"))
        ny -= len(lines) * line_height(7.8) + 0.3

    spans = column_spans(chain, 1.5, W - 1.5, 1.6)
    q_top, q_h = 62.5, 5.5
    qboxes = [Box(x, q_top - q_h, w, q_h) for x, w in spans]
    draw_arrow(ax, anchor(start, "bottom"), (qboxes[0].cx, qboxes[0].top), color="#263238")
    for i, (q, qb) in enumerate(zip(chain, qboxes)):
        draw_box(ax, qb, None, (), face=Q_FACE, edge=Q_EDGE)
        qt, grey = fill(q.get("question", ""), d)
        lines = wrap_text(qt, chars_per_line(qb.w - 1.2, 9 * 1.08))
        ax.text(qb.cx, qb.cy, "\n".join(lines), ha="center", va="center", fontsize=9, fontweight="bold",
                linespacing=1.15, zorder=4, color=NOT_MEASURED_COLOR if grey else "#3e2723")
        if i + 1 < len(qboxes):
            nb = qboxes[i + 1]
            draw_arrow(ax, anchor(qb, "right"), anchor(nb, "left"), color="#9e9e9e", lw=1.1)
            ax.text((qb.right + nb.x) / 2, qb.top + 0.3, "no", ha="center", va="bottom", fontsize=7.2,
                    color="#c62828", fontweight="bold")
        br = q.get("if_yes")
        if not br:
            continue
        ans_bottom = 9.0
        if "answer" in br:
            ab = Box(qb.x, ans_bottom, qb.w, 41.0 - ans_bottom)
            _edge(ax, d, anchor(qb, "bottom"), anchor(ab, "top"), "yes", br.get("edge"), qb.w - 1.0)
            _answer_box(ax, d, br, kinds, ab)
        else:
            fq = Box(qb.x + qb.w * 0.12, 46.0, qb.w * 0.76, 4.6)
            _edge(ax, d, anchor(qb, "bottom"), anchor(fq, "top"), "yes", None, qb.w)
            draw_box(ax, fq, None, (), face=Q_FACE, edge=Q_EDGE)
            ft, grey = fill(br.get("question", ""), d)
            ax.text(fq.cx, fq.cy, "\n".join(wrap_text(ft, chars_per_line(fq.w - 1, 8.5 * 1.08))), ha="center",
                    va="center", fontsize=8.5, fontweight="bold", zorder=4,
                    color=NOT_MEASURED_COLOR if grey else "#3e2723")
            subs = [(k, br[k]) for k in ("if_yes", "if_no") if br.get(k)]
            sw = (qb.w - 1.2 * (len(subs) - 1)) / len(subs)
            for j, (k, ans) in enumerate(subs):
                ab = Box(qb.x + j * (sw + 1.2), ans_bottom, sw, 31.0 - ans_bottom)
                _edge(ax, d, anchor(fq, "bottom"), anchor(ab, "top"), "yes" if k == "if_yes" else "no",
                      ans.get("edge"), sw - 0.6, at=0.62, label_x=ab.cx)
                _answer_box(ax, d, ans, kinds, ab)
    draw_footer(fig, d)
    return fig
