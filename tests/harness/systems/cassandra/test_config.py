"""cassandra.yaml generation, token layout and the launch argv, without starting anything."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError, EnvironmentProblem
from harness.providers.base import NodeAddress
from harness.systems.cassandra import jvm_options as jo
from harness.systems.cassandra.config import (MURMUR3_MIN, CassandraConfig, balanced_tokens, cassandra_yaml,
                                              logback_xml, yaml_settings)
from harness.systems.cassandra.distribution import (CassandraDistribution, JavaRuntime, find_cassandra, find_java,
                                                    read_jar_version)
from harness.systems.cassandra.system import CassandraSystem, parse_nodetool_status

#: Fields of org.apache.cassandra.config.Config in Cassandra 5.0.9 that config.py may write
#: (checked against the 5.0.9 sources; Cassandra refuses unknown keys at start-up).
CONFIG_FIELDS_5_0 = {
    "cluster_name", "num_tokens", "allocate_tokens_for_local_replication_factor", "initial_token", "auto_bootstrap",
    "partitioner", "seed_provider", "listen_address", "rpc_address", "storage_port", "native_transport_port",
    "start_native_transport", "endpoint_snitch", "data_file_directories", "commitlog_directory", "hints_directory",
    "saved_caches_directory", "cdc_raw_directory", "commitlog_sync", "commitlog_sync_period",
    "commitlog_sync_group_window", "concurrent_reads", "concurrent_writes", "concurrent_counter_writes",
    "concurrent_materialized_view_writes", "concurrent_compactors", "memtable_flush_writers",
    "native_transport_max_threads", "read_request_timeout", "write_request_timeout", "range_request_timeout",
    "counter_write_request_timeout", "cas_contention_timeout", "truncate_request_timeout", "request_timeout",
    "hinted_handoff_enabled", "max_hint_window", "paxos_variant", "storage_compatibility_mode", "auto_snapshot",
    "authenticator", "authorizer",
}

NODES = [NodeAddress(f"n{i}", f"198.18.7.{10 + i}") for i in range(1, 6)]


def test_yaml_keys_are_5_0_config_fields(tmp_path: Path) -> None:
    for sync in ("periodic", "batch", "group"):
        s = yaml_settings(CassandraConfig(commitlog_sync=sync), NODES[0], NODES, tmp_path)
        assert set(s) <= CONFIG_FIELDS_5_0, set(s) - CONFIG_FIELDS_5_0


def test_yaml_content(tmp_path: Path) -> None:
    doc = yaml.safe_load(cassandra_yaml(CassandraConfig(), NODES[1], NODES, tmp_path))
    assert doc["listen_address"] == doc["rpc_address"] == "198.18.7.12"
    assert doc["num_tokens"] == 16 and doc["allocate_tokens_for_local_replication_factor"] == 3
    assert doc["seed_provider"][0]["parameters"][0]["seeds"] == ",".join(f"{n.host}:7000" for n in NODES)
    assert doc["commitlog_sync"] == "periodic" and doc["commitlog_sync_period"] == "10000ms"
    assert doc["native_transport_port"] == 9042 and doc["storage_port"] == 7000
    assert doc["endpoint_snitch"] == "SimpleSnitch" and doc["auto_snapshot"] is False
    for key in ("commitlog_directory", "hints_directory", "saved_caches_directory", "cdc_raw_directory"):
        assert doc[key].startswith(str(tmp_path))
    assert doc["data_file_directories"] == [str(tmp_path / "data")]
    assert len(doc["initial_token"].split(",")) == 16
    first_two = yaml.safe_load(cassandra_yaml(CassandraConfig(seeds=2), NODES[3], NODES, tmp_path))
    assert first_two["seed_provider"][0]["parameters"][0]["seeds"] == "198.18.7.11:7000,198.18.7.12:7000"
    alloc = yaml.safe_load(cassandra_yaml(CassandraConfig(token_assignment="allocate"), NODES[0], NODES, tmp_path))
    assert "initial_token" not in alloc


def test_balanced_tokens_partition_the_ring() -> None:
    n, t = 5, 16
    all_tokens = [tok for i in range(n) for tok in balanced_tokens(i, n, t)]
    assert len(set(all_tokens)) == n * t
    assert MURMUR3_MIN not in all_tokens
    assert all(MURMUR3_MIN < tok < 2**63 for tok in all_tokens)
    ring = sorted(all_tokens)
    gaps = {b - a for a, b in zip(ring, ring[1:])}
    assert len(gaps) == 1  # evenly spaced
    owners = [i for tok in ring for i in range(n) if tok in balanced_tokens(i, n, t)]
    assert owners == [k % n for k in range(n * t)]  # interleaved: n1 n2 n3 n4 n5 n1 ...


@pytest.mark.parametrize("kwargs", [
    {"commitlog_sync": "sometimes"}, {"token_assignment": "random"}, {"seeds": 0}, {"num_tokens": 0},
    {"jmx_port": 9042}, {"paxos_variant": "v3"}, {"log_level": "LOUD"},
])
def test_bad_config(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        CassandraConfig(**kwargs)


def test_logback_writes_to_stdout() -> None:
    x = logback_xml("debug")
    assert "ch.qos.logback.core.ConsoleAppender" in x and 'level="DEBUG"' in x and "FileAppender" not in x


def _fake_dist(tmp_path: Path, version: str = "5.0.9") -> CassandraDistribution:
    lib = tmp_path / ".cache" / "cassandra" / version / "lib"
    lib.mkdir(parents=True)
    jar = lib / f"cassandra-all-{version}.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("org/apache/cassandra/config/version.properties", f"CassandraVersion={version}\nGitSHA=abc123\n")
    (lib / "jamm-0.4.0.jar").write_bytes(b"")
    (lib / ".complete").write_text("x\n")
    return find_cassandra(version, env={}, cache_root=tmp_path / ".cache" / "cassandra")


def _system(tmp_path: Path, **cfg: object) -> CassandraSystem:
    java = JavaRuntime(Path("/usr/bin/java"), "17.0.15", 17, True, "openjdk 17")
    return CassandraSystem(_fake_dist(tmp_path), java, CassandraConfig(jemalloc=False, **cfg))  # type: ignore[arg-type]


def test_launch_argv(tmp_path: Path) -> None:
    system = _system(tmp_path)
    data = tmp_path / "n2"
    data.mkdir()
    launch = system.launch(NODES[1], NODES, data)
    argv = launch.argv
    assert argv[0] == "/usr/bin/java" and argv[-1] == "org.apache.cassandra.service.CassandraDaemon"
    assert "cassandra-all-5.0.9.jar" in argv[argv.index("-cp") + 1]
    for opt in ("-Xms1G", "-Xmx1G", "-Xss256k", "-XX:+UseG1GC", "-Dcassandra-foreground=yes",
                "-Dcassandra.jmx.remote.port=7199", "-Dcom.sun.management.jmxremote.authenticate=false",
                "-Djava.rmi.server.hostname=198.18.7.12", "-Dcassandra.skip_wait_for_gossip_to_settle=0",
                "-Dcassandra.ring_delay_ms=10000", "-XX:OnOutOfMemoryError=kill -9 %p",
                "-Dio.netty.tryReflectionSetAccessible=true", "java.base/java.nio=ALL-UNNAMED",
                "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED"):
        assert opt in argv, opt
    assert any(a.startswith("-javaagent:") and a.endswith("jamm-0.4.0.jar") for a in argv)
    assert f"-Dcassandra.config={(data / 'conf' / 'cassandra.yaml').resolve().as_uri()}" in argv
    assert (data / "conf" / "cassandra.yaml").is_file() and (data / "conf" / "logback.xml").is_file()
    assert launch.env == {"MALLOC_ARENA_MAX": "4"}
    # the --add-exports/--add-opens pairs are split like the script's word splitting
    i = argv.index("--add-opens")
    assert "/" in argv[i + 1] and argv[i + 1].endswith("=ALL-UNNAMED")
    # same argv for the same node: restarts reuse it, and launch is idempotent
    assert system.launch(NODES[1], NODES, data).argv == argv


def test_launch_loopback_uses_local_jmx_and_jre_drops_jdk_modules(tmp_path: Path) -> None:
    system = _system(tmp_path, gc_log=False)
    system = CassandraSystem(system.distribution, JavaRuntime(Path("/jre/bin/java"), "17.0.1", 17, False, "jre"),
                             system.config)
    lo = NodeAddress("n1", "127.0.0.1")
    (tmp_path / "n1").mkdir()
    argv = system.launch(lo, [lo], tmp_path / "n1").argv
    assert "-Dcassandra.jmx.local.port=7199" in argv and not any("jmx.remote.port" in a for a in argv)
    assert not any(a.startswith(("jdk.compiler/", "jdk.attach/")) for a in argv)
    assert not any(a.startswith("-Xlog:gc") for a in argv)


def test_option_lines_are_faithful_words() -> None:
    words = jo.split_option_lines(jo.jvm17_server_option_lines(True))
    assert words.count("--add-exports") + words.count("--add-opens") == (
        sum(1 for ln in jo.jvm17_server_option_lines(True) if ln.startswith("--add-")))
    assert len(set(jo.jvm17_server_option_lines(True))) == len(jo.jvm17_server_option_lines(True))
    assert jo.TEST_CLUSTER_PROPERTIES["cassandra.ring_delay_ms"].default == "30000"


def test_missing_cache_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="harness/setup/cassandra/fetch.sh"):
        find_cassandra("5.0.9", env={}, cache_root=tmp_path)
    with pytest.raises(EnvironmentProblem, match="CASSANDRA_HOME"):
        find_cassandra(env={"CASSANDRA_HOME": str(tmp_path)})


def test_read_jar_version(tmp_path: Path) -> None:
    assert _fake_dist(tmp_path).version == "5.0.9"
    assert read_jar_version(_fake_dist(tmp_path / "x", "5.0.8").server_jar) == ("5.0.8", "abc123")


def test_java_11_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n')
    fake.chmod(0o755)
    with pytest.raises(EnvironmentProblem, match="needs Java 17"):
        find_java(env={"GBENCH_JAVA": str(fake)})


def test_parse_nodetool_status() -> None:
    out = """Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address      Load        Tokens  Owns (effective)  Host ID                               Rack
