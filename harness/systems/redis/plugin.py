"""Redis 7 with Sentinel as a plugin (``harness.registry``): its read and write levels and their
classes, the ``redis:`` options block, how to build its system and client.

Cheap to import: redis-py is imported inside ``make_client`` and ``software_facts``.

The cluster: the first nodes are Redis servers (n1 the initial primary, the others its
replicas), the last 3 are Sentinels (``RedisConfig().sentinels``), which fail the primary over.

Reads (``harness.systems.redis.client``):

* ``primary``: **strong**, as far as one server goes: Redis executes commands one at a time,
  so a read on the primary sees every write the primary acknowledged before it began. The
  caveat: replication is asynchronous and Sentinel promotes a replica that may miss writes
  the old primary acknowledged, and an old primary cut off with its clients keeps
  acknowledging writes until Sentinel demotes it, after which they are gone (Jepsen's Redis
  analysis showed both: https://aphyr.com/posts/283-jepsen-redis). The class says what reads
  on one primary give; what a failover costs is measured (lost writes, stale reads), not
  claimed.
* ``replica``: **weak**. The pinned server answers from what it has received so far; a
  replica may lag the primary by any amount.

Writes:

* ``async``: **weak**. Acknowledged once the primary applied it; replicas get it later.
* ``wait``: **weak**. Each write is followed by ``WAIT k timeout``, which blocks until k
  replicas acknowledged it (or the timeout). Redis's own documentation: "WAIT does not make
  Redis a strongly consistent store" (https://redis.io/docs/latest/commands/wait/,
  "Consistency and WAIT"): it makes it more likely, not certain, that the replica a failover
  promotes has the write, and nothing rolls back a write fewer replicas confirmed. What it
  changes is how soon a replica read sees a write, which the t-visibility probe measures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from harness.api import Client, ImageSpec, Level, PeerTool, System, SystemOptions
from harness.errors import ConfigError, EnvironmentProblem
from harness.systems.redis.options import (RedisOptions, nodes_problem, options_problem, parse_options,
                                           servers_of)

LEVELS: tuple[Level, ...] = (
    Level("primary", "read", "strong",
          "Read on the primary the Sentinels name, which executes commands one at a time: sees every write it "
          "acknowledged before the read began. Asynchronous replication and Sentinel failover can lose "
          "acknowledged writes (https://aphyr.com/posts/283-jepsen-redis): measured, not claimed."),
    Level("replica", "read", "weak",
          "Read on the pinned server from what it has received so far: a replica may miss acknowledged writes."),
    Level("async", "write", "weak",
          "Acknowledged once the primary applied it; the replicas get it asynchronously."),
    Level("wait", "write", "weak",
          "Each write followed by WAIT k timeout: acknowledged once k replicas have it (or the timeout passed: "
          "outcome info wait_short). WAIT does not make Redis strongly consistent: a failover can still lose the "
          "write (https://redis.io/docs/latest/commands/wait/)."),
)


@dataclass(frozen=True)
class RedisPlugin:
    name: str = "redis"
    levels: tuple[Level, ...] = LEVELS
    default_read_level: str | None = "primary"
    options_field: str | None = "redis"
    #: From SIGINT/SIGTERM to everything removed: the teardown SIGKILLs six small processes
    #: (3 redis-server, 3 redis-sentinel; no JVM, no backends) and removes the namespaces; not
    #: yet measured by the signal benchmark, so etcd's bound, as PostgreSQL's.
    exit_budget_s: float = 15.0
    peer_tools: tuple[PeerTool, ...] = ()
    default_suite: str | None = "workloads/suites/redis.yaml"

    def parse_options(self, file: str, data: Mapping[str, Any] | None) -> SystemOptions | None:
        return parse_options(file, data)

    def validate_workload(self, w: Any) -> None:
        """The cluster shape, the options against the servers there are, WAIT's timeout against
        the op timeout, and ``replica`` reads only on servers: their clients must be pinned to a
        list of server nodes, or to the leader (the primary); round-robin and followers would
        include the Sentinels."""
        o = w.options if w.options is not None else RedisOptions()
        if not isinstance(o, RedisOptions):
            raise ConfigError(w.source, "redis", f"must be a mapping of Redis options, got {o!r}")
        why = nodes_problem(w.nodes)
        if why:
            raise ConfigError(w.source, "nodes", why)
        servers = servers_of(w.nodes)
        problem = options_problem(o, servers)
        if problem:
            raise ConfigError(w.source, *problem)
        if o.wait_replicas and o.wait_timeout_ms >= w.load.op_timeout_s * 1000:
            raise ConfigError(w.source, "redis.wait_timeout_ms",
                              f"{o.wait_timeout_ms} ms is not below load.op_timeout_s ({w.load.op_timeout_s:g} s): a "
                              "WAIT that runs out would show as a timeout, not as wait_short")
        if w.read_consistency == "replica" and w.mix.get("get", 0) > 0:
            names = [f"n{i}" for i in range(1, servers + 1)]
            if w.pin != "leader" and (not isinstance(w.pin, tuple) or not set(w.pin) <= set(names)):
                raise ConfigError(w.source, "clients.pin",
                                  f"replica reads need clients pinned to Redis servers: a list of {', '.join(names)} "
                                  f"or leader "
                                  f"(the last 3 of {w.nodes} nodes are Sentinels, which hold no data), got "
                                  f"{list(w.pin) if isinstance(w.pin, tuple) else w.pin!r}")

    # -- TunableLevels: the t-visibility probe (harness.workload.visibility)
    def level_pair_problem(self, write_level: str, read_level: str, replication_factor: int) -> str | None:
        """The replication factor is the number of servers a write waits for: the primary, and
        with ``wait`` ``replication_factor - 1`` replicas (``WAIT rf-1``); ``async`` is 1.
        Whether the cluster has that many servers is checked by ``prepare_workload``
        (this check does not know the cluster's size)."""
        reads = [lv.name for lv in LEVELS if lv.kind == "read"]
        writes = [lv.name for lv in LEVELS if lv.kind == "write"]
        if write_level not in writes:
            return f"unknown Redis write level {write_level!r} (known: {', '.join(writes)})"
        if read_level not in reads:
            return f"unknown Redis read level {read_level!r} (known: {', '.join(reads)})"
        if write_level == "async" and replication_factor != 1:
            return (f"async at replication factor {replication_factor}: an async write waits for the primary "
                    "alone (replication factor 1); use wait")
        if write_level == "wait" and replication_factor < 2:
            return (f"wait at replication factor {replication_factor}: wait needs at least one replica to wait "
                    "for (replication factor 2 or more)")
        return None

    def level_pair_options(self, write_level: str, replication_factor: int) -> SystemOptions:
        return RedisOptions(wait_replicas=replication_factor - 1 if write_level == "wait" else 0)

    def image(self, version: str) -> ImageSpec:
        """None yet: Redis runs with the netns provider only."""
        raise EnvironmentProblem("no Redis image yet: use --provider netns")

    def make_system(self) -> System:
        from harness.systems.redis.system import RedisSystem

        return RedisSystem.from_environment()

    def software_facts(self, system: System) -> dict[str, Any]:
        import redis

        from harness.systems.redis.system import RedisSystem

        assert isinstance(system, RedisSystem)
        b = system.bins
        return {"redis": {"version": b.version, "build": b.build, "server": str(b.server),
                          "sentinel": str(b.sentinel)},
                "redis-py": {"version": redis.__version__}}

    def make_client(self, w: Any, endpoint: str, all_endpoints: Sequence[str] = ()) -> Client:
        from harness.systems.redis.client import RedisClient

        o = w.options if isinstance(w.options, RedisOptions) else RedisOptions()
        return RedisClient(endpoint, all_endpoints, w.value_size, w.load.op_timeout_s,
                           read_level=w.read_consistency or "primary", options=o)

    def routes_per_request(self, w: Any) -> bool:
        return False


PLUGIN = RedisPlugin()
