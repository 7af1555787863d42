"""Change detection over constructed histories, with exact expectations: a step found at the
right point with its p-value and confidence interval, a spike and a too-short history not
reported, a gradual drift cut into steps (or not), a change with two points after it pending,
fingerprints never mixed, unstable runs left out; the statistics against known values; Otava's
adapter end to end in the real Otava virtualenv (``make setup`` makes it); ``gbench changes``'
exit codes."""
from __future__ import annotations

import datetime as dt
import json
import math
import random
import subprocess
from pathlib import Path
from typing import Any, Sequence

import pytest

from harness.errors import DamagedFile, EnvironmentProblem, GbenchError
from harness.recorder.histograms import new_histogram, write_hlog
from harness.results.change_stats import (NOISE_FACTOR, Noise, beyond_noise, bootstrap_change_ci, mann_whitney_u, quantile,
                                          run_noise, u_counts)
from harness.results.changes import (OTAVA_ADAPTER, OTAVA_PYTHON, Change, ChangeReport, Settings, detect_changes,
                                     otava_change_points)
from harness.results.changes_summary import summary_markdown
from harness.results.history import load_history
from harness.results.stability import coefficient_of_variation, judge, per_second_throughput
from tests.harness.results.fake_runs import measurement_run

HOST: dict[str, Any] = {"cpu_model": "EPYC", "logical_cores": 16, "physical_cores": 8, "threads_per_core": 2,
                        "memory_total_bytes": 64 * 2**30, "data_dir_disk_model": "NVMe", "data_dir_rotational": False,
                        "data_dir_filesystem": "ext4", "data_dir_mount_options": "rw", "fsync_latency": {"p10_ms": 0.03},
                        "runner_label": "nvme"}
STEADY = [100] * 15  # completed operations in each second of a 15 s window: cv 0
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def hlog(run: Path, per_second: Sequence[int], workload: str = "etcd-put-256B", op: str = "put") -> Path:
    """The workload's ok interval log with ``per_second[i]`` operations of 2 ms in second i
    (a 0 leaves the second out, as the recorder does) and 7 stragglers in the second after."""
    intervals = []
    for i, n in enumerate([*per_second, 7]):
        if n:
            h = new_histogram()
            h.record_value(2_000_000, n)
            intervals.append((i, h))
    path = run / "workloads" / workload / "hlog" / f"{op}.ok.hlog"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_hlog(path, intervals, 1.7e9, 1.0)
    return path


def summary_row(p99_ms: float, **kw: Any) -> dict[str, Any]:
    return {"system": "etcd", "provider": "netns", "nodes": 5, "tool": "harness", "op": "put", "value_size": 256,
            "read_consistency": "", "write_consistency": "", "concurrency": 16, "outcome": "ok", "count": 1500,
            "throughput_ops_s": 100.0, "p50_ms": 2.0, "p99_ms": p99_ms, "p999_ms": 12.5, "max_ms": 20.0,
            "workload": "etcd-put-256B", "load_mode": "closed", "duration_s": 15, "harness_saturated": False, **kw}


def add_run(root: Path, i: int, p99_ms: float, per_second: Sequence[int] = STEADY, host: dict[str, Any] = HOST,
            commit: str = "c1", batch: dict[str, Any] | None = None) -> str:
    started = T0 + dt.timedelta(hours=i)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-etcd"
    run = measurement_run(root, run_id, rows=[summary_row(p99_ms)], host=host, started_utc=started.isoformat(),
                          batch=batch, commit=commit)
    hlog(run, per_second)
    return run_id


def history(root: Path, values: Sequence[float], **kw: Any) -> list[str]:
    return [add_run(root, i, v, **kw) for i, v in enumerate(values)]


def detect(root: Path, settings: Settings = Settings()) -> ChangeReport:
    h = load_history([root])
    return detect_changes(h.frame, h.run_paths, h.runs_read, h.excluded, settings)


