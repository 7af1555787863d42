"""Ctrl-C and ``gbench cleanup`` on the primary/replica systems (issue 14's acceptance: no
leaked process, namespace or data dir after a run, Ctrl-C and ``gbench cleanup``).

Each system's own failover-partition scenario (PostgreSQL: the primary cut off, a standby
promoted; Redis: the primary cut off, Sentinels promote a replica) through the real CLI:

- SIGINT while the partition is in effect: the run exits with 130 within the system's exit
  budget, its directory says ``interrupted by SIGINT at nemesis``, and nothing of it is left:
  no process of its tree, no namespace, link or rule, no data dir, ledger, or node dirs the
  provider moved to ``/var/tmp/gbench-<run>`` (PostgreSQL runs as ``postgres``, which cannot
  pass pytest's 0700 temp dirs, so its nodes live there);
- SIGKILL during the load leaves the cluster running; ``gbench cleanup`` then removes it all.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from harness.benchmarks.signal_exit import RunWatch, ScenarioTimes, host_names, leftovers, wait_for_moment
from tests.conftest import require_system
from harness.interrupt import EXIT_BUDGET_S
from harness.providers.netns import OPEN_SCRATCH_ROOT
from tests.harness.cli.test_end_to_end import env, gbench  # noqa: F401 (env: the fixture)

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[3]
SCENARIOS = {"postgres": REPO / "workloads" / "scenarios" / "postgres-failover-partition-async.yaml",
             "redis": REPO / "workloads" / "scenarios" / "redis-failover-partition.yaml"}


def _moved_node_dirs(w: RunWatch) -> list[str]:
    run_id = w.run_id()
    d = OPEN_SCRATCH_ROOT / f"gbench-{run_id}"
    return [f"node dirs {d}"] if run_id and d.exists() else []


def _servers_of(data: Path) -> list[str]:
    """Database processes whose command line or working dir is under the test's data root or
    a /var/tmp/gbench-* dir (what a run of this test leaves if its teardown failed)."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline", "name"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if (str(data) in cmd or str(OPEN_SCRATCH_ROOT / "gbench-") in cmd) and p.info["name"] in (
                "postgres", "redis-server", "redis-sentinel", "redis-check-rdb"):
            found.append(f"process {p.info['pid']} ({cmd[:100]})")
    return found


def _start_and_reach(system: str, env: dict[str, str], moment: str, trial: int) -> RunWatch:
    """The system's scenario started through the CLI, waited on until ``moment`` (and the
    trial's point inside it) is reached."""
    proc = subprocess.Popen(gbench("scenario", str(SCENARIOS[system]), "--provider", "netns", "--quiet"),
                            env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    w = RunWatch(proc, Path(env["GBENCH_RESULTS_DIR"]), Path(env["GBENCH_STATE_DIR"]))
    w.start_reader()
    at, how, _ = wait_for_moment(w, system, moment, ScenarioTimes.of(SCENARIOS[system]), trial=trial, timeout_s=240)
    if at is None:
        proc.kill()
        proc.wait(timeout=30)
        raise AssertionError(f"{moment} was not reached: {how}\n{w.text()[-3000:]}")
    w.snapshot_tree()
    return w


def _finish(w: RunWatch | None, env: dict[str, str]) -> None:
    if w is not None and w.proc.poll() is None:
        w.proc.kill()
        w.proc.wait(timeout=30)
    subprocess.run(gbench("cleanup"), env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("system", sorted(SCENARIOS))
def test_sigint_during_the_partition_leaves_nothing(system: str, env: dict[str, str]) -> None:
    require_system(system)
    before = host_names()
    w = None
    try:
        w = _start_and_reach(system, env, "nemesis", trial=1)
        assert _moved_node_dirs(w) or system != "postgres", "PostgreSQL's node dirs were expected in /var/tmp"
        t0 = time.monotonic()
        os.kill(w.proc.pid, signal.SIGINT)
        bound = EXIT_BUDGET_S[system]
        try:
            rc = w.proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"gbench did not exit within {bound:g} s of SIGINT:\n{w.text()[-3000:]}")
        assert rc == 130, w.text()[-3000:]
        assert time.monotonic() - t0 <= bound
        w.drain()
        time.sleep(0.3)  # orphans are reaped by init
        data = Path(env["GBENCH_DATA_DIR"])
        assert leftovers(w, before, data) + _moved_node_dirs(w) + _servers_of(data) == []
        names = [p.name for p in Path(env["GBENCH_RESULTS_DIR"]).iterdir()]
        assert len(names) == 1 and names[0].endswith(".incomplete"), names
        said = (Path(env["GBENCH_RESULTS_DIR"]) / names[0] / "INCOMPLETE").read_text().strip()
        assert said.startswith("interrupted by SIGINT at nemesis"), said
    finally:
        _finish(w, env)


@pytest.mark.parametrize("system", sorted(SCENARIOS))
def test_sigkill_then_cleanup_removes_everything(system: str, env: dict[str, str]) -> None:
    require_system(system)
    before = host_names()
    w = None
    try:
        w = _start_and_reach(system, env, "load", trial=0)
        os.killpg(w.proc.pid, signal.SIGKILL)  # the CLI and its load workers: nothing may tidy up
        w.proc.wait(timeout=10)
        time.sleep(0.5)
        data = Path(env["GBENCH_DATA_DIR"])
        left = leftovers(w, before, data) + _moved_node_dirs(w) + _servers_of(data)
        assert any(s.startswith("process") for s in left), f"a SIGKILLed run should leave its nodes running: {left}"
        r = subprocess.run(gbench("cleanup"), env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        time.sleep(0.3)
        assert leftovers(w, before, data) + _moved_node_dirs(w) + _servers_of(data) == []
    finally:
        _finish(w, env)
