"""The Redis system's configuration and cluster shape, checked before anything starts (no processes)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError


def test_the_cluster_shape_is_checked_before_anything_starts() -> None:
    from harness.providers.base import NodeAddress
    from harness.systems.redis import RedisBinaries, RedisConfig, RedisSystem

    system = RedisSystem(RedisBinaries(Path("s"), Path("t"), Path("c"), "7.0.15", ""), RedisConfig(sentinels=3))
    with pytest.raises(ConfigError, match="3 nodes leave no Redis server"):
        system.stages([NodeAddress(f"n{i}", f"10.0.0.{i}") for i in (1, 2, 3)])
    with pytest.raises(ConfigError, match="quorum"):
        RedisConfig(sentinels=3, quorum=4)
    with pytest.raises(ConfigError, match="RedisConfig.appendonly"):
        RedisConfig(extra={"appendonly": "yes"})
    with pytest.raises(ConfigError, match="harness's own"):
        RedisConfig(extra={"bind": "0.0.0.0"})
    with pytest.raises(ConfigError, match="not a Redis memory size"):
        RedisConfig(extra={"proto-max-bulk-len": "lots"})


def _system(**cfg: Any) -> Any:
    from harness.systems.redis import RedisBinaries, RedisConfig, RedisSystem

    return RedisSystem(RedisBinaries(Path("/usr/bin/redis-server"), Path("/usr/bin/redis-sentinel"),
                                     Path("/usr/bin/redis-cli"), "7.0.15", ""), RedisConfig(**cfg))


def test_launch_writes_each_nodes_file_once_and_names_the_binary(tmp_path: Path) -> None:
    from harness.providers.base import NodeAddress

    system = _system(sentinels=3, appendonly=True, extra={"maxmemory": "100mb"})
    addrs = [NodeAddress(f"n{i}", f"10.9.0.{10 + i}") for i in range(1, 7)]
    assert [(s.role, s.nodes) for s in system.stages(addrs)] == [
        ("primary", ("n1",)), ("replica", ("n2", "n3")), ("sentinel", ("n4", "n5", "n6"))]
    primary = system.launch(addrs[0], addrs, tmp_path / "n1")
    replica = system.launch(addrs[1], addrs, tmp_path / "n2")
    sentinel = system.launch(addrs[4], addrs, tmp_path / "n5")
    assert primary.argv == ["/usr/bin/redis-server", str(tmp_path / "n1" / "redis.conf")]
    assert sentinel.argv == ["/usr/bin/redis-sentinel", str(tmp_path / "n5" / "sentinel.conf")]
    p, r = (Path(x.argv[1]).read_text().splitlines() for x in (primary, replica))
    assert "replicaof 10.9.0.11 6379" in r and not any(line.startswith("replicaof") for line in p)
    for line in ("bind 10.9.0.12", "port 6379", f"dir {tmp_path / 'n2'}", 'save ""', "appendonly yes",
                 "repl-diskless-sync-delay 0", "replica-announce-ip 10.9.0.12", 'logfile ""', "maxmemory 100mb"):
        assert line in r
    s = Path(sentinel.argv[1]).read_text().splitlines()
    for line in ("port 26379", "bind 10.9.0.15", "sentinel announce-ip 10.9.0.15",
                 "sentinel monitor gbench 10.9.0.11 6379 2", "sentinel down-after-milliseconds gbench 1000",
                 "sentinel failover-timeout gbench 10000", "sentinel parallel-syncs gbench 1"):
        assert line in s
    # a file the node (or Sentinel's CONFIG REWRITE) has rewritten is kept by a later launch
    Path(replica.argv[1]).write_text("replicaof 10.9.0.13 6379\n")
    system.launch(addrs[1], addrs, tmp_path / "n2")
    assert Path(replica.argv[1]).read_text() == "replicaof 10.9.0.13 6379\n"


def test_value_limit_quorum_and_quoting() -> None:
    from harness.systems.redis.system import conf_value

    assert _system().max_value_bytes == 512 * 1024 * 1024
    assert _system(extra={"proto-max-bulk-len": "1mb"}).max_value_bytes == 1024 * 1024
    assert _system(extra={"proto-max-bulk-len": "2k"}).value_limit_reason() == "proto-max-bulk-len 2k (RedisConfig.extra)"
    assert _system(sentinels=5).config.sentinel_quorum == 3 and _system(sentinels=5, quorum=2).config.sentinel_quorum == 2
    assert _system(sentinels=0).config_dict()["quorum_effective"] is None
    assert [conf_value(v) for v in ("", "a b", 'x"y', "/d/n1")] == ['""', '"a b"', '"x\\"y"', "/d/n1"]