def series(report: ChangeReport, metric: str = "p99_ms") -> Any:
    (s,) = [s for s in report.series if s.metric == metric]
    return s


#: Twelve values around 10 and six around 12, no two alike (so Mann-Whitney is exact).
BEFORE = [10.0, 10.07, 9.96, 10.03, 9.98, 10.05, 9.94, 10.01, 10.09, 9.97, 10.02, 9.99]
AFTER = [12.0, 12.06, 11.97, 12.03, 11.95, 12.04]


def test_a_step_is_found_at_the_right_run_with_p_and_ci(tmp_path: Path) -> None:
    runs = history(tmp_path, BEFORE, commit="c1") + [add_run(tmp_path, 12 + i, v, commit="c2")
                                                     for i, v in enumerate(AFTER)]
    report = detect(tmp_path)
    s = series(report)
    assert s.status == "change" and len(s.points) == 18 and s.not_reported == []
    (c,) = s.changes
    assert (c.index, c.at_run, c.at_point, c.direction) == (12, runs[12], runs[12], "regression")
    assert (c.points_before, c.points_after, c.runs_before, c.runs_after) == (12, 6, runs[:12], runs[12:])
    assert c.fewest_repeats == 1
    assert (c.before_median, c.after_median) == pytest.approx((10.005, 12.015))  # (10.0 + 10.01) / 2, (12.0 + 12.03) / 2
    assert c.change_percent == pytest.approx(100 * (12.015 / 10.005 - 1))  # +20.09%
    # Complete separation, 12 and 6 untied values: exact p = 2 / C(18, 6).
    assert (c.mann_whitney_method, c.mann_whitney_u) == ("exact", 0.0)
    assert c.mann_whitney_p == pytest.approx(2 / math.comb(18, 6))
    assert c.otava_pvalue is not None and c.otava_pvalue < 1e-10
    st = Settings()
    assert c.ci_percent == bootstrap_change_ci(BEFORE, AFTER, st.resamples, st.seed, st.confidence)
    lo, hi = c.ci_percent
    # Resampled medians stay inside each segment's range.
    assert 100 * (min(AFTER) / max(BEFORE) - 1) <= lo <= c.change_percent <= hi <= 100 * (max(AFTER) / min(BEFORE) - 1)
    assert c.attributes["harness_commit"] == {"before": "c1", "after": "c2", "changed": True}
    assert c.attributes["software"] == {"before": "etcd 1.0", "after": "etcd 1.0", "changed": False}
    assert (c.commits_before, c.commits_after) == (["c1"], ["c2"])
    # The same runs' unaffected metrics: nothing.
    assert [series(report, m).status for m in ("throughput_ops_s", "p50_ms", "p999_ms")] == ["no change"] * 3
    assert report.counts()["changes"] == 1 and report.counts()["regressions"] == 1
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["changes"][0]["at_run"] == runs[12] and doc["changes"][0]["label"] == "etcd etcd-put-256B put c16 p99_ms"


def test_a_single_spike_is_not_a_change(tmp_path: Path) -> None:
    history(tmp_path, BEFORE[:8] + [20.0] + BEFORE[8:] + [10.04, 9.95])
    s = series(detect(tmp_path))
    assert len(s.points) == 15 and s.status == "no change" and s.changes == [] and s.not_reported == []


def test_a_gradual_drift_is_cut_into_steps_when_they_are_large_enough(tmp_path: Path) -> None:
    """Otava cuts a steady drift into segments; 5 per point from 100 (5% at the start): three
    changes of five points each side, each with exact p 2 / C(10, 5); 1 per point: none at the
    5% minimum magnitude."""
    steep, gentle = tmp_path / "steep", tmp_path / "gentle"
    history(steep, [100.0 + 5 * i for i in range(20)])
    history(gentle, [100.0 + i for i in range(20)])
    s = series(detect(steep))
    assert [(c.index, c.direction, c.points_before, c.points_after) for c in s.changes] == [
        (5, "regression", 5, 5), (10, "regression", 5, 5), (15, "regression", 5, 5)]
    assert [c.mann_whitney_p for c in s.changes] == pytest.approx([2 / math.comb(10, 5)] * 3)
    assert [round(c.change_percent, 2) for c in s.changes] == [22.73, 18.52, 15.62]  # 135/110, 160/135, 185/160
    g = series(detect(gentle))
    assert g.status == "no change" and g.changes == [] and len(g.points) == 20


