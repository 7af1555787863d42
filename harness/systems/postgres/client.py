"""PostgreSQL client for the load generator: psycopg 3 (async), writes to the primary, reads
from the primary or from the node the client is pinned to.

The register is one table, ``gbench_kv(k text PRIMARY KEY, t text, v bytea)``: ``t`` is the
token (``harness.workload.generator``), ``v`` the value's bytes (``value_for``), so a read
carries the full value and a cas compares tokens. Statements (autocommit: each is its own
transaction):

================  ==========================================================================
put(k, t)         ``INSERT … ON CONFLICT (k) DO UPDATE`` on the primary.
get(k) primary    ``SELECT v`` on the primary connection (the node that accepts writes).
get(k) replica    ``SELECT v`` on the pinned node: a standby answers from the WAL it has
                  replayed so far (``pg_last_wal_replay_lsn()``), so it may miss writes the
                  primary acknowledged; pinned to the primary it is the same as ``primary``.
cas(k, None, t)   ``INSERT … ON CONFLICT DO NOTHING``: no row inserted -> fail ``cas_mismatch``.
cas(k, e, t)      ``UPDATE … WHERE k = %s AND t = e``: no row updated -> fail ``cas_mismatch``.
delete(k)         ``DELETE``.
================  ==========================================================================

What a commit waits for is the session's ``synchronous_commit`` (the workload's write level,
sent as a connection option): ``off`` (not even the local WAL flush), ``local`` (the local
flush), and with synchronous standbys (``synchronous_standby_names``) ``remote_write`` (they
have written the WAL), ``on`` (flushed it) or ``remote_apply`` (replayed it: visible to their
readers). PostgreSQL documentation, "synchronous_commit" (runtime-config-wal) and "Synchronous
Replication" (warm-standby.html#SYNCHRONOUS-REPLICATION).

Finding the primary: the write connection is opened with the libpq multi-host string over
every node and ``target_session_attrs=read-write`` (libpq tries them in order and keeps the
first that accepts writes), so after a failover a reconnect finds the promoted standby, as a
real application's connection string does. A client never switches on its own while its
connection works: a primary cut off with its clients keeps their writes (the split brain a
failover nemesis looks for).

Outcomes: ``ok``; ``fail`` = certainly not applied: no connection (``not_connected``, nothing
sent), refused by the server before committing (``read_only``: the node is a standby now;
``cas_mismatch``; a conflict with recovery on a standby read ``recovery_conflict``; other SQL
errors by SQLSTATE); ``info`` = may have been applied: the connection broke with the
statement in flight, or no answer within ``timeout_s``. A commit that waits for synchronous
standbys and is cancelled has already committed locally (PostgreSQL warns "The transaction has
already committed locally, but might not have been replicated"), so a timed-out write is
``info``. Reads follow etcd's client: a timed-out read is ``info``. After a broken or timed-out
statement the connection is closed and the next operation takes another (``_Pool``).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Sequence

import psycopg
from psycopg import errors as pgerr

from harness.api import Outcome, Request
from harness.workload.generator import token_of, value_for

TABLE = "gbench_kv"
CREATE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (k text PRIMARY KEY, t text NOT NULL, v bytea NOT NULL)"
READ_LEVELS = ("primary", "replica")
USER = "postgres"
DBNAME = "postgres"
#: psycopg's own warnings ("query cancellation interrupted ...: closing connection" when an
#: operation times out) would print on the run's console from every load worker; what they
#: mean reaches the history as outcomes (timeout, connection_lost), so only errors pass.
logging.getLogger("psycopg").setLevel(logging.ERROR)

PUT = (f"INSERT INTO {TABLE} (k, t, v) VALUES (%s, %s, %s) "
       "ON CONFLICT (k) DO UPDATE SET t = EXCLUDED.t, v = EXCLUDED.v")
GET = f"SELECT v FROM {TABLE} WHERE k = %s"
CREATE = f"INSERT INTO {TABLE} (k, t, v) VALUES (%s, %s, %s) ON CONFLICT (k) DO NOTHING"
CAS = f"UPDATE {TABLE} SET t = %s, v = %s WHERE k = %s AND t = %s"
DELETE = f"DELETE FROM {TABLE} WHERE k = %s"
#: The node's applied WAL position as an int: a standby's replay LSN, the primary's current LSN.
APPLIED_LSN = ("(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"
               " - '0/0'::pg_lsn)::bigint")
POSITION = f"SELECT {APPLIED_LSN}"
GET_AT = f"SELECT (SELECT v FROM {TABLE} WHERE k = %s), {APPLIED_LSN}"
#: Seconds between two polls of a standby's replay LSN while a read waits for a position.
POSITION_POLL_S = 0.001


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"endpoint {endpoint!r} is not host:port")
    return host, int(port)


def conninfo(endpoints: Sequence[str], *, read_write: bool, synchronous_commit: str | None,
             connect_timeout_s: float) -> str:
    """A libpq connection string over ``endpoints`` (in order); ``read_write``: keep only a
    node that accepts writes (``target_session_attrs=read-write``)."""
    hosts = [split_endpoint(e) for e in endpoints]
    parts = {"host": ",".join(h for h, _ in hosts), "port": ",".join(str(p) for _, p in hosts), "user": USER,
             "dbname": DBNAME, "connect_timeout": str(max(1, int(round(connect_timeout_s)))),
             "application_name": "gbench-client", "target_session_attrs": "read-write" if read_write else "any"}
    if synchronous_commit is not None:
        parts["options"] = f"-c synchronous_commit={synchronous_commit}"
    return " ".join(f"{k}='{v}'" for k, v in parts.items())


def classify_error(exc: BaseException, in_flight: bool) -> Outcome:
    """A psycopg error -> fail (certainly not applied) or info (may have been)."""
    if isinstance(exc, pgerr.ReadOnlySqlTransaction):
        return Outcome("fail", error="read_only")
    if isinstance(exc, pgerr.SerializationFailure):  # 40001: on a standby, a conflict with recovery
        return Outcome("fail", error="recovery_conflict")
    if isinstance(exc, (pgerr.AdminShutdown, pgerr.CannotConnectNow)):
        return Outcome("info" if in_flight else "fail", error="server_shutdown")
    if isinstance(exc, psycopg.OperationalError):  # the connection broke
        return Outcome("info" if in_flight else "fail", error="connection_lost" if in_flight else "not_connected")
    if isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None):
        return Outcome("fail", error=f"sqlstate_{exc.sqlstate}")
    return Outcome("info", error=type(exc).__name__.lower())


class _Pool:
    """Connections to one target, one per operation in flight: the load generator shares a
    client among all its clients pinned to one node, and a PostgreSQL connection runs one
    statement at a time. Grows on demand (during the warm-up), never beyond the operations in
    flight; a connection that broke or timed out is closed, not returned."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.free: list[psycopg.AsyncConnection[Any]] = []
        self.all: set[psycopg.AsyncConnection[Any]] = set()

    async def get(self) -> psycopg.AsyncConnection[Any]:
        while self.free:
            c = self.free.pop()
            if not c.closed:
                return c
            self.all.discard(c)
        c = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        self.all.add(c)
        return c

    def put(self, c: psycopg.AsyncConnection[Any]) -> None:
        if c.closed:
            self.all.discard(c)
        else:
            self.free.append(c)

    async def discard(self, c: psycopg.AsyncConnection[Any]) -> None:
        self.all.discard(c)
        if not c.closed:
            try:
                await asyncio.wait_for(c.close(), 1.0)
            except Exception:  # closing a broken connection: nothing more to do
                pass

    async def close(self) -> None:
        for c in list(self.all):
            await self.discard(c)
        self.free.clear()


