"""A real 5-node ZooKeeper cluster, under the netns provider and then under the docker provider
(its local image, harness/setup/docker/jvm-images.sh): it elects one leader, serves the
register through the kazoo client pinned to one server, reports member states and ``mntr``
metrics, survives the leader's death, and leaves nothing behind.

One cluster per provider serves the module (5 JVMs); the leader-kill test runs last. The
docker half needs an engine (dockerd is started here under CI, as test_docker.py does).
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.errors import EnvironmentProblem
from tests.harness.providers.test_docker import engine  # noqa: F401 (the docker half's fixture)

pytestmark = pytest.mark.cluster
NODES = 5


def _system() -> Any:
    """The system, or skip (fail under CI) saying what is missing: root and the netns
    provider's tools (its own environment check), the fetched jars, Java 17."""
    from harness.providers.netns import NetnsProvider
    from harness.systems.zookeeper.system import ZooKeeperSystem

    try:
        NetnsProvider("zookeeper-test").check_environment()
        return ZooKeeperSystem.from_environment()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"ZooKeeper cluster tests cannot run in CI: {e}")
        pytest.skip(str(e))


@pytest.fixture(scope="module", params=["netns", "docker"])
def zk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.harness.providers.test_docker import module_leftovers, module_provider

    system = _system()
    tmp = tmp_path_factory.mktemp(f"zookeeper-cluster-{request.param}")
    run_id = f"zk-test-{request.param}-{int(time.time() * 1000) % 10**9}"
    provider = module_provider(request.param, run_id, tmp, request, system)
    pids: list[int] = []
    try:
        with provider:
            cluster = provider.start(system, NODES, tmp / "run")
            pids = [p for n in cluster.nodes if (p := n.pid()) is not None]
            print(f"\n[zookeeper] {NODES}-node cluster ({request.param}) ready in {cluster.time_to_ready_s:.1f}s, "
                  f"leader {cluster.ready.leader if cluster.ready else None}")
            yield {"cluster": cluster, "system": system, "provider": provider, "tmp": tmp, "kind": request.param}
    finally:
        assert module_leftovers(request.param, provider, tmp) == []
        alive = [p for p in pids if Path(f"/proc/{p}").exists()]
        assert alive == [], f"ZooKeeper processes left behind: {alive}"


def test_docker_nodes_run_the_local_image_within_their_memory_limit(zk: dict[str, Any]) -> None:
    from tests.harness.providers.test_docker import node_containers

    for attrs in node_containers(zk["kind"], zk["cluster"]):
        assert attrs["Config"]["Image"] == "gbench/zookeeper:3.9.5-local"
        assert attrs["HostConfig"]["Memory"] == attrs["HostConfig"]["MemorySwap"] == 1342177280  # 256m x2 + 768m
        cmd = attrs["Config"]["Cmd"]
        assert "/opt/zookeeper/lib/zookeeper-3.9.5.jar" in cmd[cmd.index("-cp") + 1].split(":")


def _client(cluster: Any, node: str, timeout_s: float = 5.0) -> Any:
    from harness.systems.zookeeper.client import ZooKeeperClient

    return ZooKeeperClient(cluster.client_endpoint(node), value_size=64, timeout_s=timeout_s)


async def _ops(client: Any, ops: list[tuple[str, str, Any, str | None]]) -> list[tuple[str, Any, str | None]]:
    from harness.api import Request

    out = []
    for f, key, value, level in ops:
        o = await client.invoke(Request(f, key, value, level))
        out.append((o.type, o.result, o.error))
    return out


def _run(cluster: Any, node: str, ops: list[tuple[str, str, Any, str | None]]) -> list[tuple[str, Any, str | None]]:
    async def go() -> list[tuple[str, Any, str | None]]:
        c = _client(cluster, node)
        await c.open()
        try:
            return await _ops(c, ops)
        finally:
            await c.close()
    return asyncio.run(go())


def test_one_leader_and_four_followers(zk: dict[str, Any]) -> None:
    cluster, system = zk["cluster"], zk["system"]
    assert cluster.ready is not None and cluster.ready.leader in {f"n{i}" for i in range(1, NODES + 1)}
    assert cluster.ready.details["server_version"].startswith("3.9.5-")
    status = system.member_status(cluster)
    states = sorted(s["state"] for s in status.values() if s)
    assert states == ["following"] * 4 + ["leading"], status
    assert {s["leader"] for s in status.values() if s} == {cluster.ready.leader}, status
    lead_epoch = status[cluster.ready.leader]["epoch"]
    assert lead_epoch >= 1 and all(s["epoch"] <= lead_epoch for s in status.values() if s), status
    assert system.leader(cluster) == cluster.ready.leader


def test_register_operations_through_a_follower(zk: dict[str, Any]) -> None:
    cluster = zk["cluster"]
    follower = next(n.name for n in cluster.nodes if n.name != cluster.ready.leader)
    got = _run(cluster, follower, [
        ("get", "r1", None, "plain"),          # absent
        ("put", "r1", "t1", None),             # create path
        ("get", "r1", None, "plain"),          # read-your-writes on the session
        ("put", "r1", "t2", None),             # setData path
        ("get", "r1", None, "sync"),
        ("cas", "r1", ("t1", "t3"), None),     # wrong expectation: not written
        ("get", "r1", None, "sync"),
        ("cas", "r1", ("t2", "t3"), None),
        ("cas", "r1", (None, "t4"), None),     # create-if-absent on an existing znode
        ("cas", "r2", (None, "u1"), None),     # create-if-absent on a new one
        ("delete", "r2", None, None),
        ("delete", "r2", None, None),          # already gone: still ok
        ("get", "r2", None, "sync"),
    ])
    assert got == [("ok", None, None), ("ok", None, None), ("ok", "t1", None), ("ok", None, None),
                   ("ok", "t2", None), ("fail", None, "cas_mismatch"), ("ok", "t2", None), ("ok", None, None),
                   ("fail", None, "cas_mismatch"), ("ok", None, None), ("ok", None, None), ("ok", None, None),
                   ("ok", None, None)]
    # every other server, after sync, reads what the follower's session wrote
    for n in cluster.nodes:
        assert _run(cluster, n.name, [("get", "r1", None, "sync")]) == [("ok", "t3", None)], n.name