def test_fewer_than_ten_points_is_collecting_baseline(tmp_path: Path) -> None:
    history(tmp_path, BEFORE[:6] + AFTER[:3])
    report = detect(tmp_path)
    s = series(report)
    assert (s.status, len(s.points), s.changes, s.not_reported) == ("collecting baseline", 9, [], [])
    assert report.counts()["series_collecting_baseline"] == 4  # throughput, p50, p99, p99.9
    assert "## Collecting baseline: 4 series with fewer than 10 points" in summary_markdown(report)
    assert "| 9 | 4 |" in summary_markdown(report)


def test_a_change_with_two_points_after_is_pending_then_reported_at_three(tmp_path: Path) -> None:
    runs = history(tmp_path, BEFORE + AFTER[:2])
    s = series(detect(tmp_path))
    assert s.status == "no change" and s.changes == []
    (p,) = s.not_reported
    assert (p.index, p.at_point, p.pending, p.why) == (12, runs[12], True, "pending: 2 point(s) after it, reported at 3")
    add_run(tmp_path, 14, AFTER[2])
    (c,) = series(detect(tmp_path)).changes
    assert (c.index, c.at_run, c.points_after) == (12, runs[12], 3)
    assert c.mann_whitney_p == pytest.approx(2 / math.comb(15, 3))


def test_runs_on_another_fingerprint_never_join_a_series(tmp_path: Path) -> None:
    history(tmp_path, BEFORE[:10])
    other = {**HOST, "logical_cores": 8, "physical_cores": 4}
    for i, v in enumerate(AFTER[:5]):  # 20% higher: a different host, not a change
        add_run(tmp_path, 10 + i, v, host=other)
    report = detect(tmp_path)
    p99 = [s for s in report.series if s.metric == "p99_ms"]
    assert sorted((s.status, len(s.points)) for s in p99) == [("collecting baseline", 5), ("no change", 10)]
    assert len({s.fingerprint for s in p99}) == 2 and report.changes == []


def test_per_second_throughput_and_its_cv(tmp_path: Path) -> None:
    # Second 2 had no completion (absent from the log: 0); second 4's 7 stragglers are outside the 4 s window.
    path = hlog(tmp_path, [100, 100, 0, 100])
    assert per_second_throughput(path, 4) == [100.0, 100.0, 0.0, 100.0]
    assert coefficient_of_variation([100.0, 100.0, 0.0, 100.0]) == pytest.approx(math.sqrt(3) / 3)  # 43.3 / 75
    assert per_second_throughput(path, 5.5) == [100.0, 100.0, 0.0, 100.0, 7.0]
    st = judge(tmp_path, "p99_ms", "harness", "etcd-put-256B", "put", 4, 0.25)
    assert (st.usable, st.note) == (False, "unstable: per-second throughput cv 0.577 > 0.25")
    assert st.cv == pytest.approx(math.sqrt(3) / 3)
    assert judge(tmp_path, "p99_ms", "harness", "etcd-put-256B", "put", 4, 0.6).usable
    assert judge(tmp_path, "election_s", "harness", "leader-in-minority", "scenario", None, 0.25).note == \
        "stable: a failure figure (no per-second load to judge)"
    assert judge(tmp_path, "p99_ms", "etcd-benchmark", "etcd-put-256B", "put", 9.7, 0.25).note == \
        "not measured: etcd-benchmark records no per-second throughput; used"
    assert judge(tmp_path, "p99_ms", "harness", "sc/register", "put", 15, 0.25).note == \
        "stable: measured under fault scenario sc (its load is disturbed on purpose)"
    with pytest.raises(DamagedFile, match=r"hlog/get.ok.hlog: missing"):
        judge(tmp_path, "p99_ms", "harness", "etcd-put-256B", "get", 4, 0.25)


