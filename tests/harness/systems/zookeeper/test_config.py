"""zoo.cfg, myid, logback.xml and the JVM options: exact text for a 3-node cluster, and the
refusals of a bad configuration."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.providers.base import NodeAddress
from harness.systems.zookeeper.config import (ZooKeeperConfig, jvm_args, logback_xml, server_ids, write_node_files,
                                              zoo_cfg)

CLUSTER = [NodeAddress("n1", "198.18.7.11"), NodeAddress("n2", "198.18.7.12"), NodeAddress("n3", "198.18.7.13")]


def test_zoo_cfg_of_the_second_node() -> None:
    assert zoo_cfg(ZooKeeperConfig(), CLUSTER[1], CLUSTER, Path("/d/n2")) == """\
# n2 of a 3-node ZooKeeper cluster; written by harness/systems/zookeeper/config.py
tickTime=1000
initLimit=10
syncLimit=5
minSessionTimeout=2000
maxSessionTimeout=20000
dataDir=/d/n2
clientPort=2181
clientPortAddress=198.18.7.12
maxClientCnxns=0
forceSync=yes
snapCount=100000
preAllocSize=65536
autopurge.purgeInterval=0
localSessionsEnabled=false
localSessionsUpgradingEnabled=false
standaloneEnabled=false
reconfigEnabled=false
quorumListenOnAllIPs=false
4lw.commands.whitelist=ruok,srvr,mntr,stat,conf
admin.enableServer=true
admin.serverAddress=198.18.7.12
admin.serverPort=8080
server.1=198.18.7.11:2888:3888
server.2=198.18.7.12:2888:3888
server.3=198.18.7.13:2888:3888
"""


def test_peers_are_dialled_by_their_peer_host_when_a_provider_gives_one() -> None:
    cluster = [NodeAddress("n1", "10.0.0.1", peer_host="n1"), NodeAddress("n2", "10.0.0.2", peer_host="n2")]
    text = zoo_cfg(ZooKeeperConfig(tick_time_ms=500), cluster[0], cluster, Path("/d"))
    assert "server.1=n1:2888:3888\nserver.2=n2:2888:3888\n" in text
    assert "clientPortAddress=10.0.0.1\n" in text and "minSessionTimeout=1000\nmaxSessionTimeout=10000\n" in text


def test_local_sessions_are_written_out_on_and_off() -> None:
    on = zoo_cfg(ZooKeeperConfig(local_sessions=True), CLUSTER[0], CLUSTER, Path("/d"))
    assert "localSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true\n" in on
    assert "localSessionsEnabled=false" not in on
    assert ZooKeeperConfig().as_dict()["local_sessions"] is False
    assert ZooKeeperConfig(local_sessions=True).as_dict()["local_sessions"] is True


def test_node_files_and_myid_survive_a_rewrite(tmp_path: Path) -> None:
    assert server_ids(CLUSTER) == {"n1": 1, "n2": 2, "n3": 3}
    cfg = write_node_files(ZooKeeperConfig(), CLUSTER[2], CLUSTER, tmp_path)
    assert cfg == tmp_path / "conf" / "zoo.cfg" and cfg.read_text().startswith("# n3 of a 3-node")
    assert (tmp_path / "myid").read_text() == "3\n"
    assert (tmp_path / "conf" / "logback.xml").read_text() == logback_xml("INFO")
    (tmp_path / "myid").write_text("3\n")  # a restart rewrites the config, never the identity
    write_node_files(ZooKeeperConfig(), CLUSTER[0], CLUSTER, tmp_path)
    assert (tmp_path / "myid").read_text() == "3\n"


def test_logback_quiets_only_the_four_letter_word_loggers() -> None:
    xml = logback_xml("DEBUG")
    assert '<root level="DEBUG">' in xml
    assert '<logger name="org.apache.zookeeper.server.NIOServerCnxn" level="WARN"/>' in xml
    assert '<logger name="org.apache.zookeeper.server.command" level="WARN"/>' in xml


def test_jvm_options() -> None:
    assert jvm_args(ZooKeeperConfig(heap="128m"), Path("/d/n1")) == [
        "-Xms128m", "-Xmx128m", "-XX:+ExitOnOutOfMemoryError", "-Djava.net.preferIPv4Stack=true",
        "-Dreadonlymode.enabled=true", "-Dzookeeper.log.dir=/d/n1", "-Dlogback.configurationFile=/d/n1/conf/logback.xml"]
    off = jvm_args(ZooKeeperConfig(read_only_mode=False), Path("/d/n1"))
    assert "-Dreadonlymode.enabled=false" in off and "-Dreadonlymode.enabled=true" not in off
    assert ZooKeeperConfig().as_dict()["read_only_mode"] is True


@pytest.mark.parametrize("kw, field, reason", [
    ({"tick_time_ms": 0}, "tick_time_ms", "must be positive, got 0"),
    ({"sync_limit": -1}, "sync_limit", "must be positive, got -1"),
    ({"client_port": 70000}, "client_port", "70000 is not a TCP port"),
    ({"admin_port": 2181}, "client_port", "ports must differ"),
    ({"max_client_cnxns": -1}, "max_client_cnxns", "must be >= 0 (0 = no limit)"),
    ({"four_letter_words": ("ruok", "stat")}, "four_letter_words", "the harness needs ['mntr', 'srvr'] whitelisted"),
    ({"log_level": "LOUD"}, "log_level", "'LOUD' is not a logback level"),
])
def test_bad_settings_are_refused(kw: dict, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        ZooKeeperConfig(**kw)
    assert (e.value.file, e.value.field) == ("ZooKeeperConfig", field) and reason in e.value.reason


def test_as_dict_names_the_derived_timeouts() -> None:
    d = ZooKeeperConfig().as_dict()
    assert (d["min_session_timeout_ms"], d["max_session_timeout_ms"], d["jute_maxbuffer"]) == (2000, 20000, 1048575)
    assert d["four_letter_words"] == ["ruok", "srvr", "mntr", "stat", "conf"]
