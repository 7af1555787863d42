"""Sessions on real 3-node clusters (netns), through the CLI: a PostgreSQL primary + 2 standbys
(replica reads) and etcd (serializable reads: a member's own state). Each client is a session
(``clients.session``), its ops carry ``extra.session``; with ``reads: round-robin`` its
successive reads rotate over the three nodes, with ``sticky`` they stay on its pinned node,
with ``token-wait`` they rotate and each waits until its node has applied the session's
highest position (``extra.after``: PostgreSQL's LSN, etcd's revision): read-your-writes and
monotonic reads then hold. The session checkers judge the recorded history (each client writes
its own keys, so every key's order is its one writer's; each get reads the key of the
session's latest write)."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.conftest import require_system

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[3]
WORKLOAD = """
name: sessions
system: %(system)s
nodes: 3
keys: {count: 60, distribution: read-own-writes, prefix: s}
value_size: 64
mix: {put: 1, get: 3}
read_consistency: %(read)s
clients: {session: {reads: %(reads)s}}
%(options)s
load: {mode: closed, concurrency: 6, workers: 1, op_timeout_s: 5}
duration_s: 2
checks: [ryw, monotonic-reads]
"""
SYSTEMS = {"postgres": {"read": "replica", "options": 'postgres: {synchronous_commit: "on", synchronous_standbys: 0}'},
           "etcd": {"read": "serializable", "options": ""}}


def _run(tmp_path: Path, system: str, reads: str) -> list[dict]:
    require_system(system)
    wl = tmp_path / "w.yaml"
    wl.write_text(WORKLOAD % {"system": system, "reads": reads, **SYSTEMS[system]})
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_DATA_DIR=str(tmp_path / "data"),
               GBENCH_STATE_DIR=str(tmp_path / "state"))
    r = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(wl), "--provider", "netns", "--quiet"],
                       env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (hist,) = (tmp_path / "results").glob("*/workloads/sessions/history.jsonl*")
    opener = gzip.open if hist.suffix == ".gz" else open
    with opener(hist, "rt") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if isinstance(r.get("process"), int)]


def _check(tmp_path: Path, model: str) -> str:
    (hist,) = (tmp_path / "results").glob("*/workloads/sessions/history.jsonl*")
    r = subprocess.run([sys.executable, "-m", "harness.cli", "check", str(hist), "--model", model],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr  # holds / violated: both are answers
    return r.stdout


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_round_robin_session_reads_rotate_over_every_node(tmp_path: Path, system: str) -> None:
    ops = _run(tmp_path, system, "round-robin")
    assert ops and all(isinstance((o.get("extra") or {}).get("session"), int) for o in ops)
    sessions = {o["extra"]["session"] for o in ops}
    assert len(sessions) == 6
    per_session: dict[int, list[str]] = defaultdict(list)
    for o in sorted(ops, key=lambda o: o["invoke_ns"]):
        if o["f"] == "get":
            per_session[o["extra"]["session"]].append(o["node"])
    for s, nodes in per_session.items():
        assert len(nodes) >= 6, (s, nodes)
        # successive reads go through successive nodes: n1 -> n2 -> n3 -> n1 ...
        assert all(b == {"n1": "n2", "n2": "n3", "n3": "n1"}[a] for a, b in zip(nodes, nodes[1:])), (s, nodes[:9])
    out = _check(tmp_path, "ryw")
    assert "read-your-writes" in out or "ryw" in out, out


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_sticky_session_reads_stay_on_the_pinned_node(tmp_path: Path, system: str) -> None:
    ops = _run(tmp_path, system, "sticky")
    nodes_of: dict[int, Counter] = defaultdict(Counter)
    for o in ops:
        if o["f"] == "get":
            nodes_of[o["extra"]["session"]][o["node"]] += 1
    assert len(nodes_of) == 6 and all(len(c) == 1 for c in nodes_of.values()), dict(nodes_of)
    assert {next(iter(c)) for c in nodes_of.values()} == {"n1", "n2", "n3"}


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_token_wait_reads_wait_for_the_session_position_and_keep_its_guarantees(tmp_path: Path, system: str) -> None:
    ops = _run(tmp_path, system, "token-wait")
    gets = [o for o in ops if o["f"] == "get" and o["type"] == "ok"]
    waited = [o for o in gets if "after" in (o.get("extra") or {})]
    assert len(waited) > len(gets) // 2, (len(waited), len(gets))  # every read after the session's first op
    assert {o["node"] for o in waited} == {"n1", "n2", "n3"}
    assert "after" not in str([o.get("extra") for o in ops if o["f"] != "get"])
    for model in ("ryw", "monotonic-reads"):
        r = subprocess.run([sys.executable, "-m", "harness.cli", "check",
                            str(next((tmp_path / "results").glob("*/workloads/sessions/history.jsonl*"))),
                            "--model", model], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (model, r.stdout, r.stderr)  # 0: the guarantee held


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_session_checks_of_a_run_land_in_its_summary_with_the_routing(tmp_path: Path, system: str) -> None:
    _run(tmp_path, system, "token-wait")
    (summary,) = (tmp_path / "results").glob("*/summary.json")
    verdicts = {v["checker"]: v for v in json.loads(summary.read_text())["verdicts"]}
    assert set(verdicts) == {"ryw", "monotonic-reads"}
    for v in verdicts.values():
        assert (v["verdict"], v["session_reads"]) == (True, "token-wait"), v
        assert v["evidence"]["reads_judged"] > 0 and v["evidence"]["violations_per_10k_reads"] == 0.0
