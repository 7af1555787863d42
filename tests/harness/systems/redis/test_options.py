"""The redis: block, the plugin's workload checks and level pairs, the client's Sentinel
addresses and error classes: pure logic, exact values."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from harness.errors import ConfigError
from harness.systems.redis.client import NoPrimary, RedisClient, classify_error, sentinel_addresses
from harness.systems.redis.options import RedisOptions, options_problem, parse_options
from harness.systems.redis.plugin import PLUGIN
from harness.workload.spec import LoadSpec, Workload

ENDPOINTS = [f"10.0.0.{i}:6379" for i in range(1, 7)]


def test_defaults_are_redis_own() -> None:
    o = parse_options("w.yaml", None)
    assert o == RedisOptions(0, 100, 0, 10) and o.write_level == "async"
    assert o.to_dict() == {"wait_replicas": 0, "wait_timeout_ms": 100, "min_replicas_to_write": 0,
                           "min_replicas_max_lag_s": 10}
    assert parse_options("w.yaml", {"wait_replicas": 2, "wait_timeout_ms": 250}) == RedisOptions(2, 250, 0, 10)
    assert RedisOptions(wait_replicas=1).write_level == "wait"


@pytest.mark.parametrize("data, field, reason", [
    ({"wait_replicas": -1}, "redis.wait_replicas", "must be >= 0 (an integer in [0, 64] replicas), got -1"),
    ({"wait_replicas": "2"}, "redis.wait_replicas",
     "must be an integer in [0, 64] replicas, got the string '2'; a number is written without quotes"),
    ({"wait_timeout_ms": 1.5}, "redis.wait_timeout_ms", "must be an integer in [0, 60000] ms, got 1.5"),
    ({"min_replicas_to_write": True}, "redis.min_replicas_to_write",
     "must be an integer in [0, 64] replicas, got True"),
    ({"min_replicas_max_lag_s": 0}, "redis.min_replicas_max_lag_s",
     "must be >= 1 (an integer in [1, 3600] seconds), got 0"),
])
def test_bad_values_name_the_field(data: dict, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_options("w.yaml", data)
    assert (e.value.file, e.value.field, e.value.reason) == ("w.yaml", field, reason)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError) as e:
        parse_options("w.yaml", {"wait": 1})
    assert (e.value.file, e.value.field) == ("w.yaml", "redis.wait")


def test_impossible_settings_are_refused_with_the_reason() -> None:
    assert options_problem(RedisOptions(wait_replicas=3), 3) == (
        "redis.wait_replicas", "WAIT for more replicas than exist: 3, and 3 server(s) have 2 replica(s): every write "
        "would wait out its WAIT timeout")
    assert options_problem(RedisOptions(min_replicas_to_write=3), 3) == (
        "redis.min_replicas_to_write", "3, and 3 server(s) have 2 replica(s): the primary would refuse every write "
        "with NOREPLICAS")
    assert options_problem(RedisOptions(wait_replicas=1, wait_timeout_ms=0), 3) == (
        "redis.wait_timeout_ms", "0 makes WAIT block until the replicas acknowledge, forever when they never do: "
        "give a timeout in ms (1 or more)")
    assert options_problem(RedisOptions(wait_replicas=2, min_replicas_to_write=2), 3) is None
    assert options_problem(RedisOptions(), 1) is None  # a lone primary: asynchronous, nothing to wait for


def _workload(nodes: int = 6, **kw: Any) -> Workload:
    return Workload(name="t", duration_s=1, system="redis", nodes=nodes, source="w.yaml",
                    read_consistency=kw.pop("read", "primary"), mix=kw.pop("mix", {"put": 1.0, "get": 1.0}),
                    pin=kw.pop("pin", "round-robin"), load=LoadSpec(op_timeout_s=kw.pop("timeout_s", 5.0)),
                    options=RedisOptions(**kw))


@pytest.mark.parametrize("w, field, reason", [
    (_workload(3), "nodes", "3 nodes leave no Redis server beside the 3 Sentinels (the last 3 nodes run "
                            "redis-sentinel): use at least 4"),
    (_workload(4, wait_replicas=1), "redis.wait_replicas",
     "WAIT for more replicas than exist: 1, and 1 server(s) have 0 replica(s): every write would wait out its WAIT "
     "timeout"),
    (_workload(6, min_replicas_to_write=3), "redis.min_replicas_to_write",
     "3, and 3 server(s) have 2 replica(s): the primary would refuse every write with NOREPLICAS"),
    (_workload(6, wait_replicas=1, wait_timeout_ms=1000, timeout_s=1.0), "redis.wait_timeout_ms",
     "1000 ms is not below load.op_timeout_s (1 s): a WAIT that runs out would show as a timeout, not as wait_short"),
    (_workload(6, read="replica"), "clients.pin",
     "replica reads need clients pinned to Redis servers: a list of n1, n2, n3 or leader (the last 3 of 6 nodes are "
     "Sentinels, which hold no data), got 'round-robin'"),
    (_workload(6, read="replica", pin=("n2", "n4")), "clients.pin",
     "replica reads need clients pinned to Redis servers: a list of n1, n2, n3 or leader (the last 3 of 6 nodes are "
     "Sentinels, which hold no data), got ['n2', 'n4']"),
    (_workload(6, read="replica", pin="followers"), "clients.pin",
     "replica reads need clients pinned to Redis servers: a list of n1, n2, n3 or leader (the last 3 of 6 nodes are "
     "Sentinels, which hold no data), got 'followers'"),
])
def test_workloads_the_cluster_cannot_run_are_refused(w: Workload, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        PLUGIN.validate_workload(w)
    assert (e.value.file, e.value.field, e.value.reason) == ("w.yaml", field, reason)


def test_workloads_the_cluster_can_run() -> None:
    PLUGIN.validate_workload(_workload(4))  # one server, three Sentinels
    PLUGIN.validate_workload(_workload(6, wait_replicas=2, min_replicas_to_write=2))
    PLUGIN.validate_workload(_workload(6, read="replica", pin=("n2", "n3")))
    PLUGIN.validate_workload(_workload(6, read="replica", pin="leader"))
    PLUGIN.validate_workload(_workload(6, read="replica", mix={"put": 1.0}))  # no read: any pin
    PLUGIN.validate_workload(replace(_workload(6), options=None))


def test_level_pairs_for_the_visibility_probe() -> None:
    assert PLUGIN.level_pair_options("async", 1) == RedisOptions()
    assert PLUGIN.level_pair_options("wait", 3) == RedisOptions(wait_replicas=2)
    assert PLUGIN.level_pair_problem("async", "replica", 1) is None
    assert PLUGIN.level_pair_problem("wait", "replica", 3) is None
    assert PLUGIN.level_pair_problem("async", "replica", 2) == (
        "async at replication factor 2: an async write waits for the primary alone (replication factor 1); use wait")
    assert PLUGIN.level_pair_problem("wait", "primary", 1) == (
        "wait at replication factor 1: wait needs at least one replica to wait for (replication factor 2 or more)")
    assert PLUGIN.level_pair_problem("sync", "replica", 1) == "unknown Redis write level 'sync' (known: async, wait)"
    assert PLUGIN.level_pair_problem("wait", "ONE", 2) == "unknown Redis read level 'ONE' (known: primary, replica)"


def test_the_sentinels_are_the_last_three_endpoints_at_the_sentinel_port() -> None:
    assert sentinel_addresses(ENDPOINTS) == [("10.0.0.4", 26379), ("10.0.0.5", 26379), ("10.0.0.6", 26379)]
    assert sentinel_addresses(ENDPOINTS[:3]) == []  # no server beside them: no Sentinel either
    on_sentinel = RedisClient("10.0.0.5:6379", ENDPOINTS, 64, 1.0, "replica")
    on_server = RedisClient("10.0.0.2:6379", ENDPOINTS, 64, 1.0, "replica")
    assert (on_sentinel.on_sentinel, on_server.on_sentinel) == (True, False)
    with pytest.raises(ValueError, match="unknown Redis read level 'any'"):
        RedisClient("10.0.0.2:6379", ENDPOINTS, 64, 1.0, "any")


def test_a_replica_read_pinned_to_a_sentinel_is_refused_without_a_connection() -> None:
    import asyncio

    from harness.api import Request

    c = RedisClient("10.0.0.5:6379", ENDPOINTS, 64, 1.0, "replica")
    with pytest.raises(RedisConnectionError, match="10.0.0.5:6379 is a Sentinel node, not a Redis server"):
        asyncio.run(c.open())
    out = asyncio.run(c.invoke(Request("get", "k", None, "replica")))
    assert (out.type, out.error) == ("fail", "not_a_server")


@pytest.mark.parametrize("exc, in_flight, outcome", [
    (ReadOnlyError("You can't write against a read only replica.", status_code="READONLY"), True,
     ("fail", "read_only")),
    (ResponseError("NOREPLICAS Not enough good replicas to write."), True, ("fail", "noreplicas")),
    (ResponseError("NOREPLICAS Not enough good replicas to write. script: ec4f, on @user_script:1."), True,
     ("fail", "noreplicas")),
    (ResponseError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), True,
     ("fail", "masterdown")),
    (ResponseError("ERR Error running script"), True, ("fail", "redis_err")),
    (ResponseError("something odd"), True, ("fail", "redis_error")),
    (RedisConnectionError("Connection closed by server."), True, ("info", "connection_lost")),
    (RedisConnectionError("Error 111 connecting to 10.0.0.1:6379. Connection refused."), False,
     ("fail", "not_connected")),
    (NoPrimary("Sentinel 10.0.0.4: no primary named gbench"), False, ("fail", "not_connected")),
    (RedisTimeoutError("Timeout reading from socket"), True, ("info", "connection_lost")),
    (OSError("no route"), True, ("info", "connection_lost")),
    (RuntimeError("x"), True, ("info", "runtimeerror")),
])
def test_errors_are_fail_only_when_certainly_not_applied(exc: BaseException, in_flight: bool,
                                                        outcome: tuple[str, str]) -> None:
    o = classify_error(exc, in_flight)
    assert (o.type, o.error) == outcome
