"""Box-and-arrow drawing shared by the architecture, side-by-side and decision-tree renderers.

Pure matplotlib, no graph-layout dependency: the diagrams are small and their layout is
part of the design, so it is computed here deterministically (same input -> same
coordinates -> byte-identical SVG). Two halves, as in Jepsen's perf code:

* pure layout functions (no matplotlib): ``Box``, ``anchor``, ``row_layout``,
  ``tree_layout``, ``wrap_text``, ``fill`` -- tested with exact coordinates;
* drawing functions: ``box_canvas`` / ``canvas`` (make the axes), and taking an ``Axes``:
  ``draw_box``, ``draw_arrow``, ``draw_label``, ``draw_claims``, ``mark_overflow``.

Coordinates: ``canvas`` turns the whole figure into one axes whose data units are
tenths of an inch (a 13 x 8 in figure is 130 x 80 units, origin bottom left), so font
sizes and box sizes can be reasoned about together: a 9 pt line is about 1.25 units tall
and a 9 pt character about 0.7 units wide (DejaVu Sans averages ~0.55 em).

Placeholders: layout texts in specs say ``"p99 {put_p99}"``; ``fill`` replaces each
``{key}`` with ``d.text(key)`` (which is "not measured" for an unresolved binding) and
reports whether any of them was not measured, so the renderer can grey that text.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from diagram_gen import claims
from diagram_gen.model import NOT_MEASURED, Cited, Measured, NotMeasured, ResolvedDiagram, format_figure
from diagram_gen.render.common import CITED_COLOR, NOT_MEASURED_COLOR, new_figure
from diagram_gen.spec import PLACEHOLDER_RE

#: data units per inch on a ``canvas``
UNITS_PER_INCH = 10.0
#: average glyph width of DejaVu Sans as a fraction of the font size (em)
CHAR_EM = 0.56
#: line height as a fraction of the font size
LINE_EM = 1.3

#: units that are labels of a count, not units worth printing ("0 count" reads as "0")
UNITLESS = ("count", "bool", "verdict")

# ---------------------------------------------------------------------------------------
# pure layout
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in canvas units; (x, y) is the lower-left corner."""
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


def anchor(box: Box, side: str) -> tuple[float, float]:
    """The midpoint of one side of ``box``: "left", "right", "top", "bottom" (or "center")."""
    if side == "left":
        return (box.x, box.cy)
    if side == "right":
        return (box.right, box.cy)
    if side == "top":
        return (box.cx, box.top)
    if side == "bottom":
        return (box.cx, box.y)
    if side == "center":
        return (box.cx, box.cy)
    raise ValueError(f"unknown side {side!r}")


def facing_sides(a: Box, b: Box) -> tuple[str, str]:
    """Which sides of ``a`` and ``b`` an arrow a -> b should leave and enter: horizontal when
    the boxes do not overlap horizontally, else vertical."""
    if a.right <= b.x:
        return ("right", "left")
    if b.right <= a.x:
        return ("left", "right")
    return ("bottom", "top") if a.cy > b.cy else ("top", "bottom")


def row_layout(n: int, x0: float, x1: float, y: float, h: float, gap: float) -> list[Box]:
    """``n`` equal boxes side by side filling [x0, x1] with ``gap`` between neighbours."""
    if n <= 0:
        return []
    w = (x1 - x0 - gap * (n - 1)) / n
    return [Box(x0 + i * (w + gap), y, w, h) for i in range(n)]


def column_layout(n: int, x: float, w: float, y_top: float, y_bottom: float, gap: float) -> list[Box]:
    """``n`` equal boxes stacked top to bottom filling [y_bottom, y_top]."""
    if n <= 0:
        return []
    h = (y_top - y_bottom - gap * (n - 1)) / n
    return [Box(x, y_top - (i + 1) * h - i * gap, w, h) for i in range(n)]


@dataclass(frozen=True)
class TreeNode:
    """One node of a decision tree: an id, its children (in drawing order) and the label of
    the edge from its parent."""
    id: str
    children: tuple["TreeNode", ...] = ()
    edge: str | None = None


