"""ZooKeeper client for the load generator: kazoo, one session pinned to one server, asyncio.

The register: key ``k`` is the znode ``/gbench/k``; its data is the value's bytes
(``harness.workload.generator.value_for``). Operations and what they send:

================  ==========================================================================
put(k, t)         ``setData(k, v, version=-1)``; on NoNode ``create(k, v)``; on NodeExists (a
                  concurrent create won) ``setData`` again. Each step is a write through the
                  leader (ZAB); the put is acknowledged by the step that succeeded.
get(k) plain      ``getData(k)`` answered by the connected server from its own state.
get(k) sync       ``sync(k)`` then ``getData(k)``, sent back to back on the session (requests of
                  one session are processed in order, so the read waits for the sync; no round
                  trip between them). ``sync`` makes the server catch up with everything the
                  leader committed before it handled the sync.
cas(k, None, t)   ``create(k, v)``: NodeExists -> fail ``cas_mismatch``.
cas(k, e, t)      ``sync(k)`` + ``getData(k)`` -> (data, version); data's token != e -> fail
                  ``cas_mismatch`` without writing; else ``setData(k, v, version)``: BadVersion
                  or NoNode (written or deleted since the read) -> fail ``cas_mismatch``. So the
                  set takes effect only if the znode is still the version whose value was e:
                  a compare-and-set on the value, decided by the leader.
delete(k)         ``delete(k, version=-1)``; NoNode -> ok (nothing to delete).
================  ==========================================================================

Pinned, never moved silently. kazoo is given exactly one ``host:port`` (``randomize_hosts``
is moot), so it can only reconnect to that server. It reconnects with the same session while
the session lives (kazoo state SUSPENDED, then CONNECTED); when the server declared the
session expired, kazoo opens a new session on the same server, and a new session has none of
the old one's guarantees (read-your-writes, monotonic reads). That change is made visible:
the first operation invoked on a new session returns ``fail`` with error ``session_changed``
without being sent, and the next proceeds on the new session. With ``read_only=True``
(the workload's ``zookeeper: {read_only: true}``) the session may be served by a server in
read-only mode: reads answered from its own state, writes refused (``fail``
``notreadonlycallerror``). A read-only server refuses to take over a session the quorum
created ("Refusing global session reconnection in RO mode", ZooKeeper 3.9.5), so such a
client, once it has been disconnected for longer than its session timeout (by then the quorum
has expired the session, as Curator's LOST state assumes), gives the session up and opens a
new one on the same server (``should_renew``; the change shows as ``session_changed``). While the client is not
connected, an operation returns ``fail`` ``not_connected`` at once, not queued by kazoo to be
sent after a reconnect (which would make a client-side late write).

``revision`` of a write is its transaction's zxid (the znode's ``mzxid`` in the answer: one
global, increasing order of all writes, as etcd's revision); a read has none (getData's
answer does not say the server's own zxid, only the znode's, which would mean something else).

Outcomes: ``ok``; ``fail`` = certainly not applied (ZooKeeper refused it: BadVersion,
NodeExists, NoNode, MarshallingError..., or it was never sent); ``info`` = may have been
applied: ConnectionLoss or SessionExpired with the request in flight, or no answer within
``timeout_s`` (kazoo has no per-request deadline: the request stays pending on the session
and its answer is dropped). Reads follow etcd's client: a timed-out read is ``info``.

kazoo is thread-based: every ``*_async`` call returns an ``IAsyncResult``; its ``rawlink``
callback (run on kazoo's completion thread) hands the result to the event loop with
``call_soon_threadsafe``, so the event loop never blocks on a kazoo call. Its cost, measured
on the 2-core host (3000 plain gets of a 64-byte znode through a follower of a 5-node
cluster, one at a time): p50 433 us through this bridge, 469 us through
``run_in_executor`` with kazoo's blocking ``get``, 293 us for the blocking ``get`` called
with no event loop at all; so the bridge adds about 0.14 ms per operation, and 16 concurrent
tasks on one client reached 2,821 gets/s (2,739 through ``run_in_executor``), where kazoo's
one connection thread is the limit. ``sync`` + get: p50 1.08 ms.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Awaitable

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadVersionError, ConnectionClosedError, ConnectionLoss, KazooException,
                              NodeExistsError, NoNodeError, OperationTimeoutError, SessionExpiredError)

from harness.api import Outcome, Request
from harness.workload.generator import token_of, value_for

ROOT = "/gbench"
#: The session timeout kazoo asks for (the servers grant 2-20 s: config.ZooKeeperConfig).
SESSION_TIMEOUT_S = 10.0
#: Reconnect to the one server forever, quickly (0.1 s doubling up to 1 s).
CONNECTION_RETRY = {"max_tries": -1, "delay": 0.1, "backoff": 2, "max_delay": 1.0, "max_jitter": 0.1}
READ_LEVELS = ("plain", "sync")
#: kazoo's own log: its connection warnings ("Connection dropped: ...", "Session has expired")
#: would print on the run's console from every load worker; what they mean reaches the
#: history as outcomes (not_connected, connection_loss, session_changed), so only errors pass.
KAZOO_LOG = logging.getLogger("harness.systems.zookeeper.kazoo")
KAZOO_LOG.setLevel(logging.ERROR)


def classify_error(exc: BaseException, f: str) -> Outcome:
    """Map a kazoo exception of operation ``f`` to fail (certainly not applied) or info."""
    if isinstance(exc, ConnectionClosedError):  # kazoo refused it before sending (client closed)
        return Outcome("fail", error="connection_closed")
    if isinstance(exc, SessionExpiredError):
        return Outcome("info", error="session_expired")
    if isinstance(exc, ConnectionLoss):
        return Outcome("info", error="connection_loss")
    if isinstance(exc, OperationTimeoutError):
        return Outcome("info", error="operation_timeout")
    if isinstance(exc, (BadVersionError, NodeExistsError)):
        return Outcome("fail", error="cas_mismatch")
    if isinstance(exc, KazooException):  # a server's refusal (MarshallingError, BadArguments, ...)
        return Outcome("fail", error=type(exc).__name__.lower())
    return Outcome("info", error=type(exc).__name__.lower())


def should_renew(read_only: bool, suspended_at: float | None, now: float, session_timeout_s: float,
                 renewing: bool) -> bool:
    """Whether a client should give its session up and open a new one: only a read-only-capable
    client, disconnected since ``suspended_at`` for longer than the session timeout, and not
    already renewing."""
    return read_only and not renewing and suspended_at is not None and now - suspended_at > session_timeout_s


class ZooKeeperClient:
    """Async client over one kazoo session to one server. ``invoke`` never raises for database errors."""

    def __init__(self, endpoint: str, value_size: int, timeout_s: float,
                 session_timeout_s: float = SESSION_TIMEOUT_S, read_only: bool = False) -> None:
        host, sep, port = endpoint.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"endpoint {endpoint!r} is not host:port")
        self.endpoint, self.value_size, self.timeout_s = endpoint, value_size, timeout_s
        self._zk = KazooClient(hosts=endpoint, timeout=session_timeout_s, connection_retry=dict(CONNECTION_RETRY),
                               randomize_hosts=False, logger=KAZOO_LOG, read_only=read_only)
        self.read_only = read_only
        self._session: int | None = None
        #: every session id this client used, in order (a change is also an outcome: session_changed)
        self.sessions: list[int] = []
        self.state_changes: list[str] = []
        self.session_timeout_s = session_timeout_s
        #: monotonic time since which the client has had no connection (None while connected)
        self._suspended_at: float | None = None
        self._renewal: threading.Thread | None = None
        self._closing = threading.Lock()
        self._closed = False
        self._zk.add_listener(self._on_state)

    def _on_state(self, state: Any) -> None:
        self.state_changes.append(str(state))
        if state == KazooState.CONNECTED:
            self._suspended_at = None
        elif self._suspended_at is None:
            self._suspended_at = time.monotonic()

    def _renew(self) -> None:
        """Stop the session and open a new one (kazoo's thread; never while closing)."""
        with self._closing:
            if self._closed:
                return
            self._zk.stop()
            self._suspended_at = time.monotonic()
            self._zk.start_async()

    # -- connection
    def open_blocking(self, connect_timeout_s: float = 15.0) -> None:
        """Connect (blocking) and make sure the register's parent znode exists."""
        self._zk.start(timeout=connect_timeout_s)
        self._zk.ensure_path(ROOT)
        self._session = self._zk.client_id[0]
        self.sessions.append(self._session)

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.open_blocking)

    def close_blocking(self) -> None:
        with self._closing:
            self._closed = True
        try:
            self._zk.stop()
        finally:
            self._zk.close()

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close_blocking)

    aclose = close

    @property
    def session_id(self) -> int | None:
        return self._session

    # -- the bridge from kazoo's threads to the event loop
    def _await(self, async_result: Any) -> Awaitable[Any]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def settle(ar: Any) -> None:
            if fut.done():
                return
            exc = ar.exception
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(ar.value)

        async_result.rawlink(lambda ar: loop.call_soon_threadsafe(settle, ar))
        return fut

    def _path(self, key: str) -> str:
        return f"{ROOT}/{key}"

    def _value(self, token: str) -> bytes:
        return value_for(token, self.value_size)

    # -- operations (raise kazoo exceptions; invoke classifies them)
    async def put(self, key: str, token: str) -> Outcome:
        path, v = self._path(key), self._value(token)
        try:
            st = await self._await(self._zk.set_async(path, v))
        except NoNodeError:
            try:
                _, st = await self._await(self._zk.create_async(path, v, include_data=True))
                return Outcome("ok", revision=st.mzxid)
            except NodeExistsError:
                st = await self._await(self._zk.set_async(path, v))
        return Outcome("ok", revision=st.mzxid)

    async def _read(self, path: str, sync: bool) -> tuple[bytes | None, Any]:
        synced = self._await(self._zk.sync_async(path)) if sync else None
        got = self._await(self._zk.get_async(path))
        try:
            if synced is not None:
                await synced
            data, st = await got
        except NoNodeError:
            return None, None
        finally:
            if not got.done():
                got.cancel()
            elif not got.cancelled():
                got.exception()  # retrieved: the sync's error is the one reported
        return data, st

    async def get(self, key: str, level: str) -> Outcome:
        data, _ = await self._read(self._path(key), sync=(level == "sync"))
        return Outcome("ok", result=token_of(data))

    async def cas(self, key: str, expected: str | None, new: str) -> Outcome:
        path, v = self._path(key), self._value(new)
        if expected is None:
            _, st = await self._await(self._zk.create_async(path, v, include_data=True))
            return Outcome("ok", revision=st.mzxid)
        data, st = await self._read(path, sync=True)
        if st is None or token_of(data) != expected:
            return Outcome("fail", error="cas_mismatch")
        try:
            st2 = await self._await(self._zk.set_async(path, v, version=st.version))
        except NoNodeError:
            return Outcome("fail", error="cas_mismatch")
        return Outcome("ok", revision=st2.mzxid)

    async def delete(self, key: str) -> Outcome:
        try:
            await self._await(self._zk.delete_async(self._path(key)))
        except NoNodeError:
            pass
        return Outcome("ok")

    def _refusal(self) -> Outcome | None:
        """fail without sending while not connected, or once when the session changed."""
        if self._zk.state != KazooState.CONNECTED:
            renewing = self._renewal is not None and self._renewal.is_alive()
            if should_renew(self.read_only, self._suspended_at, time.monotonic(), self.session_timeout_s, renewing):
                self._renewal = threading.Thread(target=self._renew, name="zookeeper-session-renewal", daemon=True)
                self._renewal.start()
            return Outcome("fail", error="not_connected")
        sid = self._zk.client_id[0] if self._zk.client_id else None
        if sid != self._session:
            self._session = sid
            if sid is not None:
                self.sessions.append(sid)
            return Outcome("fail", error="session_changed")
        return None

    async def invoke(self, request: Request | str, key: str | None = None, value: Any = None,
                     read_consistency: str | None = None) -> Outcome:
        """Run one operation: ``invoke(Request(...))`` (harness.api) or, as the worker calls
        clients today, ``invoke(f, key, value, read_consistency)``; ``read_consistency`` is
        ``plain`` (the default) or ``sync``."""
        if isinstance(request, Request):
            f, key, value, read_consistency = request.f, request.key, request.value, request.read_consistency
        else:
            f = request
        assert key is not None
        refused = self._refusal()
        if refused is not None:
            return refused
        try:
            if f == "put":
                op = self.put(key, value)
            elif f == "get":
                level = read_consistency or "plain"
                if level not in READ_LEVELS:
                    raise ValueError(f"unknown ZooKeeper read level {level!r} (known: {', '.join(READ_LEVELS)})")
                op = self.get(key, level)
            elif f == "cas":
                op = self.cas(key, value[0], value[1])
            elif f == "delete":
                op = self.delete(key)
            else:
                raise ValueError(f"unknown operation {f!r}")
            return await asyncio.wait_for(op, self.timeout_s)
        except asyncio.TimeoutError:
            return Outcome("info", error="timeout")
        except KazooException as e:
            return classify_error(e, f)
