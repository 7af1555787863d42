"""etcd client for the load generator: one gRPC channel to one node, asyncio.

Built on the protobuf/gRPC stubs shipped by ``etcd-sdk-python`` (the maintained fork of
python-etcd3), called through ``grpc.aio`` directly rather than through its synchronous
wrapper, because (1) the wrapper fails over between endpoints, which would silently move a
client pinned to a partitioned node to the other side, and (2) it maps every gRPC error
to a generic exception, while the checkers need to know *whether an operation may have
taken effect*. That classification is ``classify_error`` below.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import grpc
from grpc import aio

from pyetcd.etcdrpc import rpc_pb2 as pb
from pyetcd.etcdrpc import rpc_pb2_grpc as pbg

from harness.api import Outcome, Request
from harness.workload.generator import token_of, value_for

# gRPC channel options: allow 1 MiB values both ways, no transparent retries (a retry could
# apply a put twice behind our back), keepalive so a partitioned peer is noticed.
#: Seconds between two tries of a token-wait read whose member had not reached the session's revision.
POSITION_POLL_S = 0.001
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 64 << 20),
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.enable_retries", 0),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
]


# etcd server error messages (server/etcdserver/api/v3rpc/rpctypes) that guarantee the
# request was NOT applied: rejected before being proposed to Raft.
_NOT_APPLIED_MESSAGES = (
    "etcdserver: no leader",
    "etcdserver: too many requests",
    "etcdserver: request is too large",
    "etcdserver: mvcc: database space exceeded",
    "etcdserver: not capable",
    "etcdserver: too many operations in txn request",
    "etcdserver: duplicate key given in txn request",
)
# Messages meaning the proposal was (or may have been) handed to Raft: it may still commit.
_MAYBE_APPLIED_MESSAGES = (
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "etcdserver: request timed out, possibly due to previous leader failure",
    "etcdserver: request timed out, possibly due to connection lost",
    "etcdserver: server stopped",
)


def classify_error(code: grpc.StatusCode, details: str, f: str) -> Outcome:
    """Map a gRPC failure to ok/fail/info. Reads that fail are ``fail`` when the server said
    so and ``info`` on timeouts (a read has no effect either way, but we stay exact)."""
    d = details or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Outcome("info", error="timeout")
    if code == grpc.StatusCode.CANCELLED:
        return Outcome("info", error="cancelled")
    for m in _NOT_APPLIED_MESSAGES:
        if m in d:
            kind = m.removeprefix("etcdserver: ").replace(" ", "_").replace(":", "")
            return Outcome("fail", error=kind)
    for m in _MAYBE_APPLIED_MESSAGES:
        if m in d:
            kind = m.removeprefix("etcdserver: ").split(",")[0].replace(" ", "_")
            return Outcome("info", error=kind)
    if code == grpc.StatusCode.UNAVAILABLE:
        # Could not connect: the request never left the client.
        low = d.lower()
        if "failed to connect" in low or "connection refused" in low or "no route to host" in low:
            return Outcome("fail", error="connect_failed")
        # Connection dropped with the request possibly in flight.
        return Outcome("info", error="unavailable")
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED,
                grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNIMPLEMENTED,
                grpc.StatusCode.OUT_OF_RANGE):
        return Outcome("fail", error=code.name.lower())
    return Outcome("info", error=code.name.lower())


class EtcdClient:
    """Async client bound to one endpoint. ``invoke`` never raises for database errors."""

    def __init__(self, endpoint: str, value_size: int, timeout_s: float) -> None:
        self.endpoint, self.value_size, self.timeout_s = endpoint, value_size, timeout_s
        self._channel = aio.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
        self._kv = pbg.KVStub(self._channel)

    async def open(self) -> None:
        """Nothing to do: a gRPC channel connects on its first call (inside the warm-up)."""

    async def close(self) -> None:
        await self._channel.close()

    async def put(self, key: str, token: str) -> Outcome:
        r = await self._kv.Put(pb.PutRequest(key=key.encode(), value=value_for(token, self.value_size)),
                               timeout=self.timeout_s)
        return Outcome("ok", revision=r.header.revision, position=r.header.revision)

    async def get(self, key: str, serializable: bool, after: int | None = None) -> Outcome:
        """A range read; with ``after`` (a token-wait session's highest revision), a read whose
        member had not reached it is retried every ``POSITION_POLL_S`` until it has, within the
        op timeout (else ``fail position_not_reached``: no read was answered)."""
        req = pb.RangeRequest(key=key.encode(), serializable=serializable)
        r = await self._kv.Range(req, timeout=self.timeout_s)
        if after is not None and r.header.revision < after:  # the hot path above stays one call
            deadline = time.monotonic() + self.timeout_s
            while r.header.revision < after:
                if time.monotonic() + POSITION_POLL_S >= deadline:
                    return Outcome("fail", error="position_not_reached")
                await asyncio.sleep(POSITION_POLL_S)
                r = await self._kv.Range(req, timeout=max(0.001, deadline - time.monotonic()))
        value = r.kvs[0].value if r.kvs else None
        return Outcome("ok", result=token_of(value), revision=r.header.revision, position=r.header.revision)

    async def cas(self, key: str, expected: str | None, new: str) -> Outcome:
        k = key.encode()
        if expected is None:  # "key absent" is the expected state
            cmp = pb.Compare(key=k, target=pb.Compare.CREATE, result=pb.Compare.EQUAL, create_revision=0)
        else:
            cmp = pb.Compare(key=k, target=pb.Compare.VALUE, result=pb.Compare.EQUAL,
                             value=value_for(expected, self.value_size))
        put = pb.RequestOp(request_put=pb.PutRequest(key=k, value=value_for(new, self.value_size)))
        r = await self._kv.Txn(pb.TxnRequest(compare=[cmp], success=[put]), timeout=self.timeout_s)
        return Outcome("ok" if r.succeeded else "fail", error=None if r.succeeded else "cas_mismatch",
                       revision=r.header.revision, position=r.header.revision if r.succeeded else None)

    async def delete(self, key: str) -> Outcome:
        r = await self._kv.DeleteRange(pb.DeleteRangeRequest(key=key.encode()), timeout=self.timeout_s)
        return Outcome("ok", revision=r.header.revision, position=r.header.revision)

    async def invoke(self, request: Request) -> Outcome:
        """Run one operation; gRPC errors become ``fail``/``info`` outcomes (``classify_error``)."""
        f, key, value = request.f, request.key, request.value
        try:
            if f == "put":
                return await self.put(key, value)
            if f == "get":
                return await self.get(key, serializable=(request.read_consistency == "serializable"),
                                      after=request.after)
            if f == "cas":
                return await self.cas(key, value[0], value[1])
            if f == "delete":
                return await self.delete(key)
            raise ValueError(f"unknown operation {f!r}")
        except aio.AioRpcError as e:
            return classify_error(e.code(), e.details() or "", f)
