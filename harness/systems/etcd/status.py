"""etcd's fast member poller for ``members.jsonl`` (``harness.api.StatusSource``).

It asks every member for ``Status`` only, all in parallel over channels kept open, with a
250 ms deadline: a poll takes a few milliseconds, so its time is when the members answered.
``EtcdSystem.member_status`` is not used for this: it also makes a linearizable read per
member (its health check), which blocks for its 1 s deadline on every member that has no
working quorum - exactly during the partitions and elections being timed - and would
stretch polls to over a second.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from pyetcd.etcdrpc import rpc_pb2 as pb
from pyetcd.etcdrpc import rpc_pb2_grpc as pbg

from harness.providers.base import Cluster

STATUS_TIMEOUT_S = 0.25


class EtcdStatusSource:
    """Every member's ``Status`` (leader id, raft term and index), in parallel, names from
    ``MemberList`` (asked again whenever an unknown member id shows up)."""

    def __init__(self, cluster: Cluster, timeout_s: float = STATUS_TIMEOUT_S) -> None:
        self.cluster, self.timeout_s = cluster, timeout_s
        opts = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]
        self.channels = {n.name: grpc.insecure_channel(cluster.client_endpoint(n), options=opts) for n in cluster.nodes}
        self.names: dict[int, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-status")

    def _names(self, node: str) -> None:
        try:
            ml = pbg.ClusterStub(self.channels[node]).MemberList(pb.MemberListRequest(), timeout=self.timeout_s)
            self.names.update({m.ID: m.name for m in ml.members if m.name})
        except grpc.RpcError:
            pass

    def _one(self, node: str) -> dict[str, Any] | None:
        try:
            st = pbg.MaintenanceStub(self.channels[node]).Status(pb.StatusRequest(), timeout=self.timeout_s)
        except grpc.RpcError:
            return None
        me, leader = st.header.member_id, st.leader
        if (me and me not in self.names) or (leader and leader not in self.names):
            self._names(node)
        return {"leader": (self.names.get(leader, f"id:{leader:x}") if leader else None),
                "term": st.raftTerm, "raft_index": st.raftIndex, "is_leader": bool(leader) and leader == me}

    def __call__(self, cluster: Cluster | None = None) -> dict[str, dict[str, Any] | None]:
        names = [n.name for n in self.cluster.nodes]
        return dict(zip(names, self.pool.map(self._one, names)))

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        for ch in self.channels.values():
            ch.close()
