"""A real Redis 7 primary + 2 replicas + 3 Sentinels (netns provider, 6 nodes): stages,
readiness, roles, replication, read-only replicas, the Sentinels' view, a failover after the
primary is killed, the old primary rejoining as a replica, nothing left behind."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest

from harness.errors import EnvironmentProblem

pytestmark = pytest.mark.cluster
NODES = 6
SERVERS = ("n1", "n2", "n3")
SENTINELS = ("n4", "n5", "n6")
#: down-after 1 s, then the Sentinels agree (ODOWN), elect a leader and promote a replica
FAILOVER_BUDGET_S = 20.0
#: Sentinel converts a restarted old primary about 8 s after it reappears (4 hello periods)
REJOIN_BUDGET_S = 30.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def rd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from harness.providers.netns import NetnsProvider
    from harness.systems.redis import RedisSystem

    try:
        NetnsProvider("redis-test").check_environment()
        system = RedisSystem.from_environment()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"Redis cluster tests cannot run in CI: {e}")
        pytest.skip(str(e))
    tmp = tmp_path_factory.mktemp("redis-cluster")
    provider = NetnsProvider(f"redis-test-{int(time.time() * 1000) % 10**9}").with_state_dir(
        tmp / "state").with_data_root(tmp / "data")
    timings: dict[str, float] = {}
    with provider:
        cluster = provider.start(system, NODES, tmp / "run")
        yield {"cluster": cluster, "system": system, "scratch": provider.scratch_dir, "timings": timings}
    print(f"\nredis cluster timings: {timings}")
    scratch = provider.scratch_dir
    assert subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout == ""
    assert not scratch.exists()


def _cli(rd: dict[str, Any], node: str, *args: str) -> str:
    from harness.systems.redis import run_cli

    return run_cli(rd["system"].bins, rd["cluster"].node(node).host, rd["system"].config.port, *args).strip()


def _until(what: str, budget_s: float, probe: Callable[[], T | None]) -> tuple[T, float]:
    """Poll ``probe`` every 0.1 s until it returns something; (that, seconds it took)."""
    t0 = time.monotonic()
    while True:
        got = probe()
        if got is not None:
            return got, time.monotonic() - t0
        assert time.monotonic() - t0 < budget_s, f"{what} not within {budget_s:g}s"
        time.sleep(0.1)


def test_six_nodes_become_ready_with_n1_leading(rd: dict[str, Any]) -> None:
    cluster, system = rd["cluster"], rd["system"]
    assert cluster.time_to_ready_s is not None and 0 < cluster.ready.seconds <= cluster.time_to_ready_s < 30
    rd["timings"].update(ready_s=round(cluster.time_to_ready_s, 2), ready_wait_s=round(cluster.ready.seconds, 2))
    assert cluster.ready.leader == "n1"
    assert cluster.ready.details["sentinels"] == {s: "n1" for s in SENTINELS}
    assert set(cluster.ready.details["offsets"]) == set(SERVERS)
    assert [n.name for n in system.server_nodes(cluster)] == list(SERVERS)
    assert [n.name for n in system.sentinel_nodes(cluster)] == list(SENTINELS)
    # the process title keeps the config file's path, so the scratch dir finds every process
    cmdline = Path(f"/proc/{cluster.node('n4').pid()}/cmdline").read_text()
    assert str(rd["scratch"].resolve()) in cmdline and "sentinel" in cmdline


def test_roles_and_the_sentinels_view(rd: dict[str, Any]) -> None:
    cluster, system = rd["cluster"], rd["system"]
    assert system.roles(cluster) == {"n1": "primary", "n2": "replica", "n3": "replica",
                                     "n4": "sentinel", "n5": "sentinel", "n6": "sentinel"}
    assert system.sentinel_view(cluster) == {s: "n1" for s in SENTINELS}
    assert system.leader(cluster) == "n1"


def test_a_write_reaches_both_replicas_which_refuse_writes(rd: dict[str, Any]) -> None:
    cluster, system = rd["cluster"], rd["system"]
    assert _cli(rd, "n1", "SET", "k", "v1") == "OK"
    assert _cli(rd, "n1", "WAIT", "2", "1000") == "2"
    assert _cli(rd, "n2", "GET", "k") == "v1" and _cli(rd, "n3", "GET", "k") == "v1"
    with pytest.raises(RuntimeError, match="READONLY"):
        _cli(rd, "n2", "SET", "k", "v2")
    offsets = system.replication_offsets(cluster)
    assert offsets["n1"] is not None and offsets["n1"] > 0 and offsets["n2"] == offsets["n3"] == offsets["n1"]


def test_killed_primary_fails_over_and_rejoins_as_a_replica(rd: dict[str, Any]) -> None:
    cluster, system = rd["cluster"], rd["system"]
    cluster.node("n1").kill()
    new, took = _until("a replica promoted", FAILOVER_BUDGET_S,
                       lambda: (lead if (lead := system.leader(cluster)) in ("n2", "n3") else None))
    rd["timings"]["failover_s"] = round(took, 2)
    other = "n3" if new == "n2" else "n2"
    new_host = cluster.node(new).host

    def follows(node: str) -> bool | None:
        st = system.server_state(node, cluster.node(node).host)
        return True if st.role == "replica" and st.info.get("master_host") == new_host and \
            st.info.get("master_link_status") == "up" else None
    _until(f"{other} following {new}", 10, lambda: follows(other))
    assert system.sentinel_view(cluster) == {s: new for s in SENTINELS}
    assert _cli(rd, new, "GET", "k") == "v1"  # acknowledged by both replicas before the kill
    assert _cli(rd, new, "SET", "k", "v3") == "OK" and _cli(rd, new, "WAIT", "1", "1000") == "1"

    cluster.node("n1").restart()
    _, took = _until("n1 converted to a replica of the new primary", REJOIN_BUDGET_S, lambda: follows("n1"))
    rd["timings"]["rejoin_s"] = round(took, 2)
    assert system.roles(cluster) == {"n1": "replica", new: "primary", other: "replica",
                                     "n4": "sentinel", "n5": "sentinel", "n6": "sentinel"}
    assert system.leader(cluster) == new
    _until("n1 holding the new primary's data", 5, lambda: _cli(rd, "n1", "GET", "k") == "v3" or None)
    # Sentinel's CONFIG REWRITE recorded the new primary in n1's own redis.conf (a restart keeps it)
    assert f"replicaof {new_host} {system.config.port}" in (rd["scratch"] / "n1" / "redis.conf").read_text()

