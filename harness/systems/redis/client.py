"""Redis client for the load generator: redis-py (asyncio), writes and ``primary`` reads on the
primary the Sentinels name, ``replica`` reads on the node the client is pinned to.

A value is one string: ``value_for(token)``'s bytes (``harness.workload.generator``), so a
read carries the full value and a cas compares full values. Commands:

================  ==========================================================================
put(k, t)         ``SET k v`` on the primary.
get(k) primary    ``GET k`` on the primary.
get(k) replica    ``GET k`` on the pinned node: a replica answers from what it has received so
                  far (``replica-serve-stale-data yes``, Redis's default, even while its link
                  to the primary is down); pinned to the primary it is the same as ``primary``.
cas(k, None, t)   ``SET k v NX``: not set -> fail ``cas_mismatch``.
cas(k, e, t)      ``EVAL CAS_SCRIPT 1 k value_for(e) value_for(t)``: a Lua script that compares
                  the whole stored value with ``value_for(e)`` and only then ``SET``\\s (a
                  script runs atomically); 0 -> fail ``cas_mismatch``.
delete(k)         ``DEL k``.
================  ==========================================================================

Write level (``RedisOptions.wait_replicas`` = k): ``async`` (k = 0) returns once the primary
has applied the write, before any replica has it (Redis replicates asynchronously). ``wait``
(k > 0) follows each write, on the same connection, with ``WAIT k wait_timeout_ms``, which
returns how many replicas have acknowledged every write of that connection so far
(https://redis.io/docs/latest/commands/wait/). put and delete send the write and the WAIT in
one round trip; a cas WAITs only when it wrote. When WAIT returns fewer than k, the write has
taken effect on the primary (Redis never rolls it back) but only that many replicas confirm
it: it survives a failover only if the promoted replica has it. The outcome is ``info``
``wait_short``: the harness cannot tell whether the write will be in the final state, which is
what ``info`` means (acknowledging it as ``ok`` would make its later loss a "lost write" the
client was never promised; failing it would be wrong, it is there on the primary).

Finding the primary, as a real application following Sentinel does: ask the Sentinels in
turn ``SENTINEL get-master-addr-by-name gbench`` (``MASTER_NAME``), connect to the address the
first one answers with, and keep the connection only if the server's ``ROLE`` says
``master`` (else the next Sentinel's answer). The Sentinels are the last ``SENTINELS`` (3) of
``all_endpoints`` (their hosts; they listen on ``SENTINEL_PORT``, 26379: ``RedisConfig``'s
default, which every cluster of the plugin has, while a cluster's endpoints carry the server
port). The Sentinel that answered is asked first next time. The primary is found again after
any connection error, timeout or ``READONLY`` on it (a deposed primary that Sentinel turned
into a replica refuses writes with READONLY, and Sentinel closes its clients' connections
when it reconfigures it); never while it works: an old primary cut off with its clients keeps
taking their writes (what a failover scenario measures). Without Sentinels among
``all_endpoints`` (fewer than 4), the primary is the pinned node.

Connections: redis-py's ``Connection`` (RESP2, no ``CLIENT SETINFO``), used directly so that
connecting and sending are told apart and nothing is retried behind the client's back (a
``redis.asyncio.Redis`` connects lazily inside a command and its Sentinel pool turns READONLY
into a connection error). The workers share one client among the load's clients pinned to
the same node, so each client keeps a small pool per address: an operation takes an idle
connection or opens one, and returns it when the operation left it usable.

Outcomes: ``ok``; ``fail`` = certainly not applied: no connection (``not_connected``: no
Sentinel named a primary that answered as one, or the pinned node did not take the
connection; nothing was sent), an error reply (``read_only``: the node is a replica now;
``noreplicas``: fewer good replicas than ``min-replicas-to-write``; ``masterdown``: a replica
with ``replica-serve-stale-data no`` lost its primary; ``loading``; ``oom``; ``busy``; others
``redis_<code>``: a command that errors has not run, and the cas script's only write is its
last step), ``cas_mismatch``; ``info`` = may have been applied: the connection broke with the
command in flight (``connection_lost``), no answer within ``timeout_s`` (``timeout``, with
``asyncio.wait_for``), ``wait_short`` / ``wait_error`` (above).

A ``replica`` client pinned to a Sentinel node has no data to read: ``open`` raises (what a
scenario's final reads, which make one client per node, record as that node's
``connect_failed`` reads, after their connect retries, while the servers' reads go on), and
``invoke`` of such a read returns fail ``not_a_server``. Its writes and ``primary`` reads,
like those of any client, go to the primary, whichever node it is pinned to.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Sequence

from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from harness.api import Outcome, Request
from harness.systems.redis.options import SENTINELS, RedisOptions
from harness.systems.redis.system import MASTER_NAME, RedisConfig
from harness.workload.generator import token_of, value_for

READ_LEVELS = ("primary", "replica")
#: The port every Sentinel of the plugin's clusters listens on (``RedisConfig``'s default).
SENTINEL_PORT = RedisConfig().sentinel_port
#: A Sentinel, or the server it names, that does not answer within this long (or the op
#: timeout, if shorter) is passed over for the next Sentinel.
DISCOVERY_TIMEOUT_S = 1.0
CAS_SCRIPT = ("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 "
              "else return 0 end")
#: Error reply codes -> the outcome's error (all fail: an error reply means the command did not run).
ERROR_NAMES = {"READONLY": "read_only", "NOREPLICAS": "noreplicas", "MASTERDOWN": "masterdown",
               "LOADING": "loading", "OOM": "oom", "BUSY": "busy"}

Address = tuple[str, int]


class NoPrimary(RedisConnectionError):
    """No Sentinel named a primary that answered as one."""


class NotAServer(RedisConnectionError):
    """A ``replica`` client pinned to a Sentinel node."""


def split_endpoint(endpoint: str) -> Address:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"endpoint {endpoint!r} is not host:port")
    return host, int(port)


def sentinel_addresses(all_endpoints: Sequence[str]) -> list[Address]:
    """The Sentinels of a cluster whose client endpoints are ``all_endpoints`` (in node order):
    the hosts of the last ``SENTINELS``, at ``SENTINEL_PORT``; none when there are too few
    endpoints for a server beside them."""
    if len(all_endpoints) <= SENTINELS:
        return []
    return [(split_endpoint(e)[0], SENTINEL_PORT) for e in all_endpoints[-SENTINELS:]]


def error_code(exc: ResponseError) -> str:
    """The code of an error reply (``READONLY``, ``NOREPLICAS``, ``ERR``), "" when it has none."""
    code = getattr(exc, "status_code", None)  # redis-py strips the code of the replies it has a class for
    if code:
        return str(code)
    first = str(exc).split(" ", 1)[0]
    return first if first.isupper() and first.isalpha() else ""


def classify_error(exc: BaseException, in_flight: bool) -> Outcome:
    """A redis-py error -> fail (certainly not applied) or info (may have been)."""
    if isinstance(exc, ResponseError):
        code = error_code(exc)
        return Outcome("fail", error=ERROR_NAMES.get(code, f"redis_{code.lower()}" if code else "redis_error"))
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError)):
        return Outcome("info" if in_flight else "fail", error="connection_lost" if in_flight else "not_connected")
    return Outcome("info", error=type(exc).__name__.lower())


class _Pool:
    """Idle connections to one server."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self.idle: list[Connection] = []


