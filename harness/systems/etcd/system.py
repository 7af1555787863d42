"""etcd as a ``harness.api.System``: the exact command line of each member, and readiness.

Every tunable is passed explicitly on the command line (never left to etcd's defaults or to
``ETCD_*`` environment variables) and recorded by ``config_dict()`` in the run manifest, so
a result says precisely what configuration produced it.

Readiness and status use the gRPC stubs shipped by ``etcd-sdk-python`` (``pyetcd.etcdrpc``)
with short per-call deadlines, one channel per member and no proxy, so a probe only ever
talks to the member it names.

Example::

    system = EtcdSystem(find_etcd(), EtcdConfig(election_timeout_ms=1000))
    cluster = provider.start(system, 3, run_dir)   # calls launch() and wait_ready()
    system.leader(cluster)                         # "n2"
    system.member_status(cluster)["n1"]            # {"leader": "n2", "term": 2, "raft_index": 9, ...}
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import grpc
from pyetcd.etcdrpc import rpc_pb2 as pb
from pyetcd.etcdrpc import rpc_pb2_grpc as pbg

from harness.api import ProbeRound, ReadinessCheck, StatusPoll
from harness.errors import ConfigError
from harness.netutil import tail_lines
from harness.providers.base import Cluster, Node, NodeAddress, NodeLaunch, ReadyReport
from harness.systems.etcd import metrics as etcd_metrics
from harness.systems.etcd.binaries import EtcdBinary

#: Bytes a put request needs beyond its value: key, protobuf framing, gRPC headers.
#: Generous on purpose: a value that "just fits" would fail with long keys.
REQUEST_OVERHEAD_BYTES = 4096
#: The probe deadline; a member that cannot answer Status in this long is not ready.
PROBE_TIMEOUT_S = 1.0
#: While waiting for readiness, the deadline starts here and grows with the time waited
#: (a quarter of it, capped at PROBE_TIMEOUT_S): etcd accepts connections before it serves,
#: so a probe in that window blocks for its whole deadline, and a fixed 1 s deadline would
#: round every measured time-to-ready up by as much as a second.
MIN_PROBE_TIMEOUT_S = 0.25
#: Options for probe channels: no HTTP proxy from the environment (traffic goes only to
#: the member's own address), no transparent retries.
PROBE_CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]
LOG_TAIL_LINES = 20
#: Lines worth showing even when they scrolled out of the tail (etcd prints a flag error
#: and then 50 lines of usage; a zap log has "level":"fatal" before its shutdown chatter).
_ZAP_ERROR = re.compile(r'"level":"(error|fatal|panic|dpanic)"')
_PLAIN_ERROR = re.compile(r"\b(error|fatal|panic|flag provided but not defined)\b", re.I)


def _looks_like_error(line: str) -> bool:
    """zap JSON lines by their level (an info line may carry an "error" field); others by keyword."""
    return bool(_ZAP_ERROR.search(line)) if line.lstrip().startswith("{") else bool(_PLAIN_ERROR.search(line))


@dataclass(frozen=True)
class EtcdConfig:
    """Server settings, all passed on the command line and recorded in the manifest."""

    heartbeat_ms: int = 100
    election_timeout_ms: int = 1000
    #: Raft entries between snapshots (etcd 3.6's default, stated explicitly).
    snapshot_count: int = 10_000
    #: etcd's default 1.5 MiB: a 1 MiB value plus key and framing fits. A compare-and-swap
    #: carrying two 1 MiB values (expected + new) does NOT fit; raise this for such workloads.
    max_request_bytes: int = 1_572_864
    #: 8 GiB, etcd's suggested maximum, instead of the 2 GiB default: the harness does not
    #: compact, and a suite of 1 MiB puts keeps every revision, so 2 GiB would trip the
    #: NOSPACE alarm mid-suite and turn writes into failures that measure the quota, not etcd.
    quota_backend_bytes: int = 8 * 1024**3
    initial_cluster_token: str = "gbench-etcd"
    log_level: str = "info"

    def __post_init__(self) -> None:
        """Reject what etcd would reject, before any cluster starts (etcd itself only says so
        in each member's log, after the provider has built the network)."""
        if self.heartbeat_ms <= 0 or self.election_timeout_ms < 5 * self.heartbeat_ms:
            raise ConfigError("EtcdConfig", "election_timeout_ms", f"{self.election_timeout_ms} ms must be at least "
                              f"5 x heartbeat_ms ({self.heartbeat_ms} ms), as etcd requires")
        if self.election_timeout_ms > 50_000:
            raise ConfigError("EtcdConfig", "election_timeout_ms", "etcd refuses more than 50000 ms")
        for name in ("snapshot_count", "max_request_bytes", "quota_backend_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigError("EtcdConfig", name, f"must be positive, got {getattr(self, name)}")

    def argv(self) -> list[str]:
        return ["--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_timeout_ms),
                "--snapshot-count", str(self.snapshot_count),
                "--max-request-bytes", str(self.max_request_bytes),
                "--quota-backend-bytes", str(self.quota_backend_bytes),
                "--initial-cluster-token", self.initial_cluster_token,
                "--log-level", self.log_level]


@dataclass(frozen=True)
class _Probe:
    """What one member said (or why it said nothing)."""

    node: str
    member_id: int | None = None
    leader_id: int | None = None
    raft_term: int | None = None
    raft_index: int | None = None
    version: str | None = None
    linearizable_read_ok: bool = False
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.error is None and bool(self.leader_id) and self.linearizable_read_ok


def log_excerpt(path: Path, n: int = LOG_TAIL_LINES, max_errors: int = 5) -> list[str]:
    """The last ``n`` lines, preceded by up to ``max_errors`` earlier error-looking lines
    (the cause of a crash is often above the tail)."""
    lines = tail_lines(path, n=100_000)
    tail, before = lines[-n:], lines[:-n]
    errors = [l for l in before if _looks_like_error(l)][-max_errors:]
    return ([*errors, "..."] if errors else []) + tail


@dataclass
class EtcdSystem:
    """etcd: client port 2379, peer port 2380, one member per node named after the node."""

    binary: EtcdBinary
    config: EtcdConfig = field(default_factory=EtcdConfig)
    name: str = "etcd"
    client_port: int = 2379
    peer_port: int = 2380

    def version(self) -> str:
        return self.binary.version

    @property
    def max_value_bytes(self) -> int:
        """Largest value a single put can carry under ``max_request_bytes``."""
        return self.config.max_request_bytes - REQUEST_OVERHEAD_BYTES

    def value_limit_reason(self) -> str:
        return f"--max-request-bytes {self.config.max_request_bytes} minus request overhead"

    def config_dict(self) -> dict[str, Any]:
        """Everything that shaped the servers, for the run manifest."""
        return {**asdict(self.config), "client_port": self.client_port, "peer_port": self.peer_port,
                "binary": str(self.binary.path), "version": self.binary.version, "source": self.binary.source}

    # ------------------------------------------------------------------ own metrics
    #: A provider waits this long for readiness unless told otherwise (the reference run
    #: results/20261201T223607Z-etcd: 5 nodes ready in 3.7 s on docker, 2-core host).
    default_ready_timeout_s: float = 60.0

    #: where the session writes metrics_delta's document, per workload
    metrics_file = "etcd_metrics.json"

    def metrics_snapshot(self, cluster: Cluster) -> dict[str, Any]:
        """Every member's WAL fsync / backend commit / peer round-trip histograms (cumulative)."""
        return etcd_metrics.snapshot(cluster)

    def metrics_delta(self, before: dict[str, Any], after: dict[str, Any], leader: str | None) -> dict[str, Any]:
        return etcd_metrics.delta_document(before, after, leader)

    # ------------------------------------------------------------------ launch
    def _peer_url(self, a: NodeAddress) -> str:
        """The URL a member listens on (an IP: etcd refuses names in listen URLs)."""
        return f"http://{a.host}:{self.peer_port}"

    def advertised_peer_url(self, a: NodeAddress) -> str:
        """The URL peers dial: a name when the provider routes peers through per-link proxies."""
        return f"http://{a.peer_host or a.host}:{self.peer_port}"

    def _client_url(self, a: NodeAddress) -> str:
        return f"http://{a.host}:{self.client_port}"

    def launch(self, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> NodeLaunch:
        """The etcd command for ``node``. ``--initial-cluster-state new`` is ignored by etcd
        when the data dir already holds a member, so the same argv serves restarts."""
        initial = ",".join(f"{a.name}={self.advertised_peer_url(a)}" for a in cluster)
        argv = [str(self.binary.path),
                "--name", node.name,
                "--data-dir", str(data_dir),
                "--listen-client-urls", self._client_url(node),
                "--advertise-client-urls", self._client_url(node),
                "--listen-peer-urls", self._peer_url(node),
                "--initial-advertise-peer-urls", self.advertised_peer_url(node),
                "--initial-cluster", initial,
                "--initial-cluster-state", "new",
                *self.config.argv(),
                "--logger", "zap", "--log-outputs", "stderr"]
        return NodeLaunch(argv=argv, data_dir=data_dir)

    # ------------------------------------------------------------------ probing
    def _probe(self, cluster: Cluster, node: Node, timeout_s: float = PROBE_TIMEOUT_S) -> tuple[_Probe, dict[int, str]]:
        """Status + MemberList + a linearizable read (what ``etcdctl endpoint health``
        does) against one member, each with a short deadline."""
        endpoint = cluster.client_endpoint(node)
        members: dict[int, str] = {}
        with grpc.insecure_channel(endpoint, options=PROBE_CHANNEL_OPTIONS) as ch:
            try:
                st = pbg.MaintenanceStub(ch).Status(pb.StatusRequest(), timeout=timeout_s)
            except grpc.RpcError as e:
                return _Probe(node.name, error=f"Status: {e.code().name}: {e.details()}"), members
            probe = _Probe(node.name, member_id=st.header.member_id, leader_id=st.leader or None,
                           raft_term=st.raftTerm, raft_index=st.raftIndex, version=st.version)
            try:
                ml = pbg.ClusterStub(ch).MemberList(pb.MemberListRequest(), timeout=timeout_s)
                members = {m.ID: m.name for m in ml.members}
            except grpc.RpcError:
                pass
            if not probe.leader_id:
                return replace(probe, error="no leader"), members
            try:
                pbg.KVStub(ch).Range(pb.RangeRequest(key=b"health"), timeout=timeout_s)
                probe = replace(probe, linearizable_read_ok=True)
            except grpc.RpcError as e:
                probe = replace(probe, error=f"linearizable read: {e.code().name}: {e.details()}")
        return probe, members

    def _probe_all(self, cluster: Cluster,
                   timeout_s: float = PROBE_TIMEOUT_S) -> tuple[dict[str, _Probe], dict[int, str]]:
        """Probe every node in parallel; returns probes by node and member id -> node name."""
        with ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes))) as ex:
            results = list(ex.map(lambda n: self._probe(cluster, n, timeout_s), cluster.nodes))
        members: dict[int, str] = {}
        for _, m in results:
            members.update(m)
        # Name members after the harness node that answered with that id (an external
        # cluster's etcd names need not be n1..nN); MemberList names only for silent ones.
        members.update({p.member_id: p.node for p, _ in results if p.member_id})
        return {p.node: p for p, _ in results}, members

    def member_status(self, cluster: Cluster) -> dict[str, dict[str, Any] | None]:
        """Best effort, per node: who it thinks leads, its raft term and index; None when
        the node does not answer. Cheap enough to call between faults."""
        probes, members = self._probe_all(cluster)
        out: dict[str, dict[str, Any] | None] = {}
        for name, p in probes.items():
            if p.member_id is None:
                out[name] = None
                continue
            out[name] = {"leader": members.get(p.leader_id or -1) if p.leader_id else None,
                         "term": p.raft_term, "raft_index": p.raft_index,
                         "is_leader": bool(p.leader_id) and p.leader_id == p.member_id}
        return out

    def status_source(self, cluster: Cluster) -> StatusPoll:
        """The fast poller for members.jsonl (``harness.systems.etcd.status``)."""
        from harness.systems.etcd.status import EtcdStatusSource

        return EtcdStatusSource(cluster)

    def leader(self, cluster: Cluster) -> str | None:
        """The current leader: among members that claim leadership, the one with the highest
        term (a deposed leader cut off in a minority may still believe it leads)."""
        claims = [(s["term"], n) for n, s in self.member_status(cluster).items() if s and s["is_leader"]]
        return max(claims)[1] if claims else None

    # ------------------------------------------------------------------ readiness
    def wait_ready(self, cluster: Cluster, timeout_s: float) -> ReadyReport:
        """Every member answers Status and a linearizable read, and all name one leader.

        Fails at once (not at the timeout) when a member's process has exited.
        """
        hint = ("a member that exits at once usually has a bad flag or a data dir from another cluster; one that "
                f"never gets a leader cannot reach its peers on port {self.peer_port} (bridge / firewall), or the "
                f"host is too slow for --election-timeout {self.config.election_timeout_ms} ms.")
        check = ReadinessCheck("etcd", hint, interval_s=0.1, log_excerpt=log_excerpt)
        return check.wait(cluster, _Readiness(self), timeout_s)