def tree_layout(root: TreeNode, x0: float, x1: float, y_top: float, level_h: float) -> dict[str, tuple[float, float]]:
    """Centre of every node: leaves get equal slots across [x0, x1] in depth-first order,
    a parent sits centred above its first and last child, depth d at ``y_top - d*level_h``."""
    leaves: list[str] = []

    def collect(n: TreeNode) -> None:
        if not n.children:
            leaves.append(n.id)
        for c in n.children:
            collect(c)

    collect(root)
    slot = (x1 - x0) / len(leaves)
    leaf_x = {lid: x0 + slot * (i + 0.5) for i, lid in enumerate(leaves)}
    out: dict[str, tuple[float, float]] = {}

    def place(n: TreeNode, depth: int) -> float:
        if n.children:
            xs = [place(c, depth + 1) for c in n.children]
            x = (xs[0] + xs[-1]) / 2
        else:
            x = leaf_x[n.id]
        if n.id in out:
            raise ValueError(f"duplicate tree node id {n.id!r}")
        out[n.id] = (x, y_top - depth * level_h)
        return x

    place(root, 0)
    return out


def chars_per_line(width_units: float, fontsize: float) -> int:
    """How many average characters of ``fontsize`` fit in ``width_units`` canvas units."""
    char_units = fontsize / 72.0 * CHAR_EM * UNITS_PER_INCH
    return max(1, int(width_units / char_units + 1e-9))


def line_height(fontsize: float) -> float:
    """Canvas units per text line of ``fontsize``."""
    return fontsize / 72.0 * LINE_EM * UNITS_PER_INCH


def wrap_text(text: str, width_chars: int) -> list[str]:
    """Deterministic word wrap; explicit newlines are kept."""
    out: list[str] = []
    for para in text.split("\n"):
        out.extend(textwrap.wrap(para, width_chars, break_long_words=False, break_on_hyphens=False) or [""])
    return out


def fill(template: str, d: ResolvedDiagram, digits: int = 3) -> tuple[str, bool]:
    """Substitute ``{key}`` with ``d.text(key)``; the flag says whether any was not measured.
    Placeholders are ``spec.PLACEHOLDER_RE``'s (the ones spec validation checks): a key inside
    ``{{...}}`` is not one, and the doubled braces are left as they are."""
    missing = False

    def sub(m: "re.Match[str]") -> str:
        nonlocal missing
        f = d.figure(m.group(1))
        if isinstance(f, NotMeasured) or _says_not_measured(f):
            missing = True
            return NOT_MEASURED
        return _figure_text(f, digits)

    return PLACEHOLDER_RE.sub(sub, template), missing


def placeholders(template: str) -> list[str]:
    """The figure keys a template refers to, in order."""
    return PLACEHOLDER_RE.findall(template)


def _says_not_measured(f: Any) -> bool:
    """A Measured whose value is a "not measured[: <why>]" string (the comparison table stores
    those for cells with no counterpart)."""
    return isinstance(f, Measured) and isinstance(f.value, str) and f.value.startswith(NOT_MEASURED)


def figure_text(d: ResolvedDiagram, key: str, digits: int = 3) -> str:
    """``d.text`` with booleans spelled yes/no and a "not measured: <why>" string value
    (as the comparison table stores for cells with no counterpart) shortened to "not measured"."""
    return _figure_text(d.figure(key), digits)


def _figure_text(f: Any, digits: int) -> str:
    """``figure_text`` of an already looked-up figure."""
    if isinstance(f, Measured):
        if isinstance(f.value, bool):
            return "yes" if f.value else "no"
        if _says_not_measured(f):
            return NOT_MEASURED
        if f.unit in UNITLESS:
            return format_figure(Measured(f.key, f.value, None, f.provenance, f.derived, f.qualifier), digits)
    return format_figure(f, digits)


def figure_status(d: ResolvedDiagram, key: str) -> str:
    """"measured", "cited" or "not measured" (a Measured whose value says "not measured: ..."
    counts as not measured)."""
    f = d.figure(key)
    if isinstance(f, Cited):
        return "cited"
    if isinstance(f, Measured) and not _says_not_measured(f):
        return "measured"
    return NOT_MEASURED


def figure_reason(d: ResolvedDiagram, key: str) -> str | None:
    """Why a figure is not measured, when the data says so (comparison cells do)."""
    f = d.figure(key)
    if isinstance(f, Measured) and isinstance(f.value, str) and f.value.startswith(NOT_MEASURED + ":"):
        return f.value[len(NOT_MEASURED) + 1:].strip()
    return None


