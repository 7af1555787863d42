"""Timeline renderer (the CONCEPT diagram): client operations as bars from invocation to
completion, one lane per client process, linearization points, and the violation.

Reads (spec keys):
- series ``ops`` (history rows of a scenario) and ``nemesis`` (its fault records); optional
  ``members`` (member polls: a lane's node is labelled leader or follower as polled when the
  stale read was invoked, where the node is on no partition side);
- figures ``fault_at`` and ``heal_started`` (the partition window in which the stale read is
  looked for; only for a rule that ``needs_fault``) and whatever the layout's texts name;
- ``layout``: ``window_rule`` (the name of the rule that chooses the window, one of
  ``history_views.WINDOW_RULES``), ``x_label``, ``subtitle``,
  ``callouts.{write,lin_read,stale,unserved,gap}``, ``witness_note``, ``read_labels``
  (what a read's bar says per level class, e.g. ``{weak: "get(s)"}``; default ``get``),
  ``weak_read_legend`` (the hatched bars' legend entry), ``boxes`` (``title`` + ``lines`` or
  ``from_spec: key_insight``), ``witness`` (``linearizable``, the default: linearization
  points of the writes and strong reads; ``sequential``: every op on the key in the window is
  numbered by its place in a sequential order (``history_views.sequential_register``), and
  the window's ops are judged both ways: derived ``window_ops_checked``,
  ``window_linearizable``, ``window_sequential``, ``sequential_order``; ``none``: no witness is
  searched or drawn), ``lane_sides`` (default true; false: lanes are neither grouped nor
  labelled by partition side, for a system whose clients' node is not the node that serves
  them), ``fault_marks`` (true: a dotted line at each nemesis record in the window, labelled
  with its ``f``), ``lag_summary`` (a read class, e.g. ``weak``: every ok load read of that
  class judged by ``history_views.lag_summary``: derived ``lag_reads``, ``lag_stale``,
  ``lag_max_versions``, ``lag_max_behind``). A window holding final reads (issued after the
  load) labels their lanes ``final read`` and derives ``final_values`` (each node's value).
  The renderer names no system and no level: the spec's texts do.

Everything shown is chosen by ``diagram_gen.shaping.history_views`` (window, lanes,
linearization witness); every number printed is a figure or a ``d.derive`` of the series.
Missing data (a NotMeasured series or figure, no qualifying read) draws "not measured" in
the timeline's place and leaves the text boxes to print "not measured" per value.
"""
from __future__ import annotations

import math
import re
import textwrap
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

from diagram_gen.model import NOT_MEASURED, NotMeasured, ResolvedDiagram
from diagram_gen.render.common import (NOT_MEASURED_COLOR, OUTCOME_COLORS, SIDE_COLORS, draw_footer,
                                       new_figure)
from diagram_gen.shaping import history_views as hv
from diagram_gen.spec import PLACEHOLDER_RE

DEFAULT_LAYOUT: dict[str, Any] = {
    "x_label": "ms after {write_label} was acknowledged (t = 0)",
    "subtitle": "key {window_key}, a window of {window_span}",
    "callouts": {
        "write": "{write_label} acknowledged on the majority ({write_node})",
        "lin_read": "strong read on the majority ({lin_read_node}) returns {lin_read_value}",
        "stale": "weak read on the minority ({stale_node}) invoked {stale_gap} after the "
                 "acknowledgement returned {stale_value}, {stale_versions} writes behind",
        "unserved": "strong reads are not served (info)",
        "gap": "{stale_gap}",
    },
    "witness_note": "◆ linearization points of the {witness_ops} writes and strong reads on {window_key}; "
                    "with the stale read added: {witness_with_stale}",
    "read_labels": {},
    "weak_read_legend": "weak read",
    "boxes": [],
}


def fill(template: str, d: ResolvedDiagram) -> str:
    """Substitute ``{key}`` with ``d.text(key)`` ("not measured" for anything missing)."""
    def sub(m: re.Match[str]) -> str:
        try:
            return d.text(m.group(1))
        except KeyError:
            return NOT_MEASURED
    return PLACEHOLDER_RE.sub(sub, template).replace("{{", "{").replace("}}", "}")


def _layout(d: ResolvedDiagram, key: str) -> Any:
    v = d.spec.layout.get(key)
    return DEFAULT_LAYOUT.get(key) if v is None else v


