"""Workload files: every bad input is one ConfigError naming file, field and reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.workload.spec import check_against_system, load_workload

GOOD = """
name: t
keys: {count: 10}
value_size: 256
mix: {put: 1, get: 1}
load: {mode: closed, concurrency: 4}
duration_s: 1
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "w.yaml"
    p.write_text(text)
    return p


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load_workload(write(tmp_path, text))
    return ei.value


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD))
    assert (w.name, w.nodes, w.keys.count, w.read_consistency, w.load.concurrency) == ("t", 5, 10, "linearizable", 4)
    assert len(w.sha256) == 64


def test_every_shipped_workload_is_valid() -> None:
    root = Path(__file__).resolve().parents[3] / "workloads"
    files = sorted(root.glob("*.yaml"))
    assert files
    for f in files:
        load_workload(f)


@pytest.mark.parametrize("text, field, reason", [
    ("name: t\nduration_s: [1\n", "(syntax)", "malformed YAML"),
    (GOOD + "colour: red\n", "colour", "unknown field"),
    (GOOD.replace("keys: {count: 10}", "keys: {count: 10, shape: round}"), "keys.shape", "unknown field"),
    (GOOD + "nodes: 0\n", "nodes", "must be >= 1"),
    (GOOD.replace("mode: closed", "mode: open, rate_ops_s: -5"), "load.rate_ops_s", "must be > 0"),
    (GOOD.replace("mode: closed", "mode: open"), "load.rate_ops_s", "required for open-loop"),
    (GOOD + "read_consistency: eventual\n", "read_consistency", "unknown read consistency 'eventual'"),
    (GOOD.replace("duration_s: 1", ""), "duration_s", "required"),
    (GOOD.replace("{put: 1, get: 1}", "{put: 0}"), "mix", "at least one operation"),
    (GOOD + "clients: {pin: [n1, n9]}\n", "clients.pin", "unknown node 'n9'"),
    (GOOD.replace("count: 10", "count: ten"), "keys.count", "must be an integer"),
    ("- just\n- a list\n", "(top level)", "must be a YAML mapping"),
])
def test_bad_input_names_file_field_reason(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert e.field == field
    assert reason in e.reason
    assert str(tmp_path / "w.yaml") in str(e)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_workload(tmp_path / "nope.yaml")
    assert ei.value.field == "(file)"


def test_value_larger_than_system_limit(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD.replace("value_size: 256", "value_size: 2000000")))
    with pytest.raises(ConfigError) as ei:
        check_against_system(w, 1_572_864 - 512)
    assert ei.value.field == "value_size" and "exceeds etcd's request limit" in ei.value.reason


def test_overrides_are_validated(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD))
    assert w.with_overrides(nodes=3, duration_s=2.5).nodes == 3
    with pytest.raises(ConfigError):
        w.with_overrides(nodes=0)


CASS = "name: c\nsystem: cassandra\nnodes: 3\nduration_s: 1\n"


def test_cassandra_defaults_and_levels(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, CASS))
    assert (w.read_consistency, w.write_consistency) == ("QUORUM", "QUORUM")
    assert w.cassandra is not None and w.cassandra.replication_factor == 3
    w = load_workload(write(tmp_path, CASS + "read_consistency: SERIAL\ncassandra: {write_consistency: ONE}\n"))
    assert (w.read_consistency, w.write_consistency) == ("SERIAL", "ONE")
    assert load_workload(write(tmp_path, GOOD)).write_consistency is None  # etcd has no write level


@pytest.mark.parametrize("extra, field, reason", [
    ("cassandra: {replication_factor: 1}\nread_consistency: QUORUM\ncassandra_x: 1\n", "cassandra_x", "unknown field"),
    ("read_consistency: linearizable\n", "read_consistency", "unknown read consistency"),
    ("cassandra: {replication_factor: 2, write_consistency: THREE}\n", "cassandra.write_consistency",
     "THREE needs 3 replicas but replication_factor is 2"),
    ("cassandra: {replication_factor: 4}\n", "cassandra.replication_factor", "the cluster has 3"),
    ("cassandra: {write_consistency: SERIAL}\n", "cassandra.write_consistency", "is not a write consistency level"),
    ("cassandra: {serial_consistency: QUORUM}\n", "cassandra.serial_consistency", "is not a serial consistency level"),
    ("cassandra: {consistency: ONE}\n", "cassandra.consistency", "unknown field"),
    ("cassandra: {routing: random}\n", "cassandra.routing", "must be pinned or token-aware"),
])
def test_cassandra_bad_levels(tmp_path: Path, extra: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, CASS + extra)
    assert e.field == field and reason in str(e), str(e)


def test_cassandra_options_on_etcd_are_rejected(tmp_path: Path) -> None:
    e = error_of(tmp_path, GOOD + "cassandra: {replication_factor: 3}\n")
    assert e.field == "cassandra" and "etcd" in str(e)
