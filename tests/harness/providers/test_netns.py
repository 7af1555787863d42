"""The netns provider: naming/addressing rules with exact values, then real etcd clusters in
network namespaces (3 and 5 nodes): readiness, replication across nodes, kill -9 + restart,
pause/resume, failure diagnostics, and nothing left behind after teardown (also when it
runs from a signal handler, twice, or with a node paused)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from ipaddress import IPv4Network
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from harness.errors import ClusterError, ConfigError, EnvironmentProblem
from harness.providers.base import NetworkControl, Node, NodeAddress
from harness.providers.ledger import cleanup_all, proc_state
from harness.providers.netns import (IFNAMSIZ, NetnsNames, NetnsProvider, needs_forward_rule, parse_host_networks,
                                     pick_subnet, short_id, validate_subnet)
from harness.systems.etcd.binaries import EtcdBinary, find_etcd, parse_version, version_warnings
from harness.systems.etcd.system import EtcdConfig, EtcdSystem
from tests.harness.providers.etcd_kv import get, new_run_id, put

REPO = Path(__file__).resolve().parents[3]


# --------------------------------------------------------------------------- pure parts

def test_names_fit_linux_interface_limits() -> None:
    assert short_id("20250101T000000Z-e2e") == "2ae5aa"
    nm = NetnsNames("2ae5aa")
    assert (nm.bridge, nm.netns("n1"), nm.veth("n1")) == ("gb2ae5aa-br", "gb-2ae5aa-n1", "gb2ae5aa-n1")
    assert len(nm.veth("n99")) == 12 <= IFNAMSIZ and len(nm.bridge) == 11


def test_pick_subnet_skips_what_is_in_use_and_wraps() -> None:
    n = IPv4Network
    assert pick_subnet([], [], 0) == n("198.18.0.0/24")
    assert pick_subnet([n("198.18.0.0/23")], [], 0) == n("198.18.2.0/24")
    assert pick_subnet([], [n("198.18.2.0/24")], 2) == n("198.18.3.0/24")
    assert pick_subnet([n("198.19.255.7/32")], [], 511) == n("198.18.0.0/24")
    assert pick_subnet([n("10.0.0.0/8")], [], 300) == n("198.19.44.0/24")
    with pytest.raises(EnvironmentProblem, match="no free /24"):
        pick_subnet([n("198.18.0.0/15")], [], 0)


def test_parse_host_networks_ignores_the_default_route() -> None:
    addrs = json.dumps([{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.0.2.2", "prefixlen": 24}]},
                        {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]}])
    routes = json.dumps([{"dst": "default", "gateway": "192.0.2.1"}, {"dst": "198.18.5.0/24"},
                         {"type": "local", "dst": "127.0.0.1"}, {"dst": "0.0.0.0/0"}])
    assert parse_host_networks(addrs, routes) == [IPv4Network("192.0.2.0/24"), IPv4Network("127.0.0.0/8"),
                                                   IPv4Network("198.18.5.0/24"), IPv4Network("127.0.0.1/32")]


@pytest.mark.parametrize("policy,br_nf,rules,expected", [
    ("ACCEPT", False, 0, False), ("ACCEPT", True, 0, False), ("ACCEPT", False, 7, False),
    ("ACCEPT", True, 3, True), ("DROP", False, 0, True), ("DROP", True, 9, True)])
def test_forward_rule_only_when_the_host_would_filter_bridged_traffic(policy: str, br_nf: bool, rules: int,
                                                                      expected: bool) -> None:
    assert needs_forward_rule(policy, br_nf, rules) is expected


def test_validate_subnet() -> None:
    assert validate_subnet("198.18.42.0/24", "x") == IPv4Network("198.18.42.0/24")
    with pytest.raises(ConfigError, match="not a private"):
        validate_subnet("8.8.8.0/24", "GBENCH_SUBNET")
    with pytest.raises(ConfigError, match="too small"):
        validate_subnet("198.18.0.0/28", "GBENCH_SUBNET")
    with pytest.raises(ConfigError, match="not an IPv4 network"):
        validate_subnet("198.18.0.1/24", "GBENCH_SUBNET")


def test_check_environment_names_the_alternative_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblem) as e:
        NetnsProvider("x").check_environment()
    assert "not running as root" in str(e.value) and "--provider external --endpoints" in str(e.value)


def test_the_etcd_command_the_provider_spawns() -> None:
    """(etcd-side pure checks kept here because the provider runs exactly this argv.)"""
    system = EtcdSystem(EtcdBinary(Path("/bin/etcd"), "3.6.16", "go-modules"), EtcdConfig(snapshot_count=5000))
    addrs = [NodeAddress("n1", "198.18.7.11"), NodeAddress("n2", "198.18.7.12")]
    launch = system.launch(addrs[1], addrs, Path("/d/n2"))
    assert launch.argv == [
        "/bin/etcd", "--name", "n2", "--data-dir", "/d/n2",
        "--listen-client-urls", "http://198.18.7.12:2379", "--advertise-client-urls", "http://198.18.7.12:2379",
        "--listen-peer-urls", "http://198.18.7.12:2380", "--initial-advertise-peer-urls", "http://198.18.7.12:2380",
        "--initial-cluster", "n1=http://198.18.7.11:2380,n2=http://198.18.7.12:2380",
        "--initial-cluster-state", "new", "--heartbeat-interval", "100", "--election-timeout", "1000",
        "--snapshot-count", "5000", "--max-request-bytes", "1572864", "--quota-backend-bytes", "8589934592",
        "--initial-cluster-token", "gbench-etcd", "--log-level", "info", "--logger", "zap", "--log-outputs", "stderr"]
    assert launch.env == {} and system.max_value_bytes == 1_572_864 - 4096 >= 1 << 20
    assert system.config_dict()["snapshot_count"] == 5000 and system.config_dict()["version"] == "3.6.16"
    assert parse_version("etcd Version: 3.5.1\nGit SHA: x\n") == "3.5.1"
    assert version_warnings("3.5.2") == ["etcd 3.5.2 can lose data after SIGKILL (etcd-io/etcd#13766); use 3.5.3+ "
                                         "(make setup builds 3.6)"]
    assert version_warnings("3.5.3") == [] and version_warnings("3.6.16") == []
    with pytest.raises(ConfigError, match="at least 5 x heartbeat_ms"):
        EtcdConfig(heartbeat_ms=100, election_timeout_ms=400)


# --------------------------------------------------------------------------- real clusters

@pytest.fixture
def etcd(require_cluster: None) -> EtcdSystem:
    return EtcdSystem(find_etcd())


def leftovers(p: NetnsProvider, scratch: dict[str, Path]) -> list[str]:
    """Everything of this run that could survive: namespaces, links, rules, processes, dirs, ledger."""
    short = p.names.short
    found = []
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {l.split()[0]}" for l in ns.splitlines() if short in l]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found += [f"link {l.split(':')[1].strip()}" for l in links.splitlines() if short in l]
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    found += [f"rule {l}" for l in rules.splitlines() if f"gbench:{p.run_id}" in l]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if str(p.scratch_dir) in (d / "cmdline").read_text() and proc_state(int(d.name)) not in (None, "Z"):
                    found.append(f"process {d.name}")
            except OSError:
                pass
    if p.scratch_dir.exists():
        found.append(f"dir {p.scratch_dir}")
    found += [f"ledger {x}" for x in scratch["state"].glob("*.json")]
    return found


@pytest.fixture
def provider(etcd: EtcdSystem, scratch: dict[str, Path], request: pytest.FixtureRequest) -> Iterator[NetnsProvider]:
    p = NetnsProvider(new_run_id(request.node.name[5:25].replace("[", "-").strip("]")))
    try:
        yield p
    finally:
        p.teardown()
        assert leftovers(p, scratch) == []


@pytest.mark.cluster
def test_three_nodes_ready_replicate_and_leave_nothing(provider: NetnsProvider, etcd: EtcdSystem,
                                                       scratch: dict[str, Path]) -> None:
    cluster = provider.start(etcd, 3, scratch["run"])
    print(f"\n3-node time to ready: {cluster.time_to_ready_s:.3f}s (leader {cluster.ready.leader})")
    assert cluster.ready is not None and cluster.ready.leader in {"n1", "n2", "n3"}
    assert 0 < cluster.ready.seconds <= cluster.time_to_ready_s < 30
    assert sorted(cluster.ready.details["member_ids"]) == ["n1", "n2", "n3"]
    assert all(isinstance(n, Node) for n in cluster.nodes) and isinstance(provider, NetworkControl)
    assert provider.subnet is not None and provider.subnet.subnet_of(IPv4Network("198.18.0.0/15"))
    assert [n.host for n in cluster.nodes] == [str(provider.subnet[11 + i]) for i in range(3)]
    # a write through n1 is visible on n2 (linearizable) and n3 (serializable, local)
    rev = put(cluster.client_endpoint("n1"), "gbtest/k", b"v1")
    assert get(cluster.client_endpoint("n2"), "gbtest/k") == b"v1"
    deadline = time.monotonic() + 5
    while get(cluster.client_endpoint("n3"), "gbtest/k", serializable=True) != b"v1":
        assert time.monotonic() < deadline, "n3 never applied the write"
        time.sleep(0.05)
    assert rev > 1
    status = etcd.member_status(cluster)
    assert {s["leader"] for s in status.values() if s} == {cluster.ready.leader}
    assert etcd.leader(cluster) == cluster.ready.leader
    # the node's namespace has its own address and nothing else routable
    out = provider.exec_in_node_netns("n2", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
    assert f"inet {cluster.node('n2').host}/24" in out
    assert provider.exec_in_node_netns("n2", ["ip", "-4", "route", "show", "default"]).stdout == ""
    with pytest.raises(ClusterError, match=r"on n2 \(netns gb-.*-n2\): `false` exited 1"):
        provider.exec_in_node_netns("n2", ["false"])
    for n in cluster.nodes:
        assert n.log_path == scratch["run"] / "nodes" / f"{n.name}.log" and n.log_path.stat().st_size > 0
    provider.teardown()
    assert leftovers(provider, scratch) == []
    provider.teardown()  # twice is fine
    assert all(not n.is_running() for n in cluster.nodes)


@pytest.mark.cluster
def test_five_nodes_ready_with_one_leader(provider: NetnsProvider, etcd: EtcdSystem, scratch: dict[str, Path]) -> None:
    cluster = provider.start(etcd, 5, scratch["run"])
    print(f"\n5-node time to ready: {cluster.time_to_ready_s:.3f}s (leader {cluster.ready.leader}, "
          f"term {cluster.ready.details['raft_term']})")
    assert len(cluster.nodes) == 5 and cluster.time_to_ready_s is not None and cluster.time_to_ready_s > 0
    status = etcd.member_status(cluster)
    assert sum(1 for s in status.values() if s and s["is_leader"]) == 1
    assert {s["leader"] for s in status.values() if s} == {cluster.ready.leader}


@pytest.mark.cluster
def test_peer_links_through_toxiproxy_partition_heal_and_leave_nothing(
        etcd: EtcdSystem, scratch: dict[str, Path]) -> None:
    """Under netns, Toxiproxy is a host process listening on link addresses of the run's
    bridge, and each namespace resolves its peers through /etc/netns/<ns>/hosts; a
    partition is toxics; teardown removes the process, the hosts dirs and the ledger."""
    import time as _time

    from harness.nemesis import NemesisContext, standard_nemesis
    from harness.providers.netns import NETNS_ETC_DIR

    had_etc_netns = NETNS_ETC_DIR.exists()
    p = NetnsProvider(new_run_id("netns-toxilinks")).with_peer_links("toxiproxy")
    try:
        cluster = p.start(etcd, 3, scratch["run"])
        assert p.peer_links is not None and len(p.peer_links.plan.links) == 6
        hosts = (NETNS_ETC_DIR / p.names.netns("n1") / "hosts").read_text()
        assert f"{p.peer_links.plan.link('n1', 'n2').listen.split(':')[0]}\tn2" in hosts
        # inside n1's namespace (as etcd sees it), n2 is n1's own proxy for the link
        seen = p.exec_in_node_netns("n1", ["getent", "hosts", "n2"]).stdout.split()[0]
        assert seen == p.peer_links.plan.link("n1", "n2").listen.split(":")[0]
        assert put(cluster.client_endpoint("n1"), "gbtest/p", b"v1") > 1
        nem = standard_nemesis()
        nem.setup(NemesisContext(cluster, p.run_id, _time.monotonic_ns()))
        try:
            rec = nem.invoke("partition", {"shape": "isolate-node", "node": "n1"})
            assert rec.type == "ok" and rec.extra["via"] == "toxiproxy" and rec.extra["toxics"] == 8, rec
            deadline = _time.monotonic() + 20
            while True:  # n2/n3 elect (if n1 led) and commit without n1
                try:
                    put(cluster.client_endpoint("n2"), "gbtest/p", b"v2")
                    break
                except grpc.RpcError:
                    assert _time.monotonic() < deadline, "no majority write within 20 s"
            assert get(cluster.client_endpoint("n1"), "gbtest/p", serializable=True) == b"v1"
            healed = nem.invoke("heal", {})
            assert healed.type == "ok" and healed.extra["toxics_removed"] == 8, healed
            deadline = _time.monotonic() + 20
            while get(cluster.client_endpoint("n1"), "gbtest/p", serializable=True) != b"v2":
                assert _time.monotonic() < deadline, "n1 did not catch up within 20 s"
                _time.sleep(0.1)
        finally:
            nem.teardown()
        toxi_pid = p._toxiproxy.proc.pid if p._toxiproxy and p._toxiproxy.proc else None
    finally:
        p.teardown()
    assert leftovers(p, scratch) == []
    assert not (NETNS_ETC_DIR / p.names.netns("n1")).exists()
    assert NETNS_ETC_DIR.exists() == had_etc_netns  # /etc/netns itself only removed if the run created it
    assert toxi_pid is not None and proc_state(toxi_pid) in (None, "Z")


@pytest.mark.cluster
def test_kill_9_follower_then_restart_on_same_data_rejoins(provider: NetnsProvider, etcd: EtcdSystem,
                                                           scratch: dict[str, Path]) -> None:
    cluster = provider.start(etcd, 3, scratch["run"])
    leader = etcd.leader(cluster)
    f = next(n for n in cluster.nodes if n.name != leader)
    put(cluster.client_endpoint(leader), "before", b"1")
    old_pid = f.pid()
    f.kill()
    assert not f.is_running() and f.pid() is None and f.returncode == -signal.SIGKILL
    put(cluster.client_endpoint(leader), "during", b"2")  # a majority remains
    f.restart()
    assert f.is_running() and f.pid() != old_pid
    ready = etcd.wait_ready(cluster, timeout_s=30)
    assert ready.leader == leader
    # its data dir survived and it caught up: both keys readable locally on the restarted node
    deadline = time.monotonic() + 5
    while get(cluster.client_endpoint(f), "during", serializable=True) != b"2":
        assert time.monotonic() < deadline, f"{f.name} did not catch up after restart"
        time.sleep(0.05)
    assert get(cluster.client_endpoint(f), "before", serializable=True) == b"1"
    log = f.log_path.read_text()
    assert log.count("===== gbench: ") == 2 and f"restart #1 of {f.name}" in log
    ledger = json.loads(next(scratch["state"].glob("*.json")).read_text())
    assert [r["pid"] for r in ledger["resources"] if r["key"] == f"process:{f.name}"] == [f.pid()]


@pytest.mark.cluster
def test_pause_resume_and_teardown_while_paused(provider: NetnsProvider, etcd: EtcdSystem,
                                                scratch: dict[str, Path]) -> None:
    cluster = provider.start(etcd, 3, scratch["run"])
    leader = etcd.leader(cluster)
    f = next(n for n in cluster.nodes if n.name != leader)
    f.pause()
    assert proc_state(f.pid()) == "T" and f.is_running()  # type: ignore[arg-type]
    put(cluster.client_endpoint(leader), "while-paused", b"x")  # quorum without the paused node
    assert etcd.member_status(cluster)[f.name] is None  # a stopped process answers nothing
    f.resume()
    # resumed = no longer stopped; a running etcd may be in any of R, S or D (fsync in progress)
    assert proc_state(f.pid()) in ("R", "S", "D")  # type: ignore[arg-type]
    etcd.wait_ready(cluster, timeout_s=30)
    cluster.nodes[0].pause()  # teardown must cope with a paused node (fixture checks leftovers)


@pytest.mark.cluster
def test_forward_rule_is_added_and_removed(provider: NetnsProvider, etcd: EtcdSystem, scratch: dict[str, Path]) -> None:
    provider.with_forward_rule(True)
    provider.start(etcd, 1, scratch["run"])
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    br = provider.names.bridge
    assert f"-A FORWARD -i {br} -o {br} -m comment --comment \"gbench:{provider.run_id}\" -j ACCEPT" in rules
    assert provider.forward_rule_added


class _BadFlag(EtcdSystem):
    """etcd whose n2 gets an unknown flag: it exits at once."""

    def launch(self, node: NodeAddress, cluster, data_dir):  # type: ignore[no-untyped-def]
        lc = super().launch(node, cluster, data_dir)
        return type(lc)(argv=lc.argv + (["--no-such-flag"] if node.name == "n2" else []), data_dir=lc.data_dir)


@pytest.mark.cluster
def test_a_node_that_dies_at_start_is_named_with_its_log(provider: NetnsProvider, etcd: EtcdSystem,
                                                         scratch: dict[str, Path]) -> None:
    bad = _BadFlag(etcd.binary)
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as e:
        provider.with_ready_timeout(30).start(bad, 3, scratch["run"])
    msg = str(e.value)
    assert time.monotonic() - t0 < 10, "an exited node must fail fast, not at the timeout"
    assert "n2 exited before the cluster was ready" in msg and "process exited (code 2)" in msg
    assert "flag provided but not defined: -no-such-flag" in msg and "Hint:" in msg
    assert leftovers(provider, scratch) == [], "start() tears down on failure"


TERM_HANDLER_SCRIPT = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from harness.providers.netns import NetnsProvider
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem
    p = NetnsProvider(sys.argv[1])
    def on_term(signum, frame):
        p.teardown()
        p.teardown()
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    cluster = p.start(EtcdSystem(find_etcd()), 3, Path(sys.argv[2]))
    cluster.nodes[1].pause()
    print("READY", flush=True)
    # Short sleeps, not one long one: a SIGTERM that lands after the interpreter's last signal
    # check but before the sleep's system call only sets CPython's flag, and the handler would
    # then wait for the whole sleep (seen in CI under load). Bounded: 600 s at most.
    for _ in range(6000):
        time.sleep(0.1)
""")


@pytest.mark.cluster
def test_teardown_from_a_signal_handler(etcd: EtcdSystem, scratch: dict[str, Path]) -> None:
    run_id = new_run_id("sigterm")
    proc = subprocess.Popen([sys.executable, "-c", TERM_HANDLER_SCRIPT, run_id, str(scratch["run"])], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY", proc.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
            cleanup_all(directory=scratch["state"])  # a failed test must not leak into the next ones
    assert leftovers(NetnsProvider(run_id), scratch) == []
