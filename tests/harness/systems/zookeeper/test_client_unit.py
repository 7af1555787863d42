"""The kazoo client without a server: error classes, refusals before sending, bad input."""
from __future__ import annotations

import asyncio

import pytest
from kazoo.exceptions import (BadArgumentsError, BadVersionError, ConnectionClosedError, ConnectionLoss,
                              MarshallingError, NodeExistsError, NoNodeError, OperationTimeoutError,
                              SessionExpiredError)

from harness.api import Outcome, Request
from harness.systems.zookeeper.client import ZooKeeperClient, classify_error


@pytest.mark.parametrize("exc, f, expected", [
    (ConnectionClosedError(), "put", Outcome("fail", error="connection_closed")),
    (SessionExpiredError(), "put", Outcome("info", error="session_expired")),
    (ConnectionLoss(), "put", Outcome("info", error="connection_loss")),
    (ConnectionLoss(), "get", Outcome("info", error="connection_loss")),
    (OperationTimeoutError(), "cas", Outcome("info", error="operation_timeout")),
    (BadVersionError(), "cas", Outcome("fail", error="cas_mismatch")),
    (NodeExistsError(), "cas", Outcome("fail", error="cas_mismatch")),
    (MarshallingError(), "put", Outcome("fail", error="marshallingerror")),
    (BadArgumentsError(), "put", Outcome("fail", error="badargumentserror")),
    (NoNodeError(), "delete", Outcome("fail", error="nonodeerror")),
    (RuntimeError("x"), "put", Outcome("info", error="runtimeerror")),
])
def test_classify_error(exc: BaseException, f: str, expected: Outcome) -> None:
    assert classify_error(exc, f) == expected


def test_an_unconnected_client_refuses_without_sending() -> None:
    c = ZooKeeperClient("127.0.0.1:1", value_size=16, timeout_s=1.0)
    out = asyncio.run(c.invoke(Request("put", "k", "t1")))
    assert out == Outcome("fail", error="not_connected")
    out = asyncio.run(c.invoke("get", "k", None, "sync"))  # the worker's positional form
    assert out == Outcome("fail", error="not_connected")
    assert c.sessions == []


def test_a_bad_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="is not host:port"):
        ZooKeeperClient("198.18.0.11", value_size=16, timeout_s=1.0)


@pytest.mark.parametrize("read_only, suspended_at, now, renewing, expected", [
    (True, 100.0, 110.5, False, True),     # disconnected 10.5 s > the 10 s session timeout
    (True, 100.0, 110.0, False, False),    # exactly the timeout: not yet
    (True, 100.0, 105.0, False, False),
    (True, None, 500.0, False, False),     # connected
    (True, 100.0, 200.0, True, False),     # a renewal is already under way
    (False, 100.0, 200.0, False, False),   # an ordinary client keeps its session
])
def test_should_renew(read_only: bool, suspended_at: float | None, now: float, renewing: bool, expected: bool) -> None:
    from harness.systems.zookeeper.client import should_renew

    assert should_renew(read_only, suspended_at, now, 10.0, renewing) is expected


def test_disconnected_since_is_kept_from_the_first_state_change_until_connected() -> None:
    from kazoo.client import KazooState

    c = ZooKeeperClient("127.0.0.1:2181", 64, 1.0, read_only=True)
    try:
        assert c._suspended_at is None
        c._on_state(KazooState.SUSPENDED)
        first = c._suspended_at
        assert first is not None
        c._on_state(KazooState.LOST)
        assert c._suspended_at == first and c.state_changes == ["SUSPENDED", "LOST"]
        c._on_state(KazooState.CONNECTED)
        assert c._suspended_at is None
    finally:
        c.close_blocking()


def test_a_closed_client_never_opens_a_new_session() -> None:
    c = ZooKeeperClient("127.0.0.1:2181", 64, 1.0, read_only=True)
    c.close_blocking()
    c._renew()
    assert c._zk._stopped.is_set() and c._suspended_at is None