def test_write_revisions_are_zxids_in_write_order(zk: dict[str, Any]) -> None:
    from harness.api import Request

    cluster = zk["cluster"]

    async def go() -> list[Any]:
        a, b = _client(cluster, "n1"), _client(cluster, "n2")
        await a.open()
        await b.open()
        try:
            return [await a.invoke(Request("put", "rev", "a1")),        # create
                    await b.invoke(Request("put", "rev", "b1")),        # set, through another server
                    await a.invoke(Request("cas", "rev", ("b1", "a2"))),
                    await b.invoke(Request("cas", "rev2", (None, "b2"))),
                    await a.invoke(Request("get", "rev", None, "sync"))]
        finally:
            await a.close()
            await b.close()
    outs = asyncio.run(go())
    revs = [o.revision for o in outs[:4]]
    assert [o.type for o in outs] == ["ok"] * 5 and all(isinstance(r, int) for r in revs), outs
    assert revs == sorted(revs) and len(set(revs)) == 4, revs  # one global order of writes
    assert outs[4].revision is None and outs[4].result == "a2"


def test_unknown_read_level_is_refused_before_sending(zk: dict[str, Any]) -> None:
    cluster = zk["cluster"]
    with pytest.raises(ValueError, match="unknown ZooKeeper read level 'linearizable'"):
        _run(cluster, "n1", [("get", "r1", None, "linearizable")])


def test_mntr_metrics_count_the_reads_a_server_served(zk: dict[str, Any]) -> None:
    cluster, system = zk["cluster"], zk["system"]
    before = system.metrics_snapshot(cluster)
    assert sorted(before["members"]) == [f"n{i}" for i in range(1, NODES + 1)]
    assert all("mntr" in m for m in before["members"].values()), before
    _run(cluster, "n2", [("put", "m1", "v1", None)] + [("get", "m1", None, "plain")] * 20)
    after = system.metrics_snapshot(cluster)
    doc = system.metrics_delta(before, after, cluster.ready.leader)
    assert doc["errors"] == {}
    n2 = doc["members"]["n2"]
    assert n2["summaries"]["readlatency"]["count"] >= 20, n2["summaries"]
    assert "zk_p99_readlatency" in n2["latency_after"] and "zk_avg_latency" in n2["latency_after"]
    lead = doc["members"][cluster.ready.leader]
    assert lead["server_state"] == "leader" and lead["delta"].get("zk_proposal_count", 0) >= 1, lead["delta"]


def test_leader_killed_a_new_one_is_elected_and_a_follower_client_keeps_working(zk: dict[str, Any]) -> None:
    from harness.api import Request

    cluster, system = zk["cluster"], zk["system"]
    old = system.leader(cluster)
    assert old is not None
    follower = next(n.name for n in cluster.nodes if n.name != old)

    async def go() -> dict[str, Any]:
        c = _client(cluster, follower, timeout_s=2.0)
        await c.open()
        try:
            assert (await c.invoke(Request("put", "lk", "before", None))).type == "ok"
            session = c.session_id
            t0 = time.monotonic()
            cluster.node(old).kill()
            elected_s = None
            while time.monotonic() - t0 < 60:
                st = system.member_status(cluster)
                new = [n for n, s in st.items() if s and s["state"] == "leading"]
                if new and new != [old] and all(s is None or s["state"] in ("leading", "following")
                                                for n, s in st.items() if n != old):
                    elected_s = time.monotonic() - t0
                    break
                await asyncio.sleep(0.05)
            outcomes = []
            while time.monotonic() - t0 < 60:
                o = await c.invoke(Request("put", "lk", "after", None))
                outcomes.append((o.type, o.error))
                if o.type == "ok":
                    break
                await asyncio.sleep(0.1)
            first_ok_s = time.monotonic() - t0
            read = await c.invoke(Request("get", "lk", None, "sync"))
            return {"elected_s": elected_s, "first_ok_s": first_ok_s, "outcomes": outcomes, "read": read,
                    "session_kept": c.session_id == session and c.sessions == [session], "new": new}
        finally:
            await c.close()

    r = asyncio.run(go())
    print(f"\n[zookeeper] leader {old} killed: {r['new']} elected after {r['elected_s']}s, "
          f"first write through {follower} ok after {r['first_ok_s']:.2f}s; outcomes {r['outcomes']}")
    assert r["elected_s"] is not None, "no new leader within 60 s"
    assert r["new"][0] != old
    assert r["outcomes"][-1] == ("ok", None) and all(t in ("ok", "fail", "info") for t, _ in r["outcomes"])
    assert (r["read"].type, r["read"].result) == ("ok", "after")
    assert r["session_kept"], "the client's session changed although its server lived"
    # the old leader comes back as a follower of the new one
    cluster.node(old).restart()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = system.member_status(cluster)
        if st.get(old) and st[old]["state"] == "following" and st[old]["leader"] == r["new"][0]:
            break
        time.sleep(0.2)
    assert st.get(old) and st[old]["state"] == "following", st