def _callout(d: ResolvedDiagram, name: str) -> str:
    c = dict(DEFAULT_LAYOUT["callouts"])
    c.update(d.spec.layout.get("callouts") or {})
    return fill(str(c.get(name, "")), d)


def short_token(v: Any) -> str:
    return "absent" if v is None else str(v)


def op_label(r: Mapping[str, Any], key: Any, read_labels: Mapping[str, str] | None = None) -> str:
    """What a bar says: ``put 10001:74``, ``cas 8:50→8:57``, ``get → 2:63`` (a read's word
    from ``read_labels`` by its level class, e.g. ``get(s)`` for weak; default ``get``),
    with the key when it is not the window's key."""
    f, t = r.get("f"), r.get("type")
    other = "" if r.get("key") == key else f" {r.get('key')}"
    if f == "put":
        s = f"put{other} {r.get('value')}"
    elif f == "cas":
        exp, new = r.get("value") or (None, None)
        s = f"cas{other} {short_token(exp)}→{short_token(new)}"
    elif f == "get":
        g = str((read_labels or {}).get(str(r.get("level_class")), "get"))
        s = f"{g}{other}" + (f" → {short_token(r.get('result'))}" if t == "ok" else "")
    else:
        s = f"{f}{other}"
    if t == "info":
        s += f" ({r.get('error') or 'info'})"
    elif t == "fail":
        s += f" ({r.get('error') or 'fail'})"
    return s


def _derive_window(d: ResolvedDiagram, w: hv.ConceptWindow, lanes: Sequence[tuple[Any, str, str]],
                   with_stale: list[hv.LinPoint] | None, n_witness_ops: int | None, fault_s: float | None,
                   searched: bool = True) -> None:
    """Record the window's figures; ``n_witness_ops`` None: the witness search was not run
    (too many ops), so witness_ops is not measured; ``searched`` false (``witness: none``):
    no witness figure at all. ``fault_s`` None: the rule looks at no
    fault, so ``t0_after_fault`` is not derived (``t0_after_load`` always is)."""
    s = ("ops", "nemesis") if "nemesis" in d.series else "ops"
    t0 = float(w.write["complete_s"])
    d.derive("window_key", str(w.key), None, series="ops", how="key of the window the rule "
             f"{_layout(d, 'window_rule')} chose (history_views.WINDOW_RULES)")
    d.derive("window_span", round((w.t1 - w.t0) * 1e3, 3), "ms", series=s, how="window end - start (concept_window)")
    if fault_s is not None:
        d.derive("t0_after_fault", round(t0 - fault_s, 6), "s", series="ops",
                 how="acknowledgement (complete_s) of the write the stale read missed - figure fault_at")
    d.derive("t0_after_load", round(t0, 6), "s", series="ops",
             how="acknowledgement (complete_s) of the write the stale read missed, after the load start")
    d.derive("write_label", op_label(w.write, w.key, _read_labels(d)), None, series="ops",
             how="the newest missed write" + (" with a majority strong read of its value" if w.lin_read else ""))
    d.derive("write_node", f"{w.write.get('node')}", None, series="ops", how="node of that write's client")
    if w.lin_read is not None:  # a rule without a confirming read: the spec names neither key
        d.derive("lin_read_node", f"{w.lin_read.get('node')}", None, series="ops", how="node of the strong read")
        d.derive("lin_read_value", short_token(w.lin_read.get("result")), None, series="ops",
                 how="value the strong read returned")
    d.derive("stale_node", f"{w.stale_read.get('node')}", None, series=s, how="node of the stale read" + (
        " (minority side from the nemesis groups)" if fault_s is not None else ""))
    d.derive("stale_value", short_token(w.stale_read.get("result")), None, series="ops",
             how="value the stale read returned")
    d.derive("returned_label", op_label(w.returned_write, w.key, _read_labels(d)) if w.returned_write else "absent",
             None, series="ops", how="the write of the value the stale read returned (absent: the initial value)")
    d.derive("stale_gap", round((float(w.stale_read["invoke_s"]) - t0) * 1e3, 3), "ms", series="ops",
             how="stale read invoke_s - that write's complete_s")
    d.derive("stale_versions", len(w.missed), None, series="ops",
             how="acknowledged writes the stale read missed (stale-reads rule, history_views.missed_writes)")
    oldest = min(float(x["complete_s"]) for x in w.missed)
    d.derive("stale_superseded", round((float(w.stale_read["invoke_s"]) - oldest) * 1e3, 3), "ms", series="ops",
             how="stale read invoke_s - complete_s of the oldest missed write")
    if searched:
        if n_witness_ops is None:
            d.figures["witness_ops"] = NotMeasured("witness_ops", "too many ops for the exhaustive search", {})
        else:
            d.derive("witness_ops", n_witness_ops, None, series="ops",
                     how="ok/info writes and strong reads on the key overlapping the window, fed to "
                     "linearize_register")
        d.derive("witness_with_stale", "a witness exists" if with_stale is not None else
                 "none exists (not linearizable)", None, series="ops",
                 how="linearize_register over the same ops plus the stale weak read")
    finals = sorted((o for o in w.ops if hv.is_final(o)), key=lambda o: (str(o.get("node")), o["invoke_s"]))
    if finals:
        d.derive("final_values", ", ".join(f"{o.get('node')} {short_token(o.get('result'))}" for o in finals), None,
                 series="ops", how="each final read in the window (extra.final): its node and the value it returned")
    d.derive("ops_drawn", len(w.ops), None, series="ops", how="ops drawn (history_views.window_ops)")
    d.derive("lanes_drawn", len(lanes), None, series="ops", how="client processes drawn (history_views.lanes)")


