"""A real Redis 7 primary + 2 replicas + 3 Sentinels (netns provider, 6 nodes): stages,
readiness, roles, replication, read-only replicas, the Sentinels' view, a failover after the
primary is killed, the old primary rejoining as a replica, nothing left behind; and the
plugin's client on it: WAIT, cas, NOREPLICAS and a short WAIT while a replica is paused, a
client following a second failover through the Sentinels."""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections import Counter
from dataclasses import replace
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


def test_member_status_before_any_failover(rd: dict[str, Any]) -> None:
    """Every node answers: n1 primary in config-epoch 0, its replicas linked, every Sentinel
    naming it; one poll well under the poll interval."""
    cluster, system = rd["cluster"], rd["system"]
    t0 = time.monotonic()
    got = system.member_status(cluster)
    rd["timings"]["member_status_s"] = round(time.monotonic() - t0, 3)
    offsets = {n: got[n].pop("offset") for n in SERVERS}
    assert got == {
        "n1": {"role": "primary", "leader": "n1", "is_leader": True, "term": 0, "link": None},
        "n2": {"role": "replica", "leader": "n1", "is_leader": False, "term": 0, "link": "up"},
        "n3": {"role": "replica", "leader": "n1", "is_leader": False, "term": 0, "link": "up"},
        **{s: {"leader": "n1", "is_leader": False, "term": 0, "flags": "master"} for s in SENTINELS}}
    assert all(isinstance(v, int) and v >= 0 for v in offsets.values())


def test_a_write_reaches_both_replicas_which_refuse_writes(rd: dict[str, Any]) -> None:
    cluster, system = rd["cluster"], rd["system"]
    assert _cli(rd, "n1", "SET", "k", "v1") == "OK"
    assert _cli(rd, "n1", "WAIT", "2", "1000") == "2"
    assert _cli(rd, "n2", "GET", "k") == "v1" and _cli(rd, "n3", "GET", "k") == "v1"
    with pytest.raises(RuntimeError, match="READONLY"):
        _cli(rd, "n2", "SET", "k", "v2")
    offsets = system.replication_offsets(cluster)
    assert offsets["n1"] is not None and offsets["n1"] > 0 and offsets["n2"] == offsets["n3"] == offsets["n1"]


def _workload(read: str = "primary", **redis: Any) -> Any:
    from harness.systems.redis.options import RedisOptions
    from harness.workload.spec import LoadSpec, Workload

    return Workload(name="t", duration_s=1, system="redis", nodes=NODES, value_size=64, read_consistency=read,
                    load=LoadSpec(concurrency=1, op_timeout_s=2), options=RedisOptions(**redis))


def _client(rd: dict[str, Any], node: str, w: Any) -> Any:
    from harness.systems.redis.plugin import PLUGIN

    c = rd["cluster"]
    return PLUGIN.make_client(w, c.client_endpoint(node), c.client_endpoints)


def _run(rd: dict[str, Any], steps: Callable[..., Any], *clients_of: tuple[Any, str]) -> Any:
    """``steps(*clients)`` with a client per (workload, node), opened and closed around it."""
    async def go() -> Any:
        clients = [_client(rd, n, w) for w, n in clients_of]
        try:
            for c in clients:
                await c.open()
            return await steps(*clients)
        finally:
            for c in clients:
                await c.close()
    return asyncio.run(go())


def _config(rd: dict[str, Any], node: str) -> dict[str, str]:
    got = _cli(rd, node, "CONFIG", "GET", "min-replicas-*").split()
    return dict(zip(got[::2], got[1::2]))


def test_a_wait_2_write_is_read_on_n3_at_once(rd: dict[str, Any]) -> None:
    """WAIT 2: acknowledged once both replicas have the write, so a replica read on n3 right
    after the acknowledgement returns it, every time."""
    from harness.api import Request

    w = _workload("replica", wait_replicas=2, wait_timeout_ms=1000)
    rd["system"].prepare_workload(rd["cluster"], w)
    writes = replace(w, read_consistency="primary")  # a replica client pinned to a Sentinel would not open

    async def steps(writer: Any, reader: Any) -> list[Any]:
        got = []
        for i in range(50):
            put = await writer.invoke(Request("put", f"w2-{i}", f"tok{i}"))
            got.append((put.type, (await reader.invoke(Request("get", f"w2-{i}", None, "replica"))).result))
        return got

    # the writer is pinned to a Sentinel node: its writes go to the primary the Sentinels name
    assert _run(rd, steps, (writes, "n4"), (w, "n3")) == [("ok", f"tok{i}") for i in range(50)]


