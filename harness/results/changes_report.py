"""The files a change report leaves for people and for the CI job (issue 12 item 3), besides
``changes.json`` and ``summary.md``:

- ``issue-<id>.md``: the body of the one tracker issue of a reported change, keyed by
  ``Change.id`` (stable across re-analyses of a longer history), so a workflow updates that issue
  rather than open a new one every night; ``issues.json`` lists ``{id, title, file}`` of each.
  The body links the change's plot as ``{{PLOTS_URL}}/plots/<name>.png``: the workflow replaces
  ``PLOTS_URL_PLACEHOLDER`` with where it published this directory (an artifact or a branch).
- ``plots/<name>.svg`` and ``.png``: one trend plot per series with a reported change, drawn in
  diagram_gen's style and saved by its deterministic ``save`` (same report, same bytes).
  ``<name>`` is ``plot_name``: 12 hex digits of the SHA-256 of the series id.
- ``index.html``: every series, grouped by hardware fingerprint and then system and workload,
  with its state and a link to its plot and issue when it has them. Plain HTML, no script.

What is drawn and written is shaped here from the ChangeReport only; nothing is measured again.
"""
from __future__ import annotations

import hashlib
import html
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from harness.results.changes import (MIN_POINTS, MIN_REPEATS, Change, ChangeReport, SeriesChanges, format_percent as _pct,
                                     format_in_noise, format_value as _num)
from harness.results.history import FINGERPRINT_FIELDS

#: Replaced by the workflow with the URL this directory is published at.
PLOTS_URL_PLACEHOLDER = "{{PLOTS_URL}}"
#: The index page is laid out to stay narrower than this (pixels).
MAX_WIDTH_PX = 1350

RUN_COLOR = "#1565c0"
SEGMENT_COLOR = "#424242"
CHANGE_COLOR = "#c62828"
FEW_REPEATS_COLOR = "#f9a825"


def plot_name(s: SeriesChanges) -> str:
    """The file name (without suffix) of a series' plot: 12 hex digits of its id's SHA-256."""
    return hashlib.sha256(s.series.encode()).hexdigest()[:12]


def series_state(s: SeriesChanges) -> str:
    """"collecting baseline n/10", "change", "pending" (a change point waiting for points
    after it) or "no change"."""
    if s.status == "collecting baseline":
        return f"collecting baseline {len(s.points)}/{MIN_POINTS}"
    if s.status == "change":
        return "change"
    return "pending" if any(n.pending for n in s.not_reported) else "no change"


def fingerprint_facts(frame: Any) -> dict[str, dict[str, Any]]:
    """Each fingerprint id of a history frame with its facts (``FINGERPRINT_FIELDS``)."""
    names = [n for n, _ in FINGERPRINT_FIELDS]
    rows = frame[["fingerprint", *names]].drop_duplicates("fingerprint")
    return {str(r["fingerprint"]): {n: r[n] for n in names} for r in rows.astype(object).to_dict("records")}


def issue_title(s: SeriesChanges, c: Change) -> str:
    """The tracker issue's title: direction, series, change, and the change's id (what a
    workflow searches for to update the issue)."""
    return f"{c.direction}: {s.label} {_pct(c.change_percent)} at {c.at_run} [gbench change {c.id}]"


def issue_markdown(s: SeriesChanges, c: Change, facts: dict[str, Any]) -> str:
    """The tracker issue's body of change ``c`` of series ``s``; ``facts``: its fingerprint's."""
    ci = f"[{_pct(c.ci_percent[0])}, {_pct(c.ci_percent[1])}] ({c.ci_note})" if c.ci_percent else c.ci_note
    otava = "not given" if c.otava_pvalue is None else f"{c.otava_pvalue:.3g}"
    repeats = (f"; some points stand for fewer than {MIN_REPEATS} runs (fewest: {c.fewest_repeats})"
               if c.fewest_repeats < MIN_REPEATS else "")
    lines = [f"<!-- gbench change {c.id} -->",
             f"**{c.direction}** of {s.metric} ({s.better} is better) in {s.label}: "
             f"{_num(c.before_median, s.unit)} → {_num(c.after_median, s.unit)} ({_pct(c.change_percent)}).", "",
             "## Series", "",
             "| | |", "|---|---|",
             *(f"| {k} | {'' if v is None else v} |" for k, v in {**s.key, "metric": s.metric}.items()),
             f"| fingerprint | {s.fingerprint} |",
             *(f"| {k} | {v} |" for k, v in facts.items()), "",
             "## Change", "",
             f"- at run {c.at_run} (point {c.index + 1} of {len(s.points)}, {c.at_point}), started "
             f"{c.started_utc or 'not recorded'}",
             f"- median before → after: {_num(c.before_median, s.unit)} → {_num(c.after_median, s.unit)}",
             f"- change: {_pct(c.change_percent)}, CI {ci}",
             f"- Mann-Whitney U {c.mann_whitney_u:g}, p {c.mann_whitney_p:.3g} ({c.mann_whitney_method}); "
             f"Otava p {otava}",
             f"- noise: the shift is {format_in_noise(c)} x the {c.noise_method}",
             f"- points before / after: {c.points_before} / {c.points_after}{repeats}", "",
             "## What else changed", "",
             "| attribute | before | after | changed |", "|---|---|---|---|",
             *(f"| {k} | {a['before']} | {a['after']} | {'yes' if a['changed'] else 'no'} |"
               for k, a in c.attributes.items()),
             f"| harness commits of the segment | {', '.join(c.commits_before)} | {', '.join(c.commits_after)} | |", "",
             "## Runs", "",
             f"- before ({len(c.runs_before)}): {', '.join(c.runs_before)}",
             f"- after ({len(c.runs_after)}): {', '.join(c.runs_after)}", "",
             f"Trend plot: [{plot_name(s)}.png]({PLOTS_URL_PLACEHOLDER}/plots/{plot_name(s)}.png) "
             f"([SVG]({PLOTS_URL_PLACEHOLDER}/plots/{plot_name(s)}.svg))", ""]
    return "\n".join(lines)


