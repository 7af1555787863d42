"""One real Cassandra node on 127.0.0.1: launch argv, readiness (driver + nodetool), put/get/cas.

Starts exactly one JVM (the host has 2 shared cores), on free ports, with a temporary data dir;
kills it and removes the dir however the test ends. Prints the measured start-to-ready time and
the JVM's RSS. Skips (with the reason) without Java 17 or without the jars that
``bash harness/setup/cassandra/fetch.sh`` fetches; under CI=true a missing Java 17 fails.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.errors import EnvironmentProblem
from harness.providers.base import Cluster, NodeAddress
from harness.systems.cassandra.config import CassandraConfig
from harness.systems.cassandra.distribution import find_cassandra, find_java
from harness.systems.cassandra.system import CassandraSystem

pytestmark = pytest.mark.cluster

HOST = "127.0.0.1"
READY_TIMEOUT_S = 240.0


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def _free_ports(preferred: tuple[int, ...]) -> tuple[int, ...]:
    """The preferred ports if all are free on 127.0.0.1, else as many free ephemeral ones."""
    if all(_free(p) for p in preferred):
        return preferred
    socks = [socket.socket() for _ in preferred]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return tuple(s.getsockname()[1] for s in socks)
    finally:
        for s in socks:
            s.close()


class LocalNode:
    """A ``Node`` that is a plain child process on this host (no namespace): just enough for
    the smoke test."""

    def __init__(self, name: str, host: str, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.name, self.host, self.log_path = name, host, log_path
        self._argv, self._env, self._cwd = argv, env, cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(self._argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          cwd=self._cwd, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self._env},
                                          start_new_session=True, close_fds=True)

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def is_running(self) -> bool:
        return self.pid() is not None

    def kill(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)  # its own session: the JVM and nothing else
        self._proc.wait(timeout=30)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.pid() is None:
            return
        assert self._proc is not None
        self._proc.terminate()
        try:
            self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def pause(self) -> None: os.kill(self._proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
    def resume(self) -> None: os.kill(self._proc.pid, signal.SIGCONT)  # type: ignore[union-attr]

    def restart(self) -> None:
        self.stop()
        self.start()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@pytest.fixture
def cassandra_env() -> tuple:
    """Java 17 and the fetched jars, or a skip (a failure in CI when Java 17 is missing)."""
    try:
        java = find_java()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"Cassandra smoke test cannot run in CI: {e}")
        pytest.skip(str(e))
    try:
        dist = find_cassandra()
    except EnvironmentProblem as e:
        pytest.skip(str(e))
    pytest.importorskip("cassandra", reason="cassandra-driver is not installed (pip install cassandra-driver==3.30.1)")
    return java, dist


def test_single_node_put_get_cas(cassandra_env: tuple) -> None:
    from harness.api import Request
    from harness.systems.cassandra.client import CassandraClient, ClientSettings

    java, dist = cassandra_env
    native, storage, jmx = _free_ports((9042, 7000, 7199))
    cfg = CassandraConfig(native_transport_port=native, storage_port=storage, jmx_port=jmx)
    system = CassandraSystem(dist, java, cfg)
    work = Path(tempfile.mkdtemp(prefix="gbench-cassandra-smoke-"))
    node = None
    try:
        addr = NodeAddress("n1", HOST)
        data_dir = work / "n1"
        data_dir.mkdir(mode=0o700)
        launch = system.launch(addr, [addr], data_dir)
        assert launch.argv[-1] == "org.apache.cassandra.service.CassandraDaemon"
        node = LocalNode("n1", HOST, launch.argv, launch.env, launch.data_dir, work / "n1.log")
        t0 = time.monotonic()
        node.start()
        cluster = Cluster(system=system, provider=None, nodes=[node])  # type: ignore[arg-type, list-item]
        report = system.wait_ready(cluster, READY_TIMEOUT_S)
        start_to_ready = time.monotonic() - t0
        rss = _rss_mib(node.pid())  # type: ignore[arg-type]
        assert report.details["server_version"] == dist.version
        assert report.details["nodetool"]["n1"] == {HOST: "UN"}

        settings = ClientSettings(replication_factor=1, read_consistency="ONE", write_consistency="ONE",
                                  serial_consistency="SERIAL")
        client = CassandraClient([f"{HOST}:{native}"], value_size=64, timeout_s=10.0, settings=settings, n_nodes=1)

        async def scenario() -> dict:
            await client.ensure_schema()
            out = {
                "put": await client.invoke(Request("put", "k1", "t1")),
                "get_one": await client.invoke(Request("get", "k1", None)),
                "cas_ok": await client.invoke(Request("cas", "k1", ("t1", "t2"))),
                "cas_mismatch": await client.invoke(Request("cas", "k1", ("t1", "t3"))),
                "get_serial": await client.invoke(Request("get", "k1", None, "SERIAL")),
                "insert_new": await client.invoke(Request("cas", "k2", (None, "t5"))),
                "insert_exists": await client.invoke(Request("cas", "k2", (None, "t6"))),
                "get_absent": await client.invoke(Request("get", "k3", None, "SERIAL")),
                "delete": await client.invoke(Request("delete", "k1", None)),
                "get_deleted": await client.invoke(Request("get", "k1", None)),
            }
            await client.close()
            return out

        r = asyncio.run(scenario())
        assert r["put"].type == "ok"
        assert (r["get_one"].type, r["get_one"].result) == ("ok", "t1")
        assert r["cas_ok"].type == "ok"
        assert (r["cas_mismatch"].type, r["cas_mismatch"].error) == ("fail", "cas_mismatch")
        assert (r["get_serial"].type, r["get_serial"].result) == ("ok", "t2")
        assert r["insert_new"].type == "ok"
        assert (r["insert_exists"].type, r["insert_exists"].error) == ("fail", "cas_mismatch")
        assert (r["get_absent"].type, r["get_absent"].result) == ("ok", None)
        assert r["delete"].type == "ok"
        assert (r["get_deleted"].type, r["get_deleted"].result) == ("ok", None)
        print(f"\n[cassandra smoke] Cassandra {report.details['server_version']} ({dist.source}), "
              f"start-to-ready {start_to_ready:.1f}s (wait_ready {report.seconds:.1f}s, phases "
              f"{report.details['phases']}), RSS after ready {rss:.0f} MiB, heap {cfg.heap}, "
              f"driver reactor {report.details['driver_connection_class']}")
    finally:
        if node is not None:
            node.kill()
        shutil.rmtree(work, ignore_errors=True)