class RedisClient:
    """Async client: writes and ``primary`` reads on the primary the Sentinels name, ``replica``
    reads on ``endpoint``. ``invoke`` never raises for database errors."""

    def __init__(self, endpoint: str, all_endpoints: Sequence[str], value_size: int, timeout_s: float,
                 read_level: str, options: RedisOptions | None = None) -> None:
        if read_level not in READ_LEVELS:
            raise ValueError(f"unknown Redis read level {read_level!r} (known: {', '.join(READ_LEVELS)})")
        self.endpoint, self.value_size, self.timeout_s = endpoint, value_size, timeout_s
        self.read_level = read_level
        self.options = options or RedisOptions()
        self._pinned = _Pool(split_endpoint(endpoint))
        self.sentinels = sentinel_addresses(list(all_endpoints))
        #: pinned to a Sentinel node: no data there to read
        self.on_sentinel = self._pinned.address[0] in {h for h, _ in self.sentinels}
        self._primary: _Pool | None = None
        self._find_lock = asyncio.Lock()
        self._sentinel_conns: dict[Address, Connection] = {}
        self._live: set[Connection] = set()
        #: why the client found no primary when it opened (a ``replica`` client opens anyway)
        self.write_open_error: str | None = None
        #: the primary's address each time the client found one, in order (tests, failover runs)
        self.primaries_found: list[Address] = []

    # ------------------------------------------------------------------ connections
    def _connection(self, address: Address, connect_timeout_s: float, timeout_s: float | None = None) -> Connection:
        """A new (unconnected) connection; ``timeout_s`` None: an operation's reply is waited
        for by ``invoke``'s own timeout."""
        c = Connection(host=address[0], port=address[1], protocol=2, driver_info=None, socket_timeout=timeout_s,
                       socket_connect_timeout=connect_timeout_s)
        self._live.add(c)
        return c

    @property
    def _discovery_timeout_s(self) -> float:
        return min(DISCOVERY_TIMEOUT_S, self.timeout_s)

    async def _discard(self, conn: Connection) -> None:
        self._live.discard(conn)
        try:
            await conn.disconnect(nowait=True)
        except Exception:  # noqa: BLE001 - closing a broken connection: nothing more to do
            pass

    @staticmethod
    async def _call(conn: Connection, *args: Any) -> Any:
        await conn.send_command(*args)
        return await conn.read_response()

    @staticmethod
    async def _pipeline(conn: Connection, *commands: tuple[Any, ...]) -> list[Any]:
        """Every command sent at once; each reply, or the ResponseError it was."""
        await conn.send_packed_command(conn.pack_commands(commands))
        out: list[Any] = []
        for _ in commands:
            try:
                out.append(await conn.read_response())
            except ResponseError as e:  # the reply is consumed: the connection stays in step
                out.append(e)
        return out

    async def _ask_sentinel(self, s: Address) -> Address | None:
        conn = self._sentinel_conns.get(s)
        if conn is None or not conn.is_connected:
            t = self._discovery_timeout_s
            conn = self._sentinel_conns[s] = self._connection(s, t, t)
        try:
            await conn.connect()
            addr = await self._call(conn, "SENTINEL", "get-master-addr-by-name", MASTER_NAME)
        except BaseException:  # (cancelled too: a reply left unread would answer the next question)
            self._sentinel_conns.pop(s, None)
            await self._discard(conn)
            raise
        return (addr[0].decode(), int(addr[1])) if isinstance(addr, list) and len(addr) == 2 else None

    async def _primary_at(self, address: Address) -> Connection:
        """A connection to ``address`` if its server says it is a master; else RedisError why not."""
        t = self._discovery_timeout_s
        conn = self._connection(address, t)
        try:
            await conn.connect()
            role = await asyncio.wait_for(self._call(conn, "ROLE"), t)
        except asyncio.TimeoutError:
            await self._discard(conn)
            raise NoPrimary(f"{address[0]}:{address[1]} did not answer ROLE within {t:g}s") from None
        except BaseException:
            await self._discard(conn)
            raise
        said = role[0].decode() if isinstance(role, list) and role and isinstance(role[0], bytes) else repr(role)
        if said != "master":
            await self._discard(conn)
            raise NoPrimary(f"{address[0]}:{address[1]} says role {said}")
        return conn

    async def _find_primary(self) -> _Pool:
        """The primary the first answering Sentinel names (the one that answered last time
        first), checked by ROLE; NoPrimary saying what each Sentinel and server said."""
        if not self.sentinels:
            conn = await self._primary_at(self._pinned.address)
            pool = _Pool(self._pinned.address)
            pool.idle.append(conn)
            return pool
        said = []
        for s in list(self.sentinels):
            try:
                addr = await self._ask_sentinel(s)
                if addr is None:
                    said.append(f"Sentinel {s[0]}: no primary named {MASTER_NAME}")
                    continue
                conn = await self._primary_at(addr)
            except (RedisError, OSError) as e:
                said.append(f"Sentinel {s[0]}: {type(e).__name__}: {e}")
                continue
            self.sentinels.remove(s)
            self.sentinels.insert(0, s)
            self.primaries_found.append(addr)
            pool = _Pool(addr)
            pool.idle.append(conn)
            return pool
        raise NoPrimary("; ".join(said))

    async def _acquire(self, which: str) -> tuple[_Pool, Connection]:
        if which == "primary":
            pool = self._primary
            if pool is None:
                async with self._find_lock:
                    if self._primary is None:
                        self._primary = await self._find_primary()
                    pool = self._primary
        else:
            pool = self._pinned
        if pool.idle:
            return pool, pool.idle.pop()
        conn = self._connection(pool.address, self.timeout_s)
        try:
            await conn.connect()
        except BaseException:
            await self._discard(conn)
            raise
        return pool, conn

    async def _release(self, pool: _Pool, conn: Connection, usable: bool) -> None:
        """Back to its pool when ``usable`` and the pool still serves; else closed (a primary
        pool that broke or refused a write as READONLY is forgotten: the next operation asks
        the Sentinels again)."""
        current = pool is self._primary or pool is self._pinned
        if usable and current and conn.is_connected:
            pool.idle.append(conn)
            return
        await self._discard(conn)
        if not usable and pool is self._primary:
            self._primary = None
            stale, pool.idle = pool.idle, []
            for c in stale:
                await self._discard(c)

    # ------------------------------------------------------------------ the Client protocol
    async def open(self) -> None:
        """Connect what the client's reads use: the primary (``primary``) or the pinned node
        (``replica``, which also tries the primary now and, when there is none, connects again
        on its first write); raises when that cannot be done, or when a ``replica`` client is
        pinned to a Sentinel node (``NotAServer``)."""
        which = "pinned" if self.read_level == "replica" else "primary"
        if which == "pinned" and self.on_sentinel:
            raise NotAServer(f"{self.endpoint} is a Sentinel node, not a Redis server: a replica read has no data "
                             "there (pin replica reads to the servers, the first nodes)")
        pool, conn = await asyncio.wait_for(self._acquire(which), self.timeout_s)
        await self._release(pool, conn, True)
        if which == "pinned":
            try:
                pool, conn = await asyncio.wait_for(self._acquire("primary"), self.timeout_s)
                await self._release(pool, conn, True)
            except (RedisError, OSError, asyncio.TimeoutError) as e:
                self.write_open_error = f"no primary when the client opened: {e}"

    async def close(self) -> None:
        self._primary = None
        self._pinned.idle = []
        self._sentinel_conns = {}
        live, self._live = list(self._live), set()
        for c in live:
            try:
                await c.disconnect(nowait=True)
            except Exception:  # noqa: BLE001 - closing what may already be broken
                pass

    async def invoke(self, request: Request) -> Outcome:
        f = request.f
        level = request.read_consistency or self.read_level
        if f == "get":
            if level not in READ_LEVELS:
                raise ValueError(f"unknown Redis read level {level!r} (known: {', '.join(READ_LEVELS)})")
            which = "pinned" if level == "replica" else "primary"
            if which == "pinned" and self.on_sentinel:
                return Outcome("fail", error="not_a_server")
        elif f in ("put", "cas", "delete"):
            which = "primary"
        else:
            raise ValueError(f"unknown operation {f!r}")
        try:
            pool, conn = await asyncio.wait_for(self._acquire(which), self.timeout_s)
        except asyncio.TimeoutError:
            return Outcome("fail", error="not_connected")
        except (RedisError, OSError) as e:
            return classify_error(e, in_flight=False)
        try:
            out = await asyncio.wait_for(self._op(conn, f, request.key, request.value), self.timeout_s)
        except asyncio.TimeoutError:
            await self._release(pool, conn, False)
            return Outcome("info", error="timeout")
        except (RedisError, OSError) as e:
            out = classify_error(e, in_flight=True)
            await self._release(pool, conn, out.type == "fail" and out.error != "read_only")
            return out
        await self._release(pool, conn, True)
        return out

    # ------------------------------------------------------------------ operations
    async def _op(self, conn: Connection, f: str, key: str, value: Any) -> Outcome:
        if f == "get":
            got = await self._call(conn, "GET", key)
            return Outcome("ok", result=token_of(bytes(got)) if got is not None else None)
        if f == "put":
            return await self._write(conn, ("SET", key, value_for(value, self.value_size)))
        if f == "delete":
            return await self._write(conn, ("DEL", key))
        expected, new = value
        data = value_for(new, self.value_size)
        if expected is None:
            return await self._write(conn, ("SET", key, data, "NX"), applied=lambda r: r is not None)
        return await self._write(conn, ("EVAL", CAS_SCRIPT, 1, key, value_for(expected, self.value_size), data),
                                 applied=lambda r: r == 1)

    async def _write(self, conn: Connection, command: tuple[Any, ...],
                     applied: Callable[[Any], bool] | None = None) -> Outcome:
        """``command``, then (``wait`` level) WAIT: sent together unless the command may not
        write (a cas WAITs only when it wrote). An error reply raises (fail); see the module
        docstring for ``wait_short``."""
        k, t = self.options.wait_replicas, self.options.wait_timeout_ms
        if k and applied is None:
            reply, acked = await self._pipeline(conn, command, ("WAIT", k, t))
            if isinstance(reply, ResponseError):
                raise reply
        else:
            reply = await self._call(conn, *command)
            if applied is not None and not applied(reply):
                return Outcome("fail", error="cas_mismatch")
            if not k:
                return Outcome("ok")
            try:
                acked = await self._call(conn, "WAIT", k, t)
            except ResponseError as e:
                acked = e
        if isinstance(acked, ResponseError):  # the write took effect; what the replicas have is unknown
            return Outcome("info", error="wait_error")
        return Outcome("ok") if int(acked) >= k else Outcome("info", error="wait_short")
