"""The results history: exact rows from constructed runs, fingerprints that split series only
where the hardware differs, and what is left out (and why) or refused."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import DamagedFile
from harness.results.history import (COLUMNS, NOT_RECORDED, fingerprint, fingerprint_id, fsync_class, load_history,
                                     memory_gib)
from tests.harness.results.fake_runs import comparison_run, measurement_run, write

HOST: dict[str, Any] = {
    "cpu_model": "AMD EPYC 7B13", "logical_cores": 16, "physical_cores": 8, "threads_per_core": 2,
    "memory_total_bytes": 64 * 2**30 - 300 * 2**20, "data_dir_disk_model": "Samsung SSD 980 PRO 2TB",
    "data_dir_rotational": False, "data_dir_filesystem": "ext4", "data_dir_mount_options": "rw,relatime",
    "fsync_latency": {"p10_ms": 0.03, "p50_ms": 0.05}, "runner_label": "nvme-bench"}


def row(op: str = "put", outcome: str = "ok", **kw: Any) -> dict[str, Any]:
    base = {"system": "etcd", "provider": "netns", "nodes": 5, "tool": "harness", "op": op, "value_size": 256,
            "read_consistency": "", "write_consistency": "", "concurrency": 16, "outcome": outcome, "count": 100,
            "throughput_ops_s": 500.0, "p50_ms": 2.5, "p90_ms": 4.0, "p99_ms": 9.0, "p999_ms": 12.5,
            "max_ms": 20.0, "workload": "etcd-put-256B", "load_mode": "closed", "harness_saturated": False}
    return {**base, **kw}


def test_fsync_class_and_memory_bounds() -> None:
    assert [fsync_class(v) for v in (0.02, 0.0999, 0.1, 0.99, 1.0, 9.99, 10.0, 250.0)] == [
        "<0.1 ms", "<0.1 ms", "0.1-1 ms", "0.1-1 ms", "1-10 ms", "1-10 ms", ">=10 ms", ">=10 ms"]
    assert fsync_class(None) is None and fsync_class(True) is None and fsync_class("3") is None
    assert memory_gib(25276203008) == 24 and memory_gib(64 * 2**30 - 300 * 2**20) == 64
    assert memory_gib(None) is None and memory_gib(True) is None


def test_fingerprint_fields_and_what_was_not_recorded() -> None:
    fp = fingerprint({"host": HOST})
    assert fp == {"cpu_model": "AMD EPYC 7B13", "logical_cores": 16, "physical_cores": 8, "threads_per_core": 2,
                  "memory_gib": 64, "disk_model": "Samsung SSD 980 PRO 2TB", "rotational": False,
                  "filesystem": "ext4", "mount_options": "rw,relatime", "fsync_class": "<0.1 ms",
                  "runner_label": "nvme-bench"}
    old = fingerprint({"host": {"cpu_model": "X", "logical_cores": 2, "fsync_latency": {"p50_ms": 0.2}}})
    assert old["physical_cores"] == old["fsync_class"] == old["runner_label"] == NOT_RECORDED
    assert fingerprint({"host": {**HOST, "runner_label": None}})["runner_label"] == "none"  # recorded: a run by hand
    # The fsync median moves with the host's load; the class follows the 10th percentile only.
    noisy = {**HOST, "fsync_latency": {"p10_ms": 0.04, "p50_ms": 3.4}}
    assert fingerprint_id(fingerprint({"host": noisy})) == fingerprint_id(fp)
    assert fingerprint_id(fingerprint({"host": {**HOST, "logical_cores": 8}})) != fingerprint_id(fp)
    assert len(fingerprint_id(fp)) == 12


def test_rows_are_one_per_observation_ok_outcomes_only(tmp_path: Path) -> None:
    measurement_run(tmp_path, "20260101T000000Z-etcd", host=HOST,
                    rows=[row(), row(outcome="fail", p50_ms=100.0),
                          row(op="get", read_consistency="serializable", p999_ms=None, throughput_ops_s=900.0)])
    h = load_history([tmp_path])
    df = h.frame
    assert list(df.columns) == list(COLUMNS) and h.runs_read == 1 and h.excluded == []
    put = df[df.op == "put"].set_index("metric")
    assert put.value.to_dict() == {"throughput_ops_s": 500.0, "p50_ms": 2.5, "p99_ms": 9.0, "p999_ms": 12.5}
    assert put.loc["p50_ms", "better"] == "lower" and put.loc["throughput_ops_s", "better"] == "higher"
    assert put.loc["p99_ms", "unit"] == "ms" and put.loc["p99_ms", "software"] == "etcd 1.0"
    assert put.loc["p99_ms", "harness_commit"] == "abc123" and put.loc["p99_ms", "runner_label"] == "nvme-bench"
    get = df[df.op == "get"]
    assert sorted(get.metric) == ["p50_ms", "p99_ms", "throughput_ops_s"]  # p99.9 not measured: no row
    assert set(get.level) == {"serializable"}
    fp = fingerprint_id(fingerprint({"host": HOST}))
    assert put.loc["p99_ms", "series"] == f"{fp}|etcd|netns|5|harness|etcd-put-256B|put|256|||16|closed|p99_ms"


def test_failure_summary_figures_and_not_measured_ones(tmp_path: Path) -> None:
    fs = {"scenario": "leader-in-minority", "system": "etcd", "nodes": 5,
          "partition": {"election": {"elected_after_s": 1.25},
                        "unavailability": {"writes": {"gap_s": "not measured: no write clients on the majority"}},
                        "recovery_after_heal": {"full_service_after_s": 0.75}},
          "lost_writes": {"count": 0}, "late_writes": {"count": 2},
          "stale_reads": {"evidence": {"by_read_consistency": {
              "serializable": {"reads": 40, "stale": 3}, "linearizable": {"reads": 50, "stale": 0},
              "none": {"reads": 0, "stale": 0}}}}}
    measurement_run(tmp_path, "20260101T000000Z-s", host=HOST, scenarios={"leader-in-minority": fs})
    df = load_history([tmp_path]).frame
    got = {(r.metric, r.level): r.value for r in df.itertuples()}
    assert got == {("election_s", ""): 1.25, ("recovery_s", ""): 0.75, ("lost_writes", ""): 0.0,
                   ("late_writes", ""): 2.0, ("stale_read_share", "linearizable"): 0.0,
                   ("stale_read_share", "serializable"): 0.075}
    assert set(df.workload) == {"leader-in-minority"} and set(df.op) == {"scenario"}
    assert set(df.provider) == {"netns"}


def test_series_never_mix_fingerprints_and_runs_sort_by_start(tmp_path: Path) -> None:
    measurement_run(tmp_path, "20260102T000000Z-etcd", host=HOST, rows=[row(p50_ms=3.0)],
                    started_utc="2026-01-02T00:00:00+00:00")
    measurement_run(tmp_path, "20260101T000000Z-etcd", host=HOST, rows=[row(p50_ms=2.0)],
                    started_utc="2026-01-01T00:00:00+00:00")
    measurement_run(tmp_path, "20260103T000000Z-etcd", host={**HOST, "data_dir_rotational": True},
                    rows=[row(p50_ms=9.0)], started_utc="2026-01-03T00:00:00+00:00")
    p50 = load_history([tmp_path]).frame.query("metric == 'p50_ms'")
    by_series = {s: list(g.value) for s, g in p50.groupby("series", sort=False)}
    assert sorted(by_series.values()) == [[2.0, 3.0], [9.0]]  # the spinning disk is its own series


def test_what_is_left_out_and_what_is_refused(tmp_path: Path) -> None:
    measurement_run(tmp_path, "20260101T000000Z-etcd", host=HOST, rows=[row()])
    comparison_run(tmp_path, "20260101T010000Z-comparison", "20260101T000000Z-etcd", "x")
    part = tmp_path / "20260101T020000Z-etcd.incomplete"
    part.mkdir()
    (part / "INCOMPLETE").write_text("interrupted at load\n")
    other = tmp_path.parent / (tmp_path.name + "-copy")
    measurement_run(other, "20260101T000000Z-etcd", host=HOST, rows=[row()])
    h = load_history([tmp_path, other])
    assert h.runs_read == 1 and len(h.frame) == 4
    assert [(rid, why) for rid, _, why in h.excluded] == [
        ("20260101T010000Z-comparison", "a comparison run: no measurement of its own"),
        ("20260101T020000Z-etcd", "incomplete: interrupted at load"),
        ("20260101T000000Z-etcd", f"the same run as {tmp_path / '20260101T000000Z-etcd'}")]
    write(tmp_path / "20260101T030000Z-etcd" / "manifest.json", ["not", "an", "object"])
    with pytest.raises(DamagedFile) as e:
        load_history([tmp_path])
    assert "20260101T030000Z-etcd" in str(e.value) and "must be an object at the top, got a list" in str(e.value)
    bad_fs = measurement_run(tmp_path / "b", "20260101T040000Z-etcd", host=HOST, scenarios={"s": {}})
    (bad_fs / "scenarios" / "s" / "failure_summary.json").write_text("{")
    with pytest.raises(DamagedFile, match="failure_summary.json.*not valid JSON"):
        load_history([tmp_path / "b"])


def test_gbench_history_prints_fingerprints_and_writes_the_csv(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from harness.cli import main

    root = tmp_path / "results"
    measurement_run(root, "20260101T000000Z-etcd", host=HOST, rows=[row()])
    measurement_run(root, "20260102T000000Z-etcd", host={**HOST, "runner_label": None}, rows=[row()],
                    started_utc="2026-01-02T00:00:00+00:00")
    out = tmp_path / "h" / "history.csv"
    assert main(["history", "--results", str(root), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("2 runs, 8 observations, 8 series, 2 hardware fingerprints")
    assert "runner_label nvme-bench" in text and "runner_label none" in text
    df = pd.read_csv(out)
    assert list(df.columns) == list(COLUMNS) and len(df) == 8
    assert sorted(df.source.unique()) == ["20260101T000000Z-etcd/summary.json", "20260102T000000Z-etcd/summary.json"]
    assert main(["history", "--results", str(root), "--out", str(tmp_path)]) == 2
    assert "--out: " in capsys.readouterr().err
    assert main(["history", "--results", str(tmp_path / "nowhere")]) == 2


def test_batch_and_duration_columns(tmp_path: Path) -> None:
    measurement_run(tmp_path, "20260101T000000Z-etcd", host=HOST, rows=[row(duration_s=15)],
                    batch={"id": "nightly-7", "index": 2, "of": 3})
    measurement_run(tmp_path, "20260102T000000Z-etcd", host=HOST, rows=[row()],
                    started_utc="2026-01-02T00:00:00+00:00")
    h = load_history([tmp_path])
    df = h.frame
    assert {r["run_id"]: r["batch"] for r in h.rows} == {"20260101T000000Z-etcd": "nightly-7",
                                                         "20260102T000000Z-etcd": None}
    assert df.batch.isna().sum() == 4  # the second run's four rows
    assert set(df[df.run_id == "20260101T000000Z-etcd"].duration_s) == {15.0}
    assert df[df.run_id == "20260102T000000Z-etcd"].duration_s.isna().all()  # the row had none
    assert h.run_paths == {"20260101T000000Z-etcd": tmp_path / "20260101T000000Z-etcd",
                           "20260102T000000Z-etcd": tmp_path / "20260102T000000Z-etcd"}
    measurement_run(tmp_path, "20260103T000000Z-etcd", host=HOST, rows=[row()], batch={"id": "x y", "index": 1})
    with pytest.raises(DamagedFile, match=r"20260103T000000Z-etcd/manifest.json: field 'batch' must be"):
        load_history([tmp_path])