def plot_series(s: SeriesChanges) -> Any:
    """The trend figure of one series: its runs by run order (x), filled when used and hollow
    when unstable; each point (a batch's median) as a diamond, orange when it stands for fewer
    than MIN_REPEATS runs; each segment's median of points as a horizontal line; each reported
    change as a dashed vertical line labelled with its run and size."""
    import matplotlib.pyplot as plt

    from diagram_gen.render.common import STYLE  # noqa: F401 (importing applies the style)

    from matplotlib.ticker import MaxNLocator

    x_of = {r.run_id: i + 1 for i, r in enumerate(s.runs)}
    fig, ax = plt.subplots(figsize=(10.0, 4.8))
    used = [(x_of[r.run_id], r.value) for r in s.runs if r.usable]
    unstable = [(x_of[r.run_id], r.value) for r in s.runs if not r.usable]
    if used:
        ax.scatter(*zip(*used), s=18, color=RUN_COLOR, label="run", zorder=3)
    if unstable:
        ax.scatter(*zip(*unstable), s=30, facecolors="none", edgecolors=RUN_COLOR, linewidths=1.2,
                   label="unstable run (not used)", zorder=3)
    point_x = [statistics.fmean(x_of[r] for r in p.runs) for p in s.points]
    for few in (False, True):
        sel = [(point_x[p.index], p.value) for p in s.points if (p.repeats < MIN_REPEATS) == few]
        if sel:
            ax.scatter(*zip(*sel), s=44, marker="D", facecolors="none", linewidths=1.0, zorder=4,
                       edgecolors=FEW_REPEATS_COLOR if few else SEGMENT_COLOR,
                       label=f"point of fewer than {MIN_REPEATS} runs" if few else "point (median of its runs)")
    bounds = [0, *(c.index for c in s.changes), len(s.points)]
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        if hi > lo:
            median = statistics.median(p.value for p in s.points[lo:hi])
            ax.hlines(median, point_x[lo] - 0.4, point_x[hi - 1] + 0.4, colors=SEGMENT_COLOR, linewidths=1.5,
                      label="segment median" if k == 0 else None, zorder=2)
    for c in s.changes:
        x = (max(x_of[r] for r in s.points[c.index - 1].runs) + min(x_of[r] for r in s.points[c.index].runs)) / 2
        right = x > (len(s.runs) + 1) / 2  # the label runs towards the wider side
        ax.axvline(x, color=CHANGE_COLOR, linestyle="--", linewidth=1.2, zorder=1)
        ax.annotate(f"{c.direction} at {c.at_run}: {_pct(c.change_percent)} (p {c.mann_whitney_p:.2g})",
                    (x, 1.0), xycoords=("data", "axes fraction"), xytext=(-4 if right else 4, -4),
                    textcoords="offset points", ha="right" if right else "left", color=CHANGE_COLOR, fontsize=8,
                    va="top", bbox={"facecolor": "white", "edgecolor": "none"})
    ax.set_title(f"{s.label}\nfingerprint {s.fingerprint}; {len(s.points)} points from {len(s.runs)} runs",
                 fontsize=10)
    lo_y, hi_y = ax.get_ylim()
    ax.set_ylim(lo_y, hi_y + 0.12 * (hi_y - lo_y))  # room for the change labels above the runs
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"run, oldest first (1: {s.runs[0].run_id}, {len(s.runs)}: {s.runs[-1].run_id})" if s.runs else "run")
    ax.set_ylabel(f"{s.metric} ({s.unit}, {s.better} is better)")
    ax.grid(True, color="#e0e0e0", linewidth=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    fig.tight_layout()
    return fig


def write_plot(s: SeriesChanges, out: Path) -> tuple[Path, Path]:
    """``out/plots/<plot_name>.svg`` and ``.png`` of series ``s`` (byte-identical when redrawn)."""
    from diagram_gen.render.common import save

    svg, png = out / "plots" / f"{plot_name(s)}.svg", out / "plots" / f"{plot_name(s)}.png"
    save(plot_series(s), svg, png)
    return svg, png


def _a(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def index_html(report: ChangeReport, facts: dict[str, dict[str, Any]], plotted: Sequence[SeriesChanges]) -> str:
    """The index page of every series (see the module's docstring); ``plotted``: the series
    whose plot was written."""
    plots = {s.series for s in plotted}
    n = report.counts()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>gbench changes: every series</title>',
           f"<style>body{{font-family:sans-serif;font-size:14px;max-width:{MAX_WIDTH_PX}px;margin:1em}}"
           "table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border:1px solid #ccc;padding:2px 6px;"
           "text-align:left;overflow-wrap:anywhere}.change{background:#ffebee}.pending{background:#fff8e1}</style>"
           "</head><body>",
           f"<h1>Every series: {n['series']} ({n['series_with_change']} with a change, {n['changes']} change(s))</h1>",
           f"<p>{n['runs_read']} runs read; {n['fingerprints']} hardware fingerprint(s): runs on different "
           f"fingerprints are never compared. A verdict needs {MIN_POINTS} points. "
           f"{_a('summary.md', 'summary')}, {_a('changes.json', 'changes.json')}.</p>",
           "<p>States: " + html.escape(", ".join(f"{state} {k}" for state, k in sorted(
               Counter("collecting baseline" if st.startswith("collecting") else st
                       for st in map(series_state, report.series)).items()))) + ".</p>"]
    by_fp: dict[str, list[SeriesChanges]] = {}
    for s in report.series:
        by_fp.setdefault(s.fingerprint, []).append(s)
    for fp in sorted(by_fp):
        f = facts.get(fp, {})
        out += [f"<h2>Fingerprint {html.escape(fp)}</h2>",
                "<p>" + html.escape("; ".join(f"{k} {v}" for k, v in f.items()) or "facts not in the history") + "</p>"]
        groups: dict[tuple[str, str], list[SeriesChanges]] = {}
        for s in by_fp[fp]:
            groups.setdefault((str(s.key.get("system") or ""), str(s.key.get("workload") or "")), []).append(s)
        for (system, workload), members in sorted(groups.items()):
            out += [f"<h3>{html.escape(system)} {html.escape(workload)}</h3>",
                    '<table><tr><th style="width:45%">series</th><th>points</th><th>state</th><th>plot</th>'
                    "<th>changes</th></tr>"]
            for s in sorted(members, key=lambda m: m.label):
                state = series_state(s)
                cls = ' class="change"' if state == "change" else ' class="pending"' if state == "pending" else ""
                plot = (_a(f"plots/{plot_name(s)}.svg", "svg") + " " + _a(f"plots/{plot_name(s)}.png", "png")
                        if s.series in plots else "")
                changes = "<br>".join(f"{_a(f'issue-{c.id}.md', c.id)} {html.escape(c.direction)} "
                                      f"{html.escape(_pct(c.change_percent))} at {html.escape(c.at_run)}"
                                      for c in s.changes)
                out.append(f"<tr{cls}><td>{html.escape(s.label)}</td><td>{len(s.points)}</td>"
                           f"<td>{html.escape(state)}</td><td>{plot}</td><td>{changes}</td></tr>")
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report_files(report: ChangeReport, frame: Any, out: Path, summary: str) -> list[Path]:
    """Every file of a change report under ``out`` (which must exist), the paths written:
    ``changes.json``, ``summary.md`` (``summary``: ``changes_summary.summary_markdown`` with
    plots linked), and those of the module's docstring (``frame``: the history the report
    was made from, for the fingerprints' facts)."""
    facts = fingerprint_facts(frame) if len(frame) else {}
    plotted = [s for s in report.series if s.changes]
    (out / "changes.json").write_text(json.dumps(report.to_json(), indent=1) + "\n")
    (out / "summary.md").write_text(summary)
    written = [out / "changes.json", out / "summary.md"]
    for s in plotted:
        written += write_plot(s, out)
    issues = []
    for s, c in report.changes:
        path = out / f"issue-{c.id}.md"
        path.write_text(issue_markdown(s, c, facts.get(s.fingerprint, {})))
        issues.append({"id": c.id, "title": issue_title(s, c), "file": path.name})
        written.append(path)
    (out / "issues.json").write_text(json.dumps(issues, indent=1) + "\n")
    (out / "index.html").write_text(index_html(report, facts, plotted))
    return [*written, out / "issues.json", out / "index.html"]
