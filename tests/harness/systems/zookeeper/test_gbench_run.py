"""``gbench run`` on ZooKeeper through the real CLI: the register at the sync level on a fresh
5-node cluster in network namespaces, judged, recorded with ZooKeeper's own mntr figures,
and nothing left behind. The whole path of a third system: registry -> plugin -> system ->
provider -> kazoo client -> checkers -> manifest."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[4]


def test_gbench_run_on_zookeeper_is_judged_recorded_and_leaves_nothing(tmp_path: Path) -> None:
    from harness.benchmarks.signal_exit import host_names
    from harness.errors import EnvironmentProblem
    from harness.providers.netns import NetnsProvider
    from harness.results.store import list_runs
    from harness.systems.zookeeper.system import ZooKeeperSystem

    try:
        NetnsProvider("zookeeper-test").check_environment()
        ZooKeeperSystem.from_environment()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"ZooKeeper cluster tests cannot run in CI: {e}")
        pytest.skip(str(e))
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_DATA_DIR=str(tmp_path / "data"),
               GBENCH_STATE_DIR=str(tmp_path / "state"))
    p = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(REPO / "workloads/zookeeper-register-sync.yaml"),
                        "--provider", "netns", "--quiet"], capture_output=True, text=True, timeout=400, env=env, cwd=REPO)
    runs = list_runs(tmp_path / "results")
    try:
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        assert len(runs) == 1
        run = tmp_path / "results" / runs[0].run_id
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["software"]["zookeeper"]["version"] == "3.9.5"
        assert manifest["software"]["kazoo"]["version"] == "2.11.0"
        verdicts = {v["checker"]: v for v in json.loads((run / "summary.json").read_text())["verdicts"]}
        # no fault ran: sync-then-read must be linearizable, with no stale read
        assert verdicts["linearizability"]["verdict"] is True, verdicts["linearizability"]["evidence"]
        assert verdicts["stale-reads"]["evidence"]["by_read_consistency"]["sync"]["stale"] == 0
        wl = run / "workloads" / "zookeeper-register-sync"
        with gzip.open(wl / "history.jsonl.gz", "rt") as fh:
            ops = [json.loads(line) for line in fh if line.strip()]
        fs = {(o.get("f"), o.get("type")) for o in ops}
        assert {("get", "ok"), ("put", "ok"), ("cas", "ok"), ("cas", "fail")} <= fs, fs
        mntr = json.loads((wl / "zookeeper_mntr.json").read_text())
        assert sorted(mntr["members"]) == ["n1", "n2", "n3", "n4", "n5"] and mntr["errors"] == {}
        assert sum(m["summaries"].get("readlatency", {}).get("count", 0) for m in mntr["members"].values()) > 0
    finally:
        left = sorted(set().union(*(host_names(r.run_id) for r in runs))) if runs else []
        assert left == [], left
        assert not any((tmp_path / "state").glob("*.json")), "a ledger was left"
        assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
