"""CassandraClient without a cluster: outcome classification and consistency/RF validation."""
from __future__ import annotations

import pytest

pytest.importorskip("cassandra")

from cassandra import (InvalidRequest, OperationTimedOut, ReadFailure, ReadTimeout, Unavailable,  # noqa: E402
                       WriteFailure, WriteTimeout)
from cassandra.cluster import NoHostAvailable  # noqa: E402
from cassandra.connection import ConnectionShutdown  # noqa: E402
from cassandra.policies import WriteType  # noqa: E402
from cassandra.protocol import ErrorMessage, IsBootstrappingErrorMessage, OverloadedErrorMessage, ServerError  # noqa: E402

from harness.errors import ConfigError  # noqa: E402
from harness.systems.cassandra.client import (CAS_WRITE_UNKNOWN_CODE, CassandraClient, ClientSettings,  # noqa: E402
                                              classify_error)


@pytest.mark.parametrize("exc, f, want", [
    (Unavailable("x", consistency=4, required_replicas=2, alive_replicas=1), "put", ("fail", "unavailable")),
    (Unavailable("x", consistency=4, required_replicas=2, alive_replicas=1), "get", ("fail", "unavailable")),
    # Paxos v1 can raise Unavailable from the commit phase, after the value was decided
    (Unavailable("x", consistency=4, required_replicas=2, alive_replicas=1), "cas", ("info", "unavailable")),
    (WriteTimeout("x", write_type=WriteType.SIMPLE), "put", ("info", "write_timeout_simple")),
    (WriteTimeout("x", write_type=WriteType.CAS), "cas", ("info", "write_timeout_cas")),
    (WriteFailure("x", write_type=WriteType.SIMPLE), "put", ("info", "write_failure")),
    (ReadTimeout("x", data_retrieved=False), "get", ("info", "read_timeout")),
    (ReadTimeout("x", data_retrieved=False), "cas", ("fail", "read_timeout")),
    (ReadFailure("x"), "get", ("fail", "read_failure")),
    (InvalidRequest("bad"), "put", ("fail", "invalidrequest")),
    (NoHostAvailable("none", {}), "put", ("fail", "no_host_available")),
    (OperationTimedOut(), "put", ("info", "client_timeout")),
    (OperationTimedOut(), "get", ("info", "client_timeout")),
    (ConnectionShutdown("gone"), "cas", ("info", "connection_lost")),
    (OverloadedErrorMessage(0x1001, "overloaded", None), "put", ("fail", "overloaded")),
    (IsBootstrappingErrorMessage(0x1002, "bootstrapping", None), "put", ("fail", "is_bootstrapping")),
    (ServerError(0x0000, "boom", None), "put", ("info", "server_error")),
    (ErrorMessage(CAS_WRITE_UNKNOWN_CODE, "unknown", None), "cas", ("info", "cas_write_unknown")),
    (RuntimeError("?"), "put", ("info", "runtimeerror")),
])
def test_classify_error(exc: BaseException, f: str, want: tuple[str, str]) -> None:
    o = classify_error(exc, f)
    assert (o.type, o.error) == want


@pytest.mark.parametrize("kwargs, field", [
    ({"replication_factor": 1, "write_consistency": "TWO"}, "write_consistency"),
    ({"replication_factor": 2, "read_consistency": "THREE"}, "read_consistency"),
    ({"replication_factor": 0}, "replication_factor"),
    ({"write_consistency": "SERIAL"}, "write_consistency"),
    ({"serial_consistency": "QUORUM"}, "serial_consistency"),
    ({"read_consistency": "ANY"}, "read_consistency"),
    ({"read_consistency": "MOSTLY"}, "read_consistency"),
    ({"routing": "pinned"}, "coordinator"),
])
def test_unsatisfiable_settings_are_config_errors(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as ei:
        ClientSettings(**kwargs).validate()
    assert ei.value.field == field


def test_replication_factor_larger_than_cluster() -> None:
    with pytest.raises(ConfigError, match="the cluster has 1"):
        ClientSettings(replication_factor=3).validate(n_nodes=1)
    ClientSettings(replication_factor=3).validate(n_nodes=3)
    ClientSettings(replication_factor=1, read_consistency="ALL", write_consistency="ONE").validate(n_nodes=1)


def test_client_is_lazy_and_builds_schema() -> None:
    """Constructing a client opens nothing; the schema uses NetworkTopologyStrategy with the RF."""
    c = CassandraClient(["198.18.0.11:9042", "198.18.0.12:9042"], value_size=100, timeout_s=1.0,
                        settings=ClientSettings(replication_factor=2, datacenter="dc9"))
    assert c.connection_class is None
    ks, table = c.schema_cql()
    assert "'class': 'NetworkTopologyStrategy', 'dc9': 2" in ks
    assert table.endswith("gbench.register (key text PRIMARY KEY, value text)")
    with pytest.raises(ConfigError):
        CassandraClient(["a:9042", "b:9043"], value_size=1, timeout_s=1.0)
