"""ZooKeeper 3.9 as a system under test: each node's exact ``java`` command, readiness,
the leader, every member's state and ZooKeeper's own metrics.

``launch`` writes the node's ``conf/zoo.cfg``, ``conf/logback.xml`` and ``myid`` into its data
dir (files only; it starts nothing; ``config.py`` says why each setting) and returns
``java <jvm options> -cp <every jar of lib/> org.apache.zookeeper.server.quorum.QuorumPeerMain
conf/zoo.cfg``, what ``zkServer.sh start-foreground`` runs.

Everything the harness asks a server goes over its client port as a four-letter word
(``fourlw.py``), one short TCP exchange per question, to that server only:

* readiness: every node answers ``ruok`` with ``imok`` and ``srvr`` with a mode, exactly one
  says ``leader`` and every other ``follower`` (a server answers ``srvr`` only once it has
  synced with a leader of a working quorum), and every node's AdminServer names that leader;
* ``leader``: the server whose ``srvr`` says ``leader`` in the highest epoch;
* ``member_status``: per node its state (``leading``, ``following``; ``looking`` when it runs
  but does not serve: electing, or synced to no quorum), epoch and zxid, whether it leads, and
  the leader it names (the AdminServer's ``leader`` command, HTTP on port 8080);
* ``metrics_snapshot``: every member's ``mntr`` (latency figures, request counts, the
  leader's synced followers); ``metrics_delta`` gives the figures of one workload.

Example::

    system = ZooKeeperSystem.from_environment()
    cluster = provider.start(system, 5, run_dir)   # launch() per node, then wait_ready()
    system.leader(cluster)                         # "n4"
    system.member_status(cluster)["n1"]            # {"state": "following", "epoch": 1, ...}
"""
from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from harness.api import ProbeRound, ReadinessCheck
from harness.providers.base import Cluster, Node, NodeAddress, NodeLaunch, ReadyReport
from harness.systems.java import container_memory_limit
from harness.systems.zookeeper import fourlw
from harness.systems.zookeeper.config import (JUTE_MAXBUFFER, MAIN_CLASS, ZooKeeperConfig, jvm_args,
                                              write_node_files)
from harness.systems.zookeeper.distribution import ZooKeeperDistribution, find_zookeeper

#: A value plus the path, the request header and jute framing must fit jute.maxbuffer.
REQUEST_OVERHEAD_BYTES = 1024
#: Per-question deadline while waiting for readiness and while polling members. Member polls
#: allow 0.5 s, not etcd's 0.25 s: in a leader-kill scenario on the 2-core host (load average
#: 19, the load's workers saturating both cores) the leader's and a restarted server's srvr
#: took longer than 0.25 s in about one poll in five, each such poll recorded as "no answer".
PROBE_TIMEOUT_S = 1.0
STATUS_TIMEOUT_S = 0.5
#: ``member_status``'s state of a server that runs but does not serve (electing, or not synced).
LOOKING = "looking"
_STATES = {"leader": "leading", "follower": "following", "observer": "observing", "standalone": "standalone"}


@dataclass(frozen=True)
class NodeProbe:
    """What one server said (or why it said nothing)."""

    node: str
    imok: bool = False
    srvr: fourlw.Srvr | None = None
    error: str | None = None

    @property
    def state(self) -> str | None:
        """leading | following | observing | standalone | looking; None when it did not answer."""
        if self.srvr is None:
            return LOOKING if self.imok else None
        return _STATES.get(self.srvr.mode or "", self.srvr.mode) if self.srvr.serving else LOOKING

    def describe(self) -> str:
        if self.error:
            return self.error
        if self.srvr is None or not self.srvr.serving:
            return f"ruok: {'imok' if self.imok else 'no answer'}; srvr: not serving (electing or syncing)"
        return f"mode {self.srvr.mode}, epoch {self.srvr.epoch}, zxid 0x{self.srvr.zxid or 0:x}"


