"""End to end: a short real bench into a scratch results dir, the diagrams drawn from it, and
the committed-diagram checks still passing afterwards (a user's runs change nothing the
repository's tests judge).

A tiny etcd suite (3 members, one 3 s put workload) named ``etcd`` like the default suite, so
the diagrams' ``run_of: etcd`` bindings read the fresh run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.diagram_gen.test_committed import (committed_numbers_are_in_sidecars, committed_provenance_exists,
                                              committed_render_is_faithful)

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]

WORKLOAD = """name: etcd-put-256B
system: etcd
keys: {count: 100, distribution: uniform}
value_size: 256
mix: {put: 1}
read_consistency: linearizable
load: {mode: closed, concurrency: 4}
warmup_s: 1
duration_s: 3
"""
SUITE = """name: etcd
system: etcd
nodes: 3
etcd_benchmark: false
workloads:
  - etcd-put-256B.yaml
"""


def gbench(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_short_bench_then_diagrams_then_committed_checks(require_cluster: None, tmp_path: Path) -> None:
    (tmp_path / "etcd-put-256B.yaml").write_text(WORKLOAD)
    (tmp_path / "suite.yaml").write_text(SUITE)
    scratch, out = tmp_path / "results", tmp_path / "diagrams"
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(scratch), GBENCH_DATA_DIR=str(tmp_path / "data"),
               GBENCH_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    try:
        r = gbench("bench", "--suite", str(tmp_path / "suite.yaml"), "--provider", "netns", "--quiet",
                   env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-4000:]
        runs = [p.name for p in scratch.iterdir() if p.is_dir()]
        assert len(runs) == 1 and runs[0].endswith("-etcd"), runs
        run = runs[0]

        d = gbench("diagrams", "--results", str(scratch), "--out", str(out), env=env, timeout=300)
        assert d.returncode == 0, d.stderr[-4000:]
        assert "Traceback" not in d.stderr
        perf = json.loads((out / "linearizability" / "performance.json").read_text())
        assert perf["inputs"]["runs"] == [run]
        put = next(f for f in perf["figures"] if f["key"] == "put_p50")
        assert put["status"] == "measured" and put["provenance"]["run_id"] == run
        cited = next(c for c in perf["claims"] if c["id"] == "lin-perf-write-p50")
        assert (cited["verdict"], cited["passes"]) == ("cited", True) and "logical cores" in cited["this_host"]
    finally:
        subprocess.run([sys.executable, "-m", "harness.cli", "cleanup"], env=env, cwd=REPO, capture_output=True,
                       timeout=120)
    # the repository's own diagrams and runs are untouched by the scratch bench
    committed_render_is_faithful()
    committed_provenance_exists()
    committed_numbers_are_in_sidecars()
