"""The Redis system's member status and readiness, from given answers (pure, no processes):
redis-cli's batch replies, a Sentinel's state, each node's status and term, the primary
readiness expects."""
from __future__ import annotations

from typing import Any

import pytest

from harness.providers.base import NodeAddress
from harness.systems.redis.system import (ServerState, SentinelState, batch_replies, expected_primary,
                                          member_statuses, sentinel_from_replies)

SERVERS = [NodeAddress(f"n{i}", f"10.9.0.{10 + i}") for i in (1, 2, 3)]
SENTINELS = [NodeAddress(f"n{i}", f"10.9.0.{10 + i}") for i in (4, 5, 6)]
PORT = 6379


def _primary(node: str, offset: int, *replicas: str) -> ServerState:
    info = {"role": "master", "connected_slaves": str(len(replicas)), "master_repl_offset": str(offset)}
    for i, host in enumerate(replicas):
        info[f"slave{i}"] = f"ip={host},port=6379,state=online,offset={offset},lag=0"
    return ServerState(node, info)


def _replica(node: str, of: str, offset: int, link: str = "up") -> ServerState:
    return ServerState(node, {"role": "slave", "master_host": of, "master_port": "6379",
                              "master_link_status": link, "slave_repl_offset": str(offset)})


def _sentinel(node: str, primary: str | None, epoch: int | None, flags: str = "master") -> SentinelState:
    return SentinelState(node, f"{primary}:6379" if primary else None, config_epoch=epoch, flags=flags)


def test_batch_replies_one_json_line_per_command() -> None:
    out = batch_replies('["10.9.0.12","6379"]\n{"name":"gbench","config-epoch":"3"}\n', "", 2)
    assert out == [["10.9.0.12", "6379"], {"name": "gbench", "config-epoch": "3"}]
    nil, err = batch_replies('null\nerror:"ERR No such master with that name"\n', "", 2)
    assert nil is None and isinstance(err, RuntimeError) and str(err) == "ERR No such master with that name"
    # redis-cli exits 0 in this mode when it cannot connect: the complaint is on stderr only
    with pytest.raises(RuntimeError, match="^Could not connect to Redis at 10.9.0.14:26379: Connection refused$"):
        batch_replies("", "Could not connect to Redis at 10.9.0.14:26379: Connection refused\n" * 2, 2)
    with pytest.raises(RuntimeError, match="^redis-cli printed 1 replies for 2 commands$"):
        batch_replies("null\n", "", 2)
    with pytest.raises(RuntimeError, match="not JSON"):
        batch_replies("null\n(nil)\n", "", 2)


def test_a_sentinels_state_from_its_two_replies() -> None:
    resp3 = {"name": "gbench", "ip": "10.9.0.11", "port": "6379", "flags": "master,s_down,o_down,failover_in_progress",
             "config-epoch": "2"}
    assert sentinel_from_replies("n4", ["10.9.0.12", "6379"], resp3) == SentinelState(
        "n4", "10.9.0.12:6379", config_epoch=2, flags="master,s_down,o_down,failover_in_progress")
    resp2 = ["name", "gbench", "flags", "master", "config-epoch", "0"]
    assert sentinel_from_replies("n5", ["10.9.0.11", "6379"], resp2) == SentinelState(
        "n5", "10.9.0.11:6379", config_epoch=0, flags="master")
    assert sentinel_from_replies("n6", None, RuntimeError("ERR No such master with that name")) == SentinelState(
        "n6", error="ERR No such master with that name")
    assert sentinel_from_replies("n6", None, {"name": "gbench"}) == SentinelState("n6")


def test_member_status_of_a_healthy_cluster() -> None:
    states = {"n1": _primary("n1", 500, "10.9.0.12", "10.9.0.13"), "n2": _replica("n2", "10.9.0.11", 500),
              "n3": _replica("n3", "10.9.0.11", 480, "down")}
    views = {s.name: _sentinel(s.name, "10.9.0.11", 0) for s in SENTINELS}
    assert member_statuses(SERVERS, SENTINELS, states, views, PORT) == {
        "n1": {"role": "primary", "leader": "n1", "is_leader": True, "term": 0, "offset": 500, "link": None},
        "n2": {"role": "replica", "leader": "n1", "is_leader": False, "term": 0, "offset": 500, "link": "up"},
        "n3": {"role": "replica", "leader": "n1", "is_leader": False, "term": 0, "offset": 480, "link": "down"},
        "n4": {"leader": "n1", "is_leader": False, "term": 0, "flags": "master"},
        "n5": {"leader": "n1", "is_leader": False, "term": 0, "flags": "master"},
        "n6": {"leader": "n1", "is_leader": False, "term": 0, "flags": "master"},
    }


