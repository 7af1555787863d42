"""Per-node ``zoo.cfg``, ``myid`` and ``logback.xml`` for ZooKeeper 3.9, from one ``ZooKeeperConfig``.

Every setting the harness relies on is written explicitly, even when it equals ZooKeeper's
default, so the run manifest (``as_dict``) says exactly what the servers ran with. The keys are
those of ``QuorumPeerConfig.parseProperties`` in 3.9.5 (``4lw.*``/``admin.*`` keys become the
``zookeeper.*`` system properties the server reads).

Choices worth knowing (each is a field of ``ZooKeeperConfig``):

* **Timing: ``tickTime`` 1000 ms, ``initLimit`` 10 ticks, ``syncLimit`` 5 ticks.** ZooKeeper's
  sample config has 2000/10/5. A tick of 1 s halves every timeout that follows from it while
  leaving a JVM on a shared 2-core host room for GC pauses: a follower that hears nothing from
  its leader for ``syncLimit`` x ``tickTime`` = 5 s drops it and elects again (a partitioned or
  paused follower stops serving after that); a follower has ``initLimit`` x ``tickTime`` = 10 s
  to connect to a new leader and sync; client sessions may ask for 2 to 20 s
  (``minSessionTimeout`` = 2 ticks and ``maxSessionTimeout`` = 20 ticks, ZooKeeper's own
  defaults written out). A SIGKILLed leader closes its sockets, so followers notice at once,
  not after ``syncLimit``.
* **Durability: ``forceSync=yes``** (ZooKeeper's default): a write is acknowledged by a quorum
  only after each member fsynced its transaction log.
* **Not standalone, no reconfig: ``standaloneEnabled=false``, ``reconfigEnabled=false``.** Even
  a 1-node cluster runs the quorum code (mode ``leader``), so every size has the same read and
  write path; the static ``server.N`` lines are never rewritten into a dynamic config file.
* **Four-letter words ``ruok,srvr,mntr,stat,conf``** (whitelisted; all others are refused) and
  the AdminServer (HTTP ``/commands/*``) on the node's own address, port 8080.
* ``maxClientCnxns=0`` (no per-address limit: every harness client comes from the bridge's one
  address; ZooKeeper's default of 60 would refuse connections under a large client count),
  ``autopurge.purgeInterval=0`` (no purge during a run), ``snapCount`` 100000 and
  ``preAllocSize`` 65536 KiB (defaults), jute.maxbuffer left at its default 0xfffff bytes.
* **Read-only mode on: ``-Dreadonlymode.enabled=true``** (``read_only_mode``; ZooKeeper's default
  is off). A server cut off from the quorum then serves reads to the clients that asked for it
  (a workload's ``zookeeper: {read_only: true}``, ``options.py``) and refuses every other
  client's connection, as a server without read-only mode refuses all of them; so workloads
  without the option see the same cluster either way. It is on for every run because a JVM's
  options are fixed when the cluster starts, before any workload of the run is known.
* **Local sessions off, unless a workload of the run accepts a read-only server**
  (``local_sessions``; ``localSessionsEnabled`` and ``localSessionsUpgradingEnabled``, written
  out either way). Since ZOOKEEPER-3864 (3.7) a read-only server refuses to create a global
  session, so a read-only client is served only with local sessions on (apache/zookeeper
  PR #1922 documents it); measured here: with them off, a 3.9.5 read-only server answered a
  new kazoo session with error -119 (NOTREADONLY) in place of a connect response, and with
  them on it served the session's reads and refused its writes. Off otherwise because a local
  session lives on one server only: it is not replicated, cannot move, and is lost when that
  server rejoins the quorum (after every election), which would change what the leader-kill
  scenarios measure. ``plugin.ZooKeeperPlugin.make_system_for`` turns it on for a run whose
  workloads say ``zookeeper: {read_only: true}``; the manifest's ``cluster.config`` says which.
* **JVM: 256 MiB heap** (``-Xms`` = ``-Xmx``; zkEnv.sh's default is 1000 MiB, far more than a
  register of a few thousand znodes needs), ``-XX:+ExitOnOutOfMemoryError`` (zkServer.sh
  kills the JVM on OOM too), IPv4 stack. Logging: logback to the console (the provider writes
  it to the run's ``nodes/<node>.log``, kept with the results) at INFO, except the two
  loggers that log every four-letter word; the config file itself sits in the node's data dir.

Example::

    cfg = ZooKeeperConfig()
    text = zoo_cfg(cfg, node, cluster, data_dir)     # a str, ready to write
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.errors import ConfigError
from harness.providers.base import NodeAddress
from harness.systems.java import jvm_size_bytes

_SOURCE = "ZooKeeperConfig"
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
#: ZooKeeper's jute.maxbuffer default: the largest request or response packet, in bytes.
JUTE_MAXBUFFER = 0xFFFFF
#: The 4lw commands the harness uses (readiness, member status, metrics) plus ``stat``/``conf``.
FOUR_LETTER_WORDS = ("ruok", "srvr", "mntr", "stat", "conf")


@dataclass(frozen=True)
class ZooKeeperConfig:
    """Everything that shapes a ZooKeeper server; recorded in the run manifest by ``as_dict``."""

    tick_time_ms: int = 1000
    init_limit: int = 10
    sync_limit: int = 5
    client_port: int = 2181
    quorum_port: int = 2888
    election_port: int = 3888
    admin_port: int = 8080
    heap: str = "256m"
    force_sync: bool = True
    snap_count: int = 100_000
    pre_alloc_size_kb: int = 65_536
    max_client_cnxns: int = 0
    four_letter_words: tuple[str, ...] = FOUR_LETTER_WORDS
    log_level: str = "INFO"
    read_only_mode: bool = True
    local_sessions: bool = False

    def __post_init__(self) -> None:
        for name in ("tick_time_ms", "init_limit", "sync_limit", "snap_count", "pre_alloc_size_kb"):
            if getattr(self, name) <= 0:
                raise ConfigError(_SOURCE, name, f"must be positive, got {getattr(self, name)}")
        ports = {"client_port": self.client_port, "quorum_port": self.quorum_port,
                 "election_port": self.election_port, "admin_port": self.admin_port}
        for name, port in ports.items():
            if not 1 <= port <= 65535:
                raise ConfigError(_SOURCE, name, f"{port} is not a TCP port")
        if len(set(ports.values())) != len(ports):
            raise ConfigError(_SOURCE, "client_port", f"ports must differ, got {ports}")
        if self.max_client_cnxns < 0:
            raise ConfigError(_SOURCE, "max_client_cnxns", "must be >= 0 (0 = no limit)")
        missing = {"ruok", "srvr", "mntr"} - set(self.four_letter_words)
        if missing:
            raise ConfigError(_SOURCE, "four_letter_words", f"the harness needs {sorted(missing)} whitelisted "
                              "(readiness, member status, metrics)")
        if self.log_level not in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR"):
            raise ConfigError(_SOURCE, "log_level", f"{self.log_level!r} is not a logback level")
        try:
            jvm_size_bytes(self.heap)
        except ValueError as e:
            raise ConfigError(_SOURCE, "heap", str(e)) from None

    @property
    def min_session_timeout_ms(self) -> int:
        return 2 * self.tick_time_ms

    @property
    def max_session_timeout_ms(self) -> int:
        return 20 * self.tick_time_ms

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["four_letter_words"] = list(self.four_letter_words)
        d.update(min_session_timeout_ms=self.min_session_timeout_ms,
                 max_session_timeout_ms=self.max_session_timeout_ms, jute_maxbuffer=JUTE_MAXBUFFER)
        return d


def server_ids(cluster: Sequence[NodeAddress]) -> dict[str, int]:
    """``myid`` per node: its position in the cluster, from 1 (n1 -> 1 under the providers)."""
    return {a.name: i for i, a in enumerate(cluster, start=1)}


def zoo_cfg(cfg: ZooKeeperConfig, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> str:
    """The ``zoo.cfg`` of ``node``: its own addresses, every member's ``server.N`` line."""
    ids = server_ids(cluster)
    lines = [
        f"# {node.name} of a {len(cluster)}-node ZooKeeper cluster; written by harness/systems/zookeeper/config.py",
        f"tickTime={cfg.tick_time_ms}",
        f"initLimit={cfg.init_limit}",
        f"syncLimit={cfg.sync_limit}",
        f"minSessionTimeout={cfg.min_session_timeout_ms}",
        f"maxSessionTimeout={cfg.max_session_timeout_ms}",
        f"dataDir={data_dir}",
        f"clientPort={cfg.client_port}",
        f"clientPortAddress={node.host}",
        f"maxClientCnxns={cfg.max_client_cnxns}",
        f"forceSync={'yes' if cfg.force_sync else 'no'}",
        f"snapCount={cfg.snap_count}",
        f"preAllocSize={cfg.pre_alloc_size_kb}",
        "autopurge.purgeInterval=0",
        f"localSessionsEnabled={'true' if cfg.local_sessions else 'false'}",
        f"localSessionsUpgradingEnabled={'true' if cfg.local_sessions else 'false'}",
        "standaloneEnabled=false",
        "reconfigEnabled=false",
        "quorumListenOnAllIPs=false",
        f"4lw.commands.whitelist={','.join(cfg.four_letter_words)}",
        "admin.enableServer=true",
        f"admin.serverAddress={node.host}",
        f"admin.serverPort={cfg.admin_port}",
    ]
    lines += [f"server.{ids[a.name]}={a.peer_host or a.host}:{cfg.quorum_port}:{cfg.election_port}" for a in cluster]
    return "\n".join(lines) + "\n"


