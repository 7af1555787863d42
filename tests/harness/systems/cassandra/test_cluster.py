"""A real 3-node Cassandra cluster, under the netns provider and then under the docker
provider (its local image, harness/setup/docker/jvm-images.sh): consistency levels do what
they promise, measured, the partition and kill scenarios behave the same, and nothing is
left behind.

One cluster per provider serves the whole module (a JVM start costs ~10 s of this 2-core
host per node); each test leaves it healthy (every node Up/Normal) for the next. The docker
half needs an engine: the running one, or dockerd started here under CI (as test_docker.py
does); without one it skips outside CI.
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
NODES = 3
REPO = Path(__file__).resolve().parents[4]


def _prerequisites() -> Any:
    import shutil

    reason = None
    if os.geteuid() != 0:
        reason = "needs root (network namespaces)"
    elif shutil.which("ip") is None or shutil.which("iptables") is None:
        reason = "needs ip and iptables (make setup installs them)"
    if reason is None:
        try:
            pytest.importorskip("cassandra")
            from harness.systems.cassandra import CassandraConfig, CassandraSystem

            return CassandraSystem.from_environment(CassandraConfig())
        except EnvironmentProblem as e:
            reason = str(e)
    if os.environ.get("CI"):
        pytest.fail(f"Cassandra cluster tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module", params=["netns", "docker"])
def cass(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.harness.providers.test_docker import module_leftovers, module_provider

    system = _prerequisites()
    tmp = tmp_path_factory.mktemp(f"cassandra-cluster-{request.param}")
    run_id = f"cass-test-{request.param}-{int(time.time() * 1000) % 10**9}"
    provider = module_provider(request.param, run_id, tmp, request, system)
    with provider:
        t0 = time.monotonic()
        cluster = provider.start(system, NODES, tmp / "run")
        print(f"\n[cassandra] {NODES}-node cluster ({request.param}) ready in {time.monotonic() - t0:.1f}s "
              f"(phases {cluster.ready.details.get('phases') if cluster.ready else None})")
        yield {"cluster": cluster, "system": system, "provider": provider, "tmp": tmp, "kind": request.param}
    assert module_leftovers(request.param, provider, tmp) == []


def _workload(**kw: Any) -> Any:
    from harness.workload.spec import parse_workload

    base = {"name": "t", "system": "cassandra", "nodes": NODES, "duration_s": 1, "value_size": 64,
            "load": {"concurrency": 1, "op_timeout_s": 5}}
    base.update(kw)
    return parse_workload(base, "<test>")


async def _one(cluster: Any, w: Any, node: str, f: str, key: str, value: Any) -> Any:
    from harness.api import Request
    from harness.registry import system_plugin

    c = system_plugin(w.system).make_client(w, cluster.client_endpoint(node))
    try:
        await c.open()
        return await c.invoke(Request(f, key, value, w.read_consistency))
    finally:
        await c.close()


def test_cluster_is_ready_within_budget(cass: dict[str, Any]) -> None:
    cluster = cass["cluster"]
    assert cluster.time_to_ready_s is not None and cluster.time_to_ready_s < 180
    status = cass["system"].node_status(cluster)
    assert all(v is not None and set(v.values()) == {"UN"} and len(v) == NODES for v in status.values()), status


def test_docker_nodes_run_the_local_image_within_their_memory_limit(cass: dict[str, Any]) -> None:
    from harness.systems.java import container_memory_limit
    from tests.harness.providers.test_docker import node_containers

    for attrs in node_containers(cass["kind"], cass["cluster"]):
        assert attrs["Config"]["Image"] == "gbench/cassandra:5.0.9-local"
        assert attrs["HostConfig"]["Memory"] == container_memory_limit("1G") == 2952790016
        assert attrs["HostConfig"]["MemorySwap"] == attrs["HostConfig"]["Memory"]  # no swap
        assert attrs["Config"]["Entrypoint"] == ["java"]
        cmd = attrs["Config"]["Cmd"]
        assert "/opt/cassandra/lib/cassandra-all-5.0.9.jar" in cmd[cmd.index("-cp") + 1]
        assert not any(".cache/cassandra" in a for a in cmd)  # no host path of the jars is left
    facts = cass["provider"].facts()
    assert facts["memory_limit_bytes"] == {n.name: 2952790016 for n in cass["cluster"].nodes}
    assert facts["image_sources"]["node"] == "local" and facts["image_ids"]["node"].startswith("sha256:")
    assert facts["node_runtime"].startswith('openjdk version "17.')  # the image's Java, not the host's


def test_one_replica_down_all_fails_and_quorum_succeeds(cass: dict[str, Any]) -> None:
    cluster, system = cass["cluster"], cass["system"]
    quorum = _workload(read_consistency="QUORUM", cassandra={"write_consistency": "QUORUM"})
    all_ = _workload(read_consistency="ALL", cassandra={"write_consistency": "ALL"})
    cass["system"].prepare_workload(cluster, quorum)
    victim = cluster.node("n3")
    victim.kill()
    try:
        # Until gossip convicts n3 the coordinator still sends to it and the ALL write times
        # out (info: it may have applied on two replicas); after that it is refused up front.
        deadline, outcomes = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            o = asyncio.run(_one(cluster, all_, "n1", "put", f"down-all-{len(outcomes)}", f"a{len(outcomes)}"))
            outcomes.append((o.type, o.error))
            if o.type == "fail":
                break
        assert outcomes[-1] == ("fail", "unavailable"), outcomes
        assert all(t in ("info", "fail") for t, _ in outcomes), "an ALL write succeeded with a replica down"
        # An ALL read never succeeds either; through n2 it is refused once n2 has convicted n3 too.
        reads, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            o = asyncio.run(_one(cluster, all_, "n2", "get", "down-all-0", None))
            reads.append((o.type, o.error))
            if o.type == "fail":
                break
        assert reads[-1] == ("fail", "unavailable") and all(t != "ok" for t, _ in reads), reads
        w = asyncio.run(_one(cluster, quorum, "n1", "put", "down-quorum", "q1"))
        r = asyncio.run(_one(cluster, quorum, "n2", "get", "down-quorum", None))
        assert (w.type, r.type, r.result) == ("ok", "ok", "q1")
    finally:
        victim.restart()
        system.wait_ready(cluster, timeout_s=180)


def test_visibility_quorum_never_stale_one_measured(cass: dict[str, Any]) -> None:
    from harness.workload.visibility import VisibilitySpec, run_visibility

    cluster = cass["cluster"]
    spec = VisibilitySpec(pairs=(("ONE", "ONE"), ("QUORUM", "QUORUM")), delays_ms=(0, 10), trials=50)
    rows = run_visibility(cluster, spec, cass["tmp"] / "visibility", time.monotonic_ns())
    by = {(r["condition"], r["write_consistency"], r["delay_ms"]): r for r in rows}
    assert len(rows) == 2 * 2 * 2
    for d in (0, 10):
        q = by[("normal", "QUORUM", d)]
        assert q["trials"] > 0 and q["visible"] == q["trials"], q  # a QUORUM read after a QUORUM write: never stale
        one = by[("normal", "ONE", d)]
        assert one["trials"] > 0 and 0.0 <= one["p_visible"] <= 1.0  # measured, whatever it is
        iso = by[("writer-isolated", "ONE", d)]
        assert iso["trials"] > 0 and iso["visible"] < iso["trials"], iso  # acknowledged, then not seen
        assert by[("writer-isolated", "QUORUM", d)]["writes_failed"] == spec.trials  # refused instead
    assert (cass["tmp"] / "visibility" / "visibility.json").exists()
    status = cass["system"].node_status(cluster)
    assert all(set(v.values()) == {"UN"} for v in status.values() if v), status


def test_lwt_register_history_is_linearizable(cass: dict[str, Any], tmp_path: Path) -> None:
    from harness.checkers import check_linearizability, load_history
    from harness.workload.runner import run_workload

    w = _workload(name="lwt", keys={"count": 3, "prefix": "lwt"}, mix={"cas": 2, "get": 1},
                  read_consistency="SERIAL", cassandra={"write_consistency": "QUORUM"}, duration_s=6,
                  load={"mode": "closed", "concurrency": 6, "workers": 1, "op_timeout_s": 5})
    result = run_workload(w, cass["cluster"], tmp_path / "lwt", time.monotonic_ns(), show_progress=False)
    ops = [op for op in load_history(str(result.history_path)).ops]
    assert sum(1 for o in ops if o.f == "cas" and o.outcome == "ok") > 10
    verdict = check_linearizability(load_history(str(result.history_path)))
    assert verdict.verdict is True, verdict.evidence


def test_partition_scenario_at_one_and_quorum(cass: dict[str, Any], tmp_path: Path) -> None:
    import json

    from harness.nemesis.rules import RuleSet
    from harness.scenario import load_scenario
    from harness.scenario.runner import run_scenario

    sc = load_scenario(REPO / "workloads" / "scenarios" / "cassandra-partition-ci.yaml")
    cluster = cass["cluster"]
    result = run_scenario(sc, cluster, tmp_path / "scenario", time.monotonic_ns(), log=lambda s: None)
    assert [r for n in cluster.nodes for r in RuleSet(cass["provider"]).present(n.name)] == []
    assert not result.interrupted and result.summary_path is not None
    s = json.loads(result.summary_path.read_text())
    p = s["partition"]
    assert len(p["minority"]) == 1 and len(p["majority"]) == 2
    assert p["election"]["new_leader"].startswith("not measured: no member polls in members.jsonl")
    mb = p["minority_behaviour"]
    # RF 3 on 3 nodes: the lone node holds a replica of every key, so ONE is served there,
    # while QUORUM (2 replicas) cannot be: every QUORUM write on the minority fails or times out.
    assert mb["reads"]["weak"]["ONE"]["served"] is True
    assert mb["reads"]["weak"]["QUORUM"]["served"] is False and mb["reads"]["weak"]["QUORUM"]["attempted"] > 0
    assert mb["writes_at"]["ONE"]["served"] is True  # a ONE write needs the one local replica
    assert mb["writes_at"]["QUORUM"]["served"] is False and mb["writes_at"]["QUORUM"]["attempted"] > 0
    av = json.loads((tmp_path / "scenario" / "availability.json").read_text())
    win = next(w for w in av["windows"] if w["fault"] == "partition")
    maj = win["during"][win["available_side"]]
    assert maj["read_QUORUM"]["served"] is True and maj["write_QUORUM"]["served"] is True
    lin = s["linearizability"]
    assert lin["weak"]["QUORUM"]["reads"] > 0 and lin["weak"]["ONE"]["reads"] > 0
    assert s["lost_writes"]["verdict"] in (True, False, "unknown")
    finals = [json.loads(line) for line in (tmp_path / "scenario" / "final_reads.jsonl").read_text().splitlines()
              if line.strip()]
    assert {(o["node"], o["read_consistency"]) for o in finals} == {(n.name, c) for n in cluster.nodes
                                                                   for c in ("SERIAL", "ONE")}


def test_kill_during_writes_quorum_serves_all_does_not_and_hints_replay(cass: dict[str, Any]) -> None:
    import json

    from harness.scenario import load_scenario
    from harness.scenario.runner import run_scenario

    sc = load_scenario(REPO / "workloads" / "scenarios" / "cassandra-kill-ci.yaml")
    cluster = cass["cluster"]
    # laid out as in a run (<run>/scenarios/<name>/ beside <run>/nodes/), where the summary
    # finds the node logs whose hinted-handoff lines it reads
    directory = cass["tmp"] / "run" / "scenarios" / "kill"
    assert (directory.parent.parent / "nodes" / "n1.log").exists()
    result = run_scenario(sc, cluster, directory, time.monotonic_ns(), log=lambda s: None)
    assert all(n.is_running() for n in cluster.nodes)
    s = json.loads(result.summary_path.read_text())  # type: ignore[union-attr]
    assert s["process_faults"]["hinted_handoff"]["replayed_files"] >= 1, s["process_faults"]
    pf = s["process_faults"]["windows"][0]
    assert pf["fault"] == "kill" and pf["nodes"] == ["n3"]
    served = pf["others_served"]
    assert served["write_QUORUM"]["ok"] > 0  # two of three replicas up: QUORUM keeps working
    assert served["write_ALL"]["ok"] == 0 and served["write_ALL"]["attempted"] > 0  # ALL cannot
    hh = pf["hints_replayed_to_it"]
    assert hh["files"] >= 1, s["process_faults"]  # the survivors replayed what n3 missed
    assert s["lost_writes"]["count"] == 0


def test_token_aware_routing_workload(cass: dict[str, Any], tmp_path: Path) -> None:
    from harness.recorder.history import read_history
    from harness.workload.runner import run_workload

    w = _workload(name="token-aware", keys={"count": 50, "prefix": "ta"}, mix={"put": 1, "get": 1}, duration_s=4,
                  read_consistency="QUORUM", cassandra={"write_consistency": "QUORUM", "routing": "token-aware"},
                  load={"mode": "closed", "concurrency": 4, "workers": 1, "op_timeout_s": 5})
    result = run_workload(w, cass["cluster"], tmp_path / "ta", time.monotonic_ns(), show_progress=False)
    ops = [o for o in read_history(result.history_path) if not o.extra.get("phase")]
    assert sum(1 for o in ops if o.type == "ok") > 20
    assert {o.node for o in ops} == {None}  # the driver picked each request's replica, not the assignment