class _Readiness:
    """``ReadinessProbe``: one round of probes of every member (each deadline grows with the
    time waited, see ``MIN_PROBE_TIMEOUT_S``)."""

    def __init__(self, system: EtcdSystem) -> None:
        self.system = system

    def poll(self, cluster: Cluster, waited_s: float, deadline: float) -> ProbeRound:
        probes, members = self.system._probe_all(cluster, min(PROBE_TIMEOUT_S, max(MIN_PROBE_TIMEOUT_S, waited_s / 4)))
        status = {n: p.error or ("healthy" if p.healthy else "not probed") for n, p in probes.items()}
        healthy = frozenset(n for n, p in probes.items() if p.healthy)
        leaders = {p.leader_id for p in probes.values()}
        if len(healthy) == len(probes) and len(leaders) == 1:
            lid = leaders.pop()
            return ProbeRound(report=ReadyReport(
                seconds=waited_s, leader=members.get(lid or -1),
                details={"raft_term": max(p.raft_term or 0 for p in probes.values()),
                         "leader_id": f"{lid:x}",
                         "member_ids": {p.node: f"{p.member_id:x}" for p in probes.values()},
                         "server_version": next(iter(probes.values())).version}))
        why = "not healthy" if len(healthy) < len(probes) else \
            f"disagree on the leader ({sorted(f'{x:x}' for x in leaders if x)})"
        return ProbeRound(status=status, healthy=healthy, why=why)

    def close(self) -> None:
        pass
