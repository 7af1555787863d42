"""Cassandra as a plugin (``harness.registry``): its consistency levels and their classes, the
``cassandra:`` options block of its workloads, and how to build its system and client.

Cheap to import: cassandra-driver is imported inside ``make_client`` and ``software_facts``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from harness.api import Client, ImageSpec, Level, PeerTool, RestoredNodes, System, SystemOptions
from harness.config_fields import number, refuse_unknown, shown
from harness.errors import ConfigError
from harness.systems.cassandra.levels import READ_LEVELS, SERIAL_LEVELS, WRITE_LEVELS, level_problem
from harness.systems.cassandra.options import ROUTINGS, CassandraOptions

#: Why every non-serial level is ``weak``, even QUORUM and ALL: with R + W > RF a QUORUM read
#: overlaps the replicas of every acknowledged QUORUM write and returns the newest value by
#: write timestamp (and blocking read repair keeps it), but concurrent writes are resolved by
#: client timestamps (last write wins), a write that failed or timed out at the client may
#: still surface later, and no read waits for a write in flight: such reads are not
#: linearizable (Kingsbury, "Jepsen: Cassandra", 2013; Cassandra's documentation reserves
#: linearizable reads for SERIAL). A class belongs to a level, not to a (read, write) pair, so
#: the strongest pair's behaviour is measured (t-visibility, the checkers), not claimed here.
_WEAK_WHY = ("Not linearizable whatever the write level: last write wins by timestamp, and a failed or "
             "timed-out write may surface later; see harness/systems/cassandra/plugin.py.")
_REPLICAS = {"ANY": "any node, a hint counts", "ONE": "1 replica", "TWO": "2 replicas", "THREE": "3 replicas",
             "QUORUM": "a majority of the replicas", "LOCAL_QUORUM": "a majority of the local datacenter's replicas",
             "EACH_QUORUM": "a majority in every datacenter", "ALL": "every replica",
             "LOCAL_ONE": "1 replica of the local datacenter"}

LEVELS: tuple[Level, ...] = (
    *(Level(lv, "read", "weak", f"Answered by {_REPLICAS[lv]}. {_WEAK_WHY}") for lv in READ_LEVELS
      if lv not in SERIAL_LEVELS),
    Level("SERIAL", "read", "strong",
          "A Paxos read: it commits any unfinished lightweight transaction on the key with a majority of its "
          "replicas first, so it sees every acknowledged LWT write (also the Paxos phase of a cas)."),
    Level("LOCAL_SERIAL", "read", "strong",
          "SERIAL within the local datacenter (one datacenter here, so the same as SERIAL)."),
    *(Level(lv, "write", "weak", f"Acknowledged by {_REPLICAS[lv]}. {_WEAK_WHY}") for lv in WRITE_LEVELS),
)


def client_settings(w: Any, coordinator: str | None = None) -> Any:
    """The driver-side settings of a Cassandra workload (keyspace per replication factor)."""
    from harness.systems.cassandra.client import ClientSettings

    c = w.options
    assert c is not None, "a Cassandra workload always has its options"
    return ClientSettings(keyspace=f"gbench_rf{c.replication_factor}", replication_factor=c.replication_factor,
                          read_consistency=w.read_consistency, write_consistency=c.write_consistency,
                          serial_consistency=c.serial_consistency,
                          routing="pinned" if coordinator else "token_aware", coordinator=coordinator)


@dataclass(frozen=True)
class CassandraPlugin:
    name: str = "cassandra"
    levels: tuple[Level, ...] = LEVELS
    default_read_level: str | None = "QUORUM"
    options_field: str | None = "cassandra"
    #: From SIGINT/SIGTERM to everything removed, for a 5-node cluster whatever the host load
    #: (issue 10's bound: the nodes are JVMs; ``harness.benchmarks.signal_exit`` measures it).
    exit_budget_s: float = 60.0
    peer_tools: tuple[PeerTool, ...] = ()
    default_suite: str | None = "workloads/suites/cassandra.yaml"
    #: ``AfterFaultFindings``: the hints replayed to a killed or paused node (``hints.py``).
    window_field: str = "hints_replayed_to_it"
    totals_field: str = "hinted_handoff"

    def parse_options(self, file: str, data: Mapping[str, Any] | None) -> SystemOptions | None:
        data = data or {}
        refuse_unknown(file, "cassandra.", data, set(CassandraOptions.__dataclass_fields__))
        return CassandraOptions(**data)

    def validate_workload(self, w: Any) -> None:
        from harness.workload.spec import MAX_NODES

        f, c = w.source, w.options
        if not isinstance(c, CassandraOptions):
            raise ConfigError(f, "cassandra", f"must be a mapping of Cassandra options, got {shown(c)}")
        number(f, "cassandra.replication_factor", c.replication_factor, 1, MAX_NODES, unit="replicas", integer=True)
        if not isinstance(c.routing, str) or c.routing not in ROUTINGS:
            raise ConfigError(f, "cassandra.routing", f"must be pinned or token-aware, got {shown(c.routing)}")
        if c.replication_factor > w.nodes:
            raise ConfigError(f, "cassandra.replication_factor", f"{c.replication_factor} replicas need at least "
                              f"{c.replication_factor} nodes; the cluster has {w.nodes}")
        for fld, kind, lv in (("read_consistency", "read", w.read_consistency),
                              ("cassandra.write_consistency", "write", c.write_consistency),
                              ("cassandra.serial_consistency", "serial", c.serial_consistency)):
            why = level_problem(kind, lv, c.replication_factor) if isinstance(lv, str) else \
                f"must be a consistency level name, got {shown(lv)}"
            if why:
                raise ConfigError(f, fld, why)

    def level_pair_problem(self, write_level: str, read_level: str, replication_factor: int) -> str | None:
        for kind, lv in (("write", write_level), ("read", read_level)):
            why = level_problem(kind, lv, replication_factor)
            if why:
                return why
        return None

    def level_pair_options(self, write_level: str, replication_factor: int) -> SystemOptions:
        return CassandraOptions(replication_factor=replication_factor, write_consistency=write_level)

    def image(self, version: str) -> ImageSpec:
        """The local image ``harness/setup/docker/jvm-images.sh`` builds from this system's
        recipe (``image/recipe.env``: the JRE 17 layer + the same jars netns runs, in
        /opt/cassandra/lib). No official image: ``cassandra:<version>`` holds the tarball's
        lib, whose jars are not the ones the command names (never tried: no registry here)."""
        return ImageSpec(f"gbench/cassandra:{version}-local", None, "java", {"lib": "/opt/cassandra/lib"},
                         probe=("java", "-version"))

    def make_system(self) -> System:
        from harness.systems.cassandra import CassandraConfig, CassandraSystem

        return CassandraSystem.from_environment(CassandraConfig())

    def software_facts(self, system: System) -> dict[str, Any]:
        import cassandra as driver

        from harness.systems.cassandra.system import CassandraSystem

        assert isinstance(system, CassandraSystem)
        d, j = system.distribution, system.java
        return {"cassandra": {"version": d.version, "git_sha": d.git_sha, "source": d.source,
                              "lib_dir": str(d.lib_dir), "java": str(j.path), "java_version": j.version},
                "cassandra_driver": {"version": driver.__version__}}

    def make_client(self, w: Any, endpoint: str, all_endpoints: Sequence[str] = ()) -> Client:
        from harness.systems.cassandra.client import CassandraClient

        if self.routes_per_request(w):
            return CassandraClient(list(all_endpoints) or [endpoint], w.value_size, w.load.op_timeout_s,
                                   settings=client_settings(w))
        host = endpoint.rsplit(":", 1)[0]
        return CassandraClient([endpoint], w.value_size, w.load.op_timeout_s,
                               settings=client_settings(w, coordinator=host))

    def routes_per_request(self, w: Any) -> bool:
        return w.options is not None and w.options.routing == "token-aware"

    def after_fault_findings(self, node_logs: Mapping[str, Path], windows: Sequence[RestoredNodes],
                             load_start_epoch_s: float | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        from harness.systems.cassandra.hints import after_fault_findings

        return after_fault_findings(node_logs, windows, load_start_epoch_s)


PLUGIN = CassandraPlugin()