def probe(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S, node: str = "", ruok: bool = True) -> NodeProbe:
    """``ruok`` (unless ``ruok=False``) then ``srvr`` to one server. Without ``ruok`` a server
    that answers ``srvr`` at all counts as running (its answer says whether it serves)."""
    try:
        imok = not ruok or fourlw.ask(host, port, "ruok", timeout_s).strip() == fourlw.IMOK
        if not imok:
            return NodeProbe(node, error="ruok: no imok")
        return NodeProbe(node, True, fourlw.parse_srvr(fourlw.ask(host, port, "srvr", timeout_s)))
    except OSError as e:
        return NodeProbe(node, error=f"{type(e).__name__}: {e}")
    except ValueError as e:
        return NodeProbe(node, error=f"srvr: {e}")


def quorum_view(probes: dict[str, NodeProbe]) -> tuple[str | None, str | None]:
    """(leader, why not ready): ready when every server serves, exactly one leads and every
    other follows; else (None or the leader, the reason). A follower's zxid says nothing of
    the epoch before the first write of that epoch (followers of a fresh cluster report
    0x0 while the leader reports 0x100000000), so epochs are not compared here; a follower
    serves only once it has synced with a leader of a working quorum."""
    not_serving = [n for n, p in probes.items() if p.srvr is None or not p.srvr.serving]
    if not_serving:
        return None, f"not serving: {', '.join(not_serving)}"
    leaders = [n for n, p in probes.items() if p.state == "leading"]
    if len(leaders) != 1:
        return None, f"{len(leaders)} leaders ({', '.join(leaders) or 'none'})"
    others = [n for n, p in probes.items() if n != leaders[0] and p.state != "following"]
    if others:
        return leaders[0], f"not following: {', '.join(others)}"
    return leaders[0], None


class _Readiness:
    """``ReadinessProbe`` for ``ReadinessCheck``: every node probed in parallel each round."""

    def __init__(self, system: "ZooKeeperSystem") -> None:
        self.system = system
        self.t0 = time.monotonic()

    def poll(self, cluster: Cluster, waited_s: float, deadline: float) -> ProbeRound:
        probes = self.system.probe_all(cluster, PROBE_TIMEOUT_S)
        status = {n: p.describe() for n, p in probes.items()}
        healthy = frozenset(n for n, p in probes.items() if p.srvr is not None and p.srvr.serving)
        lead, why = quorum_view(probes)
        if why is None and lead is not None:
            # the AdminServer answers too, and every server names the same leader (this also
            # warms Jetty up: its first answer takes about 0.25 s, member polls allow 0.25 s)
            views = self.system.leader_views(cluster, PROBE_TIMEOUT_S)
            wrong = [n for n, v in views.items() if v != lead]
            if wrong:
                for n in wrong:
                    status[n] += f"; AdminServer names leader {views[n]}"
                return ProbeRound(status=status, healthy=healthy - set(wrong),
                                  why=f"do not name {lead} as leader through the AdminServer")
            s = probes[lead].srvr
            assert s is not None
            return ProbeRound(report=ReadyReport(
                seconds=time.monotonic() - self.t0, leader=lead,
                details={"server_version": s.version, "epoch": s.epoch, "zxid": f"0x{s.zxid or 0:x}",
                         "modes": {n: p.srvr.mode for n, p in probes.items() if p.srvr}}),
                status=status, healthy=healthy)
        return ProbeRound(status=status, healthy=healthy, why=why)

    def close(self) -> None:
        pass


