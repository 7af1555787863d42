"""Bad input through the real CLI: one clear line naming file, field and reason, exit 2,
and no cluster started."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_STATE_DIR=str(tmp_path / "state"))
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("body, field, reason", [
    ("name: x\nduration_s: 1\nnodes: 0\n", "nodes", "must be >= 1"),
    ("name: x\nduration_s: 1\nload: {mode: open, rate_ops_s: -1}\n", "load.rate_ops_s", "must be > 0"),
    ("name: x\nduration_s: 1\nvalue_size: 2000000\n", "value_size", "request limit"),
    ("name: x\nduration_s: 1\nread_consistency: bounded\n", "read_consistency", "unknown read consistency"),
    ("name: x\nduration_s: 1\nturbo: true\n", "turbo", "unknown field"),
    ("name: x\n  duration_s: 1\n", "(syntax)", "malformed YAML"),
])
def test_bad_workload_is_one_clear_error(tmp_path: Path, body: str, field: str, reason: str) -> None:
    wl = tmp_path / "bad.yaml"
    wl.write_text(body)
    r = run(tmp_path, "run", str(wl))
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert str(wl) in lines[0] and f"field '{field}'" in lines[0] and reason in lines[0]
    assert not (tmp_path / "results").exists(), "no run may start on bad input"


def test_not_root_names_the_alternative(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        r = run(tmp_path, "run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--duration", "1")
        assert r.returncode != 0 and "external" in r.stderr
    else:
        # as root, drop privileges for the child to see the message a normal user gets
        nobody = 65534
        env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_STATE_DIR=str(tmp_path / "state"),
                   HOME=str(tmp_path))
        tmp_path.chmod(0o777)
        r = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(REPO / "workloads" / "etcd-put-256B.yaml"),
                            "--duration", "1"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
                           user=nobody, group=nobody)
        assert r.returncode != 0
        assert "root" in r.stderr and "external" in r.stderr, r.stderr