UN  198.18.7.11  104.34 KiB  16      60.0%             a7c0f2b6-0000-0000-0000-000000000001  rack1
DN  198.18.7.12  ?           16      60.0%             a7c0f2b6-0000-0000-0000-000000000002  rack1
UJ  198.18.7.13  80 KiB      16      ?                 a7c0f2b6-0000-0000-0000-000000000003  rack1
"""
    assert parse_nodetool_status(out) == {"198.18.7.11": "UN", "198.18.7.12": "DN", "198.18.7.13": "UJ"}


def test_cassandra_home_uses_its_lib_and_conf(tmp_path: Path) -> None:
    """A tarball layout: lib/apache-cassandra-<v>.jar, conf/jvm*-server.options, conf/hotspot_compiler."""
    home = tmp_path / "apache-cassandra-5.0.9"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    with zipfile.ZipFile(home / "lib" / "apache-cassandra-5.0.9.jar", "w") as z:
        z.writestr("org/apache/cassandra/config/version.properties", "CassandraVersion=5.0.9\n")
    (home / "lib" / "jamm-0.4.0.jar").write_bytes(b"")
    (home / "conf" / "jvm-server.options").write_text("# comment\n-ea\n#-Xmx4G\n-Xss512k\n")
    (home / "conf" / "jvm17-server.options").write_text("-XX:+UseG1GC\n--add-opens java.base/java.nio=ALL-UNNAMED\n")
    (home / "conf" / "hotspot_compiler").write_text("dontinline x\n")
    dist = find_cassandra(env={"CASSANDRA_HOME": str(home)})
    assert (dist.source, dist.version, dist.conf_dir) == ("cassandra-home", "5.0.9", home / "conf")
    java = JavaRuntime(Path("/usr/bin/java"), "17.0.15", 17, True, "openjdk 17")
    system = CassandraSystem(dist, java, CassandraConfig(jemalloc=False))
    (tmp_path / "n1").mkdir()
    argv = system.launch(NODES[0], NODES[:1], tmp_path / "n1").argv
    assert "-Xss512k" in argv and "-Xss256k" not in argv  # the home's options, not the built-in copy
    assert f"-XX:CompileCommandFile={home / 'conf' / 'hotspot_compiler'}" in argv
    assert "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED" in argv  # CASSANDRA-19001 lines added on a JDK
    assert "apache-cassandra-5.0.9.jar" in argv[argv.index("-cp") + 1]
    nt = system.nodetool_argv("198.18.7.11", "status")
    assert nt[-6:] == ["org.apache.cassandra.tools.NodeTool", "-h", "198.18.7.11", "-p", "7199", "status"]
    assert "-Xmx128m" in nt
