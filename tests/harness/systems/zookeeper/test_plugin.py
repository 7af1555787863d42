"""The registry's view of ZooKeeper: its levels and their classes, no options, no image."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.api import Facts, MemberStatus, Metrics, Primary
from harness.errors import ConfigError, EnvironmentProblem
from harness.registry import default_read_level, level_class, read_levels, system_plugin


def test_levels_and_classes() -> None:
    assert read_levels("zookeeper") == ("plain", "sync")
    assert default_read_level("zookeeper") == "plain"
    assert level_class("plain", "zookeeper") == "session"
    assert level_class("sync", "zookeeper") == "strong"
    assert level_class(None, "zookeeper") == "session"
    assert [lv.kind for lv in system_plugin("zookeeper").levels] == ["read", "read"]  # writes have no level
    with pytest.raises(ConfigError, match="unknown level 'linearizable' for zookeeper"):
        level_class("linearizable", "zookeeper")


def test_no_options_block_and_no_image() -> None:
    p = system_plugin("zookeeper")
    assert p.parse_options("w.yaml", None) is None and p.parse_options("w.yaml", {}) is None
    with pytest.raises(ConfigError) as e:
        p.parse_options("w.yaml", {"session_timeout": 5})
    assert (e.value.file, e.value.field) == ("w.yaml", "zookeeper")
    with pytest.raises(EnvironmentProblem, match="--provider netns"):
        p.image("3.9.5")
    assert p.peer_tools == () and p.options_field is None


def test_the_system_has_the_capabilities_the_harness_looks_for_and_launches_quorumpeermain(tmp_path: Path) -> None:
    from harness.providers.base import NodeAddress
    from harness.systems.zookeeper.distribution import ZooKeeperDistribution
    from harness.systems.zookeeper.system import ZooKeeperSystem

    jars = (tmp_path / "lib" / "a.jar", tmp_path / "lib" / "zookeeper-3.9.5.jar")
    dist = ZooKeeperDistribution(tmp_path / "lib", jars, jars[1], "3.9.5", "293c895")
    system = ZooKeeperSystem(dist, SimpleNamespace(path=Path("/usr/bin/java"), version="17.0.15"))
    assert [isinstance(system, cap) for cap in (Primary, MemberStatus, Metrics, Facts)] == [True] * 4
    assert (system.name, system.client_port, system.peer_port, system.max_value_bytes) == \
        ("zookeeper", 2181, 2888, 1048575 - 1024)
    cluster = [NodeAddress("n1", "198.18.7.11"), NodeAddress("n2", "198.18.7.12")]
    launch = system.launch(cluster[1], cluster, tmp_path / "n2")
    assert launch.argv[0] == "/usr/bin/java" and launch.argv[1:3] == ["-Xms256m", "-Xmx256m"]
    assert launch.argv[-2:] == ["org.apache.zookeeper.server.quorum.QuorumPeerMain", str(tmp_path / "n2/conf/zoo.cfg")]
    assert launch.argv[launch.argv.index("-cp") + 1] == f"{jars[0]}:{jars[1]}"
    assert (tmp_path / "n2" / "myid").read_text() == "2\n" and launch.data_dir == tmp_path / "n2"
    facts = system.config_dict()
    assert (facts["version"], facts["build"], facts["java_version"], facts["tick_time_ms"]) == \
        ("3.9.5", "293c895", "17.0.15", 1000)