def test_an_unstable_run_makes_no_point_and_batches_make_one(tmp_path: Path) -> None:
    stall = [100] * 7 + [0] * 3 + [100] * 5  # mean 80, standard deviation 40: cv 0.5
    runs = history(tmp_path, BEFORE)
    wild = add_run(tmp_path, 12, 30.0, per_second=stall)  # would be a step if it counted
    batch = [add_run(tmp_path, 13 + k, v, batch={"id": "nightly-9", "index": k + 1, "of": 3},
                     per_second=stall if k == 1 else STEADY) for k, v in enumerate([10.02, 99.0, 10.06])]
    report = detect(tmp_path)
    s = series(report)
    assert [p.value for p in s.points] == BEFORE + [10.04]
    last = s.points[-1]
    assert (last.key, last.batch, last.repeats, last.runs, last.unstable_runs) == (
        "nightly-9", "nightly-9", 2, [batch[0], batch[2]], [batch[1]])
    unusable = [(r.run_id, r.value, r.point) for r in s.runs if not r.usable]
    assert unusable == [(wild, 30.0, None), (batch[1], 99.0, None)]
    assert [r.cv for r in s.runs if not r.usable] == [0.5, 0.5]
    assert s.runs[0].run_id == runs[0] and s.runs[0].stability == "stable: per-second throughput cv 0.000 <= 0.25"
    assert s.status == "no change"
    assert report.runs_per_point()["repeats"] == {"1": 4 * 12, "2": 4}  # each of the 4 metrics
    assert report.counts()["points_under_min_repeats"] == 4 * 13  # every point of the 4 metrics has < 3 runs
    # A laxer threshold keeps the stalled runs: the 30.0 becomes a point.
    assert len(series(detect(tmp_path, Settings(threshold_cv=0.5))).points) == 14


def test_mann_whitney_against_known_values() -> None:
    assert u_counts(3, 3) == [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]  # the 20 orderings of 3 + 3 by U
    assert sum(u_counts(8, 200)) == math.comb(208, 8)
    r = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert (r.u, r.p, r.method) == (0.0, 0.1, "exact")  # 2 of C(6, 3) orderings are this extreme
    r = mann_whitney_u([4, 5, 6], [1, 2, 3])
    assert (r.u, r.p) == (9.0, 0.1)
    assert mann_whitney_u(list(range(1, 11)), [11, 12, 13]).p == pytest.approx(2 / 286)
    assert mann_whitney_u([1.0], [2.0]).p == 1.0
    # Ties: normal approximation with tie and continuity corrections; scipy 1.16.3 gives 0.06476896969888761.
    r = mann_whitney_u([1, 2, 2, 3, 4], [2, 3, 5, 6, 7, 8])
    assert (r.u, r.method) == (4.5, "normal") and r.p == pytest.approx(0.06476896969888761, rel=1e-12)
    assert mann_whitney_u([5, 5, 5], [5, 5, 5]).p == 1.0
    with pytest.raises(ValueError):
        mann_whitney_u([], [1.0])


