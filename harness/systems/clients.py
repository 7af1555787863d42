"""The load generator's client for a workload's system: one object per (worker, endpoint),
shared by that worker's clients pinned to the endpoint.

Every client has the same small async surface, so the worker never knows which database it
drives: ``await open()`` (connect before the start barrier, so connecting is never timed),
``await invoke(f, key, value, read_consistency) -> Outcome`` (never raises for database
errors) and ``await aclose()``.
"""
from __future__ import annotations

from typing import Any

from harness.workload.spec import Workload


def cassandra_settings(w: Workload, coordinator: str | None = None) -> Any:
    """The driver-side settings of a Cassandra workload (keyspace per replication factor)."""
    from harness.systems.cassandra.client import ClientSettings

    c = w.cassandra
    assert c is not None, "a Cassandra workload always has its options"
    return ClientSettings(keyspace=f"gbench_rf{c.replication_factor}", replication_factor=c.replication_factor,
                          read_consistency=w.read_consistency, write_consistency=c.write_consistency,
                          serial_consistency=c.serial_consistency,
                          routing="pinned" if coordinator else "token_aware", coordinator=coordinator)


def make_client(w: Workload, endpoint: str) -> Any:
    """A client bound to ``endpoint`` (host:port): every request goes to that node."""
    if w.system == "etcd":
        from harness.systems.etcd.client import EtcdClient

        return EtcdClient(endpoint, w.value_size, w.load.op_timeout_s)
    if w.system == "cassandra":
        from harness.systems.cassandra.client import CassandraClient

        host = endpoint.rsplit(":", 1)[0]
        return CassandraClient([endpoint], w.value_size, w.load.op_timeout_s,
                               settings=cassandra_settings(w, coordinator=host))
    raise ValueError(f"no client for system {w.system!r}")
