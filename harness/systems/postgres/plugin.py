"""PostgreSQL 15 streaming replication as a plugin (``harness.registry``): its read and write
levels and their classes, the ``postgres:`` options block, how to build its system and client.

Cheap to import: psycopg is imported inside ``make_client`` and ``software_facts``.

Reads (``harness.systems.postgres.client``):

* ``primary``: **strong**. Every write commits on the one primary, in one order, and a read on
  the primary sees every commit acknowledged before it began (visibility on the primary
  follows the commit record; with ``synchronous_commit`` waiting for standbys, a commit is
  visible on the primary a moment before the client hears of it, as in any single-node
  database). The caveat: after a failover the old primary, cut off, may still answer its
  clients; the failover runs measure what that costs.
* ``replica``: **weak**. The pinned node answers from what it has replayed
  (``pg_last_wal_replay_lsn()``); a standby may lag the primary by any amount, and only
  ``remote_apply`` with every standby synchronous makes a commit visible on all of them before
  it is acknowledged (PostgreSQL documentation, "synchronous_commit").

Writes: the ``synchronous_commit`` levels. Their class is about the reads they make possible
on standbys, which is what differs: ``remote_apply`` is ``session``-strength at best (visible on
the synchronous standbys, not on an asynchronous one), the rest ``weak``; durability across a
failover (lost acknowledged writes) is measured, not classed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from harness.api import Client, ImageSpec, Level, PeerTool, System, SystemOptions
from harness.errors import ConfigError, EnvironmentProblem
from harness.systems.postgres.options import PostgresOptions, options_problem, parse_options

_SC = {"off": "acknowledged before even the primary's own WAL flush: a crash of the primary can lose it",
       "local": "acknowledged once the primary flushed its WAL; standbys get it later",
       "remote_write": "acknowledged once the synchronous standbys have written (not flushed) the WAL",
       "on": "acknowledged once the synchronous standbys have flushed the WAL (PostgreSQL's default; without "
             "synchronous standbys the same as local)",
       "remote_apply": "acknowledged once the synchronous standbys have replayed it: visible to their readers"}

LEVELS: tuple[Level, ...] = (
    Level("primary", "read", "strong",
          "Read on the primary, which orders every commit: sees every write acknowledged before it began "
          "(an old primary cut off by a failover can still answer; measured)."),
    Level("replica", "read", "weak",
          "Read on the pinned node from the WAL it has replayed so far: a standby may miss acknowledged writes."),
    *(Level(sc, "write", "session" if sc == "remote_apply" else "weak",
            f"synchronous_commit = {sc}: {why}.") for sc, why in _SC.items()),
)


@dataclass(frozen=True)
class PostgresPlugin:
    name: str = "postgres"
    levels: tuple[Level, ...] = LEVELS
    default_read_level: str | None = "primary"
    options_field: str | None = "postgres"
    #: From SIGINT/SIGTERM to everything removed: the teardown SIGKILLs three postmasters (their
    #: backends exit with them) and removes the namespaces; not yet measured by the signal
    #: benchmark, so etcd's bound.
    exit_budget_s: float = 15.0
    peer_tools: tuple[PeerTool, ...] = ()
    default_suite: str | None = "workloads/suites/postgres.yaml"

    def parse_options(self, file: str, data: Mapping[str, Any] | None) -> SystemOptions | None:
        return parse_options(file, data)

    def validate_workload(self, w: Any) -> None:
        o = w.options if w.options is not None else PostgresOptions()
        if not isinstance(o, PostgresOptions):
            raise ConfigError(w.source, "postgres", f"must be a mapping of PostgreSQL options, got {o!r}")
        problem = options_problem(o, w.nodes)
        if problem:
            raise ConfigError(w.source, *problem)

    # -- TunableLevels: the t-visibility probe (harness.workload.visibility)
    def level_pair_problem(self, write_level: str, read_level: str, replication_factor: int) -> str | None:
        """The replication factor is the number of nodes a commit waits for: the primary and
        ``replication_factor - 1`` synchronous standbys (``ANY k``); 1 = asynchronous."""
        reads = [lv.name for lv in LEVELS if lv.kind == "read"]
        writes = [lv.name for lv in LEVELS if lv.kind == "write"]
        if write_level not in writes:
            return f"unknown PostgreSQL write level {write_level!r} (known: {', '.join(writes)})"
        if read_level not in reads:
            return f"unknown PostgreSQL read level {read_level!r} (known: {', '.join(reads)})"
        problem = options_problem(self.level_pair_options(write_level, replication_factor), replication_factor)
        return f"{write_level} at replication factor {replication_factor}: {problem[1]}" if problem else None

    def level_pair_options(self, write_level: str, replication_factor: int) -> SystemOptions:
        return PostgresOptions(synchronous_commit=write_level, synchronous_standbys=replication_factor - 1)

    # -- OwnFaults: promote (harness.systems.postgres.failover)
    own_faults: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=lambda: {"promote": ((), ("target",)), "rejoin": ((), ())})

    def fault_problem(self, fault: str, params: Mapping[str, Any], nodes: Sequence[str]) -> tuple[str, str] | None:
        from harness.systems.postgres.failover import target_problem

        why = target_problem(params.get("target"), nodes) if fault == "promote" else None
        return ("target", why) if why else None

    def nemesis(self) -> Any:
        from harness.systems.postgres.failover import PromoteNemesis

        return PromoteNemesis()

    def image(self, version: str) -> ImageSpec:
        """None yet: its nodes run as the postgres user, which the docker provider does not do
        (``NodeLaunch.run_as``), so PostgreSQL runs with the netns provider only."""
        raise EnvironmentProblem("no PostgreSQL image yet (its nodes run as the postgres user; the docker provider "
                                 "runs nodes as its own user): use --provider netns")

    def make_system(self) -> System:
        from harness.systems.postgres.system import PostgresSystem

        return PostgresSystem.from_environment()

    def software_facts(self, system: System) -> dict[str, Any]:
        import psycopg

        from harness.systems.postgres.system import PostgresSystem

        assert isinstance(system, PostgresSystem)
        return {"postgresql": {"version": system.bins.version, "bin_dir": str(system.bins.bin_dir)},
                "psycopg": {"version": psycopg.__version__, "libpq": psycopg.pq.version()}}

    def make_client(self, w: Any, endpoint: str, all_endpoints: Sequence[str] = ()) -> Client:
        from harness.systems.postgres.client import PostgresClient

        o = w.options if w.options is not None else PostgresOptions()
        return PostgresClient(endpoint, all_endpoints, w.value_size, w.load.op_timeout_s,
                              read_level=w.read_consistency or "primary", synchronous_commit=o.synchronous_commit,
                              positions=w.session_reads == "token-wait")

    def position_wait(self, w: Any) -> str | None:
        """``SessionPositions``: replica reads wait for the standby's replay LSN (primary reads
        need no wait: the primary has every commit)."""
        if (w.read_consistency or "primary") != "replica":
            return None
        return ("a write's position is the primary's WAL LSN after its commit; a replica read waits until "
                "pg_last_wal_replay_lsn() on its node reaches the session's highest position")

    def routes_per_request(self, w: Any) -> bool:
        return False


PLUGIN = PostgresPlugin()