def test_mann_whitney_matches_scipy_in_the_otava_virtualenv() -> None:
    """The same samples through scipy.stats.mannwhitneyu (method auto) in Otava's virtualenv."""
    rng = random.Random(7)
    cases = [([rng.gauss(10, 1) for _ in range(n1)], [rng.gauss(10 + shift, 1) for _ in range(n2)])
             for n1, n2, shift in ((12, 3, 1.5), (9, 9, 0.5), (20, 12, 1.0), (4, 6, 2.0))]
    cases.append(([1, 2, 2, 3, 3, 3], [3, 4, 4, 5, 9, 9, 9, 9, 9, 9]))
    code = ("import json, sys; from scipy.stats import mannwhitneyu; "
            "print(json.dumps([[float(r.statistic), float(r.pvalue)] for r in "
            "(mannwhitneyu(x, y, alternative='two-sided') for x, y in json.load(sys.stdin))]))")
    done = subprocess.run([str(OTAVA_PYTHON), "-c", code], input=json.dumps(cases), capture_output=True, text=True,
                          check=True)
    for (x, y), (u, p) in zip(cases, json.loads(done.stdout)):
        r = mann_whitney_u(x, y)
        assert r.u == u and r.p == pytest.approx(p, rel=1e-9)


def test_bootstrap_against_known_values() -> None:
    # Medians before are all 1; a median of 3 draws from [2, 2, 3] is 3 with probability 7/27, else 2:
    # the change is +100% or +200%, both with far more than 2.5% of the 2000 resamples.
    assert bootstrap_change_ci([1, 1, 1], [2, 2, 3], 2000, 1, 0.95) == (100.0, 200.0)
    assert bootstrap_change_ci([4, 4], [3, 3], 50, 1, 0.9) == (-25.0, -25.0)
    assert bootstrap_change_ci([0, 0, 1], [2, 2, 2], 2000, 1, 0.95) is None  # the percent is not defined
    a = bootstrap_change_ci(BEFORE, AFTER, 2000, 3, 0.95)
    assert a == bootstrap_change_ci(BEFORE, AFTER, 2000, 3, 0.95)  # seeded
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5 and quantile([1.0, 2.0, 3.0, 4.0], 0.025) == 1.075


def run_adapter(request: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OTAVA_PYTHON), str(OTAVA_ADAPTER)], input=json.dumps(request), capture_output=True,
                          text=True)


def test_the_adapter_end_to_end_in_the_otava_virtualenv() -> None:
    step = [10, 10.2, 9.9, 10.1, 10, 9.8, 10.1, 10, 10.2, 9.9, 12, 12.1, 11.9, 12, 12.2, 12]
    done = run_adapter({"series": {"step": step, "flat": [5.0] * 12, "one": [1.0]}, "max_pvalue": 0.001,
                        "min_magnitude": 0.0, "window_len": 30})
    assert (done.returncode, done.stderr) == (0, "")
    out = json.loads(done.stdout)
    assert out["flat"] == [] and out["one"] == []
    (cp,) = out["step"]
    assert cp["index"] == 10 and cp["pvalue"] < 1e-10
    assert cp["mean_before"] == pytest.approx(10.02) and cp["mean_after"] == pytest.approx(12.0333333333)
    assert cp["forward_change_percent"] == pytest.approx(100 * (12.0333333333 / 10.02 - 1))
    for request, message in (
            ("[", "otava_adapter: error: stdin: not valid JSON"),
            ({"series": {"a": [1, "x"]}, "max_pvalue": 0.001, "min_magnitude": 0, "window_len": 30},
             "otava_adapter: error: field 'series.a': must be a list of finite numbers"),
            ({"series": {}, "max_pvalue": 0, "min_magnitude": 0, "window_len": 30},
             "otava_adapter: error: field 'max_pvalue': must be a number with 0 < p <= 1, got 0"),
            ({"series": {}, "max_pvalue": 0.01, "min_magnitude": 0}, "otava_adapter: error: field 'window_len': missing")):
        done = subprocess.run([str(OTAVA_PYTHON), str(OTAVA_ADAPTER)], capture_output=True, text=True,
                              input=request if isinstance(request, str) else json.dumps(request))
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(message) and done.stderr.count("\n") == 1


def test_without_the_otava_virtualenv_it_says_make_setup(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=r"Apache Otava is not installed: .*/nope is missing; run `make setup`"):
        otava_change_points({"s": [1.0] * 10}, Settings(), python=tmp_path / "nope")
    assert otava_change_points({}, Settings(), python=tmp_path / "nope") == {}  # nothing to ask


