"""A load worker whose client cannot connect says why, in one line: the parent raises a
ClusterError naming the worker and the driver's reason (not 'did not start', not a traceback
from the child). Real client library (kazoo) against a loopback port nobody listens on."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from harness.errors import ClusterError
from harness.providers.base import Cluster
from harness.providers.external import ExternalNode, ExternalProvider
from harness.registry import system_plugin
from harness.workload.runner import assign_clients, run_workers
from harness.workload.spec import load_workload

REPO = Path(__file__).resolve().parents[3]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def test_a_worker_that_cannot_connect_is_named_with_its_reason(tmp_path: Path) -> None:
    pytest.importorskip("kazoo")
    w = load_workload(REPO / "workloads" / "zookeeper-get-plain-256B.yaml")
    try:
        system = system_plugin(w.system).make_system()
    except Exception as e:  # noqa: BLE001 - the jars come from make setup
        pytest.skip(f"ZooKeeper not set up here: {e}")
    port = _closed_port()
    provider = ExternalProvider([f"127.0.0.1:{port}"])
    cluster = Cluster(system=system, provider=provider, nodes=[ExternalNode("n1", "127.0.0.1", port)])  # type: ignore[arg-type]
    assignments = assign_clients(w, ["n1"], cluster, 1)
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as err:
        run_workers(w, cluster, tmp_path, time.monotonic_ns(), assignments, warmup_s=0, duration_s=1,
                    show_progress=False)
    msg = str(err.value)
    assert msg.startswith("load worker 0 could not start: "), msg
    assert "Timeout" in msg or "timeout" in msg, msg  # kazoo's own reason, passed on
    assert "did not start (ready" not in msg
    assert time.monotonic() - t0 < 60  # the connect timeout, not the 60 s start deadline