def test_cas_on_the_primary(rd: dict[str, Any]) -> None:
    from harness.api import Request

    w = _workload()

    async def steps(c: Any) -> list[tuple[str, Any, Any]]:
        out = []
        for req in [Request("get", "reg", None), Request("cas", "reg", (None, "a")), Request("cas", "reg", (None, "b")),
                    Request("cas", "reg", ("b", "c")), Request("cas", "reg", ("a", "c")), Request("get", "reg", None),
                    Request("put", "reg", "d"), Request("cas", "reg", ("c", "e")), Request("delete", "reg", None),
                    Request("get", "reg", None), Request("cas", "reg", (None, "f")), Request("get", "reg", None)]:
            o = await c.invoke(req)
            out.append((o.type, o.result, o.error))
        return out

    assert _run(rd, steps, (w, "n2")) == [
        ("ok", None, None), ("ok", None, None), ("fail", None, "cas_mismatch"), ("fail", None, "cas_mismatch"),
        ("ok", None, None), ("ok", "c", None), ("ok", None, None), ("fail", None, "cas_mismatch"), ("ok", None, None),
        ("ok", None, None), ("ok", None, None), ("ok", "f", None)]


def test_a_paused_replica_makes_wait_short_and_then_writes_refused(rd: dict[str, Any]) -> None:
    """n3 paused: WAIT 2 returns 1 (info wait_short, the write is on the primary all the
    same); with min-replicas-to-write 2 and a 1 s lag bound, the primary then refuses writes
    (fail noreplicas) until n3 is back."""
    from harness.api import Request

    cluster, system = rd["cluster"], rd["system"]
    short = _workload(wait_replicas=2, wait_timeout_ms=100)
    refusing = _workload(min_replicas_to_write=2, min_replicas_max_lag_s=1)
    system.prepare_workload(cluster, short)

    async def wait_short(c: Any) -> tuple[Any, Any]:
        put = await c.invoke(Request("put", "short", "s1"))
        return (put.type, put.error), (await c.invoke(Request("get", "short", None))).result

    async def until_refused(c: Any) -> tuple[list[str], Any]:
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            o = await c.invoke(Request("put", "refused", f"r{len(seen)}"))
            seen.append(f"{o.type} {o.error}")
            if o.type == "fail":
                break
            await asyncio.sleep(0.2)
        return seen, (await c.invoke(Request("get", "refused", None))).result

    # (every setting is made with every server up: a paused one would not answer CONFIG SET)
    cluster.node("n3").pause()
    try:
        assert _run(rd, wait_short, (short, "n1")) == (("info", "wait_short"), "s1")
    finally:
        cluster.node("n3").resume()
    system.prepare_workload(cluster, refusing)
    assert {n: _config(rd, n) for n in SERVERS} == {
        n: {"min-replicas-to-write": "2", "min-replicas-max-lag": "1"} for n in SERVERS}
    assert "min-replicas-to-write 2" in (rd["scratch"] / "n2" / "redis.conf").read_text()  # CONFIG REWRITE
    cluster.node("n3").pause()
    try:
        seen, last = _run(rd, until_refused, (refusing, "n1"))
    finally:
        cluster.node("n3").resume()
    # acknowledged while n3's last ack was under 1 s old, then refused: nothing written by the refused one
    assert seen[-1] == "fail noreplicas" and set(seen[:-1]) <= {"ok None"}
    assert last == (f"r{len(seen) - 2}" if len(seen) > 1 else None)
    system.prepare_workload(cluster, _workload())
    assert {n: _config(rd, n) for n in SERVERS} == {
        n: {"min-replicas-to-write": "0", "min-replicas-max-lag": "10"} for n in SERVERS}