@pytest.mark.parametrize("script, error, message", [
    ("echo 'Traceback ...' >&2; echo 'ModuleNotFoundError: No module named otava' >&2; exit 1", EnvironmentProblem,
     r"otava_adapter.py under .*/python failed \(exit 1\): ModuleNotFoundError: No module named otava; run `make setup`"),
    ("echo 'otava_adapter: error: field x' >&2; exit 2", GbenchError,
     "otava_adapter.py refused the request: otava_adapter: error: field x"),
    ("echo '{\"other\": []}'", GbenchError, "its answer does not name exactly the 1 series asked for"),
    ("echo '{\"s\": [{\"index\": 10}]}'", GbenchError,
     "series s: not a list of change points with an index inside its 10 points"),
])
def test_an_adapter_that_fails_or_answers_wrong_is_an_error(tmp_path: Path, script: str, error: type[Exception],
                                                            message: str) -> None:
    python = tmp_path / "python"  # stands in for the Otava virtualenv's interpreter
    python.write_text(f"#!/bin/sh\ncat >/dev/null\n{script}\n")
    python.chmod(0o755)
    with pytest.raises(error, match=message) as e:
        otava_change_points({"s": [1.0] * 10}, Settings(), python=python)
    assert type(e.value) is error  # EnvironmentProblem (run make setup) only when the environment is at fault


