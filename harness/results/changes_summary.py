"""``summary.md`` of a change report: the job summary a CI run shows (GitHub's
``$GITHUB_STEP_SUMMARY``), key figures first: the reported changes, then what is pending, then
the series still collecting a baseline, then counts and settings. Under 1 MB (GitHub's limit
for a step summary): long lists stop at a fixed number of lines and say how many more
``changes.json`` holds. With ``--out`` it links each change's plot and the index page, never
inlines them.
"""
from __future__ import annotations

from collections import Counter

from harness.results.changes import (MIN_AFTER, MIN_POINTS, MIN_REPEATS, Change, ChangeReport, SeriesChanges,
                                     format_in_noise, format_percent as _pct, format_value as _num)
from harness.results.changes_report import plot_name

#: At most this many rows per list; the rest is counted ("... and N more in changes.json").
MAX_ROWS = 200
#: GitHub refuses a step summary over 1 MiB.
MAX_BYTES = 1024 * 1024


def _more(n: int, what: str) -> list[str]:
    return [f"\n... and {n} more {what} in changes.json"] if n > 0 else []


def _change_row(s: SeriesChanges, c: Change, plots: bool) -> str:
    ci = f"[{_pct(c.ci_percent[0])}, {_pct(c.ci_percent[1])}]" if c.ci_percent else c.ci_note
    commits = c.attributes["harness_commit"]
    commit = f"{commits['before']} → {commits['after']}" if commits["changed"] else f"{commits['after']} (same)"
    software = c.attributes["software"]
    sw = f"{software['before']} → {software['after']}" if software["changed"] else "same"
    repeats = f" (some of {c.fewest_repeats} run{'s' if c.fewest_repeats > 1 else ''})" \
        if c.fewest_repeats < MIN_REPEATS else ""
    return (f"| {c.direction} | {s.label} | {c.at_run} (point {c.index + 1} of {len(s.points)}) | "
            f"{_num(c.before_median, s.unit)} → {_num(c.after_median, s.unit)} | {_pct(c.change_percent)} | {ci} | "
            f"{c.mann_whitney_p:.2g} | {format_in_noise(c)} | {c.points_before} / {c.points_after}{repeats} | {commit} | {sw} |"
            + (f" [plot](plots/{plot_name(s)}.svg) |" if plots else ""))


def summary_markdown(report: ChangeReport, plots: bool = False) -> str:
    """The summary as Markdown (see the module's docstring). ``plots``: the plots and the index
    page (``changes_report``) are written next to it: each change links its plot (relative
    ``plots/<name>.svg``, never inlined) and the summary links ``index.html``."""
    n = report.counts()
    st = report.settings
    lines = [f"# Change detection: {n['changes']} change(s) ({n['regressions']} regression(s), "
             f"{n['improvements']} improvement(s)) in {n['series']} series", ""]
    changes = report.changes
    if changes:
        lines += ["| | series | at run | median before → after | change | CI | Mann-Whitney p | shift / run sd "
                  "| points before / after | harness commit | software |" + (" plot |" if plots else ""),
                  "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if plots else "")]
        ordered = sorted(changes, key=lambda sc: (sc[1].direction != "regression", -abs(sc[1].change_percent or 0)))
        lines += [_change_row(s, c, plots) for s, c in ordered[:MAX_ROWS]]
        lines += _more(len(ordered) - MAX_ROWS, "changes")
    else:
        judged = n["series_no_change"]
        lines.append(f"No change detected in the {judged} series with a verdict (at least {MIN_POINTS} points).")
    pending = [(s, p) for s in report.series for p in s.not_reported if p.pending]
    if pending:
        lines += ["", f"## Pending: {len(pending)} change point(s) waiting for {MIN_AFTER} points after them", ""]
        lines += [f"- {s.label}: at {p.at_point} ({p.why})" for s, p in pending[:MAX_ROWS]]
        lines += _more(len(pending) - MAX_ROWS, "pending change points")
    baseline = [s for s in report.series if s.status == "collecting baseline"]
    if baseline:
        lines += ["", f"## Collecting baseline: {len(baseline)} series with fewer than {MIN_POINTS} points", "",
                  "| points | series |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(Counter(len(s.points) for s in baseline).items())]
    repeats = ", ".join(f"{k} run(s): {v}" for k, v in report.runs_per_point()["repeats"].items()) or "none"
    lines += ["", "## Counts", "",
              f"- {n['runs_read']} runs read, {n['left_out_runs']} left out; {n['fingerprints']} hardware "
              f"fingerprint(s) (runs on different fingerprints are never compared)",
              f"- {n['series']} series: {n['series_with_change']} with a change, {n['series_no_change']} without, "
              f"{n['series_collecting_baseline']} collecting a baseline",
              f"- {n['points']} points; runs per point: {repeats} (a point is the median of its batch's usable runs, a "
              f"run outside any batch a point of its own); {n['points_under_min_repeats']} of fewer than {MIN_REPEATS} "
              "runs",
              f"- {n['unstable_run_values']} of {n['run_values']} run values unstable (per-second throughput cv > "
              f"{st.threshold_cv:g}), drawn hollow and left out of the points; {n['stability_not_measured']} whose "
              "stability was not measured (used; each run's stability in changes.json says why)",
              f"- settings: Otava (E-divisive means, t-test) p <= {st.max_pvalue:g}, magnitude > {st.min_magnitude:.0%}, "
              f"window {st.window_len}; confirmed by Mann-Whitney U p <= {st.alpha:g} with >= {MIN_AFTER} points "
              f"after and a shift beyond noise (> {st.noise_factor:.2f} run standard deviations); {st.confidence:.0%} bootstrap CI of the median's change ({st.resamples} resamples, seed "
              f"{st.seed})"]
    if plots:
        lines += ["", "Every series, its state and its plot: [index.html](index.html)"]
    if report.left_out:
        lines += ["", "Left out:"] + [f"- {rid}: {why}" for rid, _, why in report.left_out[:20]]
        lines += _more(len(report.left_out) - 20, "left-out runs")
    text = "\n".join(lines) + "\n"
    assert len(text.encode()) < MAX_BYTES, "the lists are capped at MAX_ROWS lines"
    return text