def _no_data(ax: Any, reason: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_color(NOT_MEASURED_COLOR)
    ax.text(0.5, 0.5, f"{NOT_MEASURED}\n{reason}", transform=ax.transAxes, ha="center", va="center",
            color=NOT_MEASURED_COLOR, fontsize=12, wrap=True)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(p, width) for p in text.split("\n"))


def _bound_value(d: ResolvedDiagram, key: str) -> Any:
    """The measured value of a figure the spec may leave unbound (None then, as when not measured)."""
    return d.value(key) if key in d.figures else None


def render(d: ResolvedDiagram) -> Figure:
    fig = new_figure(d)
    ax = fig.add_axes((0.215, 0.315, 0.765, 0.565))
    ops = d.rows("ops")
    nem = d.rows("nemesis") if "nemesis" in d.series else ()
    fault, heal = _bound_value(d, "fault_at"), _bound_value(d, "heal_started")
    rule = hv.WINDOW_RULES[str(_layout(d, "window_rule"))]  # spec.py checked the name
    reason = None
    w = None
    sides: dict[str, str] = {}
    if not ops:
        reason = "the operation history (series ops) is not measured"
    elif rule.needs_fault and not nem:
        reason = "the nemesis record (series nemesis) is not measured"
    elif rule.needs_fault and (not isinstance(fault, (int, float)) or not isinstance(heal, (int, float))):
        reason = "the partition window (figures fault_at, heal_started) is not measured"
    else:
        sides = hv.node_sides(nem)
        if not rule.needs_fault:
            fault = heal = None
        w = rule.pick(ops, sides, None if fault is None else float(fault), None if heal is None else float(heal))
        if w is None:
            reason = rule.miss
    if _layout(d, "lag_summary"):  # before any text is filled: callouts and boxes may name them
        _derive_lags(d, str(_layout(d, "lag_summary")), ops)
    if w is None:
        _no_data(ax, reason or "")
        fig.text(0.5, 0.925, "no window", ha="center", fontsize=9, color=NOT_MEASURED_COLOR)
    else:
        roles = hv.roles_at(d.rows("members"), float(w.stale_read["invoke_s"])) if "members" in d.series else {}
        drawn_sides = sides if _layout(d, "lane_sides") is not False else {}
        _draw_window(fig, ax, d, w, drawn_sides, None if fault is None else float(fault), roles, nem)
    _draw_boxes(fig, d)
    draw_footer(fig, d)
    return fig


def _derive_lags(d: ResolvedDiagram, level_class: str, ops: Sequence[Mapping[str, Any]]) -> None:
    """``layout.lag_summary``: the whole history's reads of one class judged by lag."""
    cls = {"strong": hv.STRONG_READ, "session": hv.SESSION_READ, "weak": hv.WEAK_READ}.get(level_class)
    s = hv.lag_summary(ops, cls) if cls is not None and ops else None
    how = (f"history_views.lag_summary: every ok load read of level class {level_class}, "
           "lag = acknowledged writes it missed (versions) and invoke_s - ack of the oldest missed (time)")
    d.derive("lag_reads", None if s is None else s.reads, None, series="ops", how=f"reads judged; {how}")
    d.derive("lag_stale", None if s is None else s.stale, None, series="ops",
             how=f"reads at least one version behind; {how}")
    d.derive("lag_max_versions", None if s is None else s.max_versions, None, series="ops",
             how=f"largest versions behind; {how}")
    d.derive("lag_max_behind", None if s is None else round(s.max_behind_s * 1e3, 6), "ms", series="ops",
             how=f"largest time behind; {how}")


