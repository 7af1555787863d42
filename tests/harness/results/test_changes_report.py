"""The files ``gbench changes --out`` leaves besides changes.json and summary.md, over the
constructed histories of test_changes: the tracker issue body of one change word for word,
issues.json, the trend plots (present, byte-identical when drawn again, unstable runs hollow),
and the index page (every series with its state, no script, no dead link)."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest


from harness.results.changes_report import (MAX_WIDTH_PX, PLOTS_URL_PLACEHOLDER, fingerprint_facts, plot_name,
                                            plot_series, series_state, write_report_files)
from harness.results.changes_summary import summary_markdown
from harness.results.history import load_history
from tests.harness.results.test_changes import AFTER, BEFORE, HOST, STEADY, add_run, detect, history, series


def step(root: Path) -> list[str]:
    """Twelve runs around 10 ms at commit c1, then six around 12 ms at commit c2 (p99 only)."""
    return history(root, BEFORE, commit="c1") + [add_run(root, 12 + i, v, commit="c2") for i, v in enumerate(AFTER)]


def test_the_issue_body_of_one_change_and_issues_json(tmp_path: Path) -> None:
    runs = step(tmp_path / "runs")
    report = detect(tmp_path / "runs")
    out = tmp_path / "out"
    out.mkdir()
    write_report_files(report, load_history([tmp_path / "runs"]).frame, out, summary_markdown(report, plots=True))
    s = series(report)
    (c,) = s.changes
    name = plot_name(s)
    assert re.fullmatch("[0-9a-f]{12}", name) and re.fullmatch("[0-9a-f]{12}", c.id)
    expected = f"""<!-- gbench change {c.id} -->
**regression** of p99_ms (lower is better) in etcd etcd-put-256B put c16 p99_ms: 10 ms → 12.02 ms (+20.1%).

## Series

| | |
|---|---|
| system | etcd |
| provider | netns |
| nodes | 5 |
| tool | harness |
| workload | etcd-put-256B |
| op | put |
| value_size | 256 |
| level |  |
| write_level |  |
| concurrency | 16 |
| load_mode | closed |
| metric | p99_ms |
| fingerprint | {s.fingerprint} |
| cpu_model | EPYC |
| logical_cores | 16 |
| physical_cores | 8 |
| threads_per_core | 2 |
| memory_gib | 64 |
| disk_model | NVMe |
| rotational | False |
| filesystem | ext4 |
| mount_options | rw |
| fsync_class | <0.1 ms |
| runner_label | nvme |

## Change

- at run {runs[12]} (point 13 of 18, {runs[12]}), started 2026-01-01T12:00:00+00:00
- median before → after: 10 ms → 12.02 ms
- change: +20.1%, CI [+19.4%, +20.6%] (95% percentile bootstrap, 2000 resamples, seed 20261205)
- Mann-Whitney U 0, p 0.000108 (exact); Otava p {c.otava_pvalue:.3g}
- noise: the shift is 27.4 x the run-to-run sd 0.07339 from successive values (17 differences)
- points before / after: 12 / 6; some points stand for fewer than 3 runs (fewest: 1)

## What else changed

| attribute | before | after | changed |
|---|---|---|---|
| software | etcd 1.0 | etcd 1.0 | no |
| harness_commit | c1 | c2 | yes |
| harness commits of the segment | c1 | c2 | |

## Runs

- before (12): {', '.join(runs[:12])}
- after (6): {', '.join(runs[12:])}

