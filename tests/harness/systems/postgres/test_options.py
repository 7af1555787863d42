"""The postgres: block, the plugin's level pairs, the client's connection strings and error
classes: pure logic, exact values."""
from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pgerr

from harness.errors import ConfigError
from harness.systems.postgres.client import classify_error, conninfo
from harness.systems.postgres.options import PostgresOptions, options_problem, parse_options
from harness.systems.postgres.plugin import PLUGIN


def test_defaults_are_postgresqls_own() -> None:
    o = parse_options("w.yaml", None)
    assert o == PostgresOptions("on", 0, False) and o.write_level == "on"
    assert o.standby_names(["n2", "n3"]) == ""
    assert PostgresOptions("remote_apply", 2).standby_names(["n2", "n3"]) == "ANY 2 (n2, n3)"


@pytest.mark.parametrize("data, field, reason", [
    ({"synchronous_commit": True}, "postgres.synchronous_commit",
     "must be one of off, local, remote_write, on, remote_apply, got true (quote it: YAML reads a bare on/off as "
     "true/false)"),
    ({"synchronous_commit": "sync"}, "postgres.synchronous_commit",
     "must be one of off, local, remote_write, on, remote_apply, got 'sync'"),
    ({"synchronous_standbys": -1}, "postgres.synchronous_standbys",
     "must be >= 0 (an integer in [0, 98] standbys), got -1"),
    ({"hot_standby_feedback": "on"}, "postgres.hot_standby_feedback",
     "must be true or false, got 'on' (yes/no/on/off are not booleans here)"),
])
def test_bad_values_name_the_field(data: dict, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_options("w.yaml", data)
    assert (e.value.file, e.value.field, e.value.reason) == ("w.yaml", field, reason)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError) as e:
        parse_options("w.yaml", {"sync_commit": "on"})
    assert (e.value.file, e.value.field) == ("w.yaml", "postgres.sync_commit")


def test_impossible_settings_are_refused_with_the_reason() -> None:
    assert options_problem(PostgresOptions("remote_apply", 0), 3) == (
        "postgres.synchronous_commit", "remote_apply waits for synchronous standbys and synchronous_standbys is 0 "
        "(PostgreSQL would quietly commit as local); set synchronous_standbys")
    assert options_problem(PostgresOptions("on", 3), 3) == (
        "postgres.synchronous_standbys", "3 synchronous standbys, and a cluster of 3 node(s) has 2 standby(s): every "
        "commit would wait forever")
    assert options_problem(PostgresOptions("on", 2), 3) is None
    assert options_problem(PostgresOptions("on", 0), 1) is None  # a lone primary, PostgreSQL's default


def test_level_pairs_for_the_visibility_probe() -> None:
    assert PLUGIN.level_pair_options("remote_apply", 3) == PostgresOptions("remote_apply", 2)
    assert PLUGIN.level_pair_options("on", 1) == PostgresOptions("on", 0)
    assert PLUGIN.level_pair_problem("remote_apply", "replica", 2) is None
    assert PLUGIN.level_pair_problem("remote_write", "replica", 1) == (
        "remote_write at replication factor 1: remote_write waits for synchronous standbys and synchronous_standbys "
        "is 0 (PostgreSQL would quietly commit as local); set synchronous_standbys")
    assert PLUGIN.level_pair_problem("ONE", "replica", 1) == (
        "unknown PostgreSQL write level 'ONE' (known: off, local, remote_write, on, remote_apply)")
    assert PLUGIN.level_pair_problem("on", "sync", 1) == "unknown PostgreSQL read level 'sync' (known: primary, replica)"


def test_connection_strings() -> None:
    assert conninfo(["10.0.0.11:5432", "10.0.0.12:5433"], read_write=True, synchronous_commit="remote_apply",
                    connect_timeout_s=2.0) == (
        "host='10.0.0.11,10.0.0.12' port='5432,5433' user='postgres' dbname='postgres' connect_timeout='2' "
        "application_name='gbench-client' target_session_attrs='read-write' options='-c synchronous_commit=remote_apply'")
    assert conninfo(["h:1"], read_write=False, synchronous_commit=None, connect_timeout_s=0.2) == (
        "host='h' port='1' user='postgres' dbname='postgres' connect_timeout='1' application_name='gbench-client' "
        "target_session_attrs='any'")


@pytest.mark.parametrize("exc, in_flight, outcome", [
    (pgerr.ReadOnlySqlTransaction("x"), True, ("fail", "read_only")),
    (pgerr.SerializationFailure("x"), True, ("fail", "recovery_conflict")),
    (pgerr.AdminShutdown("x"), True, ("info", "server_shutdown")),
    (psycopg.OperationalError("x"), True, ("info", "connection_lost")),
    (psycopg.OperationalError("x"), False, ("fail", "not_connected")),
    (pgerr.UniqueViolation("x"), True, ("fail", "sqlstate_23505")),
    (RuntimeError("x"), True, ("info", "runtimeerror")),
])
def test_errors_are_fail_only_when_certainly_not_applied(exc: BaseException, in_flight: bool,
                                                        outcome: tuple[str, str]) -> None:
    o = classify_error(exc, in_flight)
    assert (o.type, o.error) == outcome


def test_the_promote_target_is_the_standby_with_the_most_wal() -> None:
    from harness.systems.postgres.failover import most_advanced, target_problem

    assert most_advanced({"n2": 100, "n3": 250}) == "n3"
    assert most_advanced({"n2": 250, "n3": 250}) == "n2"  # a tie: the lower name
    assert most_advanced({"n2": None, "n3": 7}) == "n3"  # n2 did not answer
    assert most_advanced({"n2": None}) is None
    assert target_problem(None, ["n1", "n2"]) is None and target_problem("n2", ["n1", "n2"]) is None
    assert target_problem("n5", ["n1", "n2"]) == "must be most-advanced or a node name (n1, n2), got 'n5'"


def test_member_fields_from_a_status_row() -> None:
    from harness.systems.postgres.system import member_fields

    hosts = {"10.0.0.11": "n1", "10.0.0.12": "n2"}
    assert member_fields("n1", ["f", "67108864", "", "1", ""], hosts) == {
        "is_leader": True, "leader": "n1", "term": 1, "lsn": 67108864, "replay_delay_s": None}
    assert member_fields("n3", ["t", "67100000", "10.0.0.12", "2", "0.0125"], hosts) == {
        "is_leader": False, "leader": "n2", "term": 2, "lsn": 67100000, "replay_delay_s": 0.013}
    assert member_fields("n3", ["t", "", "", "", ""], hosts) == {  # a standby streaming from nobody yet
        "is_leader": False, "leader": None, "term": None, "lsn": None, "replay_delay_s": None}
