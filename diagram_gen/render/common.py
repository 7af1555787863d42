"""What every renderer shares: one figure style, one colour per outcome, the provenance
footer, and a deterministic save (same ResolvedDiagram -> byte-identical SVG and PNG).

Determinism: matplotlib writes a creation date into SVG/PNG metadata and random ids into
SVG unless told otherwise; ``save`` removes the date/software metadata and fixes
``svg.hashsalt``. Text stays text in the SVG (``svg.fonttype = none``), so the numbers a
diagram shows can be read back out of it and matched against its sidecar (tests do that).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from diagram_gen.model import ResolvedDiagram  # noqa: E402

#: One colour per operation outcome (Jepsen's perf graphs do the same: ok / fail / info).
OUTCOME_COLORS = {"ok": "#2e7d32", "fail": "#c62828", "info": "#f9a825"}
#: One colour per partition side.
SIDE_COLORS = {"minority": "#6a1b9a", "majority": "#1565c0", "none": "#607d8b"}
#: Fault windows are shaded with this colour (Jepsen's nemesis regions).
FAULT_SHADE = "#ffcdd2"
#: Visual marker for values that are cited, not measured, and for values not measured.
CITED_COLOR = "#6d4c41"
NOT_MEASURED_COLOR = "#9e9e9e"

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.labelsize": 9,
    "svg.fonttype": "none",
    "svg.hashsalt": "guarantees-bench",
    "path.simplify": False,
}

PNG_DPI = 110
#: footer characters per line (7 pt monospace across a 13 in figure)
FOOTER_CHARS = 218

# Applied once, at import: diagram_gen is the only matplotlib user in this process.
matplotlib.rcParams.update(STYLE)


def new_figure(d: ResolvedDiagram, width_in: float = 13.0, height_in: float = 8.0) -> Figure:
    """A figure with the diagram's title on top and room for the footer at the bottom."""
    fig = plt.figure(figsize=(width_in, height_in))
    fig.suptitle(d.spec.title, fontsize=14, fontweight="bold", y=0.985)
    return fig


def footer_text(d: ResolvedDiagram) -> str:
    """The footer as drawn: a line longer than the figure is wide (about 218 characters)
    wraps, indented."""
    lines = [textwrap.fill(t, FOOTER_CHARS, subsequent_indent="    ") for t in d.footer]
    return "\n".join(lines) if lines else "no run resolved: every figure is not measured"


def footer_height(d: ResolvedDiagram, fig_height_in: float) -> float:
    """The footer's height as a fraction of the figure (7 pt lines, 1.2 line spacing), so a
    layout can keep its axes and their labels above it however many runs it names."""
    return (footer_text(d).count("\n") + 1) * 7 * 1.2 / 72 / fig_height_in + 0.005


def draw_footer(fig: Figure, d: ResolvedDiagram) -> None:
    """Provenance lines at the bottom: runs, dates, hardware (from ResolvedDiagram.footer)."""
    text = footer_text(d)
    fig.text(0.01, 0.005, text, fontsize=7, color="#424242", va="bottom", ha="left", family="DejaVu Sans Mono")


def save(fig: Figure, svg_path: Path, png_path: Path) -> None:
    """Write SVG and PNG without timestamps or random ids, so regeneration is byte-identical."""
    svg_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(svg_path, format="svg", metadata={"Date": None, "Creator": None})
    fig.savefig(png_path, format="png", dpi=PNG_DPI, metadata={"Software": None})
    plt.close(fig)