def test_member_status_during_a_split_brain() -> None:
    """n1 cut off and still master; the Sentinels promoted n2 in epoch 2 (one of them has not
    heard yet and still names n1 in epoch 0); n3 follows n2; n6 does not answer."""
    states = {"n1": _primary("n1", 9000), "n2": _primary("n2", 7000, "10.9.0.13"),
              "n3": _replica("n3", "10.9.0.12", 7000)}
    views = {"n4": _sentinel("n4", "10.9.0.12", 2), "n5": _sentinel("n5", "10.9.0.11", 0, "master,s_down"),
             "n6": SentinelState("n6", error="redis-cli (...) timed out after 1s")}
    got = member_statuses(SERVERS, SENTINELS, states, views, PORT)
    assert got == {
        "n1": {"role": "primary", "leader": "n1", "is_leader": True, "term": 0, "offset": 9000, "link": None},
        "n2": {"role": "primary", "leader": "n2", "is_leader": True, "term": 2, "offset": 7000, "link": None},
        "n3": {"role": "replica", "leader": "n2", "is_leader": False, "term": 2, "offset": 7000, "link": "up"},
        "n4": {"leader": "n2", "is_leader": False, "term": 2, "flags": "master"},
        "n5": {"leader": "n1", "is_leader": False, "term": 0, "flags": "master,s_down"},
        "n6": None,
    }
    # once every Sentinel names n2, the deposed n1 has no term: it claims, but never outranks n2
    views["n5"] = _sentinel("n5", "10.9.0.12", 2)
    assert member_statuses(SERVERS, SENTINELS, states, views, PORT)["n1"]["term"] is None


def test_member_status_of_servers_that_name_no_known_primary_or_do_not_answer() -> None:
    states: dict[str, Any] = {"n1": ServerState("n1", error="Could not connect to Redis at 10.9.0.11:6379"),
                              "n2": _replica("n2", "10.9.0.11", 12, "down"), "n3": _replica("n3", "?", 0, "down")}
    views = {s.name: _sentinel(s.name, "10.9.0.99", 1) for s in SENTINELS}  # no server of the cluster
    assert member_statuses(SERVERS, SENTINELS, states, views, PORT) == {
        "n1": None,
        "n2": {"role": "replica", "leader": "n1", "is_leader": False, "term": None, "offset": 12, "link": "down"},
        "n3": {"role": "replica", "leader": None, "is_leader": False, "term": None, "offset": 0, "link": "down"},
        "n4": {"leader": None, "is_leader": False, "term": 1, "flags": "master"},
        "n5": {"leader": None, "is_leader": False, "term": 1, "flags": "master"},
        "n6": {"leader": None, "is_leader": False, "term": 1, "flags": "master"},
    }


def test_readiness_expects_the_primary_the_sentinels_name() -> None:
    fresh = {"n1": _primary("n1", 0), "n2": _replica("n2", "10.9.0.11", 0), "n3": _replica("n3", "10.9.0.11", 0)}
    on = {s.name: _sentinel(s.name, "10.9.0.11", 0) for s in SENTINELS}
    assert expected_primary(SERVERS, fresh, on, PORT).name == "n1"
    # after a failover: n3 promoted, two of three Sentinels say so, the third does not answer
    after = {"n4": _sentinel("n4", "10.9.0.13", 1), "n5": _sentinel("n5", "10.9.0.13", 1),
             "n6": SentinelState("n6", error="timed out")}
    assert expected_primary(SERVERS, fresh, after, PORT).name == "n3"
    # a tie goes to the first in node order
    tie = {"n4": _sentinel("n4", "10.9.0.13", 1), "n5": _sentinel("n5", "10.9.0.12", 1)}
    assert expected_primary(SERVERS, fresh, tie, PORT).name == "n2"
    # no Sentinel names a server: the only one that says master, else n1
    none = {s.name: SentinelState(s.name, error="refused") for s in SENTINELS}
    moved = {"n1": _replica("n1", "10.9.0.12", 0), "n2": _primary("n2", 0), "n3": _replica("n3", "10.9.0.12", 0)}
    assert expected_primary(SERVERS, moved, none, PORT).name == "n2"
    assert expected_primary(SERVERS, {**moved, "n1": _primary("n1", 0)}, none, PORT).name == "n1"
    assert expected_primary(SERVERS, {}, {}, PORT).name == "n1"