@dataclass
class ZooKeeperSystem:
    """ZooKeeper: client port 2181, quorum (peer) port 2888, election port 3888, AdminServer 8080."""

    distribution: ZooKeeperDistribution
    java: Any  # harness.systems.java.JavaRuntime (path, version)
    config: ZooKeeperConfig = field(default_factory=ZooKeeperConfig)
    name: str = "zookeeper"
    #: JVM start plus leader election and follower sync; measured for 5 nodes on the 2-core host
    #: by harness/benchmarks/zookeeper_startup.py (results/benchmarks/zookeeper-startup.json).
    default_ready_timeout_s: float = 120.0
    client_port: int = field(init=False)
    peer_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.client_port = self.config.client_port
        self.peer_port = self.config.quorum_port

    @classmethod
    def from_environment(cls, config: ZooKeeperConfig | None = None) -> "ZooKeeperSystem":
        """Java 17 and the fetched jars (EnvironmentProblem naming the fix if either is missing)."""
        from harness.systems.java import find_java

        dist = find_zookeeper()
        return cls(dist, find_java(f"ZooKeeper {dist.version}"), config or ZooKeeperConfig())

    def version(self) -> str:
        return self.distribution.version

    @property
    def max_value_bytes(self) -> int:
        """A znode's data travels in one packet of at most jute.maxbuffer (0xfffff) bytes."""
        return JUTE_MAXBUFFER - REQUEST_OVERHEAD_BYTES

    def value_limit_reason(self) -> str:
        return f"jute.maxbuffer {JUTE_MAXBUFFER} bytes (ZooKeeper's default) minus {REQUEST_OVERHEAD_BYTES} for path and framing"

    def config_dict(self) -> dict[str, Any]:
        """Everything that shaped the servers, for the run manifest."""
        d = self.distribution
        return {**self.config.as_dict(), "version": d.version, "build": d.build, "source": d.source,
                "lib_dir": str(d.lib_dir), "java": str(self.java.path), "java_version": self.java.version,
                "main_class": MAIN_CLASS}

    # ------------------------------------------------------------------ launch
    def launch(self, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> NodeLaunch:
        """Write the node's files into ``data_dir`` and return its command (not run). The same
        argv serves restarts: the member keeps its myid and transaction log in ``data_dir``."""
        data_dir = Path(data_dir).resolve()
        cfg_path = write_node_files(self.config, node, cluster, data_dir)
        argv = [str(self.java.path), *jvm_args(self.config, data_dir), "-cp", self.distribution.classpath,
                MAIN_CLASS, str(cfg_path)]
        return NodeLaunch(argv=argv, data_dir=data_dir, host_paths={"lib": self.distribution.lib_dir},
                          memory_limit_bytes=container_memory_limit(self.config.heap))

    # ------------------------------------------------------------------ probing
    def _port(self, cluster: Cluster, node: Node) -> tuple[str, int]:
        host, _, port = cluster.client_endpoint(node).rpartition(":")
        return host, int(port)

    def probe_all(self, cluster: Cluster, timeout_s: float) -> dict[str, NodeProbe]:
        """``probe`` every node in parallel."""
        def one(n: Node) -> NodeProbe:
            host, port = self._port(cluster, n)
            return probe(host, port, timeout_s, n.name)
        with ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-zk-probe") as ex:
            return {p.node: p for p in ex.map(one, cluster.nodes)}

    def _admin(self, host: str, command: str, timeout_s: float) -> dict[str, Any] | None:
        """One AdminServer command's JSON (``http://host:8080/commands/<command>``), None on failure."""
        try:
            with urllib.request.urlopen(f"http://{host}:{self.config.admin_port}/commands/{command}",
                                        timeout=timeout_s) as r:
                doc = json.loads(r.read())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) and doc.get("error") is None else None

    def leader_views(self, cluster: Cluster, timeout_s: float) -> dict[str, str | None]:
        """Per node, the node it names as leader (AdminServer ``leader``: ``leader_id`` is the
        leader's myid, its position in the cluster); None when it names none or does not answer."""
        by_id = {i: n.name for i, n in enumerate(cluster.nodes, start=1)}

        def one(n: Node) -> tuple[str, str | None]:
            doc = self._admin(n.host, "leader", timeout_s)
            lid = doc.get("leader_id") if doc else None
            return n.name, by_id.get(lid) if isinstance(lid, int) else None
        with ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-zk-admin") as ex:
            return dict(ex.map(one, cluster.nodes))

    def member_status(self, cluster: Cluster) -> dict[str, dict[str, Any] | None]:
        """Per node, its own view: ``state`` (leading | following | looking, from ``srvr``),
        ``zxid`` of its last transaction and its ``epoch`` (the zxid's high 32 bits: a
        leader's is the epoch it leads; a follower's is the epoch of the last write it
        applied, so it lags until the epoch's first write), ``leader`` (the node it follows or
        leads, AdminServer ``leader``; None while looking) and ``is_leader``; None for a node
        that does not answer ``srvr`` within ``STATUS_TIMEOUT_S``."""
        by_id = {i: n.name for i, n in enumerate(cluster.nodes, start=1)}

        def one(n: Node) -> tuple[str, dict[str, Any] | None]:
            host, port = self._port(cluster, n)
            p = probe(host, port, STATUS_TIMEOUT_S, n.name, ruok=False)  # one exchange less per poll
            if p.state is None:
                return n.name, None
            s = p.srvr if p.srvr is not None and p.srvr.serving else None
            # a follower names its leader only through the AdminServer; a leader names itself
            lead = self._admin(n.host, "leader", STATUS_TIMEOUT_S) if s and p.state != "leading" else None
            lid = lead.get("leader_id") if lead else None
            leader = n.name if p.state == "leading" else by_id.get(lid) if isinstance(lid, int) else None
            return n.name, {"state": p.state, "is_leader": p.state == "leading",
                            "zxid": s.zxid if s else None, "epoch": s.epoch if s else None,
                            "leader": leader,
                            # MemberStatus's term: ZAB's epoch (exact for the leader, which is
                            # what the availability checker compares)
                            "term": s.epoch if s else None}
        with ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-zk-status") as ex:
            return dict(ex.map(one, cluster.nodes))

    def leader(self, cluster: Cluster) -> str | None:
        """The server that says ``leader`` in the highest epoch (a deposed leader cut off from
        the quorum stops serving within syncLimit, so it no longer says so)."""
        claims = [(p.srvr.epoch or 0, n) for n, p in self.probe_all(cluster, PROBE_TIMEOUT_S).items()
                  if p.state == "leading" and p.srvr]
        return max(claims)[1] if claims else None

    # ------------------------------------------------------------------ readiness
    def wait_ready(self, cluster: Cluster, timeout_s: float) -> ReadyReport:
        """One leader, every other node following it and serving; fails at once when a
        server's process exits (``ReadinessCheck``)."""
        check = ReadinessCheck(
            system=self.name, interval_s=0.1,
            hint=(f"a server that exits at once usually has a bad zoo.cfg line or JVM option (its log says which); "
                  f"one that stays 'not serving' cannot reach its peers on ports {self.config.quorum_port} and "
                  f"{self.config.election_port} (bridge / firewall), or its JVM is still starting on a busy host "
                  f"(initLimit {self.config.init_limit} x tickTime {self.config.tick_time_ms} ms to sync)."))
        return check.wait(cluster, _Readiness(self), timeout_s)

    # ------------------------------------------------------------------ own metrics
    #: where the session writes metrics_delta's document, per workload
    metrics_file = "zookeeper_mntr.json"

    def metrics_snapshot(self, cluster: Cluster) -> dict[str, Any]:
        """Every member's ``mntr`` now (cumulative counters and latency summaries), or the error."""
        def one(n: Node) -> tuple[str, dict[str, Any]]:
            host, port = self._port(cluster, n)
            try:
                return n.name, {"mntr": fourlw.parse_mntr(fourlw.ask(host, port, "mntr", PROBE_TIMEOUT_S))}
            except (OSError, ValueError) as e:
                return n.name, {"error": f"{type(e).__name__}: {e}"}
        with ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-zk-mntr") as ex:
            return {"taken_at_unix_s": time.time(), "members": dict(ex.map(one, cluster.nodes))}

    def metrics_delta(self, before: dict[str, Any], after: dict[str, Any], leader: str | None) -> dict[str, Any]:
        from harness.systems.zookeeper.metrics import delta_document

        return delta_document(before, after, leader)