BAND_IN = 0.78  # inches of room above the first lane for the callouts
LABEL_PT = 6.6


def _sequential_witness(d: ResolvedDiagram, w: hv.ConceptWindow) -> dict[int, int]:
    """Judge every op on the window's key both ways (``witness: sequential``), record the
    verdicts, and return each op's place (1..) in the sequential order found (by id)."""
    all_ops = [o for o in w.ops if o.get("key") == w.key]
    try:
        lin = hv.linearize_register(all_ops)
        seq = hv.sequential_register(all_ops)
    except ValueError:
        for k in ("window_ops_checked", "window_linearizable", "window_sequential", "sequential_order"):
            d.figures[k] = NotMeasured(k, "too many ops for the exhaustive search", {})
        return {}
    how = "every op on the key overlapping the window"
    d.derive("window_ops_checked", len(all_ops), None, series="ops", how=how)
    d.derive("window_linearizable", "a linearization exists" if lin is not None else "no order respects real time",
             None, series="ops", how=f"history_views.linearize_register over {how}")
    d.derive("window_sequential", "a sequential order exists" if seq is not None else "none exists", None,
             series="ops", how=f"history_views.sequential_register over {how} (program order, not real time)")
    labels = _read_labels(d)
    d.derive("sequential_order", " → ".join(f"{k}. {op_label(o, w.key, labels)}" for k, (o, _) in enumerate(seq, 1))
             if seq else None, None, series="ops", how="the order sequential_register found, as drawn")
    return {id(o): k for k, (o, _) in enumerate(seq or [], 1)}


