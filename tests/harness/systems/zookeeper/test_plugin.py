"""The registry's view of ZooKeeper: its levels and their classes, no options, no image."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.api import Facts, ImageSpec, MemberStatus, Metrics, Primary
from harness.errors import ConfigError
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


def test_options_block_read_only_and_its_local_image() -> None:
    from harness.systems.zookeeper.options import ZooKeeperOptions

    p = system_plugin("zookeeper")
    assert p.options_field == "zookeeper"
    assert p.parse_options("w.yaml", None) is None and p.parse_options("w.yaml", {}) is None
    ro = p.parse_options("w.yaml", {"read_only": True})
    assert ro == ZooKeeperOptions(read_only=True) and ro.to_dict() == {"read_only": True} and ro.write_level is None
    assert p.parse_options("w.yaml", {"read_only": False}) == ZooKeeperOptions(read_only=False)
    with pytest.raises(ConfigError) as e:
        p.parse_options("w.yaml", {"session_timeout": 5})
    assert (e.value.file, e.value.field) == ("w.yaml", "zookeeper.session_timeout")
    with pytest.raises(ConfigError) as e:
        p.parse_options("w.yaml", {"read_only": "yes"})
    assert (e.value.file, e.value.field) == ("w.yaml", "zookeeper.read_only")
    assert "must be true or false, got 'yes'" in e.value.reason
    assert p.image("3.9.5") == ImageSpec("gbench/zookeeper:3.9.5-local", None, "java", {"lib": "/opt/zookeeper/lib"},
                                        probe=("java", "-version"))
    assert p.peer_tools == ()


def test_read_only_reaches_the_client_only_when_the_workload_asks() -> None:
    from harness.systems.zookeeper.options import ZooKeeperOptions

    p = system_plugin("zookeeper")
    load = SimpleNamespace(op_timeout_s=2.0)
    for options, expected in ((None, False), (ZooKeeperOptions(read_only=False), False),
                              (ZooKeeperOptions(read_only=True), True)):
        client = p.make_client(SimpleNamespace(value_size=64, load=load, options=options), "127.0.0.1:2181")
        try:
            assert (client.read_only, client._zk.read_only) == (expected, expected)
        finally:
            client.close_blocking()


def test_local_sessions_only_for_a_run_with_a_read_only_workload() -> None:
    """A read-only server creates no global session (ZOOKEEPER-3864), so the servers of a run
    whose clients accept one start with local sessions; every other run keeps global ones."""
    from harness.api import SystemForWorkloads
    from harness.systems.zookeeper.options import ZooKeeperOptions

    p = system_plugin("zookeeper")
    assert isinstance(p, SystemForWorkloads)
    assert not isinstance(system_plugin("etcd"), SystemForWorkloads)
    ro, plain = SimpleNamespace(options=ZooKeeperOptions(read_only=True)), SimpleNamespace(options=None)
    for workloads, expected in (([], False), ([plain], False),
                                ([plain, SimpleNamespace(options=ZooKeeperOptions(read_only=False))], False),
                                ([plain, ro], True)):
        system = p.make_system_for(workloads)
        assert system.config.local_sessions is expected
        assert system.config_dict()["local_sessions"] is expected
        assert system.version() == p.make_system().version()


def test_a_workload_file_with_a_bad_zookeeper_block_is_refused_naming_the_field(tmp_path: Path) -> None:
    from harness.workload.spec import load_workload

    base = ("name: w\nsystem: zookeeper\nduration_s: 5\nmix: {get: 1}\n")
    good = tmp_path / "good.yaml"
    good.write_text(base + "zookeeper: {read_only: true}\n")
    w = load_workload(good)
    assert w.options.read_only is True and w.to_dict()["zookeeper"] == {"read_only": True}
    for body, field in (("zookeeper: {read_only: 1}\n", "zookeeper.read_only"),
                        ("zookeeper: {readonly: true}\n", "zookeeper.readonly"),
                        ("zookeeper: true\n", "zookeeper")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(base + body)
        with pytest.raises(ConfigError) as e:
            load_workload(bad)
        assert (e.value.file, e.value.field) == (str(bad), field)
    cassandra = tmp_path / "c.yaml"
    cassandra.write_text("name: w\nsystem: cassandra\nduration_s: 5\nzookeeper: {read_only: true}\n")
    with pytest.raises(ConfigError) as e:
        load_workload(cassandra)
    assert e.value.field == "zookeeper" and "zookeeper options on a 'cassandra' workload" in e.value.reason


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
