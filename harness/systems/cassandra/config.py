"""Per-node ``cassandra.yaml`` and ``logback.xml`` for Cassandra 5.0, from one ``CassandraConfig``.

Every key written is a field of ``org.apache.cassandra.config.Config`` in 5.0 (checked against
the 5.0.9 sources; Cassandra refuses to start on an unknown key), in the 5.0 spelling
(``commitlog_sync_period: 10000ms``, not ``..._in_ms``). Settings the harness relies on are
written explicitly even when equal to the default, so the run manifest (``as_dict``) says
exactly what the nodes ran with.

Choices worth knowing (each is a field of ``CassandraConfig``):

* **Commit log: ``periodic``, 10000 ms** - what Cassandra 5.0 ships. A write is acknowledged
  once in the commit log's memory-mapped segment, which is fsynced every 10 s. SIGKILL of the
  JVM loses nothing (the page cache survives the process); losing the *machine* (power, VM)
  can lose up to 10 s of acknowledged writes on every replica that lost power. ``batch``
  (fsync before acknowledging) and ``group`` are available for experiments.
* **Tokens: ``num_tokens: 16`` + ``allocate_tokens_for_local_replication_factor: 3``** (5.0's
  defaults), and by default an explicit, balanced ``initial_token`` list per node
  (``token_assignment="explicit"``): the provider starts all nodes at once, and the allocator
  (BootStrapper.allocateTokens -> ReplicationAwareTokenAllocator.addUnit) gives every node that
  sees an empty ring random-offset splits, so concurrently started nodes end up unbalanced and
  differently on every run. Explicit tokens make the ring identical across runs (node i owns
  tokens i, i+N, i+2N ... of N*16 evenly spaced Murmur3 tokens, the first half a step above
  the minimum token). When ``initial_token`` is set
  the allocator is not consulted (BootStrapper.getBootstrapTokens uses specified tokens first).
  ``token_assignment="allocate"`` writes no ``initial_token`` (then start nodes one at a time).
* **Seeds: every node** (``seeds="all"``). A seed never bootstraps
  (StorageService.shouldBootstrap), so all nodes of a fresh, empty cluster can start at the
  same time (concurrent bootstraps are refused with "Other bootstrapping/leaving/moving nodes
  detected"), and a seed whose shadow round hears no peer carries on instead of failing with
  "Unable to gossip with any peers" (Gossiper.doShadowRound). ``auto_bootstrap: false`` says the
  same for non-seeds when ``seeds`` is a number.
* **Modest concurrency for a 2-core host running several nodes** (``concurrent_*`` 8,
  ``concurrent_compactors`` 1, ``memtable_flush_writers`` 1, ``native_transport_max_threads`` 32).
* ``auto_snapshot: false`` (no snapshot on DROP/TRUNCATE: the harness drops keyspaces),
  ``endpoint_snitch: SimpleSnitch`` (one DC ``datacenter1``, one rack ``rack1``),
  ``storage_compatibility_mode: CASSANDRA_4`` and ``paxos_variant: v1`` (5.0's defaults, written
  so a result names them), AllowAll authentication/authorization.

Example::

    cfg = CassandraConfig(heap="1G")
    text = cassandra_yaml(cfg, node, cluster, data_dir)   # a str, ready to write
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from harness.errors import ConfigError
from harness.providers.base import NodeAddress
from harness.systems.java import jvm_size_bytes

MURMUR3_MIN = -(2**63)
MURMUR3_SPAN = 2**64
COMMITLOG_SYNC_MODES = ("periodic", "batch", "group")
TOKEN_ASSIGNMENTS = ("explicit", "allocate")
PAXOS_VARIANTS = ("v1", "v2")
STORAGE_COMPATIBILITY_MODES = ("CASSANDRA_4", "UPGRADING", "NONE")
_SOURCE = "CassandraConfig"


@dataclass(frozen=True)
class CassandraConfig:
    """Everything that shapes a Cassandra node; recorded in the run manifest by ``as_dict``."""

    cluster_name: str = "gbench"
    #: JVM heap, -Xms = -Xmx (cassandra-env.sh sets both equal).
    heap: str = "1G"
    #: -XX:MaxDirectMemorySize; None = the JVM default (= max heap), as Cassandra's scripts leave it.
    max_direct_memory: str | None = None
    native_transport_port: int = 9042
    storage_port: int = 7000
    jmx_port: int = 7199
    num_tokens: int = 16
    allocate_tokens_for_local_replication_factor: int = 3
    token_assignment: str = "explicit"
    #: "all": every node is a seed; an int k: the first k nodes.
    seeds: str | int = "all"
    commitlog_sync: str = "periodic"
    commitlog_sync_period_ms: int = 10_000  # periodic
    commitlog_sync_group_window_ms: int = 1_000  # group
    concurrent_reads: int = 8
    concurrent_writes: int = 8
    concurrent_counter_writes: int = 8
    concurrent_materialized_view_writes: int = 8
    concurrent_compactors: int = 1
    memtable_flush_writers: int = 1
    native_transport_max_threads: int = 32
    # Request timeouts: Config.java defaults of 5.0, written explicitly.
    read_request_timeout_ms: int = 5_000
    write_request_timeout_ms: int = 2_000
    range_request_timeout_ms: int = 10_000
    counter_write_request_timeout_ms: int = 5_000
    cas_contention_timeout_ms: int = 1_800
    truncate_request_timeout_ms: int = 60_000
    request_timeout_ms: int = 10_000
    hinted_handoff_enabled: bool = True
    max_hint_window_ms: int = 3 * 3600 * 1000
    paxos_variant: str = "v1"
    storage_compatibility_mode: str = "CASSANDRA_4"
    auto_snapshot: bool = False
    endpoint_snitch: str = "SimpleSnitch"
    #: -D start-up shortcuts for test clusters (jvm_options.TEST_CLUSTER_PROPERTIES documents each).
    ring_delay_ms: int | None = 10_000
    skip_wait_for_gossip_to_settle: int | None = 0
    superuser_setup_delay_ms: int | None = 0
    #: GC log (cassandra-env.sh's -Xlog:gc line) into <data_dir>/logs/gc.log.
    gc_log: bool = True
    #: Preload jemalloc when bin/cassandra would find it (jvm_options.find_jemalloc).
    jemalloc: bool = True
    log_level: str = "INFO"
    #: Extra cassandra.yaml keys (must be valid for 5.0), applied last.
    extra_yaml: dict[str, Any] = field(default_factory=dict)
    #: Extra JVM arguments, appended last.
    extra_jvm_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def bad(f: str, why: str) -> ConfigError:
            return ConfigError(_SOURCE, f, why)
        for f in ("heap", "max_direct_memory"):
            v = getattr(self, f)
            if v is not None:
                try:
                    jvm_size_bytes(v)
                except ValueError as e:
                    raise bad(f, str(e)) from None
        if self.commitlog_sync not in COMMITLOG_SYNC_MODES:
            raise bad("commitlog_sync", f"must be one of {COMMITLOG_SYNC_MODES}, not {self.commitlog_sync!r}")
        if self.token_assignment not in TOKEN_ASSIGNMENTS:
            raise bad("token_assignment", f"must be one of {TOKEN_ASSIGNMENTS}, not {self.token_assignment!r}")
        if self.paxos_variant not in PAXOS_VARIANTS:
            raise bad("paxos_variant", f"must be one of {PAXOS_VARIANTS}, not {self.paxos_variant!r}")
        if self.storage_compatibility_mode not in STORAGE_COMPATIBILITY_MODES:
            raise bad("storage_compatibility_mode", f"must be one of {STORAGE_COMPATIBILITY_MODES}")
        if not 1 <= self.num_tokens <= 16384:  # DatabaseDescriptor.MAX_NUM_TOKENS
            raise bad("num_tokens", "must be between 1 and 16384")
        if self.seeds != "all" and not (isinstance(self.seeds, int) and self.seeds >= 1):
            raise bad("seeds", f"must be 'all' or a positive number of nodes, not {self.seeds!r}")
        ports = {"native_transport_port": self.native_transport_port, "storage_port": self.storage_port,
                 "jmx_port": self.jmx_port}
        for name, p in ports.items():
            if not 1 <= p <= 65535:
                raise bad(name, f"port {p} out of range")
        if len(set(ports.values())) != len(ports):
            raise bad("native_transport_port", f"ports must differ: {ports}")
        if self.log_level.upper() not in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR"):
            raise bad("log_level", f"not a logback level: {self.log_level!r}")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["extra_jvm_args"] = list(self.extra_jvm_args)
        return d


# --------------------------------------------------------------------------- paths
@dataclass(frozen=True)
class NodePaths:
    """Where a node keeps everything, all inside its data dir."""

    data_dir: Path

    @property
    def conf(self) -> Path: return self.data_dir / "conf"
    @property
    def yaml(self) -> Path: return self.conf / "cassandra.yaml"
    @property
    def logback(self) -> Path: return self.conf / "logback.xml"
    @property
    def logs(self) -> Path: return self.data_dir / "logs"
    @property
    def data(self) -> Path: return self.data_dir / "data"
    @property
    def commitlog(self) -> Path: return self.data_dir / "commitlog"
    @property
    def hints(self) -> Path: return self.data_dir / "hints"
    @property
    def saved_caches(self) -> Path: return self.data_dir / "saved_caches"
    @property
    def cdc_raw(self) -> Path: return self.data_dir / "cdc_raw"
    @property
    def triggers(self) -> Path: return self.data_dir / "triggers"  # -Dcassandra.triggers_dir (conf/triggers)


# --------------------------------------------------------------------------- tokens / seeds
def balanced_tokens(index: int, n_nodes: int, num_tokens: int) -> list[int]:
    """Node ``index``'s share of ``n_nodes * num_tokens`` evenly spaced Murmur3 tokens, interleaved."""
    if not 0 <= index < n_nodes:
        raise ValueError(f"node index {index} not in [0, {n_nodes})")
    total = n_nodes * num_tokens
    step = MURMUR3_SPAN // total
    # Half a step in, so no node gets Murmur3's minimum token (-2**63, the ring's start marker).
    return [MURMUR3_MIN + step // 2 + (j * n_nodes + index) * step for j in range(num_tokens)]


def seed_nodes(cfg: CassandraConfig, cluster: Sequence[NodeAddress]) -> list[NodeAddress]:
    return list(cluster) if cfg.seeds == "all" else list(cluster)[: int(cfg.seeds)]


def _index_of(node: NodeAddress, cluster: Sequence[NodeAddress]) -> int:
    for i, a in enumerate(cluster):
        if a.name == node.name:
            return i
    raise ValueError(f"node {node.name} is not in the cluster {[a.name for a in cluster]}")


# --------------------------------------------------------------------------- cassandra.yaml
def yaml_settings(cfg: CassandraConfig, node: NodeAddress, cluster: Sequence[NodeAddress],
                  data_dir: Path) -> dict[str, Any]:
    """The node's cassandra.yaml as a dict (key order = file order)."""
    paths = NodePaths(data_dir)
    seeds = ",".join(f"{a.host}:{cfg.storage_port}" for a in seed_nodes(cfg, cluster))
    s: dict[str, Any] = {
        "cluster_name": cfg.cluster_name,
        "num_tokens": cfg.num_tokens,
        "allocate_tokens_for_local_replication_factor": cfg.allocate_tokens_for_local_replication_factor,
    }
    if cfg.token_assignment == "explicit":
        toks = balanced_tokens(_index_of(node, cluster), len(cluster), cfg.num_tokens)
        s["initial_token"] = ",".join(str(t) for t in toks)
    s.update({
        "auto_bootstrap": False,  # a fresh, empty cluster: nothing to stream (see module docstring)
        "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
        "seed_provider": [{"class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                           "parameters": [{"seeds": seeds}]}],
        "listen_address": node.host,
        "rpc_address": node.host,
        "storage_port": cfg.storage_port,
        "native_transport_port": cfg.native_transport_port,
        "start_native_transport": True,
        "endpoint_snitch": cfg.endpoint_snitch,
        "data_file_directories": [str(paths.data)],
        "commitlog_directory": str(paths.commitlog),
        "hints_directory": str(paths.hints),
        "saved_caches_directory": str(paths.saved_caches),
        "cdc_raw_directory": str(paths.cdc_raw),
        "commitlog_sync": cfg.commitlog_sync,
    })
    if cfg.commitlog_sync == "periodic":
        s["commitlog_sync_period"] = f"{cfg.commitlog_sync_period_ms}ms"
    elif cfg.commitlog_sync == "group":
        s["commitlog_sync_group_window"] = f"{cfg.commitlog_sync_group_window_ms}ms"
    s.update({
        "concurrent_reads": cfg.concurrent_reads,
        "concurrent_writes": cfg.concurrent_writes,
        "concurrent_counter_writes": cfg.concurrent_counter_writes,
        "concurrent_materialized_view_writes": cfg.concurrent_materialized_view_writes,
        "concurrent_compactors": cfg.concurrent_compactors,
        "memtable_flush_writers": cfg.memtable_flush_writers,
        "native_transport_max_threads": cfg.native_transport_max_threads,
        "read_request_timeout": f"{cfg.read_request_timeout_ms}ms",
        "write_request_timeout": f"{cfg.write_request_timeout_ms}ms",
        "range_request_timeout": f"{cfg.range_request_timeout_ms}ms",
        "counter_write_request_timeout": f"{cfg.counter_write_request_timeout_ms}ms",
        "cas_contention_timeout": f"{cfg.cas_contention_timeout_ms}ms",
        "truncate_request_timeout": f"{cfg.truncate_request_timeout_ms}ms",
        "request_timeout": f"{cfg.request_timeout_ms}ms",
        "hinted_handoff_enabled": cfg.hinted_handoff_enabled,
        "max_hint_window": f"{cfg.max_hint_window_ms}ms",
        "paxos_variant": cfg.paxos_variant,
        "storage_compatibility_mode": cfg.storage_compatibility_mode,
        "auto_snapshot": cfg.auto_snapshot,
        "authenticator": {"class_name": "org.apache.cassandra.auth.AllowAllAuthenticator"},
        "authorizer": {"class_name": "org.apache.cassandra.auth.AllowAllAuthorizer"},
    })
    s.update(cfg.extra_yaml)
    return s


def cassandra_yaml(cfg: CassandraConfig, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> str:
    header = (f"# cassandra.yaml for {node.name} ({node.host}) of a {len(cluster)}-node cluster, "
              "generated by harness/systems/cassandra/config.py\n")
    return header + yaml.safe_dump(yaml_settings(cfg, node, cluster, data_dir), sort_keys=False,
                                   default_flow_style=False, width=1 << 16)


# --------------------------------------------------------------------------- logback
#: Cassandra's own pattern (conf/logback.xml) on the console: the provider writes the process's
#: stdout/stderr to the node log (run_dir/nodes/<name>.log).
LOG_PATTERN = "%-5level [%thread] %date{ISO8601} %F:%L - %msg%n"


def logback_xml(level: str = "INFO") -> str:
    """Server logging: everything at ``level`` to stdout (the node log)."""
    return f"""<configuration scan="false" debug="false">
  <!-- generated by harness/systems/cassandra/config.py: the node log is the process's stdout -->
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>{LOG_PATTERN}</pattern>
    </encoder>
  </appender>
  <root level="{level.upper()}">
    <appender-ref ref="STDOUT"/>
  </root>
</configuration>
"""


def logback_tools_xml() -> str:
    """Tool logging (nodetool): warnings only, to stderr (conf/logback-tools.xml's role)."""
    return """<configuration scan="false" debug="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder>
      <pattern>%-5level %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="WARN">
    <appender-ref ref="STDERR"/>
  </root>
</configuration>
"""


def write_node_files(cfg: CassandraConfig, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> NodePaths:
    """Write conf/cassandra.yaml and conf/logback.xml (idempotent) and create the node's dirs."""
    paths = NodePaths(data_dir)
    for d in (paths.conf, paths.logs, paths.data, paths.commitlog, paths.hints, paths.saved_caches, paths.cdc_raw,
              paths.triggers):
        d.mkdir(parents=True, exist_ok=True)
    _write_if_changed(paths.yaml, cassandra_yaml(cfg, node, cluster, data_dir))
    _write_if_changed(paths.logback, logback_xml(cfg.log_level))
    return paths


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
