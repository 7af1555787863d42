"""Every fault on a real 3-node etcd cluster: it really cuts / drops / kills / stops, and the
repair really restores; nothing is left behind (rules, paused processes, namespaces)."""
from __future__ import annotations

import random
import subprocess
import time
from typing import Any, Iterator

import pytest

from harness.errors import EnvironmentProblem
from harness.nemesis import NemesisContext, standard_nemesis
from harness.nemesis.link import netem_available
from harness.nemesis.probe import probe_from_host, probe_matrix
from harness.nemesis.rules import RuleSet

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.conftest import cluster_prerequisites
    if cluster_prerequisites():
        yield {}
        return
    from harness.providers.netns import NetnsProvider
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem

    base = tmp_path_factory.mktemp("nemesis")
    run_id = f"nemesis-test-{int(time.time() * 1000) % 10**9}"
    provider = NetnsProvider(run_id).with_state_dir(base / "state").with_data_root(base / "data")
    try:
        cluster = provider.start(EtcdSystem(find_etcd()), 3, base / "run")
        nem = standard_nemesis()
        nem.setup(NemesisContext(cluster, run_id, time.monotonic_ns(), rng=random.Random(5), log=lambda s: None))
        yield {"cluster": cluster, "nem": nem, "provider": provider, "run_id": run_id}
        nem.teardown()
    finally:
        provider.teardown()
    names = provider.names
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [l for l in left.splitlines() if l.startswith(names.netns(""))], left
    assert not list((base / "state").glob("*.json")), "ledger left behind"


@pytest.fixture
def ctx(env: dict[str, Any], require_cluster: None) -> dict[str, Any]:
    return env


def addresses(cluster: Any) -> dict[str, str]:
    return {n.name: n.host for n in cluster.nodes}


def gbench_rules(env: dict[str, Any]) -> list[str]:
    rs = RuleSet(env["provider"])
    return [f"{n.name}: {r}" for n in env["cluster"].nodes for r in rs.present(n.name)]


def wait_leader(cluster: Any, not_: str | None = None, timeout: float = 15.0) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ld = cluster.system.leader(cluster)
        if ld is not None and ld != not_:
            return ld
        time.sleep(0.1)
    raise AssertionError(f"no leader other than {not_} within {timeout}s")


def test_partition_cuts_across_and_not_within_and_heal_restores(ctx: dict[str, Any]) -> None:
    cluster, nem = ctx["cluster"], ctx["nem"]
    peer = cluster.system.peer_port
    rec = nem.invoke("partition", {"shape": "isolate-node", "node": "n1"})
    assert rec.type == "ok" and rec.value["groups"] == [["n1"], ["n2", "n3"]], rec
    assert rec.extra["verification"]["ok"] and rec.extra["verification"]["checked"] == 6
    assert rec.complete_ns > rec.invoke_ns
    # our own probes, independent of the nemesis's verification
    m = probe_matrix(cluster.provider, addresses(cluster), peer, timeout_s=1.0)
    assert m["n1"] == {"n2": "timeout", "n3": "timeout"}
    assert m["n2"]["n1"] == "timeout" and m["n3"]["n1"] == "timeout"
    assert m["n2"]["n3"] == "ok" and m["n3"]["n2"] == "ok"
    # the harness (clients) still reaches the isolated node's client port
    assert probe_from_host(addresses(cluster), cluster.system.client_port) == {"n1": "ok", "n2": "ok", "n3": "ok"}
    rules = gbench_rules(ctx)
    assert len(rules) == 8 and all(f"gbench:{ctx['run_id']}" in r for r in rules)
    # every rule was written to the ledger first
    led = [e for e in cluster.provider._ledger.entries("iptables_rule") if e.get("node")]
    assert len(led) >= 8
    # the ledger's commands are what `gbench cleanup` runs after a crash: they must find the rule
    assert subprocess.run(led[-1]["check_argv"], capture_output=True).returncode == 0
    heal = nem.invoke("heal", {})
    assert heal.type == "ok" and heal.extra["verification"]["ok"], heal
    m = probe_matrix(cluster.provider, addresses(cluster), peer, timeout_s=1.0)
    assert all(v == "ok" for row in m.values() for v in row.values()), m
    assert gbench_rules(ctx) == []
    assert subprocess.run(led[-1]["check_argv"], capture_output=True).returncode != 0
    # nothing to heal now: a failed record, no exception
    again = nem.invoke("heal", {})
    assert again.type == "fail" and again.error == "nothing_to_heal"