def _draw_window(fig: Figure, ax: Any, d: ResolvedDiagram, w: hv.ConceptWindow, sides: Mapping[str, str],
                 fault_s: float | None, roles: Mapping[str, str], nemesis: Sequence[Mapping[str, Any]] = ()) -> None:
    lanes = hv.lanes(w.ops, sides)
    key_ops = [o for o in w.ops if o.get("key") == w.key and hv.op_class(o) in (hv.WRITE, hv.STRONG_READ)]
    no_witness = str(_layout(d, "witness") or "linearizable") == "none"
    witness = with_stale = None
    n_w: int | None = None
    if not no_witness:
        try:
            witness = hv.linearize_register(key_ops)
            with_stale = hv.linearize_register(key_ops + [w.stale_read])
            n_w = len(key_ops)
        except ValueError:
            witness = with_stale = None
    _derive_window(d, w, lanes, with_stale, n_w, fault_s, searched=not no_witness)
    sequential = str(_layout(d, "witness") or "linearizable") == "sequential"
    seq_place = _sequential_witness(d, w) if sequential else {}
    t_ack = float(w.write["complete_s"])
    x = lambda t: (t - t_ack) * 1e3  # noqa: E731
    lo, hi = x(w.t0), x(w.t1)
    ax.set_xlim(lo, hi)
    n = len(lanes)
    ax_h = ax.get_position().height * fig.get_figheight()
    band = max(1.0, n * BAND_IN / (ax_h - BAND_IN))  # callout room: a fixed height in inches
    ax.set_ylim(n - 0.45, -0.5 - band)
    lane_y = {p: i for i, (p, _, _) in enumerate(lanes)}
    for i, (p, node, side) in enumerate(lanes):
        ax.axhspan(i - 0.5, i + 0.5, color=SIDE_COLORS.get(side, SIDE_COLORS["none"]), alpha=0.06 if i % 2 else 0.11,
                   lw=0)
    ax.set_yticks(range(n))
    final_lanes = {o["process"] for o in w.ops if hv.is_final(o)}
    ax.set_yticklabels([(f"final read · {node}" if p in final_lanes else f"client {p} · {node}")
                        + (f" ({side})" if side != "none" else f" ({roles[node]})" if node in roles else "")
                        for p, node, side in lanes], fontsize=8)
    for lbl, (_, _, side) in zip(ax.get_yticklabels(), lanes):
        lbl.set_color(SIDE_COLORS.get(side, SIDE_COLORS["none"]))
    ax.axhline(-0.5, color="#9e9e9e", lw=0.8)
    for i in range(1, n):
        if lanes[i][2] != lanes[i - 1][2]:
            ax.axhline(i - 0.5, color="#424242", lw=1.2)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(fill(str(_layout(d, "x_label")), d))
    ax.grid(axis="x", color="#e0e0e0", lw=0.6)
    ax.set_axisbelow(True)
    fig.text(0.5, 0.935, _wrap(fill(str(_layout(d, "subtitle")), d), 150), ha="center", va="center", fontsize=9,
             color="#424242")
    ax.plot([0.0, 0.0], [-0.5, n - 0.45], color="#1565c0", lw=1.3, ls="--", zorder=1)
    if _layout(d, "fault_marks"):
        _fault_marks(ax, nemesis, x, lo, hi, n)
    special = {id(w.write): "write", id(w.stale_read): "stale"}
    if w.lin_read is not None:
        special[id(w.lin_read)] = "lin_read"
    points = {} if sequential else {id(p.op): p.point_s for p in (witness or [])}
    # data units per inch along x, to keep labels from running into each other
    bbox = ax.get_position()
    per_in = (hi - lo) / (bbox.width * fig.get_figwidth())
    char_w = LABEL_PT * 0.56 / 72 * per_in
    h = 0.56
    labels: list[tuple[int, float, int, str, float, float, bool]] = []
    for r in w.ops:
        y = lane_y[r["process"]]
        a = float(r["invoke_s"])
        c = r.get("complete_s")
        b = float(c) if c is not None else math.inf
        xa, xb = max(x(a), lo), min(x(b), hi) if math.isfinite(b) else hi
        col = OUTCOME_COLORS.get(str(r.get("type")), "#757575")
        ser = hv.op_class(r) == hv.WEAK_READ
        role = special.get(id(r))
        ec = "#b71c1c" if role == "stale" else "#0d47a1" if role in ("write", "lin_read") else "#212121"
        lw = 2.0 if role else 0.6
        alpha = 0.55 if ser else 0.6 if r.get("type") == "info" else 0.85
        ax.add_patch(Rectangle((xa, y - h / 2), max(xb - xa, 0.05), h, facecolor=col, alpha=alpha,
                               hatch="///" if ser else None, edgecolor=ec, lw=lw, zorder=3))
        for t, edge in ((a, xa), (b, xb)):
            if math.isfinite(t) and lo <= x(t) <= hi:
                ax.plot([edge, edge], [y - h / 2 - 0.06, y + h / 2 + 0.06], color="#212121", lw=0.9, zorder=4)
        if x(a) < lo:
            ax.annotate("", (lo, y), (lo + (hi - lo) * 0.025, y), arrowprops=dict(arrowstyle="->", lw=1.1), zorder=5)
        if not math.isfinite(b) or x(b) > hi:
            ax.annotate("", (hi, y), (hi - (hi - lo) * 0.025, y), arrowprops=dict(arrowstyle="->", lw=1.1), zorder=5)
        label = op_label(r, w.key, _read_labels(d))
        if r.get("type") == "info" and (x(a) < lo or x(b) > hi):
            label += (": runs past both ends of this window" if x(a) < lo and x(b) > hi else
                      ": started before this window" if x(a) < lo else ": ended after this window")
        prio = 0 if role else 1
        labels.append((prio, xa, y, label, xa, xb, bool(role)))
        if id(r) in points:
            ax.plot([x(points[id(r)])], [y], marker="D", ms=6.5, color="black", mec="white", mew=0.8, zorder=7)
        if id(r) in seq_place:
            ax.text(xa - (hi - lo) * 0.004, y, str(seq_place[id(r)]), ha="right", va="center", fontsize=8,
                    fontweight="bold", color="white", zorder=8,
                    bbox=dict(boxstyle="circle,pad=0.18", fc="#212121", ec="none"))
    _place_labels(ax, labels, char_w, lo, hi, h)
    _callouts(ax, d, w, lanes, lane_y, x, lo, hi, band)
    note = fill(str(_layout(d, "witness_note")), d)
    ax.text(0.0, 1.012, _wrap(note, 175), transform=ax.transAxes, fontsize=7.5, va="bottom", ha="left", color="#212121")
    _legend(fig, str(_layout(d, "weak_read_legend")), sequential,
            any(hv.op_class(o) == hv.WEAK_READ for o in w.ops), witness=not no_witness,
            faults=bool(_layout(d, "fault_marks")))


