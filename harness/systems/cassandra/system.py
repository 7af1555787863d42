"""Apache Cassandra as a ``harness.api.System``: each node's exact ``java`` command, and readiness.

``launch`` writes the node's ``conf/cassandra.yaml`` and ``conf/logback.xml`` into its data dir
(files only; it starts nothing) and returns the argv that ``bin/cassandra -f`` would run: the
JVM options of ``jvm_options.py`` (or of ``$CASSANDRA_HOME/conf``), heap, JMX, the start-up
shortcuts for test clusters, ``-cp <every jar of lib/>`` and
``org.apache.cassandra.service.CassandraDaemon``.

Readiness (``wait_ready``) is two independent views that must agree:

1. the driver's: a ``cassandra-driver`` Cluster with every node as contact point sees exactly
   the cluster's nodes in its metadata, all up (it holds a connection pool to each), and
   ``system.local`` reports the expected release;
2. Cassandra's own: ``nodetool status`` run against every node (over JMX; see
   ``jvm_options.jmx_options``) lists every node as ``UN`` (Up/Normal).

JMX for test clusters: a node on a loopback address gets Cassandra's default local-only JMX
(``-Dcassandra.jmx.local.port``); any other node gets remote JMX on its own address without
authentication (``-Dcassandra.jmx.remote.port`` + ``com.sun.management.jmxremote.authenticate=false``
+ ``java.rmi.server.hostname=<node>``), reachable over the provider's bridge.

Example::

    system = CassandraSystem.from_environment(CassandraConfig(heap="1G"))
    cluster = provider.start(system, 3, run_dir)        # launch() per node, then wait_ready()
    system.node_status(cluster)["n1"]                  # {"198.18.7.11": "UN", "198.18.7.12": "UN", ...}
"""
from __future__ import annotations

import ipaddress
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from harness import interrupt
from harness.api import ProbeRound, ReadinessCheck
from harness.errors import ClusterError
from harness.netutil import tcp_connects
from harness.providers.base import Cluster, Node, NodeAddress, NodeLaunch, ReadyReport
from harness.systems.cassandra import jvm_options as jo
from harness.systems.cassandra.config import CassandraConfig, NodePaths, logback_tools_xml, write_node_files
from harness.systems.cassandra.distribution import (CACHE_ROOT, CassandraDistribution, JavaRuntime,
                                                    find_cassandra, find_java)
from harness.systems.java import container_memory_limit

MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"
NODETOOL_CLASS = "org.apache.cassandra.tools.NodeTool"
#: Per-probe deadlines while waiting for readiness.
PORT_PROBE_TIMEOUT_S = 0.5
DRIVER_TIMEOUT_S = 3.0
NODETOOL_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.5


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_nodetool_status(text: str) -> dict[str, str]:
    """``{address: "UN"}`` from ``nodetool status`` output (lines like ``UN  10.0.0.1  104 KiB  16 ...``)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 2 and parts[0][0] in "UD" and parts[0][1] in "NLJM":
            addr = parts[1]
            if addr.count(":") == 1:  # "-pp" style host:port
                addr = addr.split(":")[0]
            out[addr] = parts[0]
    return out


@dataclass
class _NodeView:
    """What one probe round learnt about one node."""

    native_open: bool = False
    driver_up: bool | None = None
    nodetool: dict[str, str] | None = None
    nodetool_error: str | None = None


@dataclass
class CassandraSystem:
    """Cassandra 5.0: CQL (client) port 9042, storage (peer) port 7000, JMX 7199 by default."""

    distribution: CassandraDistribution
    java: JavaRuntime
    config: CassandraConfig = field(default_factory=CassandraConfig)
    name: str = "cassandra"
    #: A suggestion for providers: JVM start-up plus one nodetool JVM per node, on a shared 2-core
    #: host, takes far longer than etcd (measured: 7-17 s for one node; not yet measured for 5).
    default_ready_timeout_s: float = 240.0
    client_port: int = field(init=False)
    peer_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.client_port = self.config.native_transport_port
        self.peer_port = self.config.storage_port
        self._tools_logback_lock = threading.Lock()

    @classmethod
    def from_environment(cls, config: CassandraConfig | None = None, version: str | None = None) -> "CassandraSystem":
        """Java 17 and the Cassandra jars from this machine (EnvironmentProblem if either is missing)."""
        java = find_java()
        dist = find_cassandra(version)
        return cls(dist, java, config or CassandraConfig())

    def version(self) -> str:
        return self.distribution.version

    def peer_links_by_address(self) -> str:
        """``AddressedPeers``: gossip carries each node's address, and the internode handshake
        names the sender (``HandshakeProtocol.Initiate.from``), so a connection that arrives
        from Toxiproxy's address is still the sender's."""
        return ("internode connections (storage port) redirected per directed link by nat rules in each node's "
                "namespace; the handshake names the sender, not the source address")

    @property
    def max_value_bytes(self) -> int:
        """A value must fit one native-protocol frame and one commitlog segment's mutation
        limit (half of commitlog_segment_size, 32 MiB by default): 16 MiB is well inside both."""
        return 16 * 1024 * 1024

    def prepare_workload(self, cluster: Cluster, workload: Any) -> None:
        """The workload's keyspace (one per replication factor) and table, created once before
        any worker connects; the driver waits for schema agreement across the nodes."""
        from harness.systems.cassandra.client import CassandraClient
        from harness.systems.cassandra.plugin import client_settings

        c = CassandraClient(cluster.client_endpoints, workload.value_size, 30.0, settings=client_settings(workload),
                            n_nodes=len(cluster.nodes))
        try:
            c.ensure_schema_blocking()
        finally:
            c.close_blocking()

    def config_dict(self) -> dict[str, Any]:
        """Everything that shaped the servers, for the run manifest."""
        d = self.distribution
        return {**self.config.as_dict(), "client_port": self.client_port, "peer_port": self.peer_port,
                "version": d.version, "git_sha": d.git_sha, "source": d.source, "lib_dir": str(d.lib_dir),
                "server_jar": str(d.server_jar), "cassandra_home": str(d.home) if d.home else None,
                "java": str(self.java.path), "java_version": self.java.version,
                "jvm_options_source": "CASSANDRA_HOME/conf" if d.conf_dir else "harness/systems/cassandra/jvm_options.py"}

    # ------------------------------------------------------------------ launch
    def _option_file_lines(self) -> list[str]:
        """jvm-server.options + jvm17-server.options (+ CASSANDRA-19001's JDK-only lines on a JDK)."""
        conf = self.distribution.conf_dir
        if conf is None:
            return jo.jvm17_server_option_lines(self.java.jdk_modules)
        lines = jo.read_options_file(conf / "jvm-server.options") + jo.read_options_file(conf / "jvm17-server.options")
        if self.java.jdk_modules:
            lines += [ln for ln in jo.JVM17_JDK_ONLY_OPTIONS if ln not in lines]
        return lines

    def jvm_args(self, node: NodeAddress, data_dir: Path) -> list[str]:
        """The JVM arguments before ``-cp``, in bin/cassandra's order (options files, then
        cassandra-env.sh's additions, then launch_service's properties)."""
        cfg, paths = self.config, NodePaths(data_dir)
        args = jo.split_option_lines(self._option_file_lines())
        if cfg.gc_log and not any(a.startswith("-Xlog:gc") for a in args):
            args.append(jo.gc_log_option(paths.logs))
        args += jo.heap_options(cfg.heap)
        conf = self.distribution.conf_dir
        if conf is not None and (conf / "hotspot_compiler").is_file():
            args.append(f"-XX:CompileCommandFile={conf / 'hotspot_compiler'}")
        agent = jo.jamm_agent_option(self.distribution.lib_dir)
        if agent:
            args.append(agent)
        args += jo.jmx_options(node.host, cfg.jmx_port, loopback_only=is_loopback(node.host))
        if cfg.ring_delay_ms is not None:
            args.append(f"-Dcassandra.ring_delay_ms={cfg.ring_delay_ms}")
        if cfg.skip_wait_for_gossip_to_settle is not None:
            args.append(f"-Dcassandra.skip_wait_for_gossip_to_settle={cfg.skip_wait_for_gossip_to_settle}")
        if cfg.superuser_setup_delay_ms is not None:
            args.append(f"-Dcassandra.superuser_setup_delay_ms={cfg.superuser_setup_delay_ms}")
        if cfg.max_direct_memory:
            args.append(f"-XX:MaxDirectMemorySize={cfg.max_direct_memory}")
        jemalloc = jo.find_jemalloc() if cfg.jemalloc else None
        if jemalloc is not None:
            args.append(f"-Dcassandra.libjemalloc={jemalloc}")
        # Not from the scripts: the tarball's conf/triggers is on the classpath there; here an empty
        # dir in the node's data dir (FBUtilities.cassandraTriggerDir warns when there is none).
        args.append(f"-Dcassandra.triggers_dir={paths.triggers}")
        args += list(cfg.extra_jvm_args)
        args.append(jo.ON_OUT_OF_MEMORY_ERROR)
        args += jo.launch_service_properties(paths.yaml, paths.logback, paths.logs, data_dir)
        return args

    def launch(self, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> NodeLaunch:
        """Write the node's config files into ``data_dir/conf`` and return its command (not run).

        The same argv serves restarts: Cassandra keeps its tokens and host id in data_dir.
        """
        data_dir = Path(data_dir).resolve()
        write_node_files(self.config, node, cluster, data_dir)
        argv = [str(self.java.path), *self.jvm_args(node, data_dir), "-cp", self.distribution.classpath, MAIN_CLASS]
        env = dict(jo.SERVER_ENV)
        jemalloc = jo.find_jemalloc() if self.config.jemalloc else None
        host_paths = {"lib": self.distribution.lib_dir}
        if jemalloc is not None:
            env["LD_PRELOAD"] = str(jemalloc)  # bin/cassandra: export LD_PRELOAD=$CASSANDRA_LIBJEMALLOC
            host_paths["jemalloc"] = jemalloc  # an image without it cannot run this command as written
        if self.distribution.conf_dir is not None:
            host_paths["conf"] = self.distribution.conf_dir
        return NodeLaunch(argv=argv, data_dir=data_dir, env=env, host_paths=host_paths,
                          memory_limit_bytes=container_memory_limit(self.config.heap, self.config.max_direct_memory))

    # ------------------------------------------------------------------ nodetool
    def _tools_logback(self) -> Path:
        d = self.distribution
        if d.conf_dir is not None and (d.conf_dir / "logback-tools.xml").is_file():
            return d.conf_dir / "logback-tools.xml"
        path = CACHE_ROOT / "conf" / "logback-tools.xml"  # harness-owned, never inside CASSANDRA_HOME
        with self._tools_logback_lock:
            if not path.is_file() or path.read_text() != logback_tools_xml():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(logback_tools_xml())
                tmp.replace(path)
        return path

    def nodetool_argv(self, host: str, *args: str) -> list[str]:
        """bin/nodetool's command: ``java $JAVA_AGENT -ea -cp ... $JVM_OPTS -Xmx128m
        -XX:ParallelGCThreads=1 -Dlogback.configurationFile=logback-tools.xml NodeTool -p <jmx>``."""
        conf = self.distribution.conf_dir
        if conf is not None and (conf / "jvm17-clients.options").is_file():
            lines = jo.read_options_file(conf / "jvm17-clients.options")
        else:
            lines = list(jo.JVM17_CLIENTS_OPTIONS)
            if self.java.jdk_modules:
                lines += jo.JVM17_CLIENTS_JDK_ONLY_OPTIONS
        agent = jo.jamm_agent_option(self.distribution.lib_dir)
        return [str(self.java.path), *([agent] if agent else []), "-cp", self.distribution.classpath,
                *jo.split_option_lines(lines), *jo.NODETOOL_JVM_OPTIONS,
                f"-Dlogback.configurationFile={self._tools_logback()}",
                NODETOOL_CLASS, "-h", host, "-p", str(self.config.jmx_port), *args]

    def nodetool(self, host: str, *args: str, timeout_s: float = NODETOOL_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """Run nodetool (a JVM) against ``host``; tracked while it runs, so a run's teardown
        kills it even when it runs in a probe thread (``harness.interrupt``)."""
        return interrupt.run_tracked(self.nodetool_argv(host, *args), timeout_s, stdin=subprocess.DEVNULL)

    def nodetool_status(self, host: str, timeout_s: float = NODETOOL_TIMEOUT_S) -> dict[str, str]:
        """``{address: "UN" | "DN" | "UJ" ...}`` as ``host`` sees the ring; RuntimeError on failure."""
        try:
            p = self.nodetool(host, "status", timeout_s=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"nodetool status timed out after {timeout_s:g}s") from e
        if p.returncode != 0:
            msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
            raise RuntimeError(f"nodetool status exited {p.returncode}: {' | '.join(msg[-3:])}")
        return parse_nodetool_status(p.stdout)

    def node_status(self, cluster: Cluster) -> dict[str, dict[str, str] | None]:
        """Best effort, per node: its ``nodetool status`` view (None when it cannot answer)."""
        out: dict[str, dict[str, str] | None] = {}
        for n in cluster.nodes:
            try:
                out[n.name] = self.nodetool_status(n.host)
            except RuntimeError:
                out[n.name] = None
        return out

    # ------------------------------------------------------------------ driver view
    def _endpoints(self, cluster: Cluster) -> tuple[list[str], int]:
        hosts, ports = [], set()
        for n in cluster.nodes:
            host, _, port = cluster.client_endpoint(n).rpartition(":")
            hosts.append(host)
            ports.add(int(port))
        if len(ports) != 1:
            raise ClusterError(f"cassandra-driver needs one CQL port for all nodes, got {sorted(ports)}")
        return hosts, ports.pop()

    def _probe_cluster(self, cluster: Cluster) -> Any:
        """A driver Cluster for readiness: quick reconnects, no event debouncing, no schema metadata."""
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster as DriverCluster, ExecutionProfile
        from cassandra.policies import ConstantReconnectionPolicy, RoundRobinPolicy

        hosts, port = self._endpoints(cluster)
        profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=DRIVER_TIMEOUT_S)
        return DriverCluster(contact_points=hosts, port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                             reconnection_policy=ConstantReconnectionPolicy(POLL_INTERVAL_S, max_attempts=None),
                             connect_timeout=DRIVER_TIMEOUT_S, control_connection_timeout=DRIVER_TIMEOUT_S,
                             topology_event_refresh_window=0, status_event_refresh_window=0,
                             schema_metadata_enabled=False, token_metadata_enabled=False)

    # ------------------------------------------------------------------ readiness
    def wait_ready(self, cluster: Cluster, timeout_s: float) -> ReadyReport:
        """Every node Up/Normal for the driver and in every node's ``nodetool status``.

        Fails at once (not at the timeout) when a node's process has exited.
        """
        hint = ("a node that exits at once usually has a bad cassandra.yaml key or JVM option (see its log), or a "
                "data dir from another cluster (ClusterName mismatch); one that never turns UN cannot reach its "
                f"peers on storage port {self.peer_port} (bridge / firewall) or is still starting (about 20-40 s "
                f"per JVM on a busy 2-core host; heap {self.config.heap}).")
        check = ReadinessCheck("cassandra", hint, interval_s=POLL_INTERVAL_S, where=lambda c, n: n.host)
        return check.wait(cluster, _Readiness(self, cluster), timeout_s)

    @staticmethod
    def _node_ok(v: _NodeView, hosts: dict[str, str]) -> bool:
        return bool(v.native_open and v.driver_up and v.nodetool and all(v.nodetool.get(h) == "UN" for h in hosts))

    def _probe_nodetool(self, cluster: Cluster, views: dict[str, _NodeView], deadline: float) -> None:
        """``nodetool status`` on every node (two at a time: each is a JVM on a 2-core host)."""
        def one(n: Node) -> None:
            v = views[n.name]
            try:
                v.nodetool = self.nodetool_status(n.host, timeout_s=max(5.0, min(NODETOOL_TIMEOUT_S,
                                                                                  deadline - time.monotonic())))
                v.nodetool_error = None
            except RuntimeError as e:
                v.nodetool, v.nodetool_error = None, str(e)
        ex = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gbench-nodetool")
        try:
            list(ex.map(one, cluster.nodes))
        except BaseException:  # Ctrl-C: no waiting for nodetool JVMs (the teardown kills them)
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown(wait=True)


def _status_line(port: int, v: _NodeView) -> str:
    driver = "up" if v.driver_up else ("down" if v.driver_up is False else "unknown")
    nodetool = v.nodetool if v.nodetool is not None else (v.nodetool_error or "not run")
    return f"CQL port {port} {'open' if v.native_open else 'closed'}; driver: {driver}; nodetool status: {nodetool}"


class _Readiness:
    """``ReadinessProbe``: the CQL ports, then a driver session kept across polls (closed by
    ``close``), then ``nodetool status`` on every node once the driver sees them all up."""

    def __init__(self, system: CassandraSystem, cluster: Cluster) -> None:
        self.system = system
        self.views = {n.name: _NodeView() for n in cluster.nodes}
        self.hosts = {n.host: n.name for n in cluster.nodes}
        self.phases: dict[str, float] = {}
        self.driver: Any = None
        self.session: Any = None
        self.release: str | None = None
        self.connection_class: str | None = None
        self.t0: float | None = None

    def _since_start(self) -> float:
        assert self.t0 is not None
        return round(time.monotonic() - self.t0, 3)

    def poll(self, cluster: Cluster, waited_s: float, deadline: float) -> ProbeRound:
        system, views, hosts = self.system, self.views, self.hosts
        if self.t0 is None:
            self.t0 = time.monotonic() - waited_s  # when the wait started
        for n in cluster.nodes:
            views[n.name].native_open = tcp_connects(n.host, system.client_port, PORT_PROBE_TIMEOUT_S)
        if all(v.native_open for v in views.values()):
            self.phases.setdefault("native_transport_s", self._since_start())
            self._driver_view(cluster)
            if self.release is not None and all(v.driver_up for v in views.values()):
                self.phases.setdefault("driver_all_up_s", self._since_start())
                system._probe_nodetool(cluster, views, deadline)
                if all(v.nodetool is not None and all(v.nodetool.get(h) == "UN" for h in hosts)
                       for v in views.values()):
                    self.phases["nodetool_all_un_s"] = self._since_start()
                    return ProbeRound(report=ReadyReport(
                        seconds=waited_s, leader=None,
                        details={"server_version": self.release, "git_sha": system.distribution.git_sha,
                                 "driver_connection_class": self.connection_class,
                                 "nodetool": {name: v.nodetool for name, v in views.items()},
                                 "phases": self.phases}))
        return ProbeRound(status={name: _status_line(system.client_port, v) for name, v in views.items()},
                          healthy=frozenset(n.name for n in cluster.nodes if system._node_ok(views[n.name], hosts)),
                          why="not Up/Normal")

    def _driver_view(self, cluster: Cluster) -> None:
        """Which nodes the driver sees up (and, once all are, the release they run)."""
        system, views, hosts = self.system, self.views, self.hosts
        try:
            if self.session is None:
                self.driver = system._probe_cluster(cluster)
                self.session = self.driver.connect()
                self.connection_class = self.driver.connection_class.__name__
            self.driver.refresh_nodes(force_token_rebuild=False)
            seen = {h.address: h.is_up for h in self.driver.metadata.all_hosts()}
            for n in cluster.nodes:
                views[n.name].driver_up = seen.get(n.host)
            unknown = sorted(set(seen) - set(hosts))
            if unknown:
                raise ClusterError(f"cassandra-driver sees hosts that are not in this cluster: {unknown} "
                                   "(another Cassandra on these addresses?)")
            if all(views[n.name].driver_up for n in cluster.nodes) and self.release is None:
                row = self.session.execute("SELECT release_version FROM system.local").one()
                self.release = row.release_version if row else None
                if self.release != system.distribution.version:
                    raise ClusterError(f"node reports Cassandra {self.release}, expected "
                                       f"{system.distribution.version} (a stale process on these ports?)")
        except ClusterError:
            raise
        except Exception:  # noqa: BLE001 - NoHostAvailable, timeouts...: "not yet", try again
            if self.session is None:
                if self.driver is not None:
                    self.driver.shutdown()
                    self.driver = None
                for v in views.values():
                    v.driver_up = False

    def close(self) -> None:
        if self.driver is not None:
            self.driver.shutdown()
