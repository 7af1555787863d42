"""The scheduled benchmark job's work end to end on real clusters (issue 12): `make bench-ci` with
the short suite, 3 repeats on fresh 3-node etcd clusters as one batch, then `gbench history`'s
table, `gbench changes`' outputs and the diagrams, all in the test's own directories. The
workflow (.github/workflows/bench.yml) only calls this target, so this is the job as the NVMe
host runs it, shortened."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.results.history import load_history

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.cluster


def test_make_bench_ci_runs_a_batch_and_writes_history_changes_and_diagrams(require_cluster: None,
                                                                           tmp_path: Path) -> None:
    results, out = tmp_path / "results", tmp_path / "changes"
    env = dict(os.environ, GBENCH_DATA_DIR=str(tmp_path / "data"), GBENCH_STATE_DIR=str(tmp_path / "state"),
               GBENCH_RUNNER_LABEL="test-runner")
    env.pop("GBENCH_RESULTS_DIR", None)
    r = subprocess.run(["make", "--no-print-directory", "bench-ci", "BENCH_SUITES=workloads/suites/etcd-ci-short.yaml",
                        "REPEATS=3", "BATCH_ID=test-batch", f"RESULTS={results}", f"CHANGES_OUT={out}"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = sorted(p for p in results.iterdir() if (p / "manifest.json").is_file())
    assert len(runs) == 3
    batches = [json.loads((p / "manifest.json").read_text())["batch"] for p in runs]
    assert batches == [{"id": "test-batch", "index": i, "of": 3} for i in (1, 2, 3)]

    h = load_history([results])
    df = h.frame
    assert h.runs_read == 3 and df.fingerprint.nunique() == 1 and set(df.runner_label) == {"test-runner"}
    assert set(df.batch) == {"test-batch"} and set(df.workload) == {"etcd-short-put-256B",
                                                                     "etcd-short-get-serializable-256B"}
    assert df.groupby("series").run_id.nunique().eq(3).all()  # every series: one value per repeat

    assert (out / "exit-status").read_text().strip() == "0"  # 1 point per series: collecting a baseline
    changes = json.loads((out / "changes.json").read_text())
    assert changes["changes"] == [] and len(changes["series"]) == df.series.nunique()
    summary = (out / "summary.md").read_text()
    assert "Collecting baseline" in summary and (out / "summary.md").stat().st_size < 1_000_000
    assert (out / "index.html").is_file()
    assert (results / "diagrams" / "index.html").is_file()