# ---------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------
def box_canvas(d: ResolvedDiagram, purpose_y: float, purpose_size: float, margin: float) -> tuple[Figure, Axes, float]:
    """A titled figure with a 0..W x 0..80 drawing canvas and the spec's purpose under the title."""
    fig = new_figure(d)
    ax = canvas(fig)
    w = fig.get_size_inches()[0] * 10
    draw_label(ax, w / 2, purpose_y, d.spec.purpose.strip(), size=purpose_size, width_units=w - margin,
               style="italic", boxed=False)
    return fig, ax, w


def canvas(fig: Figure) -> Axes:
    """One axes covering the whole figure, data units = tenths of an inch, no frame."""
    w_in, h_in = fig.get_size_inches()
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, w_in * UNITS_PER_INCH)
    ax.set_ylim(0, h_in * UNITS_PER_INCH)
    ax.set_axis_off()
    return ax


def draw_box(ax: Axes, box: Box, title: str | None, lines: Sequence[tuple[str, bool]] = (), *,
             face: str = "#ffffff", edge: str = "#37474f", title_size: float = 10.0,
             line_size: float = 8.5, title_color: str = "#111111", pad: float = 0.8,
             align: str = "center", lw: float = 1.2, dashed: bool = False) -> float:
    """A rounded box with a bold title and wrapped body lines. ``lines`` are (text, greyed):
    greyed lines (a "not measured" figure) are drawn in the not-measured colour. Returns the
    y of the last line's baseline region (for callers stacking more text)."""
    ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h,
                                boxstyle="round,pad=0,rounding_size=0.8", facecolor=face,
                                edgecolor=edge, linewidth=lw, linestyle="--" if dashed else "-",
                                zorder=2))
    inner_w = box.w - 2 * pad
    x = box.cx if align == "center" else box.x + pad
    y = box.top - pad
    if title:
        for ln in wrap_text(title, chars_per_line(inner_w, title_size * 1.08)):
            ax.text(x, y, ln, ha=align, va="top", fontsize=title_size, fontweight="bold",
                    color=title_color, zorder=3)
            y -= line_height(title_size)
        y -= 0.3
    for text, greyed in lines:
        color = NOT_MEASURED_COLOR if greyed else "#212121"
        for ln in wrap_text(text, chars_per_line(inner_w, line_size)):
            ax.text(x, y, ln, ha=align, va="top", fontsize=line_size, color=color, zorder=3)
            y -= line_height(line_size)
    return y


def draw_arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *,
               color: str = "#37474f", lw: float = 1.4, rad: float = 0.0, style: str = "-|>",
               dashed: bool = False) -> None:
    """An arrow from ``start`` to ``end`` (canvas units), optionally curved (``rad``)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color,
                                 linewidth=lw, linestyle="--" if dashed else "-",
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0, zorder=1))


def draw_label(ax: Axes, x: float, y: float, text: str, greyed: bool = False, *, size: float = 8.0,
               ha: str = "center", va: str = "center", width_units: float | None = None,
               color: str | None = None, bold: bool = False, boxed: bool = True,
               style: str = "normal") -> int:
    """A (wrapped) label with a white background so it stays readable over arrows.
    Returns the number of lines drawn."""
    lines = wrap_text(text, chars_per_line(width_units, size)) if width_units else text.split("\n")
    col = NOT_MEASURED_COLOR if greyed else (color or "#212121")
    bbox = dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.92) if boxed else None
    ax.text(x, y, "\n".join(lines), ha=ha, va=va, fontsize=size, color=col, bbox=bbox, zorder=4,
            fontweight="bold" if bold else "normal", linespacing=1.25, fontstyle=style)
    return len(lines)


def mark_overflow(ax: Axes, panel: Box, y: float) -> None:
    """When text stacked down to ``y`` ran below ``panel``, say so in the panel rather than
    clip it silently."""
    if y < panel.y:
        ax.text(panel.cx, panel.y + 0.3, "(panel text overflows)", ha="center", fontsize=7, color=NOT_MEASURED_COLOR)


def status_color(status: str) -> str:
    """Text colour for a figure's status: measured black, cited brown, not measured grey."""
    return {"measured": "#212121", "cited": CITED_COLOR}.get(status, NOT_MEASURED_COLOR)


def layout_get(layout: Mapping[str, Any], key: str, default: Any) -> Any:
    """``layout[key]`` or ``default`` (specs may leave any layout key out)."""
    v = layout.get(key) if isinstance(layout, Mapping) else None
    return default if v is None else v