class PostgresClient:
    """Async client: connections to the primary (writes, ``primary`` reads) and, for
    ``replica`` reads, to the pinned node, one per operation in flight (``_Pool``).
    ``invoke`` never raises for database errors."""

    def __init__(self, endpoint: str, all_endpoints: Sequence[str], value_size: int, timeout_s: float,
                 read_level: str, synchronous_commit: str | None, positions: bool = False) -> None:
        if read_level not in READ_LEVELS:
            raise ValueError(f"unknown PostgreSQL read level {read_level!r} (known: {', '.join(READ_LEVELS)})")
        split_endpoint(endpoint)
        self.endpoint, self.value_size, self.timeout_s = endpoint, value_size, timeout_s
        self.read_level = read_level
        #: report positions (``Outcome.position``) and honour ``Request.after`` (token-wait sessions)
        self.positions = positions
        self._pools = {"write": _Pool(conninfo(list(all_endpoints) or [endpoint], read_write=True,
                                              synchronous_commit=synchronous_commit, connect_timeout_s=timeout_s)),
                       "read": _Pool(conninfo([endpoint], read_write=False, synchronous_commit=None,
                                              connect_timeout_s=timeout_s))}
        self.write_open_error: str | None = None

    async def open(self) -> None:
        """Connect what the client's reads use: the primary (``primary``) or the pinned node
        (``replica``); a ``replica`` client also tries the primary now, and when none accepts
        writes (a failed primary under a scenario's final reads) its first write connects
        again, failing ``not_connected`` while there is none."""
        async def one(which: str) -> None:
            pool = self._pools[which]
            pool.put(await pool.get())

        if self.read_level == "replica":
            await one("read")
            try:
                await one("write")
            except psycopg.OperationalError:
                self.write_open_error = "no node accepted writes when the client opened"
        else:
            await one("write")

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.close()

    async def invoke(self, request: Request) -> Outcome:
        f, key, value = request.f, request.key, request.value
        level = request.read_consistency or self.read_level
        if f == "get":
            if level not in READ_LEVELS:
                raise ValueError(f"unknown PostgreSQL read level {level!r} (known: {', '.join(READ_LEVELS)})")
            pool = self._pools["read" if level == "replica" else "write"]
        elif f in ("put", "cas", "delete"):
            pool = self._pools["write"]
        else:
            raise ValueError(f"unknown operation {f!r}")
        try:
            c = await asyncio.wait_for(pool.get(), self.timeout_s)
        except asyncio.TimeoutError:
            return Outcome("fail", error="not_connected")
        except psycopg.Error as e:
            return classify_error(e, in_flight=False)
        try:
            out = await asyncio.wait_for(self._op(c, f, key, value, request.after), self.timeout_s)
        except asyncio.TimeoutError:
            await pool.discard(c)
            return Outcome("info", error="timeout")
        except psycopg.Error as e:
            out = classify_error(e, in_flight=True)
            if out.error == "read_only" or out.type == "info" or c.closed:
                await pool.discard(c)  # a standby now, or broken: the next one finds the primary again
            else:
                pool.put(c)
            return out
        pool.put(c)
        return out

    async def _op(self, c: psycopg.AsyncConnection[Any], f: str, key: str, value: Any,
                  after: int | None = None) -> Outcome:
        async def run(sql: str, params: tuple[Any, ...] = ()) -> tuple[int, Any]:
            cur = await c.execute(sql, params)
            row = await cur.fetchone() if cur.description is not None else None
            return cur.rowcount, row

        async def written() -> Outcome:
            """An applied write; with positions, the primary's LSN after its commit (an upper
            bound of the commit record's: a standby at it has replayed the commit)."""
            if not self.positions:
                return Outcome("ok")
            _, row = await run(POSITION)
            return Outcome("ok", position=int(row[0]))

        if f == "put":
            await run(PUT, (key, value, value_for(value, self.value_size)))
            return await written()
        if f == "get":
            if not self.positions:
                _, row = await run(GET, (key,))
                return Outcome("ok", result=token_of(bytes(row[0])) if row is not None else None)
            while after is not None:  # the op's timeout (invoke) bounds the wait
                _, row = await run(POSITION)
                if int(row[0]) >= after:
                    break
                await asyncio.sleep(POSITION_POLL_S)
            _, row = await run(GET_AT, (key,))
            return Outcome("ok", result=token_of(bytes(row[0])) if row[0] is not None else None,
                           position=int(row[1]))
        if f == "cas":
            expected, new = value
            if expected is None:
                n, _ = await run(CREATE, (key, new, value_for(new, self.value_size)))
            else:
                n, _ = await run(CAS, (new, value_for(new, self.value_size), key, expected))
            return await written() if n == 1 else Outcome("fail", error="cas_mismatch")
        await run(DELETE, (key,))
        return await written()