def test_gbench_changes_exit_codes_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    quiet, moved = tmp_path / "quiet", tmp_path / "moved"
    history(quiet, BEFORE)
    history(moved, BEFORE + AFTER[:3])
    out = tmp_path / "report"
    assert main(["changes", "--results", str(quiet), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Change detection: 0 change(s) (0 regression(s), 0 improvement(s)) in 4 series\n\n"
                           "No change detected in the 4 series with a verdict (at least 10 points).")
    assert main(["changes", "--results", str(moved), "--out", str(out)]) == 10
    text = capsys.readouterr().out
    assert text.startswith("# Change detection: 1 change(s) (1 regression(s), 0 improvement(s)) in 4 series")
    summary = (out / "summary.md").read_text()
    assert summary in text and len(summary.encode()) < 1024 * 1024
    assert "| regression | etcd etcd-put-256B put c16 p99_ms | 20260101T120000Z-etcd (point 13 of 15) |" in summary
    assert "| 12 / 3 (some of 1 run) | c1 (same) | same |" in summary
    doc = json.loads((out / "changes.json").read_text())
    assert [c["index"] for c in doc["changes"]] == [12] and doc["counts"]["changes"] == 1
    # Bad input: 2 (argparse for the option's value); a damaged run: 1.
    with pytest.raises(SystemExit) as e:
        main(["changes", "--results", str(quiet), "--threshold-cv", "0"])
    assert e.value.code == 2 and "--threshold-cv: must be a finite number > 0, got '0'" in capsys.readouterr().err
    assert main(["changes", "--results", str(quiet), "--out", str(out / "summary.md")]) == 2
    assert capsys.readouterr().err == f"gbench: error: --out: {out / 'summary.md'} is a file; name a directory\n"
    assert main(["changes", "--results", str(tmp_path / "nowhere")]) == 2
    capsys.readouterr()
    next(quiet.glob("*/workloads/etcd-put-256B/hlog/put.ok.hlog")).unlink()
    assert main(["changes", "--results", str(quiet)]) == 1
    assert "put.ok.hlog: missing: the run's per-second throughput cannot be judged" in capsys.readouterr().err


def test_a_change_needs_otavas_point_and_mann_whitneys_confirmation(tmp_path: Path) -> None:
    """A finder that reports a point Mann-Whitney cannot confirm (two values after it in the
    middle: a transient; three equal-looking ones: not confirmed)."""
    history(tmp_path, BEFORE + [10.04, 9.95, 10.06, 9.93])

    def finder(series: dict[str, list[float]], settings: Settings) -> dict[str, list[dict[str, Any]]]:
        return {sid: [{"index": 6, "pvalue": 0.0005}, {"index": 8, "pvalue": 0.0004}] if sid.endswith("p99_ms") else []
                for sid in series}

    h = load_history([tmp_path])
    s = series(detect_changes(h.frame, h.run_paths, find=finder))
    assert s.changes == [] and s.status == "no change"
    assert [(n.index, n.pending, n.why[:30]) for n in s.not_reported] == [
        (6, False, "a transient: 2 point(s) before"), (8, False, "not confirmed: Mann-Whitney p ")]
    assert not any(isinstance(c, Change) for c in s.not_reported)


def test_run_noise_and_beyond_noise_against_known_values() -> None:
    # Pooled over the repeated groups: squared deviations (1 + 0 + 1) + (1 + 1) = 4 over 2 + 1 df.
    assert run_noise([[1, 2, 3], [10, 12]], min_df=3) == Noise(math.sqrt(4 / 3), "repeats", 3)
    # Too few df for repeats: the groups' medians 2 and 11, one difference of 9 over 0.6745 * sqrt(2).
    n = run_noise([[1, 2, 3], [10, 12]])
    assert (n.method, n.df, round(n.sd, 4)) == ("successive values", 1, 9.4352)
    # Successive values ignore a step: medians 1, 1.1, 1, 1.1, 5, 5.1, 5: differences .1 .1 .1 3.9 .1 .1.
    assert round(run_noise([[v] for v in (1, 1.1, 1, 1.1, 5, 5.1, 5)]).sd, 4) == round(0.1 / (0.6744897501960817 * math.sqrt(2)), 4) == 0.1048
    assert run_noise([[5.0]]) is None and run_noise([]) is None
    zero = run_noise([[0, 0]] * 4)
    assert zero == Noise(0.0, "repeats", 4)
    assert beyond_noise(1, zero) is True and beyond_noise(0, zero) is False
    assert round(NOISE_FACTOR, 4) == 2.7719  # 1.96 * sqrt(2)
    one = Noise(1.0, "repeats", 10)
    assert beyond_noise(2.77, one) is False and beyond_noise(-2.78, one) is True and beyond_noise(5, None) is None


@pytest.mark.parametrize("spread, reported", [(0.3, True), (1.5, False)])
def test_a_shift_within_the_run_to_run_noise_is_not_reported(tmp_path: Path, spread: float, reported: bool) -> None:
    """The same batch medians (BEFORE then AFTER: a step of 2.01), each batch of three runs at
    median - spread, median, median + spread (run sd = spread): with spread 0.3 the step is 6.7
    run sds and reported; with 1.5 it is 1.34, under 1.96 * sqrt(2), and not reported however
    small Mann-Whitney's p."""
    for k, m in enumerate(BEFORE + AFTER):
        for j, v in enumerate((m - spread, m, m + spread)):
            add_run(tmp_path, 3 * k + j, round(v, 4), batch={"id": f"b{k:02d}", "index": j + 1, "of": 3})
    s = series(detect(tmp_path))
    assert [p.value for p in s.points] == BEFORE + AFTER and {p.repeats for p in s.points} == {3}
    if reported:
        (c,) = s.changes
        assert c.index == 12 and c.noise_sd == pytest.approx(spread) and c.shift_in_noise == pytest.approx(2.01 / spread)
        assert c.noise_method == "run-to-run sd 0.3 from repeated runs (36 degrees of freedom)"
    else:
        assert s.changes == [] and s.status == "no change"
        (n,) = s.not_reported
        assert n.shift_in_noise == pytest.approx(2.01 / 1.5)
        assert n.index == 12 and n.why == ("within noise: the shift 2.01 ms is 1.34 x the run-to-run sd 1.5 from repeated "
                                           "runs (36 degrees of freedom), not above 2.77")