def logback_xml(level: str) -> str:
    """Console logging in zkServer's pattern (the provider sends the console to the node's log)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- written by harness/systems/zookeeper/config.py -->
<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{{ISO8601}} [myid:%X{{myid}}] - %-5p [%t:%C{{1}}@%L] - %m%n</pattern>
    </encoder>
  </appender>
  <!-- every four-letter word is logged at INFO ("Processing srvr command from ..."): the member
       poller asks several times a second, so these two loggers say only warnings -->
  <logger name="org.apache.zookeeper.server.NIOServerCnxn" level="WARN"/>
  <logger name="org.apache.zookeeper.server.command" level="WARN"/>
  <root level="{level}">
    <appender-ref ref="CONSOLE"/>
  </root>
</configuration>
"""


def jvm_args(cfg: ZooKeeperConfig, data_dir: Path) -> list[str]:
    """The JVM options before ``-cp`` (zkServer.sh's, with the heap and OOM handling above)."""
    return [f"-Xms{cfg.heap}", f"-Xmx{cfg.heap}", "-XX:+ExitOnOutOfMemoryError", "-Djava.net.preferIPv4Stack=true",
            f"-Dreadonlymode.enabled={'true' if cfg.read_only_mode else 'false'}",
            f"-Dzookeeper.log.dir={data_dir}", f"-Dlogback.configurationFile={data_dir / 'conf' / 'logback.xml'}"]


def write_node_files(cfg: ZooKeeperConfig, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> Path:
    """``conf/zoo.cfg``, ``conf/logback.xml`` and ``myid`` in ``data_dir``; returns zoo.cfg's path.

    ``myid`` is written only when absent, so a restart keeps the member's identity."""
    conf = data_dir / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "zoo.cfg").write_text(zoo_cfg(cfg, node, cluster, data_dir))
    (conf / "logback.xml").write_text(logback_xml(cfg.log_level))
    myid = data_dir / "myid"
    if not myid.exists():
        myid.write_text(f"{server_ids(cluster)[node.name]}\n")
    return conf / "zoo.cfg"
