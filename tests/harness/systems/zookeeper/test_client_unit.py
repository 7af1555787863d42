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
