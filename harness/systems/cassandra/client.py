"""Cassandra client for the load generator: a register table, prepared statements, asyncio.

Built on ``cassandra-driver`` (DataStax/Apache Python driver, 3.30.1: its manylinux wheel for
CPython 3.11 bundles libev, so the ``LibevConnection`` reactor is used without ``libev-dev``;
``CassandraClient.connection_class`` says which reactor runs). Each operation is one CQL
request, never retried by the driver (``FallthroughRetryPolicy``, no speculative execution):
a retry could apply a write twice behind our back, or turn an applied compare-and-set into a
"not applied" answer on the second attempt.

Schema (``ensure_schema``)::

    CREATE KEYSPACE gbench WITH replication = {'class': 'NetworkTopologyStrategy', '<dc>': <rf>};
    CREATE TABLE gbench.register (key text PRIMARY KEY, value text);

Operations and their CQL:

=====================  ==========================================================  ==========
put(key, token)        ``UPDATE register SET value = ? WHERE key = ?``               write CL
get(key)               ``SELECT value FROM register WHERE key = ?``                  read CL
cas(key, None, new)    ``INSERT INTO register (key, value) VALUES (?, ?) IF NOT EXISTS``  LWT
cas(key, old, new)     ``UPDATE register SET value = ? WHERE key = ? IF value = ?``  LWT
delete(key)            ``DELETE FROM register WHERE key = ?``                        write CL
=====================  ==========================================================  ==========

An LWT runs Paxos at ``serial_consistency`` (SERIAL or LOCAL_SERIAL) and commits at the write
consistency. A ``get`` at SERIAL/LOCAL_SERIAL is a linearizable (Paxos) read.

Outcomes (``classify_error``) follow ``harness/systems/etcd/client.py``: ``ok``; ``fail`` = the
operation certainly did not take effect; ``info`` = it may have. Where the 5.0.9 server code
decides the mapping, it is cited there.

Example::

    client = CassandraClient(["198.18.7.11:9042", "198.18.7.12:9042"], value_size=100, timeout_s=5,
                             settings=ClientSettings(replication_factor=3, write_consistency="QUORUM"))
    await client.ensure_schema()
    await client.put("k1", "t1")                      # Outcome(type="ok")
    await client.cas("k1", "t1", "t2")                # Outcome(type="ok") / ("fail", error="cas_mismatch")
    await client.get("k1", consistency="SERIAL")      # Outcome(type="ok", result="t2")
    client.close_blocking()
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from cassandra import (ConsistencyLevel, CoordinationFailure, DriverException, InvalidRequest, OperationTimedOut,
                       ReadFailure, ReadTimeout, RequestValidationException, Unavailable, WriteFailure,
                       WriteTimeout)
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.policies import (ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, FallthroughRetryPolicy,
                                TokenAwarePolicy, WhiteListRoundRobinPolicy)
from cassandra.protocol import (ErrorMessage, IsBootstrappingErrorMessage, OverloadedErrorMessage, ServerError,
                                SyntaxException, TruncateError)
from cassandra.query import dict_factory

from harness.api import Outcome, Request
from harness.errors import ClusterError, ConfigError
from harness.systems.cassandra.levels import level_problem
from harness.workload.generator import token_of, value_for

#: Consistency levels by name, as the workload files spell them.
CONSISTENCY_LEVELS: dict[str, int] = {
    "ANY": ConsistencyLevel.ANY, "ONE": ConsistencyLevel.ONE, "TWO": ConsistencyLevel.TWO,
    "THREE": ConsistencyLevel.THREE, "QUORUM": ConsistencyLevel.QUORUM, "ALL": ConsistencyLevel.ALL,
    "LOCAL_QUORUM": ConsistencyLevel.LOCAL_QUORUM, "EACH_QUORUM": ConsistencyLevel.EACH_QUORUM,
    "LOCAL_ONE": ConsistencyLevel.LOCAL_ONE,
    "SERIAL": ConsistencyLevel.SERIAL, "LOCAL_SERIAL": ConsistencyLevel.LOCAL_SERIAL,
}
#: Protocol v5 CAS_WRITE_UNKNOWN (0x1700): not a named class in cassandra-driver 3.30.
CAS_WRITE_UNKNOWN_CODE = 0x1700
#: The driver's control connection (topology and schema queries while connecting, before any
#: timed operation) may take this long per query. The driver's default, 2 s, was too short on a
#: loaded host: with a 1-minute load average of 12-16 on 2 cores, a 3-node cluster's schema
#: query timed out and connect() failed with NoHostAvailable (make test, 2026-12-04).
CONTROL_CONNECTION_TIMEOUT_S = 15.0
#: How long ``ensure_schema_blocking`` waits for every node to have the keyspace and table
#: after a DDL, beyond the driver's own wait (10 s): fresh nodes on a busy host are slow.
SCHEMA_AGREEMENT_WAIT_S = 60.0
_SOURCE = "cassandra client settings"


@dataclass(frozen=True)
class ClientSettings:
    """Keyspace, table and consistency choices; checked by ``validate`` before any request."""

    keyspace: str = "gbench"
    table: str = "register"
    replication_factor: int = 3
    #: None: the datacenter of the first host the driver sees (SimpleSnitch: "datacenter1").
    datacenter: str | None = None
    read_consistency: str = "QUORUM"
    write_consistency: str = "QUORUM"
    #: Paxos phase of LWTs; the commit phase uses ``write_consistency``.
    serial_consistency: str = "SERIAL"
    #: "token_aware" (to a replica of the key) or "pinned" (every request to ``coordinator``).
    routing: str = "token_aware"
    coordinator: str | None = None
    protocol_version: int | None = None  # None: negotiate (Cassandra 5.0 speaks v5)

    def validate(self, n_nodes: int | None = None, source: str = _SOURCE) -> None:
        """ConfigError when a level is unknown or the replication factor (or cluster) cannot satisfy it."""
        rf = self.replication_factor
        if rf < 1:
            raise ConfigError(source, "replication_factor", f"must be >= 1, not {rf}")
        if n_nodes is not None and rf > n_nodes:
            raise ConfigError(source, "replication_factor",
                              f"{rf} replicas need at least {rf} nodes; the cluster has {n_nodes} "
                              "(every QUORUM/ALL request would be Unavailable)")
        for fname, kind in (("read_consistency", "read"), ("write_consistency", "write"),
                            ("serial_consistency", "serial")):
            why = level_problem(kind, getattr(self, fname), rf)
            if why:
                raise ConfigError(source, fname, why)
        if self.routing not in ("token_aware", "pinned"):
            raise ConfigError(source, "routing", f"must be 'token_aware' or 'pinned', not {self.routing!r}")
        if self.routing == "pinned" and not self.coordinator:
            raise ConfigError(source, "coordinator", "routing 'pinned' needs a coordinator host")
        if not (self.keyspace.isidentifier() and self.table.isidentifier()):
            raise ConfigError(source, "keyspace", "keyspace and table must be plain identifiers")


def level(name: str) -> int:
    try:
        return CONSISTENCY_LEVELS[name.upper()]
    except KeyError:
        raise ConfigError(_SOURCE, "consistency", f"unknown consistency level {name!r}") from None


# --------------------------------------------------------------------------- error classification
def classify_error(exc: BaseException, f: str) -> Outcome:
    """Map a driver/server failure of operation ``f`` to ``fail`` (certainly not applied) or
    ``info`` (may have been applied). References are to Cassandra 5.0.9 sources.

    * Unavailable: the coordinator found too few live replicas before sending a mutation
      (StorageProxy.performWrite -> ReplicaPlans.forWrite -> assureSufficientLiveReplicasForWrite)
      -> ``fail`` for put/delete/get. For ``cas`` -> ``info``: with paxos_variant v1 (5.0's
      default) StorageProxy.doPaxos runs commitPaxos *after* a quorum accepted the proposal, and
      commitPaxos calls ReplicaPlans.forWrite, which can throw Unavailable for a decided value.
    * WriteTimeout (any write type, including CAS) and WriteFailure -> ``info``: replicas may
      have applied it. CAS_WRITE_UNKNOWN (protocol v5) -> ``info``.
    * ReadTimeout: ``get`` -> ``info`` (like etcd's timeouts: no effect, result unknown); ``cas`` ->
      ``fail``: an LWT reads the current value (readOne in doPaxos' proposer) before it
      proposes, and earlier rounds of the same request were fully refused (a partial
      acceptance raises CasWriteUnknownResultException instead).
    * ReadFailure -> ``fail`` (replicas reported failure; for ``cas`` before proposing).
    * Overloaded, IsBootstrapping, Truncate errors -> ``fail`` (rejected before execution);
      invalid/unauthorized/syntax/configuration errors -> ``fail``.
    * NoHostAvailable -> ``fail`` (no connection could be borrowed; nothing was sent).
    * OperationTimedOut (client-side deadline), a connection lost with the request in flight,
      ServerError, unknown errors -> ``info``.
    """
    if isinstance(exc, Unavailable):
        return Outcome("info" if f == "cas" else "fail", error="unavailable")
    if isinstance(exc, WriteTimeout):
        wt = getattr(exc, "write_type", None)
        return Outcome("info", error="write_timeout" if wt is None else f"write_timeout_{_write_type_name(wt)}")
    if isinstance(exc, WriteFailure):
        return Outcome("info", error="write_failure")
    if isinstance(exc, ReadTimeout):
        return Outcome("fail" if f == "cas" else "info", error="read_timeout")
    if isinstance(exc, ReadFailure):
        return Outcome("fail", error="read_failure")
    if isinstance(exc, CoordinationFailure):  # CDCWriteFailure, other failures of a write
        return Outcome("info", error=type(exc).__name__.lower())
    if isinstance(exc, OverloadedErrorMessage):
        return Outcome("fail", error="overloaded")
    if isinstance(exc, IsBootstrappingErrorMessage):
        return Outcome("fail", error="is_bootstrapping")
    if isinstance(exc, TruncateError):
        return Outcome("fail", error="truncate_error")
    if isinstance(exc, (InvalidRequest, RequestValidationException, SyntaxException)):
        return Outcome("fail", error=type(exc).__name__.lower())
    if isinstance(exc, NoHostAvailable):
        return Outcome("fail", error="no_host_available")
    if isinstance(exc, OperationTimedOut):
        return Outcome("info", error="client_timeout")
    if isinstance(exc, ConnectionException):
        return Outcome("info", error="connection_lost")
    if isinstance(exc, ServerError):
        return Outcome("info", error="server_error")
    if isinstance(exc, ErrorMessage) and getattr(exc, "code", None) == CAS_WRITE_UNKNOWN_CODE:
        return Outcome("info", error="cas_write_unknown")
    if isinstance(exc, (DriverException, ErrorMessage)):
        return Outcome("info", error=type(exc).__name__.lower())
    return Outcome("info", error=type(exc).__name__.lower())


def _write_type_name(wt: Any) -> str:
    from cassandra.policies import WriteType
    for name in ("SIMPLE", "BATCH", "UNLOGGED_BATCH", "COUNTER", "BATCH_LOG", "CAS", "VIEW", "CDC"):
        if getattr(WriteType, name, object()) == wt:
            return name.lower()
    return str(wt).lower()


# --------------------------------------------------------------------------- client
def _parse_endpoints(endpoints: Sequence[str]) -> tuple[list[str], int]:
    hosts, ports = [], set()
    for ep in endpoints:
        host, sep, port = ep.rpartition(":")
        if not sep:
            host, port = ep, "9042"
        hosts.append(host)
        ports.add(int(port))
    if len(ports) != 1:
        raise ConfigError(_SOURCE, "endpoints", f"cassandra-driver needs one CQL port for all nodes, got {sorted(ports)}")
    return hosts, ports.pop()


@dataclass
class _Prepared:
    put: Any = None
    get: Any = None
    insert_if_not_exists: Any = None
    update_if: Any = None
    delete: Any = None


class CassandraClient:
    """Async client over one driver Cluster/Session. ``invoke`` never raises for database errors.

    One instance serves any number of concurrent asyncio tasks (the driver multiplexes
    requests over its connections), so create one per coordinator choice, not one per worker.
    Connecting happens lazily in ``connect``/``ensure_schema``/the first operation.
    """

    def __init__(self, endpoints: Sequence[str], value_size: int, timeout_s: float,
                 settings: ClientSettings | None = None, n_nodes: int | None = None) -> None:
        self.settings = settings or ClientSettings()
        self.settings.validate(n_nodes)
        self.endpoints = list(endpoints)
        self.value_size, self.timeout_s = value_size, timeout_s
        self._hosts, self._port = _parse_endpoints(self.endpoints)
        self._cluster: Cluster | None = None
        self._session: Any = None
        self._prepared = _Prepared()
        self.datacenter: str | None = self.settings.datacenter

    # -- connection
    def _lb_policy(self) -> Any:
        s = self.settings
        if s.routing == "pinned":
            return WhiteListRoundRobinPolicy([s.coordinator])
        return TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=s.datacenter), shuffle_replicas=True)

    def connect(self) -> None:
        """Open the driver Cluster/Session (blocking; idempotent)."""
        if self._session is not None:
            return
        profile = ExecutionProfile(load_balancing_policy=self._lb_policy(), retry_policy=FallthroughRetryPolicy(),
                                   consistency_level=level(self.settings.write_consistency),
                                   serial_consistency_level=level(self.settings.serial_consistency),
                                   request_timeout=self.timeout_s, row_factory=dict_factory,
                                   speculative_execution_policy=None)
        kwargs: dict[str, Any] = {}
        if self.settings.protocol_version is not None:
            kwargs["protocol_version"] = self.settings.protocol_version
        self._cluster = Cluster(contact_points=self._hosts, port=self._port,
                                execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                                reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None),
                                connect_timeout=min(5.0, self.timeout_s),
                                control_connection_timeout=CONTROL_CONNECTION_TIMEOUT_S, **kwargs)
        self._session = self._cluster.connect()
        if self.datacenter is None:
            dcs = sorted({h.datacenter for h in self._cluster.metadata.all_hosts() if h.datacenter})
            self.datacenter = dcs[0] if dcs else "datacenter1"

    @property
    def connection_class(self) -> str | None:
        """The driver's reactor class (``LibevConnection`` when libev is usable)."""
        return self._cluster.connection_class.__name__ if self._cluster is not None else None

    def close_blocking(self) -> None:
        """Shut the driver down (blocking: for callers outside an event loop)."""
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None
        self._prepared = _Prepared()

    async def open(self) -> None:
        """Connect and prepare the statements (blocking driver calls, off the event loop)."""
        await self._ready()

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close_blocking)

    # -- schema
    def _qualified(self) -> str:
        return f"{self.settings.keyspace}.{self.settings.table}"

    def schema_cql(self) -> list[str]:
        s = self.settings
        dc = self.datacenter or s.datacenter or "datacenter1"
        return [
            f"CREATE KEYSPACE IF NOT EXISTS {s.keyspace} WITH replication = "
            f"{{'class': 'NetworkTopologyStrategy', '{dc}': {s.replication_factor}}}",
            f"CREATE TABLE IF NOT EXISTS {self._qualified()} (key text PRIMARY KEY, value text)",
        ]

    def ensure_schema_blocking(self) -> None:
        """Create keyspace and table if absent, wait until every node has them, then prepare.

        After a DDL the driver waits for schema agreement at most ``max_schema_agreement_wait``
        and then goes on *without* an error; a client pinned to a node that has not got the
        table yet then fails with "table ... does not exist" (seen on a busy 2-core host with
        5 fresh nodes). So the wait is longer here and its outcome is checked."""
        self.connect()
        assert self._cluster is not None
        for stmt in self.schema_cql():
            rs = self._session.execute(stmt, timeout=max(30.0, self.timeout_s))
            if not rs.response_future.is_schema_agreed and not self._cluster.control_connection \
                    .wait_for_schema_agreement(wait_time=SCHEMA_AGREEMENT_WAIT_S):
                raise ClusterError(f"the nodes did not agree on the schema within {SCHEMA_AGREEMENT_WAIT_S:g} s "
                                   f"after `{stmt}` (a node down, or the cluster still starting)")
        self._prepare()

    async def ensure_schema(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.ensure_schema_blocking)

    def _prepare(self) -> None:
        if self._prepared.put is not None:
            return
        q, s = self._qualified(), self._session
        p = _Prepared(
            put=s.prepare(f"UPDATE {q} SET value = ? WHERE key = ?"),
            get=s.prepare(f"SELECT value FROM {q} WHERE key = ?"),
            insert_if_not_exists=s.prepare(f"INSERT INTO {q} (key, value) VALUES (?, ?) IF NOT EXISTS"),
            update_if=s.prepare(f"UPDATE {q} SET value = ? WHERE key = ? IF value = ?"),
            delete=s.prepare(f"DELETE FROM {q} WHERE key = ?"),
        )
        for stmt in (p.put, p.insert_if_not_exists, p.update_if, p.delete):
            stmt.consistency_level = level(self.settings.write_consistency)
        for stmt in (p.insert_if_not_exists, p.update_if):
            stmt.serial_consistency_level = level(self.settings.serial_consistency)
        p.get.consistency_level = level(self.settings.read_consistency)
        self._prepared = p

    async def _ready(self) -> None:
        if self._prepared.put is None:
            await asyncio.get_running_loop().run_in_executor(None, self._connect_and_prepare)

    def _connect_and_prepare(self) -> None:
        self.connect()
        self._prepare()

    # -- requests
    async def _execute(self, statement: Any, params: Sequence[Any], consistency: str | None = None) -> list[dict]:
        bound = statement.bind(params)
        if consistency is not None:
            bound.consistency_level = level(consistency)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[dict]] = loop.create_future()

        def done(rows: Any) -> None:
            loop.call_soon_threadsafe(_settle, fut, rows, None)

        def failed(exc: BaseException) -> None:
            loop.call_soon_threadsafe(_settle, fut, None, exc)

        rf = self._session.execute_async(bound, timeout=self.timeout_s)
        rf.add_callbacks(done, failed)
        return await fut

    def _value(self, token: str) -> str:
        return value_for(token, self.value_size).decode("ascii")

    async def put(self, key: str, token: str) -> Outcome:
        await self._ready()
        await self._execute(self._prepared.put, (self._value(token), key))
        return Outcome("ok")

    async def get(self, key: str, consistency: str | None = None) -> Outcome:
        await self._ready()
        rows = await self._execute(self._prepared.get, (key,), consistency)
        value = rows[0]["value"] if rows else None
        return Outcome("ok", result=token_of(value.encode() if value is not None else None))

    async def cas(self, key: str, expected: str | None, new: str) -> Outcome:
        """Compare-and-set: ``expected`` None means "key absent" (INSERT ... IF NOT EXISTS)."""
        await self._ready()
        if expected is None:
            rows = await self._execute(self._prepared.insert_if_not_exists, (key, self._value(new)))
        else:
            rows = await self._execute(self._prepared.update_if, (self._value(new), key, self._value(expected)))
        applied = bool(rows and rows[0].get("[applied]"))
        return Outcome("ok") if applied else Outcome("fail", error="cas_mismatch")

    async def delete(self, key: str) -> Outcome:
        await self._ready()
        await self._execute(self._prepared.delete, (key,))
        return Outcome("ok")

    async def invoke(self, request: Request) -> Outcome:
        """Run one operation; database errors become ``fail``/``info`` outcomes (``classify_error``).

        ``request.read_consistency`` overrides the read level of a ``get`` (e.g. "SERIAL")."""
        f, key, value = request.f, request.key, request.value
        try:
            if f == "put":
                return await self.put(key, value)
            if f == "get":
                return await self.get(key, consistency=request.read_consistency)
            if f == "cas":
                return await self.cas(key, value[0], value[1])
            if f == "delete":
                return await self.delete(key)
            raise ValueError(f"unknown operation {f!r}")
        except (DriverException, ErrorMessage, ConnectionException, NoHostAvailable, OperationTimedOut) as e:
            return classify_error(e, f)


def _settle(fut: asyncio.Future, rows: Any, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(list(rows) if rows is not None else [])