Trend plot: [{name}.png]({{{{PLOTS_URL}}}}/plots/{name}.png) ([SVG]({{{{PLOTS_URL}}}}/plots/{name}.svg))
"""
    assert (out / f"issue-{c.id}.md").read_text() == expected
    assert PLOTS_URL_PLACEHOLDER == "{{PLOTS_URL}}" and expected.count(PLOTS_URL_PLACEHOLDER) == 2
    assert f"{2 / math.comb(18, 6):.3g}" == "0.000108"  # the exact p of the body
    assert json.loads((out / "issues.json").read_text()) == [
        {"id": c.id, "title": f"regression: etcd etcd-put-256B put c16 p99_ms +20.1% at {runs[12]} "
                              f"[gbench change {c.id}]", "file": f"issue-{c.id}.md"}]
    # Only the changed series is plotted.
    assert sorted(p.name for p in (out / "plots").iterdir()) == [f"{name}.png", f"{name}.svg"]


def test_no_change_writes_an_empty_issues_list(tmp_path: Path) -> None:
    history(tmp_path / "runs", BEFORE)
    out = tmp_path / "out"
    out.mkdir()
    report = detect(tmp_path / "runs")
    written = write_report_files(report, load_history([tmp_path / "runs"]).frame, out,
                                 summary_markdown(report, plots=True))
    assert json.loads((out / "issues.json").read_text()) == []
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written) == [
        "changes.json", "index.html", "issues.json", "summary.md"]
    page = (out / "index.html").read_text()
    assert "<p>States: no change 4.</p>" in page
    assert all((out / h).is_file() for h in re.findall(r'href="([^"]+)"', page))


def test_the_plot_is_byte_identical_when_drawn_again(tmp_path: Path) -> None:
    step(tmp_path / "runs")
    frame = load_history([tmp_path / "runs"]).frame
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        out.mkdir()
        report = detect(tmp_path / "runs")
        write_report_files(report, frame, out, summary_markdown(report, plots=True))
    name = plot_name(series(detect(tmp_path / "runs")))
    for suffix in ("svg", "png"):
        first, second = ((o / "plots" / f"{name}.{suffix}").read_bytes() for o in outs)
        assert len(first) > 1000 and first == second
    svg = (outs[0] / "plots" / f"{name}.svg").read_text()
    assert "regression at 20260101T120000Z-etcd: +20.1% (p 0.00011)" in svg  # text stays text
    assert "etcd etcd-put-256B put c16 p99_ms" in svg


def test_unstable_runs_are_hollow_and_few_repeats_marked(tmp_path: Path) -> None:
    stall = [100] * 7 + [0] * 3 + [100] * 5  # cv 0.5: unstable
    root = tmp_path / "runs"
    history(root, BEFORE, commit="c1")
    add_run(root, 12, 30.0, per_second=stall)
    for k, v in enumerate([12.0, 12.06, 11.97]):
        add_run(root, 13 + 3 * k, v, batch={"id": f"b{k}", "index": 1, "of": 3})
        add_run(root, 14 + 3 * k, v + 0.01, batch={"id": f"b{k}", "index": 2, "of": 3})
        add_run(root, 15 + 3 * k, v - 0.01, batch={"id": f"b{k}", "index": 3, "of": 3}, per_second=STEADY)
    s = series(detect(root))
    assert series_state(s) == "change" and [p.repeats for p in s.points] == [1] * 12 + [3] * 3
    fig = plot_series(s)
    ax = fig.axes[0]
    by_label = {c.get_label(): c for c in ax.collections}
    hollow = by_label["unstable run (not used)"]
    assert len(hollow.get_facecolors()) == 0 and [list(o) for o in hollow.get_offsets()] == [[13.0, 30.0]]
    assert len(by_label["run"].get_offsets()) == 21
    # 12 single-run points marked, 3 batch points (at the mean position of their runs) not.
    assert len(by_label["point of fewer than 3 runs"].get_offsets()) == 12
    assert [list(o) for o in by_label["point (median of its runs)"].get_offsets()] == [
        [15.0, 12.0], [18.0, 12.06], [21.0, 11.97]]
    # Segment medians: 10.005 over points 1-12 (x 1 to 12), 12.0 over the batches (x 15 to 21).
    segments = by_label["segment median"].get_segments() + [
        c.get_segments()[0] for c in ax.collections if c.get_label().startswith("_")]
    flat = sorted([float(v) for xy in seg for v in xy] for seg in segments)
    assert [pytest.approx(f) for f in flat] == [[0.6, 10.005, 12.4, 10.005], [14.6, 12.0, 21.4, 12.0]]
    # The change between the last run before it (x 12) and the first after it (x 14).
    (line,) = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert list(line.get_xdata()) == [13.0, 13.0]
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_the_index_lists_every_series_with_its_state_and_no_dead_link(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    root = tmp_path / "runs"
    step(root)  # HOST: a change in p99, no change in the other three metrics
    pending_host = {**HOST, "cpu_model": "Xeon"}
    for i, v in enumerate(BEFORE + AFTER[:2]):
        add_run(root, 100 + i, v, host=pending_host)  # p99: two points after a step, pending
    short_host = {**HOST, "cpu_model": "ARM"}
    for i, v in enumerate(BEFORE[:4]):
        add_run(root, 200 + i, v, host=short_host)  # 4 points: collecting baseline
    out = tmp_path / "out"
    assert main(["changes", "--results", str(root), "--out", str(out)]) == 10
    assert capsys.readouterr().out.endswith(f"wrote 7 files in {out}: changes.json, summary.md, index.html, "
                                            "issues.json, 1 issue-<id>.md, 2 plots\n")
    report = detect(root)
    states = sorted((s.key["system"], s.metric, s.fingerprint, series_state(s)) for s in report.series)
    assert sorted(st for *_, st in states) == sorted(["change", "pending"] + ["no change"] * 6
                                                     + ["collecting baseline 4/10"] * 4)
    page = (out / "index.html").read_text()
    assert "<p>States: change 1, collecting baseline 4, no change 6, pending 1.</p>" in page
    assert "<script" not in page.lower() and f"max-width:{MAX_WIDTH_PX}px" in page and MAX_WIDTH_PX < 1400
    rows = re.findall(r"<tr(?: class=\"\w+\")?><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td>", page)
    assert len(rows) == len(report.series) == 12
    assert sorted((label, int(n), state) for label, n, state in rows) == sorted(
        (s.label, len(s.points), series_state(s)) for s in report.series)
    # Grouped by fingerprint: each fingerprint's heading once, its facts under it.
    facts = fingerprint_facts(load_history([root]).frame)
    assert len(facts) == 3 and page.count("<h2>Fingerprint ") == 3
    assert "cpu_model ARM" in page and "cpu_model Xeon" in page
    hrefs = re.findall(r'href="([^"]+)"', page)
    changed = [s for s in report.series if s.changes]
    assert len(changed) == 1
    name, cid = plot_name(changed[0]), changed[0].changes[0].id
    assert sorted(hrefs) == sorted(["summary.md", "changes.json", f"plots/{name}.svg", f"plots/{name}.png",
                                    f"issue-{cid}.md"])
    assert all((out / h).is_file() for h in hrefs)
    # summary.md links the plot and the index, inlines nothing, and is under 1 MB.
    summary = (out / "summary.md").read_text()
    assert f"[plot](plots/{name}.svg) |" in summary and "[index.html](index.html)" in summary
    assert "<img" not in summary and "![" not in summary and len(summary.encode()) < 1024 * 1024
    assert all((out / h).is_file() for h in re.findall(r"\]\(([^)]+)\)", summary))
    # Printed without --out, nothing links files that are not there.
    assert "plots/" not in summary_markdown(report) and "index.html" not in summary_markdown(report)
