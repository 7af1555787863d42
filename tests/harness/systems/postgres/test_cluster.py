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
    # the default data root (.cache/data): the postgres user must traverse its parents, and
    # pytest's tmp dirs are 0700 root
    provider = NetnsProvider(f"pg-test-{int(time.time() * 1000) % 10**9}").with_state_dir(tmp / "state")
    with provider:
        cluster = provider.start(system, NODES, tmp / "run")
        yield {"cluster": cluster, "system": system}
    scratch = provider.scratch_dir
    assert subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout == ""
    assert not scratch.exists()


def _sql(pg: dict[str, Any], node: str, sql: str) -> list[list[str]]:
    from harness.systems.postgres.system import run_psql

    return run_psql(pg["system"].bins, pg["cluster"].node(node).host, pg["system"].config.port, sql)


def test_the_primary_and_two_streaming_standbys(pg: dict[str, Any]) -> None:
    cluster, system = pg["cluster"], pg["system"]
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