def test_final_reads_read_every_server_and_the_primary_through_every_sentinel_node(rd: dict[str, Any]) -> None:
    """A scenario's final reads make one client per node and level: on a Sentinel node the
    primary read goes to the primary, the replica read has nothing to read and is recorded
    as that node's failed connect (after the usual connect retries), the servers' reads go on."""
    from harness.scenario.final_reads import final_reads

    cluster = rd["cluster"]
    _cli(rd, "n1", "SET", "fin", "tokf|")  # a token, then the generator's separator (TOKEN_SEP)
    assert _cli(rd, "n1", "WAIT", "2", "1000") == "2"
    t0 = time.monotonic()
    ops = final_reads(cluster, ["fin"], time.monotonic_ns(), value_size=64, timeout_s=2.0, attempts=2)
    rd["timings"]["final_reads_s"] = round(time.monotonic() - t0, 2)
    got = {(o.node, o.read_consistency): (o.type, o.result, (o.error or "").split(":")[0]) for o in ops}
    assert got == {**{(n, lv): ("ok", "tokf", "") for n in SERVERS for lv in ("primary", "replica")},
                   **{(n, "primary"): ("ok", "tokf", "") for n in SENTINELS},
                   **{(n, "replica"): ("fail", None, "connect_failed") for n in SENTINELS}}
    assert all("is a Sentinel node, not a Redis server" in (o.error or "") for o in ops if o.type == "fail")


def test_killed_primary_fails_over_and_rejoins_as_a_replica(rd: dict[str, Any]) -> None:
    cluster, system = rd["cluster"], rd["system"]
    cluster.node("n1").kill()
    assert system.member_status(cluster)["n1"] is None  # killed: no answer
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
    # every member names the promoted replica, in a config-epoch above 0 (the failover's)
    status = system.member_status(cluster)
    epoch = status["n4"]["term"]
    assert isinstance(epoch, int) and epoch >= 1
    assert {n: (s["leader"], s["is_leader"], s["term"]) for n, s in status.items()} == {
        **{n: (new, n == new, epoch) for n in SERVERS}, **{s: (new, False, epoch) for s in SENTINELS}}
    assert status["n1"]["role"] == "replica" and status[new]["link"] is None
    # readiness follows the primary the Sentinels name: ready again, led by the promoted replica
    ready = system.wait_ready(cluster, timeout_s=30)
    assert ready.leader == new and ready.details["sentinels"] == {s: new for s in SENTINELS}



def test_the_client_follows_a_failover(rd: dict[str, Any]) -> None:
    """The primary killed under a writing client: the write in flight is info or fail, the
    next ones fail while the Sentinels still name the dead primary, then the client finds the
    promoted replica through them and its writes succeed there."""
    from harness.api import Request

    cluster, system = rd["cluster"], rd["system"]
    old = system.leader(cluster)
    assert old in SERVERS
    w = _workload()

    async def steps(c: Any) -> dict[str, Any]:
        first = await c.invoke(Request("put", "follow", "before"))
        found_before = list(c.primaries_found)
        cluster.node(old).kill()
        t0, outcomes = time.monotonic(), []
        while time.monotonic() - t0 < FAILOVER_BUDGET_S:
            o = await c.invoke(Request("put", "follow", f"after{len(outcomes)}"))
            outcomes.append((o.type, o.error))
            if o.type == "ok":
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - t0
        more = [(await c.invoke(Request("put", "follow", f"more{i}"))).type for i in range(5)]
        return {"first": first.type, "found_before": found_before, "outcomes": outcomes, "took": took,
                "found": list(c.primaries_found), "more": more,
                "read": (await c.invoke(Request("get", "follow", None))).result}

    got = _run(rd, steps, (w, "n5"))
    rd["timings"]["client_failover_s"] = round(got["took"], 2)
    rd["timings"]["client_outcomes_before_ok"] = dict(Counter(f"{t} {e}" for t, e in got["outcomes"][:-1]))
    # the Sentinel that ran the failover names the new primary first; the others learn it from
    # its hello messages a moment later
    new, _ = _until("the Sentinels agreeing on the promoted replica", 5,
                    lambda: (lead if (lead := system.leader(cluster)) in SERVERS and lead != old else None))
    host = {n.host: n.name for n in cluster.nodes}
    assert got["first"] == "ok" and [host[a] for a, _ in got["found_before"]] == [old]
    assert got["outcomes"][-1] == ("ok", None) and len(got["outcomes"]) > 1
    assert set(got["outcomes"][:-1]) <= {("info", "connection_lost"), ("fail", "not_connected"),
                                         ("info", "timeout")}
    assert host[got["found"][-1][0]] == new and got["more"] == ["ok"] * 5 and got["read"] == "more4"
