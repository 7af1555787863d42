"""A real PostgreSQL 15 primary + 2 streaming standbys (netns provider): stages, readiness,
replication, read-only standbys, a standby killed and restarted, nothing left behind."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.errors import EnvironmentProblem

pytestmark = pytest.mark.cluster
NODES = 3


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from harness.providers.netns import NetnsProvider
    from harness.systems.postgres import PostgresSystem

    try:
        NetnsProvider("pg-test").check_environment()
        system = PostgresSystem.from_environment()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL cluster tests cannot run in CI: {e}")
        pytest.skip(str(e))
    tmp = tmp_path_factory.mktemp("pg-cluster")
    # a data root under pytest's tmp dir, which is 0700: the postgres user cannot pass it, so
    # the provider puts the node dirs under /var/tmp (what a clone under /root gets)
    provider = NetnsProvider(f"pg-test-{int(time.time() * 1000) % 10**9}").with_state_dir(tmp / "state") \
        .with_data_root(tmp / "data")
    with provider:
        cluster = provider.start(system, NODES, tmp / "run")
        yield {"cluster": cluster, "system": system, "provider": provider}
    for scratch in (provider.scratch_dir, provider.open_scratch_dir):
        assert scratch is not None
        assert subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout == ""
        assert not scratch.exists()


def _sql(pg: dict[str, Any], node: str, sql: str) -> list[list[str]]:
    from harness.systems.postgres.system import run_psql

    return run_psql(pg["system"].bins, pg["cluster"].node(node).host, pg["system"].config.port, sql)


def test_the_primary_and_two_streaming_standbys(pg: dict[str, Any]) -> None:
    cluster, system = pg["cluster"], pg["system"]
    moved = pg["provider"].open_scratch_dir
    assert moved is not None and moved.parent == Path("/var/tmp") and (moved / "n1" / "pgdata" / "PG_VERSION").is_file()
    assert pg["provider"].facts()["node_data_dir"] == str(moved)
    assert cluster.ready.leader == "n1" and cluster.ready.details["streaming"] == {"n2": "streaming",
                                                                                  "n3": "streaming"}
    assert system.roles(cluster) == {"n1": "primary", "n2": "standby", "n3": "standby"}


def test_a_write_reaches_both_standbys_which_refuse_writes(pg: dict[str, Any]) -> None:
    _sql(pg, "n1", "CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text); INSERT INTO kv VALUES ('a', '1')")
    for n in ("n2", "n3"):
        deadline, seen = time.monotonic() + 10, None
        while seen != [["1"]]:
            assert time.monotonic() < deadline, f"{n} never saw the write (last: {seen})"
            try:
                seen = _sql(pg, n, "SELECT v FROM kv WHERE k = 'a'")
            except RuntimeError as e:  # the table itself not replayed yet
                seen = str(e)
            time.sleep(0.05)
    with pytest.raises(RuntimeError, match="read-only transaction"):
        _sql(pg, "n2", "INSERT INTO kv VALUES ('b', '2')")


def test_a_killed_standby_comes_back_streaming(pg: dict[str, Any]) -> None:
    cluster, system = pg["cluster"], pg["system"]
    n3 = cluster.node("n3")
    n3.kill()
    _sql(pg, "n1", "INSERT INTO kv VALUES ('while-down', 'x') ON CONFLICT DO NOTHING")
    n3.restart()
    system.wait_ready(cluster, timeout_s=30)
    assert system.streaming(cluster.node("n1").host)["n3"] == "streaming"
    assert _sql(pg, "n3", "SELECT v FROM kv WHERE k = 'while-down'") == [["x"]]


def _workload(**postgres: Any) -> Any:
    from harness.systems.postgres.options import PostgresOptions
    from harness.workload.spec import LoadSpec, Workload

    return Workload(name="t", duration_s=1, system="postgres", nodes=NODES, value_size=64,
                    read_consistency=postgres.pop("read", "replica"), load=LoadSpec(concurrency=1, op_timeout_s=2),
                    options=PostgresOptions(**postgres))


def _client(pg: dict[str, Any], node: str, w: Any) -> Any:
    from harness.systems.postgres.plugin import PLUGIN

    c = pg["cluster"]
    return PLUGIN.make_client(w, c.client_endpoint(node), c.client_endpoints)


def test_remote_apply_on_every_standby_is_visible_there_at_once(pg: dict[str, Any]) -> None:
    """synchronous_commit remote_apply with ANY 2 (n2, n3): the acknowledged write is on n3."""
    import asyncio

    from harness.api import Request

    w = _workload(synchronous_commit="remote_apply", synchronous_standbys=2)
    pg["system"].prepare_workload(pg["cluster"], w)
    assert _sql(pg, "n1", "SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1") == [
        ["n2", "quorum"], ["n3", "quorum"]]

    async def go() -> list[Any]:
        writer, reader = _client(pg, "n1", w), _client(pg, "n3", w)
        await writer.open()
        await reader.open()
        try:
            got = []
            for i in range(20):
                put = await writer.invoke(Request("put", f"ra{i}", f"tok{i}"))
                got.append((put.type, (await reader.invoke(Request("get", f"ra{i}", None, "replica"))).result))
            got.append(((await writer.invoke(Request("cas", "ra0", ("tok0", "new0")))).type,
                        (await writer.invoke(Request("cas", "ra0", ("tok0", "again")))).error))
            got.append(((await reader.invoke(Request("put", "from-reader", "x"))).type, None))
            return got
        finally:
            await writer.close()
            await reader.close()

    got = asyncio.run(go())
    assert got[:20] == [("ok", f"tok{i}") for i in range(20)]
    assert got[20] == ("ok", "cas_mismatch")
    assert got[21] == ("ok", None)  # the reader's writes go to the primary too
    # back to asynchronous replication for the other tests
    pg["system"].prepare_workload(pg["cluster"], _workload())
    assert _sql(pg, "n1", "SELECT sync_state FROM pg_stat_replication") == [["async"], ["async"]]


def test_a_write_on_an_unreachable_primary_is_not_connected(pg: dict[str, Any]) -> None:
    """A client whose only endpoint is a standby finds no node that accepts writes: fail, not sent."""
    import asyncio

    from harness.api import Request
    from harness.systems.postgres.client import PostgresClient

    c = pg["cluster"]

    async def go() -> Any:
        cl = PostgresClient(c.client_endpoint("n2"), [c.client_endpoint("n2")], 64, 2.0, "replica", "on")
        await cl.open()
        try:
            return cl.write_open_error, await cl.invoke(Request("put", "nowhere", "x"))
        finally:
            await cl.close()

    why, out = asyncio.run(go())
    assert why == "no node accepted writes when the client opened"
    assert (out.type, out.error) == ("fail", "not_connected")


def test_member_status_names_the_primary_the_timeline_and_positions(pg: dict[str, Any]) -> None:
    st = pg["system"].member_status(pg["cluster"])
    assert {n: (s["is_leader"], s["leader"]) for n, s in st.items()} == {
        "n1": (True, "n1"), "n2": (False, "n1"), "n3": (False, "n1")}
    assert {s["term"] for s in st.values()} == {1}
    assert all(isinstance(s["lsn"], int) and s["lsn"] > 0 for s in st.values())