def _fault_marks(ax: Any, nemesis: Sequence[Mapping[str, Any]], x: Any, lo: float, hi: float, n: int) -> None:
    """A dotted line at each nemesis record in effect inside the window, its ``f`` at the foot."""
    for r in sorted(nemesis, key=lambda r: (float(r.get("in_effect_s") or r.get("at_s") or 0.0), str(r.get("f")))):
        t = r.get("in_effect_s", r.get("at_s"))
        if not isinstance(t, (int, float)) or not lo <= x(float(t)) <= hi:
            continue
        ax.plot([x(float(t))] * 2, [-0.5, n - 0.45], color="#6d4c41", lw=1.0, ls=":", zorder=2)
        ax.text(x(float(t)), n - 0.5, f" {r.get('f')}", rotation=90, ha="left", va="bottom", fontsize=7,
                color="#6d4c41", style="italic", zorder=6, bbox=dict(fc="white", ec="none", pad=0.4, alpha=0.8))


def _read_labels(d: ResolvedDiagram) -> Mapping[str, str]:
    return dict(_layout(d, "read_labels") or {})


def _place_labels(ax: Any, labels: list[tuple[int, float, int, str, float, float, bool]], char_w: float,
                  lo: float, hi: float, h: float) -> None:
    """Each bar's label goes inside the bar when it fits, else above it; a label that would
    overlap one already placed on the lane is dropped (the window's three ops go first)."""
    taken: dict[tuple[int, str], list[tuple[float, float]]] = {}
    pad = (hi - lo) * 0.004
    for prio, _, y, text, xa, xb, bold in sorted(labels, key=lambda t: (t[0], t[2], t[1], t[3])):
        width = len(text) * char_w
        start = max(xa, lo) + pad + ((hi - lo) * 0.03 if xa <= lo else 0.0)  # clear of the run-off arrow
        if start + width > hi:
            start = max(lo + pad, hi - pad - width)
        inside = xb - xa >= width + 2 * pad
        slot = "in" if inside else "above"
        span = (start - pad, start + width + pad)
        if not bold and any(a < span[1] and span[0] < b for a, b in taken.get((y, slot), [])):
            continue
        taken.setdefault((y, slot), []).append(span)
        if inside:
            ax.text(start, y, text, fontsize=LABEL_PT, va="center", ha="left", color="#212121", zorder=6, clip_on=True,
                    fontweight="bold" if bold else "normal")
        else:
            ax.text(start, y - h / 2 - 0.05, text, fontsize=LABEL_PT, va="bottom", ha="left", color="#212121",
                    zorder=6, clip_on=True, fontweight="bold" if bold else "normal",
                    bbox=dict(fc="white", ec="none", pad=0.3, alpha=0.75) if bold else None)


