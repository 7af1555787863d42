"""ZooKeeper as a plugin (``harness.registry``): its read levels and their classes, and how to
build its system and client.

Cheap to import: kazoo is imported inside ``make_client`` and ``software_facts``.

Reads. ZooKeeper's guarantees (ZooKeeper Programmer's Guide, "ZooKeeper consistency
guarantees", https://zookeeper.apache.org/doc/current/zookeeperProgrammers.html#ch_zkGuarantees;
Hunt et al., "ZooKeeper: Wait-free coordination for Internet-scale systems", USENIX ATC 2010,
section 2.3): writes are linearizable (every write goes through the leader and ZAB, one total
order); a client's requests are applied in the order it sent them (FIFO client order); every
server applies the same writes in the same order, so all clients see updates in one order
(sequential consistency), but a server answers reads from its own state, which may lag the
leader. Hence:

* ``plain`` (``getData``): **session**. A session's reads never go back and see its own
  writes (the server that answers has applied them: they came through it in order, and on a
  reconnect a client only accepts a server at least as recent as its last zxid), and the
  whole history is sequentially consistent; but a read may miss a write another session had
  acknowledged before the read began, so it is not linearizable.
* ``sync`` (``sync`` then ``getData`` on the same session): **strong**. The server first
  catches up with everything the leader committed before it handled the sync. The caveat
  (Hunt et al. 2010, section 4; discussed in jepsen-io/jepsen#399): sync is not a quorum
  operation, so a leader that was replaced but does not know it yet can answer a sync (until
  syncLimit ends its leadership), and the read can then still be stale; so "strong" is the
  class ZooKeeper aims at with sync, and the harness measures whether it holds.

Writes have no level: every create, setData and delete is a ZAB proposal acknowledged by a
quorum (with fsync: ``forceSync=yes``).

Options (``zookeeper:`` in a workload, ``options.py``): ``read_only: true`` lets the workload's
sessions be served by a server in read-only mode (cut off from the quorum); a run with such a
workload starts its servers with local sessions on (``make_system_for``, ``config.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from harness.api import Client, ImageSpec, Level, PeerTool, System, SystemOptions
from harness.systems.zookeeper.options import ZooKeeperOptions, parse_options

LEVELS: tuple[Level, ...] = (
    Level("plain", "read", "session",
          "The default getData, answered by the connected server from its own state: per session, reads never go "
          "back and see the session's own writes, and all sessions see writes in one order (sequential "
          "consistency), but a read may miss a write another session already had acknowledged."),
    Level("sync", "read", "strong",
          "sync then getData on the same session: the server first catches up with everything the leader had "
          "committed when it handled the sync, so the read sees every write acknowledged before it began (the "
          "caveat: sync is not a quorum operation; a deposed leader that does not know it yet may still answer it)."),
)


@dataclass(frozen=True)
class ZooKeeperPlugin:
    name: str = "zookeeper"
    levels: tuple[Level, ...] = LEVELS
    #: ZooKeeper's own default read.
    default_read_level: str | None = "plain"
    options_field: str | None = "zookeeper"
    #: From SIGINT/SIGTERM to everything removed. The teardown SIGKILLs 5 JVMs (no graceful
    #: shutdown) and removes the namespaces: 0.2-0.4 s in harness/benchmarks/zookeeper_startup.py
    #: (teardown_s); one SIGTERM by hand during a 5-node run's warm-up: everything removed 1.0 s
    #: after the signal. The signal benchmark has not measured ZooKeeper, so the bound stays
    #: between etcd's 15 s and Cassandra's 60 s.
    exit_budget_s: float = 30.0
    peer_tools: tuple[PeerTool, ...] = ()
    default_suite: str | None = "workloads/suites/zookeeper.yaml"

    def parse_options(self, file: str, data: Mapping[str, Any] | None) -> SystemOptions | None:
        return parse_options(file, data)

    def validate_workload(self, workload: Any) -> None:
        """Nothing beyond the generic checks: both read levels work on any cluster size."""

    def image(self, version: str) -> ImageSpec:
        """The local image ``harness/setup/docker/jvm-images.sh`` builds from this system's
        recipe (``image/recipe.env``: the JRE 17 layer + the same jars netns runs, in
        /opt/zookeeper/lib). No official image: ``zookeeper:<version>`` holds the release
        tarball's lib, not the jars the command names (never tried: no registry here)."""
        return ImageSpec(f"gbench/zookeeper:{version}-local", None, "java", {"lib": "/opt/zookeeper/lib"},
                         probe=("java", "-version"))

    def make_system(self) -> System:
        from harness.systems.zookeeper.system import ZooKeeperSystem

        return ZooKeeperSystem.from_environment()

    def software_facts(self, system: System) -> dict[str, Any]:
        import kazoo.version

        from harness.systems.zookeeper.system import ZooKeeperSystem

        assert isinstance(system, ZooKeeperSystem)
        d, j = system.distribution, system.java
        return {"zookeeper": {"version": d.version, "build": d.build, "source": d.source, "lib_dir": str(d.lib_dir),
                              "java": str(j.path), "java_version": j.version},
                "kazoo": {"version": kazoo.version.__version__}}

    def make_system_for(self, workloads: Sequence[Any]) -> System:
        """Local sessions on when some workload's clients accept a read-only server (a
        read-only server creates no global session: ``config.py``), off otherwise."""
        from harness.systems.zookeeper.config import ZooKeeperConfig
        from harness.systems.zookeeper.system import ZooKeeperSystem

        read_only = any(isinstance(w.options, ZooKeeperOptions) and w.options.read_only for w in workloads)
        return ZooKeeperSystem.from_environment(ZooKeeperConfig(local_sessions=read_only))

    def make_client(self, workload: Any, endpoint: str, all_endpoints: Sequence[str] = ()) -> Client:
        from harness.systems.zookeeper.client import ZooKeeperClient

        read_only = isinstance(workload.options, ZooKeeperOptions) and workload.options.read_only
        return ZooKeeperClient(endpoint, workload.value_size, workload.load.op_timeout_s, read_only=read_only)

    def routes_per_request(self, workload: Any) -> bool:
        return False


PLUGIN = ZooKeeperPlugin()
