"""Shared fixtures. Cluster tests (marker ``cluster``) need root, network namespaces and the
binaries that ``make setup`` builds; they skip with the reason otherwise, except in CI
(CI=true), where a missing prerequisite is a failure, not a skip."""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import psutil
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


@pytest.fixture(autouse=True, scope="session")
def sigint_reaches_children() -> None:
    """Started in the background of a non-interactive shell (`nohup ... &`, `setsid ... &`),
    pytest inherits SIGINT *ignored*, and so would every `gbench` a test starts, which then
    rightly keeps ignoring it: the Ctrl-C tests would test nothing but that. A handled signal is
    reset to the default at exec, so handling it here lets each child see SIGINT as a
    terminal's Ctrl-C delivers it (as harness/benchmarks/signal_exit.py does)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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


def kill_workers_of(env: dict[str, str]) -> int:
    """Kill the load-worker processes (multiprocessing 'spawn' children, which outlive a SIGKILLed
    ``gbench run`` until their bounded duration ends) of runs started with this ``env``, matched by
    its GBENCH_STATE_DIR (a test's own tmp dir): runs of other tests, benchmarks or users on the host
    are left alone. Returns how many were killed."""
    killed = 0
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "from multiprocessing." not in " ".join(p.info.get("cmdline") or []):
                continue
            if p.environ().get("GBENCH_STATE_DIR") != env["GBENCH_STATE_DIR"]:
                continue
            p.kill()
            killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return killed


def require_system(system: str) -> None:
    """Skip (fail in CI) unless netns clusters can start here and ``system``'s binaries are
    installed (the plugin's ``make_system`` finds them)."""
    from harness.errors import EnvironmentProblem
    from harness.providers.netns import NetnsProvider
    from harness.registry import system_plugin

    try:
        NetnsProvider("require-check").check_environment()
        system_plugin(system).make_system()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"{system} cannot run in CI: {e}")
        pytest.skip(str(e))