# ---------------------------------------------------------------------------------------
# claims (the spec's statements, checked against the measurement)
# ---------------------------------------------------------------------------------------
def claim_holds(value: Any, holds_if: Mapping[str, Any]) -> bool | None:
    """Whether a measured ``value`` satisfies ``holds_if`` (None: not comparable / not measured),
    decided by ``claims.decide`` (an unqualified value)."""
    if value is None or (isinstance(value, str) and value.startswith(NOT_MEASURED)):
        return None
    (op, arg), = holds_if.items()
    try:
        verdict, _ = claims.decide(value, None, op, arg)
    except (TypeError, KeyError):
        return None
    return {claims.HOLDS: True, claims.CONTRADICTED: False}.get(verdict)


#: width reserved for the claim badge (canvas units)
BADGE_W = 12.0
CLAIM_COLORS = {"confirmed": "#2e7d32", "corrected": "#e65100", "contradicted": "#c62828",
                claims.CITED: CITED_COLOR, NOT_MEASURED: NOT_MEASURED_COLOR}


def claim_badge(d: ResolvedDiagram, claim_id: str) -> tuple[str, claims.Verdict]:
    """(badge, verdict) for the claim with ``claim_id``: "confirmed" (asserted and the
    measurement agrees), "corrected" (the spec's statement, contradicted by the measurement),
    "contradicted" (an assertion or correction the data does not support: ``--check`` fails on
    it), "cited" (the spec's figure from other hardware, set beside this host's, not judged)
    or "not measured"."""
    claim = next((c for c in d.spec.claims if c.id == claim_id), None)
    if claim is None:
        raise KeyError(f"{d.spec.source_file}: layout names claim {claim_id!r} which claims: does not define")
    v = claims.evaluate(claim, d)
    if v.verdict in (claims.CITED, claims.NOT_MEASURED):
        return v.verdict, v
    if v.passes:
        return ("confirmed" if claim.status == "asserted" else "corrected"), v
    return "contradicted", v


def draw_claims(ax: Axes, d: ResolvedDiagram, entries: Sequence[Mapping[str, Any]], x: float, y: float,
                w: float, *, size: float = 8.0) -> float:
    """The claims panel: per entry a coloured badge (confirmed / corrected / cited / ...), what
    the spec said (a cited figure, ``spec:``) and the measurement (template, ``measured:``).
    A cited claim names both hosts, each in a small grey line under its figure: "spec: <its
    figure>" / "on its host: <as the spec describes it>", then "here: <measurement>" / "on this
    host: <cores, CPU, disk of the run>". Returns the y below the last entry."""
    text_w = chars_per_line(w - BADGE_W, size * 1.12)  # bold measured lines are wider

    def lines(text: str, *, color: str, fs: float = size, **style: Any) -> None:
        nonlocal y
        body = wrap_text(text, chars_per_line(w - BADGE_W, fs * 1.12))
        ax.text(x + BADGE_W, y, "\n".join(body), fontsize=fs, va="top", ha="left", color=color, linespacing=1.25,
                zorder=5, **style)
        y -= len(body) * line_height(fs) + 0.2

    for e in entries:
        badge, v = claim_badge(d, e["claim"])
        claim = v.claim
        col = CLAIM_COLORS[badge]
        ax.text(x, y, badge.upper(), fontsize=size - 0.5, fontweight="bold", color="white", va="top",
                ha="left", zorder=5, bbox=dict(boxstyle="round,pad=0.25", facecolor=col, edgecolor="none"))
        cited = claim.status == claims.CITED
        if cited:
            said = f"spec: {v.cited_text}"
        else:
            said = figure_text(d, e["spec"]) if e.get("spec") else claim.text
        if said.endswith(" (cited)"):
            said = said[: -len(" (cited)")]
        lines(said, color=CITED_COLOR if cited else "#424242", fontstyle="italic")
        if cited:
            lines(f"on its host: {v.spec_host}", color=NOT_MEASURED_COLOR, fs=size - 0.8)
        meas, grey = fill(e.get("measured", ""), d)
        mlines = wrap_text(f"here: {meas}" if cited else meas, text_w)
        ax.text(x + BADGE_W, y, "\n".join(mlines), fontsize=size, va="top", ha="left",
                color=NOT_MEASURED_COLOR if grey else "#111111", linespacing=1.25, zorder=5, fontweight="bold")
        y -= len(mlines) * line_height(size) + 0.2
        if cited:
            lines(f"on this host: {v.this_host or NOT_MEASURED}", color=NOT_MEASURED_COLOR, fs=size - 0.8)
        y -= 0.8
    return y
