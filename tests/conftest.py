"""Shared fixtures. Cluster tests (marker ``cluster``) need root, network namespaces and the
binaries that ``make setup`` builds; they skip with the reason otherwise, except in CI
(CI=true), where a missing prerequisite is a failure, not a skip."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cluster_prerequisites() -> str | None:
    """None when real-cluster tests can run here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"needs {tool} (make setup installs it)"
    if not (REPO / ".cache" / "bin" / "etcd").exists() and not os.environ.get("GBENCH_ETCD_BIN"):
        return "needs the etcd binary (make setup builds it)"
    return None


@pytest.fixture
def require_cluster() -> None:
    reason = cluster_prerequisites()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"cluster test cannot run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "results"
    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(d))
    return d
