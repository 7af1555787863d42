"""The load generator's client for a workload's system: one object per (worker, endpoint),
shared by that worker's clients pinned to the endpoint.

Every client has the same small async surface, so the worker never knows which database it
drives: ``await open()`` (connect before the start barrier, so connecting is never timed),
``await invoke(f, key, value, read_consistency) -> Outcome`` (never raises for database
errors) and ``await aclose()``.
"""
from __future__ import annotations

from typing import Any, Sequence

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


def routes_per_request(w: Workload) -> bool:
    """True when the driver, not the assignment, picks each request's node (token-aware)."""
    return w.cassandra is not None and w.cassandra.routing == "token-aware"


def make_client(w: Workload, endpoint: str, all_endpoints: Sequence[str] = ()) -> Any:
    """A client bound to ``endpoint`` (host:port): every request goes to that node; with
    token-aware routing (Cassandra) a client over ``all_endpoints`` that picks a replica."""
    if w.system == "etcd":
        from harness.systems.etcd.client import EtcdClient

        return EtcdClient(endpoint, w.value_size, w.load.op_timeout_s)
    if w.system == "cassandra":
        from harness.systems.cassandra.client import CassandraClient

        if routes_per_request(w):
            return CassandraClient(list(all_endpoints) or [endpoint], w.value_size, w.load.op_timeout_s,
                                   settings=cassandra_settings(w))
        host = endpoint.rsplit(":", 1)[0]
        return CassandraClient([endpoint], w.value_size, w.load.op_timeout_s,
                               settings=cassandra_settings(w, coordinator=host))
    raise ValueError(f"no client for system {w.system!r}")