def _callouts(ax: Any, d: ResolvedDiagram, w: hv.ConceptWindow, lanes: Sequence[tuple[Any, str, str]],
              lane_y: Mapping[Any, int], x: Any, lo: float, hi: float, band: float) -> None:
    y_s = lane_y[w.stale_read["process"]]
    s_inv = x(float(w.stale_read["invoke_s"]))
    ax.annotate("", (s_inv, y_s + 0.36), (0.0, y_s + 0.36),
                arrowprops=dict(arrowstyle="<->", color="#b71c1c", lw=1.4), zorder=8)
    ax.text(s_inv / 2, y_s + 0.40, _callout(d, "gap"), color="#b71c1c", fontsize=7.5, ha="center", va="top",
            fontweight="bold", zorder=8, bbox=dict(fc="white", ec="none", pad=0.5, alpha=0.8))
    box = dict(boxstyle="round,pad=0.35", fc="white", alpha=0.97)
    top = -0.5 - band + 0.04 * band
    wy = lane_y[w.write["process"]]
    ly = lane_y[w.lin_read["process"]] if w.lin_read is not None else wy
    span = hi - lo
    ax.annotate(_wrap(_callout(d, "write"), 40), (x(float(w.write["complete_s"])), wy - 0.3),
                xytext=(lo + span * 0.005, top), ha="left", va="top", fontsize=8, color="#0d47a1", zorder=9,
                bbox={**box, "ec": "#0d47a1"}, arrowprops=dict(arrowstyle="->", color="#0d47a1", lw=1.1))
    if w.lin_read is not None:
        lr_mid = (x(float(w.lin_read["invoke_s"])) + x(float(w.lin_read["complete_s"]))) / 2
        ax.annotate(_wrap(_callout(d, "lin_read"), 44), (lr_mid, ly - 0.3), xytext=(lo + span * 0.26, top),
                    ha="left", va="top", fontsize=8, color="#0d47a1", zorder=9,
                    bbox={**box, "ec": "#0d47a1"}, arrowprops=dict(arrowstyle="->", color="#0d47a1", lw=1.1))
    ax.annotate(_wrap(_callout(d, "stale"), 66), (s_inv, y_s - 0.3), xytext=(hi - span * 0.005, top),
                ha="right", va="top", fontsize=8, color="#b71c1c", zorder=9,
                bbox={**box, "ec": "#b71c1c"}, arrowprops=dict(arrowstyle="->", color="#b71c1c", lw=1.2))
    # side headings on the boundary lines
    sides_in_order: list[tuple[str, int]] = []
    for i, (_, _, side) in enumerate(lanes):
        if not sides_in_order or sides_in_order[-1][0] != side:
            sides_in_order.append((side, i))
    for side, i in sides_in_order:
        if side == "none":  # no partition side: nothing to head
            continue
        nodes = sorted({nd for _, nd, s in lanes if s == side})
        extra = f": {_callout(d, 'unserved')}" if side == "minority" else ""
        ax.text(hi - span * 0.004, i - 0.5, f"{side.upper()} side ({', '.join(nodes)} in this window){extra}",
                ha="right", va="center", fontsize=7.2, style="italic", color=SIDE_COLORS.get(side, "#424242"),
                zorder=9, bbox=dict(fc="white", ec=SIDE_COLORS.get(side, "#424242"), lw=0.6, pad=1.2))


def _legend(fig: Figure, weak_read: str, sequential: bool = False, weak_drawn: bool = True, witness: bool = True,
            faults: bool = False) -> None:
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D
    handles = [Patch(fc=OUTCOME_COLORS["ok"], ec="#212121", label="ok"),
               Patch(fc=OUTCOME_COLORS["fail"], ec="#212121", label="fail"),
               Patch(fc=OUTCOME_COLORS["info"], ec="#212121", label="info (timed out: may or may not take effect)")]
    if weak_drawn:
        handles.append(Patch(fc="white", ec="#212121", hatch="///", label=weak_read))
    if sequential:
        handles.append(Line2D([], [], marker="o", color="#212121", ls="none", ms=8,
                              label="n: place in a sequential order (each client's own order kept)"))
    elif witness:
        handles.append(Line2D([], [], marker="D", color="black", ls="none", label="linearization point"))
    if faults:
        handles.append(Line2D([], [], color="#6d4c41", ls=":", label="fault event in effect (nemesis)"))
    handles.append(Line2D([], [], color="#1565c0", ls="--", label="acknowledgement of the write"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.262), ncol=6, fontsize=7.5,
               frameon=False, handlelength=1.6, columnspacing=1.4)


def _draw_boxes(fig: Figure, d: ResolvedDiagram) -> None:
    boxes = list(_layout(d, "boxes") or [])
    if not boxes:
        return
    left, right, top, bottom = 0.01, 0.99, 0.222, 0.058
    gap = 0.008
    width = (right - left - gap * (len(boxes) - 1)) / len(boxes)
    for k, b in enumerate(boxes):
        x0 = left + k * (width + gap)
        fig.patches.append(FancyBboxPatch((x0, bottom), width, top - bottom, boxstyle="round,pad=0.004",
                                          transform=fig.transFigure, fc="#fafafa", ec="#9e9e9e", lw=0.8))
        fig.text(x0 + 0.007, top - 0.012, str(b.get("title", "")), fontsize=9, fontweight="bold", va="top")
        if b.get("from_spec") == "key_insight":
            body = d.spec.key_insight or NOT_MEASURED
            lines = [" ".join(body.split())]
        else:
            lines = [fill(str(t), d) for t in b.get("lines") or []]
        chars = max(30, int(width * fig.get_figwidth() * 72 / (7.6 * 0.56)))
        text = "\n".join(textwrap.fill(t, chars, subsequent_indent="  ") for t in lines)
        fig.text(x0 + 0.007, top - 0.040, text, fontsize=7.6, va="top", linespacing=1.35)