def test_loss_drops_a_share_of_packets_and_heal_link_restores(ctx: dict[str, Any]) -> None:
    cluster, nem = ctx["cluster"], ctx["nem"]
    rec = nem.invoke("loss", {"probability": 0.5, "shape": "isolate-node", "node": "n2"})
    assert rec.type == "ok", rec
    v = rec.extra["verification"]
    pairs = v["faulty_pairs"]
    assert pairs and all(p["consistent"] for p in pairs), v
    # p = 0.5 each way: about 75% of single-SYN connects time out, never all or none
    assert all(10 < p["failed"] < 100 for p in pairs), pairs
    assert v["healthy_pair"]["failed"] == 0
    assert len(gbench_rules(ctx)) == 4 and all("statistic" in r for r in gbench_rules(ctx))
    heal = nem.invoke("heal-link", {})
    assert heal.type == "ok" and heal.extra["rules_removed"] == 4, heal
    assert gbench_rules(ctx) == []


def test_latency_needs_netem(ctx: dict[str, Any]) -> None:
    ok, _ = netem_available()
    if ok:
        pytest.skip("this kernel has netem; the EnvironmentProblem path is not reachable")
    with pytest.raises(EnvironmentProblem, match="netem is not available in this kernel"):
        ctx["nem"].invoke("latency", {"delay_ms": 50})


def test_kill_leader_elects_another_and_restart_rejoins(ctx: dict[str, Any]) -> None:
    cluster, nem = ctx["cluster"], ctx["nem"]
    leader = wait_leader(cluster)
    rec = nem.invoke("kill", {"target": "leader"})
    assert rec.type == "ok" and rec.value["nodes"] == [leader], rec
    assert not cluster.node(leader).is_running()
    assert probe_from_host({leader: cluster.node(leader).host}, cluster.system.client_port)[leader] == "refused"
    new = wait_leader(cluster, not_=leader)
    assert new != leader
    back = nem.invoke("restart", {})
    assert back.type == "ok" and back.value["nodes"] == [leader], back
    assert cluster.node(leader).is_running()
    assert back.extra["verification"]["nodes"][leader]["answered"] is True


def test_pause_stops_the_process_and_resume_continues_it(ctx: dict[str, Any]) -> None:
    cluster, nem = ctx["cluster"], ctx["nem"]
    rec = nem.invoke("pause", {"target": "follower"})
    assert rec.type == "ok", rec
    name = rec.value["nodes"][0]
    node = cluster.node(name)
    assert node.state() in ("T", "t")
    # a paused member answers nothing (the kernel still accepts the TCP connection)
    assert cluster.system.member_status(cluster)[name] is None
    again = nem.invoke("pause", {"target": name})
    assert again.type == "fail" and again.error == "no_target"
    res = nem.invoke("resume", {})
    assert res.type == "ok" and res.value["nodes"] == [name], res
    assert node.state() not in ("T", "t")


def test_teardown_repairs_everything(ctx: dict[str, Any]) -> None:
    cluster, nem = ctx["cluster"], ctx["nem"]
    nem.invoke("partition", {"shape": "isolate-leader"})
    nem.invoke("loss", {"probability": 0.2})
    paused = nem.invoke("pause", {"target": "random"}).value["nodes"][0]
    assert gbench_rules(ctx)
    recs = nem.teardown()
    assert sorted(r.f for r in recs) == ["heal", "heal-link", "resume"]
    assert all(r.extra.get("final_cleanup") for r in recs)
    assert gbench_rules(ctx) == []
    assert cluster.node(paused).state() not in ("T", "t")
    assert all(n.is_running() for n in cluster.nodes)
    assert nem.teardown() == []  # idempotent
