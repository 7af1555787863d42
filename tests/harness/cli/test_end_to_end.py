"""End to end through the real CLI on real etcd clusters in network namespaces.

Checks the acceptance points of the foundation: a run is published complete with rows,
histogram counts equal the history's completed operations, .hlog files decode, and nothing
is left behind after success, after SIGINT mid-run, and after SIGKILL + ``gbench cleanup``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from harness.recorder.histograms import read_hlog
from harness.recorder.history import read_history

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[3]

WORKLOAD = """
name: e2e
keys: {count: 50}
value_size: 256
mix: {put: 2, get: 2, cas: 1}
read_consistency: linearizable
load: {mode: closed, concurrency: 6, workers: 2}
warmup_s: 1
duration_s: %s
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update(GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_DATA_DIR=str(tmp_path / "data"),
             GBENCH_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    _BEFORE[e["GBENCH_STATE_DIR"]] = set(_host_wide())
    return e


# What was on the host before each test: a run that another (failed) test leaked is that
# test's failure, not this one's.
_BEFORE: dict[str, set[str]] = {}


def _host_wide() -> list[str]:
    """The harness's host-wide names: gb- namespaces, gb links, gbench: firewall rules."""
    found = []
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {l.split()[0]}" for l in ns.splitlines() if l.startswith("gb-")]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found += [f"link {l.split(':')[1].strip()}" for l in links.splitlines() if l.split(":")[1].strip().startswith("gb")]
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    found += [f"rule {l}" for l in rules.splitlines() if "gbench:" in l]
    return found


def gbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


def leftovers(env: dict[str, str]) -> list[str]:
    """Everything a run could leave: our namespaces, bridges, firewall rules (those that were
    not there before the test), etcd processes, dirs."""
    before = _BEFORE.get(env["GBENCH_STATE_DIR"], set())
    found = [x for x in _host_wide() if x not in before]
    etcd = str(REPO / ".cache" / "bin" / "etcd")
    for p in psutil.process_iter(["exe", "cmdline"]):
        cmd = p.info.get("cmdline") or []
        if cmd and (cmd[0] == etcd or p.info.get("exe") == etcd) and env["GBENCH_DATA_DIR"] in " ".join(cmd):
            found.append(f"process {p.pid}")
    data = Path(env["GBENCH_DATA_DIR"])
    if data.exists():
        found += [f"dir {d}" for d in data.iterdir()]
    state = Path(env["GBENCH_STATE_DIR"])
    if state.exists():
        found += [f"ledger {f}" for f in state.iterdir()]
    return found


def wait_for_line(proc: subprocess.Popen[bytes], needle: str, timeout: float) -> list[str]:
    """Read the child's stderr (raw fd + select: a text wrapper cannot read non-blocking)."""
    import select

    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            if needle.encode() in buf:
                return buf.decode(errors="replace").splitlines()
        elif proc.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not seen within {timeout}s; stderr so far:\n{buf.decode(errors='replace')[-3000:]}")


@pytest.mark.parametrize("nodes", [3, 5])
def test_run_publishes_complete_results(require_cluster: None, tmp_path: Path, env: dict[str, str], nodes: int) -> None:
    wl = tmp_path / "w.yaml"
    wl.write_text(WORKLOAD % 3)
    r = subprocess.run(gbench("run", str(wl), "--nodes", str(nodes), "--quiet", "--provider", "netns"), env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-4000:]
    runs = [p for p in (tmp_path / "results").iterdir()]
    assert len(runs) == 1 and not runs[0].name.startswith(".tmp") and not runs[0].name.endswith(".incomplete")
    run = runs[0]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["cluster"]["nodes"] == nodes and manifest["cluster"]["time_to_ready_s"] > 0
    assert manifest["software"]["etcd"]["version"]
    assert manifest["host"]["fsync_latency"]["count"] > 0
    for n in range(1, nodes + 1):
        assert list((run / "nodes").glob(f"n{n}.log*")), f"node log of n{n} missing"
    wdir = run / "workloads" / "e2e"
    hist = next(wdir.glob("history.jsonl*"))
    measured = Counter((op.f, op.type) for op in read_history(hist) if not op.extra.get("phase"))
    assert measured[("put", "ok")] > 0 and measured[("get", "ok")] > 0
    # the HDR histograms (recorded by the workers) count exactly the history's measured operations
    hlog_counts = {}
    for f in (wdir / "hlog").glob("*.hlog"):
        op, outcome, _ = f.name.split(".")
        hlog_counts[(op, outcome)] = sum(h.get_total_count() for _, _, h in read_hlog(f))
    assert hlog_counts == dict(measured)
    rows = json.loads((run / "summary.json").read_text())["rows"]
    put = next(r for r in rows if r["op"] == "put" and r["outcome"] == "ok")
    assert put["count"] == measured[("put", "ok")]
    assert 0 < put["p50_ms"] <= put["p99_ms"] <= put["max_ms"]
    # etcd's own histograms for the workload: every member answered, and the puts were fsynced
    # into every member's WAL (each put is one WAL entry at least: the leader's count >= puts)
    metrics = json.loads((wdir / "etcd_metrics.json").read_text())
    assert metrics["unreachable"] == [] and sorted(metrics["nodes"]) == [f"n{i}" for i in range(1, nodes + 1)]
    wal = metrics["nodes"][metrics["leader"]]["etcd_disk_wal_fsync_duration_seconds"]
    assert wal["buckets"][-1] == ["+Inf", wal["count"]] and wal["count"] > 0 and wal["sum"] > 0
    assert metrics["nodes"][metrics["leader"]]["etcd_disk_backend_commit_duration_seconds"]["count"] > 0
    # (the peer round trip is sampled by etcd's own prober every few seconds: a 3 s workload may
    # have no sample, and then the histogram is absent, which the diagrams show as not measured)
    assert leftovers(env) == []


def test_sigint_mid_run_leaves_nothing(require_cluster: None, tmp_path: Path, env: dict[str, str]) -> None:
    wl = tmp_path / "w.yaml"
    wl.write_text(WORKLOAD % 60)
    proc = subprocess.Popen(gbench("run", str(wl), "--nodes", "3", "--provider", "netns"), env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_line(proc, "workload e2e", 120)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 130
    assert leftovers(env) == []
    names = [p.name for p in (tmp_path / "results").iterdir()]
    assert len(names) == 1 and names[0].endswith(".incomplete")


def test_sigkill_then_cleanup_removes_everything(require_cluster: None, tmp_path: Path, env: dict[str, str]) -> None:
    wl = tmp_path / "w.yaml"
    wl.write_text(WORKLOAD % 60)
    foreign = "gbtest-foreign"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    proc = subprocess.Popen(gbench("run", str(wl), "--nodes", "3", "--provider", "netns"), env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_line(proc, "workload e2e", 120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        time.sleep(1)
        assert leftovers(env), "a SIGKILLed run should have left its cluster behind"
        r = subprocess.run(gbench("cleanup"), env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert leftovers(env) == []
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert foreign in ns, "cleanup must not touch what the harness did not create"
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["ip", "netns", "del", foreign], check=False)
        # the worker processes die with their parent's pipes; make sure
        for p in psutil.process_iter(["cmdline"]):
            if "gbench-worker" in " ".join(p.info.get("cmdline") or []):
                p.kill()
