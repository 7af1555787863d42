"""Member polling: every member's own view of the leader and its raft term, every few
hundred milliseconds, into ``members.jsonl`` (one JSON object per poll)::

    {"start_ns": 10200300400, "end_ns": 10204500600,
     "members": {"n1": {"leader": "n2", "raft_term": 3, "raft_index": 812, "is_leader": false},
                 "n4": null, ...}}

Times are nanoseconds relative to the run's time origin (the history's clock). ``null``:
the member did not answer within the probe deadline (killed, paused, or overloaded). A
poll whose probe failed altogether has ``"error"`` instead of ``"members"``.

For etcd the poller asks every member for ``Status`` only, all in parallel over channels
kept open, with a 250 ms deadline (``EtcdStatusSource``): a poll takes a few milliseconds,
so its time is when the members answered. ``EtcdSystem.member_status`` is not used for
this: it also makes a linearizable read per member (its health check), which blocks for
its 1 s deadline on every member that has no working quorum - exactly during the
partitions and elections being timed - and would stretch polls to over a second. Other
systems fall back to their ``member_status``.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from harness.providers.base import Cluster


STATUS_TIMEOUT_S = 0.25


class EtcdStatusSource:
    """Every member's ``Status`` (leader id, raft term and index), in parallel, names from
    ``MemberList`` (asked again whenever an unknown member id shows up)."""

    def __init__(self, cluster: Cluster, timeout_s: float = STATUS_TIMEOUT_S) -> None:
        import grpc
        from pyetcd.etcdrpc import rpc_pb2 as pb
        from pyetcd.etcdrpc import rpc_pb2_grpc as pbg

        self._grpc, self._pb, self._pbg = grpc, pb, pbg
        self.cluster, self.timeout_s = cluster, timeout_s
        opts = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]
        self.channels = {n.name: grpc.insecure_channel(cluster.client_endpoint(n), options=opts) for n in cluster.nodes}
        self.names: dict[int, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-status")

    def _names(self, node: str) -> None:
        try:
            ml = self._pbg.ClusterStub(self.channels[node]).MemberList(self._pb.MemberListRequest(),
                                                                       timeout=self.timeout_s)
            self.names.update({m.ID: m.name for m in ml.members if m.name})
        except self._grpc.RpcError:
            pass

    def _one(self, node: str) -> dict[str, Any] | None:
        try:
            st = self._pbg.MaintenanceStub(self.channels[node]).Status(self._pb.StatusRequest(), timeout=self.timeout_s)
        except self._grpc.RpcError:
            return None
        me, leader = st.header.member_id, st.leader
        if (me and me not in self.names) or (leader and leader not in self.names):
            self._names(node)
        return {"leader": (self.names.get(leader, f"id:{leader:x}") if leader else None),
                "raft_term": st.raftTerm, "raft_index": st.raftIndex, "is_leader": bool(leader) and leader == me}

    def __call__(self, cluster: Cluster | None = None) -> dict[str, dict[str, Any] | None]:
        names = [n.name for n in self.cluster.nodes]
        return dict(zip(names, self.pool.map(self._one, names)))

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        for ch in self.channels.values():
            ch.close()


def status_source(cluster: Cluster) -> Callable[..., dict[str, Any]] | None:
    """The fastest status probe the system allows (see the module docstring)."""
    if getattr(cluster.system, "name", None) == "etcd":
        try:
            return EtcdStatusSource(cluster)
        except ImportError:
            pass
    fn = getattr(cluster.system, "member_status", None)
    return (lambda c=None: fn(cluster)) if fn is not None else None


class MemberPoller(threading.Thread):
    """Polls every member's status until ``stop()``; appends to ``path``."""

    def __init__(self, cluster: Cluster, path: Path, time_origin_ns: int, interval_s: float = 0.3) -> None:
        super().__init__(name="gbench-member-poller", daemon=True)
        self.cluster, self.path, self.origin, self.interval_s = cluster, path, time_origin_ns, interval_s
        self._stop_evt = threading.Event()
        self.polls = 0
        self.errors = 0
        self.status_fn = status_source(cluster)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop_evt.set()
        if self.is_alive():
            self.join(timeout_s)

    def run(self) -> None:
        if self.status_fn is None:
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            while not self._stop_evt.is_set():
                t0 = time.monotonic_ns()
                rec: dict[str, Any] = {"start_ns": t0 - self.origin}
                try:
                    rec["members"] = self.status_fn()
                except Exception as e:  # noqa: BLE001 - a failed poll is data, not a crash
                    rec["error"] = f"{type(e).__name__}: {e}"
                    self.errors += 1
                t1 = time.monotonic_ns()
                rec["end_ns"] = t1 - self.origin
                fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
                fh.flush()
                self.polls += 1
                self._stop_evt.wait(max(0.0, self.interval_s - (t1 - t0) / 1e9))
        close = getattr(self.status_fn, "close", None)
        if close is not None:
            close()


def read_polls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a torn last line after a crash
    return out


def wait_converged(cluster: Cluster, timeout_s: float = 30.0) -> dict[str, Any]:
    """Block until every member answers and all name the same leader (or the timeout).

    Returns ``{"converged": bool, "after_s": float, "leader": name|None, "members": {...}}``.
    """
    fn = getattr(cluster.system, "member_status", None)
    t0 = time.monotonic()
    last: dict[str, Any] = {}
    if fn is None:
        return {"converged": True, "after_s": 0.0, "leader": None, "members": {}, "note": "system has no status"}
    while True:
        try:
            last = fn(cluster)
        except Exception as e:  # noqa: BLE001
            last = {"error": str(e)}
        views = list(last.values())
        leaders = {v.get("leader") for v in views if isinstance(v, dict)}
        if views and all(isinstance(v, dict) for v in views) and len(leaders) == 1 and None not in leaders:
            return {"converged": True, "after_s": round(time.monotonic() - t0, 3), "leader": leaders.pop(),
                    "members": last}
        if time.monotonic() - t0 >= timeout_s:
            return {"converged": False, "after_s": round(time.monotonic() - t0, 3), "leader": None, "members": last}
        time.sleep(0.2)
