"""A Cassandra run whose harness is SIGKILLed leaves JVMs, namespaces and data behind;
``gbench cleanup`` removes all of it (and nothing it did not create)."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import kill_workers_of

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[4]

WORKLOAD = """
name: cass-e2e
system: cassandra
nodes: 1
keys: {count: 20}
value_size: 64
mix: {put: 1, get: 1}
read_consistency: ONE
cassandra: {replication_factor: 1, write_consistency: ONE}
load: {mode: closed, concurrency: 2, workers: 1}
duration_s: 120
"""


def _jvms(data_dir: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"]) if data_dir in " ".join(p.info.get("cmdline") or [])]


def _run_ids(results: Path) -> list[str]:
    """The runs the test started: every run directory in its own results root (the store's
    listing: in progress, crashed, incomplete or complete). Host-wide names are counted only
    for these, so a run of another process on the host is never this test's leftover."""
    from harness.results.store import list_runs

    return [r.run_id for r in list_runs(results)] if results.is_dir() else []


def _left_by(run_ids: list[str]) -> set[str]:
    from harness.benchmarks.signal_exit import host_names

    return set().union(*(host_names(r) for r in run_ids)) if run_ids else set()


def test_sigkill_then_cleanup_removes_the_jvms(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    try:
        from harness.systems.cassandra import find_cassandra, find_java

        find_java(), find_cassandra()
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Cassandra is not set up in CI: {e}")
        pytest.skip(str(e))
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_DATA_DIR=str(tmp_path / "data"),
               GBENCH_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    wl = tmp_path / "w.yaml"
    wl.write_text(WORKLOAD)
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(wl), "--quiet", "--provider", "netns"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        buf, deadline = b"", time.monotonic() + 240
        assert proc.stderr is not None
        while b"workload cass-e2e" not in buf and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr.fileno()], [], [], 0.2)[0]:
                buf += os.read(proc.stderr.fileno(), 65536)
        assert b"workload cass-e2e" in buf, buf.decode(errors="replace")[-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert _jvms(env["GBENCH_DATA_DIR"]), "the SIGKILLed run should have left its JVM behind"
        runs = _run_ids(tmp_path / "results")
        assert runs and _left_by(runs), "the SIGKILLed run should have left its namespaces behind"
        r = subprocess.run([sys.executable, "-m", "harness.cli", "cleanup"], env=env, cwd=REPO, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        time.sleep(0.5)
        assert _jvms(env["GBENCH_DATA_DIR"]) == []
        assert _left_by(runs) == set()
        data = tmp_path / "data"
        assert not data.exists() or not any(data.iterdir())
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_workers_of(env)
