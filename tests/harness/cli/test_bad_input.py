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


def test_not_root_names_the_alternative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        r = run(tmp_path, "run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--duration", "1")
        assert r.returncode != 0 and "external" in r.stderr
        return
    # As root: the interpreter lives under /root (mode 0700), so a child dropped to `nobody`
    # cannot even start. Run the CLI in-process with the euid a normal user has instead.
    from harness import cli

    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("GBENCH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    # and no Docker engine (where one answers, `auto` would rightly pick docker without root)
    import harness.providers.docker as docker_provider
    monkeypatch.setattr(docker_provider, "docker_unavailable_reason", lambda system: "no Docker engine answers (test)")
    rc = cli.main(["run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--duration", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "not running as root" in err and "--provider external" in err, err
    assert not any((tmp_path / "results").glob("*/manifest.json")), "no run may start without root"
