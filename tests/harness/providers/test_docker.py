"""The docker provider: naming/command rules with exact values, then real etcd clusters in
containers (3 and 5 nodes) started through testcontainers: replication, kill + restart,
pause/resume, an iptables partition through ``exec_in_node_netns`` that survives a kill +
restart of the isolated node, cleanup by label after a SIGKILLed harness, the Toxiproxy
image, and nothing of a run left afterwards (containers, networks, run-specific image
tags, bridge, FORWARD rules, data dirs).

Real-cluster tests need a Docker engine and the local images (harness/setup/docker/images.sh).
Without an engine they skip, unless ``CI=true`` or ``GBENCH_START_DOCKERD=1``: then they
start ``dockerd`` themselves when it is installed and they are root (and stop it again),
and build missing images with images.sh. Without ``dockerd`` they skip even in CI; with an
engine, anything else missing fails in CI, as the other cluster tests do.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest
from pyetcd.etcdrpc import rpc_pb2 as pb
from pyetcd.etcdrpc import rpc_pb2_grpc as pbg

from harness.api import ImageSpec
from harness.errors import EnvironmentProblem
from harness.providers.base import NetworkControl, Node, NodeLaunch
from harness.providers.docker import (LABEL_RUN, PAUSE_IMAGE, RUN_MARKER, TOXIPROXY_API_PORT, TOXIPROXY_IMAGE,
                                      DockerCleanupResult, DockerdHandle, DockerNames, DockerNode, DockerProvider,
                                      _remove_scratch, cleanup_docker, container_argv, container_env, engine_problem,
                                      ensure_dockerd, exit_status, forward_rule_spec, image_for, run_labels)
from harness.providers.netns import IFNAMSIZ, short_id
from harness.systems.etcd.plugin import etcd_image
from tests.harness.providers.etcd_kv import NO_PROXY, get, new_run_id, put

REPO = Path(__file__).resolve().parents[3]


# --------------------------------------------------------------------------- pure parts

def test_names_labels_and_rule_spec() -> None:
    nm = DockerNames(short_id("20250101T000000Z-e2e"))
    assert (nm.network, nm.bridge, nm.sandbox("n1"), nm.container("n1")) == \
        ("gbench-2ae5aa", "gd2ae5aa-br", "gbench-2ae5aa-n1-net", "gbench-2ae5aa-n1")
    assert len(nm.bridge) <= IFNAMSIZ
    labels = run_labels("r1", "node", **{"gbench.node": "n2"})
    assert labels[LABEL_RUN] == "r1" and labels["gbench.role"] == "node" and labels["gbench.node"] == "n2"
    assert labels["gbench.owner_pid"] == str(os.getpid()) and labels["gbench.owner_start_time"].isdigit()
    assert forward_rule_spec("gd2ae5aa-br", "r1") == ["FORWARD", "-i", "gd2ae5aa-br", "-o", "gd2ae5aa-br", "-j",
                                                     "ACCEPT", "-m", "comment", "--comment", "gbench:r1"]


def test_the_command_a_container_runs_is_the_systems_own() -> None:
    launch = NodeLaunch(argv=["/work/.cache/bin/etcd", "--name", "n1", "--data-dir", "/d/n1"], data_dir=Path("/d/n1"))
    assert container_argv(launch, etcd_image("3.6.16")) == (["/usr/local/bin/etcd"],
                                                            ["--name", "n1", "--data-dir", "/d/n1"])
    assert etcd_image("3.6.16") == ImageSpec("gbench/etcd:3.6.16-local", "quay.io/coreos/etcd:v3.6.16",
                                             "/usr/local/bin/etcd")
    assert TOXIPROXY_IMAGE.candidates() == ["gbench/toxiproxy:2.12.0-local", "ghcr.io/shopify/toxiproxy:2.12.0"]
    assert PAUSE_IMAGE.binary == "/pause"


def test_exit_status_follows_popen() -> None:
    assert exit_status(137, running=False) == -9 and exit_status(143, running=False) == -15
    assert exit_status(0, running=False) == 0 and exit_status(2, running=False) == 2
    assert exit_status(0, running=True) is None


def test_host_directories_become_the_images_in_the_command_and_environment() -> None:
    spec = ImageSpec("gbench/cassandra:5.0.9-local", None, "java", {"lib": "/opt/cassandra/lib"})
    lib = Path("/w/.cache/cassandra/5.0.9/lib")
    launch = NodeLaunch(argv=["/usr/lib/jvm/java-17/bin/java", f"-javaagent:{lib}/jamm-0.4.0.jar", "-cp",
                              f"{lib}/a.jar:{lib}/b.jar", f"-Dx={lib}", f"{lib}2/c.jar", "-Dlog=/d/n1/logs", "Main"],
                        data_dir=Path("/d/n1"), env={"LD_PRELOAD": f"{lib}/x.so", "N": "1"}, host_paths={"lib": lib})
    assert container_argv(launch, spec) == (["java"], [
        "-javaagent:/opt/cassandra/lib/jamm-0.4.0.jar", "-cp", "/opt/cassandra/lib/a.jar:/opt/cassandra/lib/b.jar",
        "-Dx=/opt/cassandra/lib", "/w/.cache/cassandra/5.0.9/lib2/c.jar", "-Dlog=/d/n1/logs", "Main"])
    assert container_env(launch, spec) == {"LD_PRELOAD": "/opt/cassandra/lib/x.so", "N": "1"}
    conf = NodeLaunch(argv=["java", "-XX:CompileCommandFile=/h/conf/hotspot_compiler"], data_dir=Path("/d/n1"),
                      host_paths={"lib": lib, "conf": Path("/h/conf")})
    with pytest.raises(EnvironmentProblem, match=r"does not hold the conf directory .*\(/h/conf on this host\); "
                                                 r"the image holds only \['lib'\]"):
        container_argv(conf, spec)


def test_every_system_with_a_plugin_names_its_image_and_others_are_refused() -> None:
    class System:
        def __init__(self, name: str) -> None:
            self.name = name

        def version(self) -> str:
            return "1.0"

    assert image_for(System("cassandra")) == ImageSpec("gbench/cassandra:1.0-local", None, "java",  # type: ignore[arg-type]
                                                       {"lib": "/opt/cassandra/lib"}, probe=("java", "-version"))
    with pytest.raises(EnvironmentProblem, match="no system plugin registers it"):
        image_for(System("nosuch"))  # type: ignore[arg-type]


def test_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    assert "no Docker engine answers" in (engine_problem() or "")
    with pytest.raises(EnvironmentProblem) as e:
        DockerProvider("x").check_environment()
    assert "docker provider cannot run here" in str(e.value) and "--provider netns" in str(e.value)
    assert cleanup_docker("x").removed == []  # nothing of ours can exist without an engine
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.1:2375")
    assert "not a local socket" in (engine_problem() or "")


def test_scratch_dirs_are_removed_only_when_their_marker_names_the_run(tmp_path: Path) -> None:
    d = tmp_path / "run-a"
    d.mkdir()
    (d / RUN_MARKER).write_text("run-a\n")
    (d / "n1").mkdir()
    r = DockerCleanupResult()
    _remove_scratch(d, "run-b", r)
    assert d.exists() and r.errors and "left in place" in r.errors[0]
    r = DockerCleanupResult()
    _remove_scratch(d, "run-a", r)
    assert not d.exists() and r.ok and r.removed == [f"dir {d}"]
    _remove_scratch(tmp_path / "unmarked", "run-a", r)  # no marker: not ours, silently left alone
    assert r.ok


# --------------------------------------------------------------------------- real clusters

def _may_set_up() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("GBENCH_START_DOCKERD"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"docker cluster test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerdHandle]:
    """A Docker engine for this module: the running one, or dockerd started here (CI)."""
    problem = engine_problem()
    if problem is None:
        yield DockerdHandle(started=False)
        return
    if not (_may_set_up() and shutil.which("dockerd") and os.geteuid() == 0):
        # a skip even in CI: a CI machine without Docker still runs every other cluster test
        pytest.skip(f"{problem} (with CI=true or GBENCH_START_DOCKERD=1 these tests start dockerd when it is "
                    "installed and they run as root)")
    handle = ensure_dockerd()
    print(f"\n[test] started dockerd (pid {handle.proc.pid if handle.proc else '?'}) in {handle.startup_s:.1f}s")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def images(engine: DockerdHandle) -> dict[str, str]:
    """The local images (built by images.sh when allowed and missing). Ryuk is off: its
    image cannot be pulled here, and cleanup must not depend on it."""
    from harness.systems.etcd.binaries import find_etcd

    if os.geteuid() != 0:
        _unavailable("needs root (nsenter into the containers' namespaces for partitions)")
    try:
        version = find_etcd().version
    except EnvironmentProblem as e:
        _unavailable(str(e))
    want = {"etcd": etcd_image(version).local, "pause": PAUSE_IMAGE.local, "toxiproxy": TOXIPROXY_IMAGE.local}
    if _missing(want) and _may_set_up():
        t0 = time.monotonic()
        subprocess.run(["bash", str(REPO / "harness/setup/docker/images.sh")], check=True, timeout=900)
        print(f"\n[test] images.sh took {time.monotonic() - t0:.1f}s")
    missing = _missing(want)
    if missing:
        _unavailable(f"docker images missing: {', '.join(missing)} (run harness/setup/docker/images.sh)")
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    return want


def system_image(request: pytest.FixtureRequest, system: Any) -> str:
    """For another module's docker cluster: an engine (this module's ``engine`` fixture,
    dockerd started under CI) and ``system``'s local image, built when missing and allowed
    (CI) by the script that makes it; skips (fails in CI) naming what is missing."""
    request.getfixturevalue("engine")
    if os.geteuid() != 0:
        _unavailable("needs root (nsenter into the containers' namespaces for partitions)")
    tag = image_for(system).local
    script = REPO / "harness/setup/docker" / ("images.sh" if tag.startswith("gbench/etcd:") else "jvm-images.sh")
    if _missing({"node": tag, "pause": PAUSE_IMAGE.local}) and _may_set_up():
        for s in sorted({script, REPO / "harness/setup/docker/images.sh"}):
            subprocess.run(["bash", str(s)], check=True, timeout=900, capture_output=True)
    missing = _missing({"node": tag, "pause": PAUSE_IMAGE.local})
    if missing:
        _unavailable(f"docker images missing: {', '.join(missing)} (run harness/setup/docker/images.sh and "
                     "jvm-images.sh)")
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    return tag


def module_provider(kind: str, run_id: str, tmp: Path, request: pytest.FixtureRequest, system: Any,
                    peer_links: str = "direct") -> Any:
    """The provider a cluster test module parametrized by provider (``netns`` | ``docker``)
    starts its cluster with, its data under ``tmp/data`` (and netns's ledger in ``tmp/state``)."""
    from harness.providers.docker import DockerOptions
    from harness.providers.netns import NetnsProvider

    if kind == "docker":
        system_image(request, system)
        if peer_links == "toxiproxy":
            _missing({"toxiproxy": TOXIPROXY_IMAGE.local}) and _unavailable(f"no {TOXIPROXY_IMAGE.local} (images.sh)")
        return DockerProvider(run_id, DockerOptions(peer_links=peer_links)).with_pull(False) \
            .with_data_root(tmp / "data")
    return NetnsProvider(run_id).with_state_dir(tmp / "state").with_data_root(tmp / "data") \
        .with_peer_links(peer_links)


def node_containers(kind: str, cluster: Any) -> list[dict[str, Any]]:
    """``docker inspect`` of each node's server container, for the docker half of a module
    parametrized by provider (skips the netns half: its nodes are host processes)."""
    if kind != "docker":
        pytest.skip("docker only: netns nodes are host processes without a memory limit")
    import docker

    client = docker.from_env()
    try:
        return [client.containers.get(n.container_name).attrs for n in cluster.nodes]
    finally:
        client.close()


def module_leftovers(kind: str, provider: Any, tmp: Path) -> list[str]:
    """What such a module's cluster left behind: containers, networks, bridge, rules (docker)
    or namespaces and the ledger (netns), and any process still running from its data dir."""
    if kind == "docker":
        found = leftovers(provider.run_id, provider.scratch_dir)
    else:
        spaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        found = [f"netns {n}" for n in spaces.split() if n.startswith(provider.names.netns(""))]
        found += [f"ledger {p}" for p in (tmp / "state").glob("*.json")]
    pids = subprocess.run(["pgrep", "-f", str(tmp / "data")], capture_output=True, text=True).stdout.split()
    found += [f"process {p}" for p in pids]
    if (tmp / "data").exists():
        found += [f"data {d}" for d in (tmp / "data").iterdir()]
    return found


def _missing(want: dict[str, str]) -> list[str]:
    p = subprocess.run(["docker", "image", "inspect", *want.values()], capture_output=True, text=True)
    found = {t for img in (json.loads(p.stdout or "[]") or []) for t in img.get("RepoTags", [])}
    return [t for t in want.values() if t not in found]


@pytest.fixture
def etcd(images: dict[str, str]) -> Any:
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem

    return EtcdSystem(find_etcd())


def leftovers(run_id: str, scratch_dir: Path | None = None) -> list[str]:
    """Everything of this run that could survive: containers, networks, images, the
    bridge, FORWARD rules, node processes, the data dir."""
    import docker

    short = short_id(run_id)
    client = docker.from_env()
    try:
        found = {f"container {c.name}" for c in client.containers.list(all=True)
                 if short in c.name or c.labels.get(LABEL_RUN) == run_id}
        found |= {f"network {n.name}" for n in client.networks.list()
                  if short in n.name or (n.attrs.get("Labels") or {}).get(LABEL_RUN) == run_id}
        found |= {f"image {img.tags or img.id}" for img in client.images.list(all=True)
                  if img.labels.get(LABEL_RUN) == run_id or any(short in t or run_id in t for t in img.tags)}
    finally:
        client.close()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found |= {f"link {l.split(':')[1].strip()}" for l in links.splitlines() if f"gd{short}" in l}
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    found |= {f"rule {l}" for l in rules.splitlines() if f"gbench:{run_id}" in l}
    if scratch_dir is not None:
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if str(scratch_dir) in (d / "cmdline").read_text():
                        found.add(f"process {d.name}")
                except OSError:
                    pass
        if scratch_dir.exists():
            found.add(f"dir {scratch_dir}")
    return sorted(found)


@pytest.fixture
def provider(etcd: Any, scratch: dict[str, Path], request: pytest.FixtureRequest) -> Iterator[DockerProvider]:
    p = DockerProvider(new_run_id(request.node.name[5:25])).with_pull(False)
    try:
        yield p
    finally:
        p.teardown()
        assert leftovers(p.run_id, p.scratch_dir) == []


def eventually(fn: Any, timeout_s: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            v = fn()
            if v:
                return v
        except (grpc.RpcError, OSError):  # not answering yet (urllib's URLError is an OSError)
            pass
        assert time.monotonic() < deadline, f"{what} not met within {timeout_s}s"
        time.sleep(0.1)


@pytest.mark.cluster
def test_three_nodes_replicate_survive_kill_pause_partition_and_leave_nothing(
        provider: DockerProvider, etcd: Any, scratch: dict[str, Path]) -> None:
    import docker

    from harness.nemesis import NemesisContext, standard_nemesis

    cluster = provider.start(etcd, 3, scratch["run"])
    print(f"\n3-node docker time to ready: {cluster.time_to_ready_s:.3f}s (sandboxes {provider.sandboxes_s:.3f}s; "
          f"leader {cluster.ready.leader}; images {provider.images} {provider.image_sources}; ryuk {provider.ryuk})")
    assert cluster.ready is not None and cluster.ready.leader in {"n1", "n2", "n3"}
    assert 0 < cluster.ready.seconds <= cluster.time_to_ready_s < 30
    assert provider.ryuk is False and provider.image_sources == {"node": "local", "sandbox": "local"}
    assert all(isinstance(n, Node) for n in cluster.nodes) and isinstance(provider, NetworkControl)
    assert provider.subnet is not None and provider.subnet.subnet_of(IPv4Network("198.18.0.0/15"))
    assert [n.host for n in cluster.nodes] == [str(provider.subnet[11 + i]) for i in range(3)]
    assert provider.gateway == str(provider.subnet[1])
    facts = provider.facts()
    assert facts["engine"]["version"] and set(facts["image_ids"]) == {"node", "sandbox"}

    # every container and the network carry the run label; the node runs the system's exact flags
    client = docker.from_env()
    try:
        mine = client.containers.list(filters={"label": f"{LABEL_RUN}={provider.run_id}"})
        assert sorted(c.name for c in mine) == sorted([provider.names.container(f"n{i}") for i in (1, 2, 3)]
                                                      + [provider.names.sandbox(f"n{i}") for i in (1, 2, 3)])
        n2 = client.containers.get(provider.names.container("n2"))
        assert n2.attrs["Args"] == cluster.node("n2").launch.argv[1:]  # type: ignore[attr-defined]
        assert n2.attrs["HostConfig"]["NetworkMode"].startswith("container:")
        net = client.networks.get(provider.names.network)
        assert net.attrs["Labels"][LABEL_RUN] == provider.run_id and net.attrs["Internal"] is True
    finally:
        client.close()

    # a write through n1 is visible on n2 (linearizable) and n3 (serializable, local)
    assert put(cluster.client_endpoint("n1"), "gbtest/k", b"v1") > 1
    assert get(cluster.client_endpoint("n2"), "gbtest/k") == b"v1"
    eventually(lambda: get(cluster.client_endpoint("n3"), "gbtest/k", serializable=True) == b"v1", 5, "n3 applied")
    # the node's namespace: its address, no default route (internal network)
    out = provider.exec_in_node_netns("n2", ["ip", "-4", "-o", "addr", "show"]).stdout
    assert f"inet {cluster.node('n2').host}/24" in out
    assert provider.exec_in_node_netns("n2", ["ip", "-4", "route", "show", "default"]).stdout == ""
    assert '"msg":"serving client traffic insecurely' in cluster.node("n1").log_path.read_text() or \
        "ready to serve client requests" in cluster.node("n1").log_path.read_text()

    # kill -9 (docker kill) keeps the data; the other two still commit; restart rejoins
    n3 = cluster.node("n3")
    n3.kill()
    assert not n3.is_running() and n3.pid() is None and n3.returncode == -9  # type: ignore[attr-defined]
    # n3 may have been the leader: the write waits for the election (retried, bounded)
    eventually(lambda: put(cluster.client_endpoint("n1"), "gbtest/k", b"v2"), 20, "a write after the kill")
    n3.restart()
    assert n3.is_running()
    eventually(lambda: get(cluster.client_endpoint("n3"), "gbtest/k", serializable=True) == b"v2", 15, "n3 caught up")
    log3 = n3.log_path.read_text()
    assert "===== gbench: restart #1 of n3" in log3
    assert log3.split("restart #1 of n3")[1].count('"level"') > 3  # the new incarnation's own lines follow it

    # pause (cgroup freezer) reads as /proc state T; resume undoes it
    n2node = cluster.node("n2")
    n2node.pause()
    assert n2node.state() == "T" and n2node.is_running()  # type: ignore[attr-defined]
    n2node.resume()
    assert n2node.state() not in ("T", "t", None)  # type: ignore[attr-defined]

    # the nemesis's partition, inside the containers' namespaces; it survives kill + restart of n1
    nem = standard_nemesis()
    nem.setup(NemesisContext(cluster, provider.run_id, time.monotonic_ns()))
    try:
        rec = nem.invoke("partition", {"shape": "isolate-node", "node": "n1"})
        assert rec.type == "ok", rec
        assert rec.extra["verification"]["harness_reaches_all"] is True
        rules = provider.exec_in_node_netns("n1", ["iptables", "-S"]).stdout
        assert rules.count(f"gbench:{provider.run_id}") == 4  # DROP in and out for each of n2, n3
        n1 = cluster.node("n1")
        n1.kill()
        n1.restart()
        assert provider.exec_in_node_netns("n1", ["iptables", "-S"]).stdout.count(f"gbench:{provider.run_id}") == 4
        healed = nem.invoke("heal", {})
        assert healed.type == "ok", healed
        assert f"gbench:{provider.run_id}" not in provider.exec_in_node_netns("n1", ["iptables", "-S"]).stdout
        eventually(lambda: put(cluster.client_endpoint("n2"), "gbtest/k", b"v3"), 20, "a write after the heal")
        eventually(lambda: get(cluster.client_endpoint("n1"), "gbtest/k", serializable=True) == b"v3", 15,
                   "n1 caught up")
    finally:
        nem.teardown()
    provider.teardown()
    assert provider.last_cleanup is not None and provider.last_cleanup.ok
    assert leftovers(provider.run_id, provider.scratch_dir) == []
    provider.teardown()  # idempotent


@pytest.mark.cluster
def test_five_nodes_time_to_ready(provider: DockerProvider, etcd: Any, scratch: dict[str, Path]) -> None:
    cluster = provider.start(etcd, 5, scratch["run"])
    print(f"\n5-node docker time to ready: {cluster.time_to_ready_s:.3f}s (sandboxes {provider.sandboxes_s:.3f}s; "
          f"leader {cluster.ready.leader})")
    assert sorted(cluster.ready.details["member_ids"]) == ["n1", "n2", "n3", "n4", "n5"]
    assert {s["leader"] for s in etcd.member_status(cluster).values() if s} == {cluster.ready.leader}
    cluster.node("n4").pause()  # teardown (the fixture) must remove a paused node too
    assert cluster.node("n4").state() == "T"  # type: ignore[attr-defined]


@pytest.mark.cluster
def test_five_nodes_with_peer_links_through_toxiproxy_partition_and_heal(
        etcd: Any, scratch: dict[str, Path], request: pytest.FixtureRequest) -> None:
    """Members reach each other only through Toxiproxy (one proxy per directed link, names
    resolved by per-node hosts files); a leader-in-minority partition is a set of toxics:
    the minority cannot commit, the majority elects and commits, and after the heal the
    old minority catches up. Nothing of the run is left."""
    import docker

    from harness.nemesis import NemesisContext, standard_nemesis
    from harness.providers.docker import DockerOptions

    p = DockerProvider(new_run_id("toxilinks"), DockerOptions(peer_links="toxiproxy")).with_pull(False)
    try:
        cluster = p.start(etcd, 5, scratch["run"])
        print(f"\n5-node docker + Toxiproxy peer links: ready in {cluster.time_to_ready_s:.3f}s "
              f"(leader {cluster.ready.leader})")
        assert p.peer_links is not None and len(p.peer_links.plan.links) == 20
        assert p.facts()["peer_links"]["proxies"] == 20
        proxies = p.peer_links.client.proxies()
        assert sorted(proxies) == sorted(lk.name for lk in p.peer_links.plan.links)
        # the members advertise names, and n1 resolves n2 to its own proxy for n1->n2
        argv = cluster.node("n1").launch.argv  # type: ignore[attr-defined]
        assert argv[argv.index("--initial-advertise-peer-urls") + 1] == "http://n1:2380"
        client = docker.from_env()
        try:
            c1 = client.containers.get(p.names.container("n1"))
            assert any(m["Destination"] == "/etc/hosts" for m in c1.attrs["Mounts"])
            toxi = client.containers.get(p.names.toxiproxy)
            assert toxi.labels[LABEL_RUN] == p.run_id
        finally:
            client.close()
        assert f"{p.peer_links.plan.link('n1', 'n2').listen.split(':')[0]}\tn2" in \
            (p.scratch_dir / "hosts" / "n1").read_text()
        assert put(cluster.client_endpoint("n1"), "gbtest/t", b"v1") > 1
        eventually(lambda: get(cluster.client_endpoint("n5"), "gbtest/t", serializable=True) == b"v1", 10,
                   "n5 applied through the proxies")

        nem = standard_nemesis()
        nem.setup(NemesisContext(cluster, p.run_id, time.monotonic_ns()))
        try:
            rec = nem.invoke("partition", {"shape": "leader-in-minority"})
            assert rec.type == "ok", rec
            assert rec.extra["via"] == "toxiproxy" and rec.extra["toxics"] == 24  # 12 directed cuts x 2 streams
            minority, majority = rec.value["groups"][0], rec.value["groups"][1]
            assert len(minority) == 2 and cluster.ready.leader in minority
            # the majority elects a leader of its own and commits
            eventually(lambda: put(cluster.client_endpoint(majority[0]), "gbtest/t", b"v2"), 20,
                       "a majority write during the partition")
            # the minority cannot commit (a linearizable read through it times out)
            with pytest.raises(grpc.RpcError):
                with grpc.insecure_channel(cluster.client_endpoint(minority[0]), options=NO_PROXY) as ch:
                    pbg.KVStub(ch).Range(pb.RangeRequest(key=b"gbtest/t"), timeout=2)
            assert get(cluster.client_endpoint(minority[0]), "gbtest/t", serializable=True) == b"v1"  # stale
            healed = nem.invoke("heal", {})
            assert healed.type == "ok", healed
            assert healed.extra["toxics_removed"] == 24
            assert all(not p.peer_links.client.toxics(lk.name) for lk in p.peer_links.plan.links)
            eventually(lambda: get(cluster.client_endpoint(minority[0]), "gbtest/t", serializable=True) == b"v2",
                       30, "the old minority caught up after the heal")
        finally:
            nem.teardown()
    finally:
        p.teardown()
    assert leftovers(p.run_id, p.scratch_dir) == []


@pytest.mark.cluster
@pytest.mark.parametrize("peer_links", ["direct", "toxiproxy"])
def test_scenario_workloads_under_docker_with_a_partition(etcd: Any, scratch: dict[str, Path], peer_links: str) -> None:
    """The short leader-in-minority scenario (two workloads, partition at 5 s, heal at 15 s)
    on 5 containers, the partition made with iptables inside the containers' namespaces
    (direct peer links) or with Toxiproxy toxics (peer links through Toxiproxy): the
    workloads record their histories, the failure summary says what the netns run says
    (minority serves no write, majority elects), and nothing of the run is left."""
    from harness.providers.docker import DockerOptions
    from harness.recorder.history import read_history
    from harness.scenario import check_environment, load_scenario
    from harness.scenario.runner import run_scenario

    sc = load_scenario(REPO / "workloads" / "scenarios" / "etcd-leader-in-minority-ci.yaml")
    p = DockerProvider(new_run_id(f"scenario-{peer_links}"), DockerOptions(peer_links=peer_links)).with_pull(False)
    check_environment(sc, p)
    out = scratch["run"] / "scenario"
    try:
        cluster = p.start(etcd, sc.nodes, scratch["run"])
        result = run_scenario(sc, cluster, out, time.monotonic_ns(), log=lambda s: None)
        if peer_links == "toxiproxy":
            assert p.peer_links is not None and p.peer_links.active == []  # healed
        else:
            assert p.peer_links is None
            assert not any(f"gbench:{p.run_id}" in p.exec_in_node_netns(n.name, ["iptables", "-S"]).stdout
                           for n in cluster.nodes)  # healed: no rule left in any namespace
    finally:
        p.teardown()
    assert leftovers(p.run_id, p.scratch_dir) == []
    assert not result.interrupted
    nem = [o for o in read_history(out / "history.jsonl") if o.is_nemesis]
    via = "toxiproxy" if peer_links == "toxiproxy" else None
    assert [(o.f, o.type, o.extra.get("via")) for o in nem] == [("partition", "ok", via), ("heal", "ok", via)]
    for w in ("register-linearizable", "register-serializable"):
        assert sum(1 for o in read_history(out / "workloads" / w / "history.jsonl") if o.type == "ok") > 100
    s = json.loads((out / "failure_summary.json").read_text())
    part = s["partition"]
    assert part["election"]["leader_at_fault"] in part["minority"] and part["election"]["new_leader"] in part["majority"]
    assert part["minority_behaviour"]["writes"]["served"] is False
    assert part["minority_behaviour"]["reads"]["weak"]["serializable"]["served"] is True
    assert part["recovery_after_heal"]["every_node_recovered"] is True
    assert s["lost_writes"]["count"] == 0 and s["linearizability"]["strong"]["linearizable"]["verdict"] is True


_CRASHING_HARNESS = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from harness.providers.docker import DockerProvider
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem
    p = DockerProvider(sys.argv[1]).with_pull(False)
    c = p.start(EtcdSystem(find_etcd()), 1, Path(sys.argv[2]))
    print("READY", p.scratch_dir, flush=True)
    time.sleep(120)
""")


@pytest.mark.cluster
def test_cleanup_by_label_after_the_harness_is_sigkilled(etcd: Any, scratch: dict[str, Path]) -> None:
    run_id = new_run_id("crash")
    proc = subprocess.Popen([sys.executable, "-c", _CRASHING_HARNESS, run_id, str(scratch["run"])], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded: the child starts within its 60 s ready timeout or exits
        assert line.startswith("READY"), line
        scratch_dir = Path(line.split()[1])
        assert scratch_dir.exists()
        live = cleanup_docker(None)
        assert (run_id, proc.pid) in live.skipped_live and not any(run_id in x for x in live.removed)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert len(leftovers(run_id, scratch_dir)) >= 4  # 2 containers, network, bridge, dir
        res = cleanup_docker(None)
        assert res.ok, res.errors
        # The network is sometimes already gone when cleanup lists it (seen once in 3 CI runs here, under
        # load; cause not found): what matters is that nothing of the run is left, network included.
        assert {x.split()[0] for x in res.removed} >= {"container", "dir"}, res.removed
        assert leftovers(run_id, scratch_dir) == [], res.removed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        cleanup_docker(run_id, force=True)


@pytest.mark.cluster
def test_toxiproxy_image_answers_on_a_run_network(images: dict[str, str]) -> None:
    """The locally built Toxiproxy image starts and serves its API (the later Toxiproxy
    nemesis will run it as role ``aux`` on the run network)."""
    import docker
    from docker.types import IPAMConfig, IPAMPool
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    run_id = new_run_id("toxi")
    client = docker.from_env()
    taken = [IPv4Network(c["Subnet"]) for n in client.networks.list() for c in (n.attrs.get("IPAM") or {}).get(
        "Config") or [] if "." in c.get("Subnet", "")]
    client.close()
    subnet = next(s for s in IPv4Network("198.19.0.0/16").subnets(new_prefix=24)
                  if not any(s.overlaps(t) for t in taken))
    net = Network(docker_network_kw={"internal": True, "labels": run_labels(run_id, "network"),
                                     "ipam": IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet),
                                                                               gateway=str(subnet[1]))])})
    net.name = f"gbench-{short_id(run_id)}"
    try:
        net.create()
        tc = DockerContainer(images["toxiproxy"], name=f"gbench-{short_id(run_id)}-toxiproxy") \
            .with_network(net).with_kwargs(labels=run_labels(run_id, "aux"), detach=True)
        tc.start()
        c = tc.get_wrapped_container()
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy: the container only
        body = eventually(lambda: opener.open(f"http://{ip}:{TOXIPROXY_API_PORT}/version", timeout=2).read(), 10,
                          "toxiproxy API")
        assert json.loads(body)["version"] == "2.12.0"
    finally:
        res = cleanup_docker(run_id, force=True)
        assert res.ok, res.errors
        assert leftovers(run_id) == []


def test_a_sandbox_pid_is_asked_of_the_engine_once_then_checked_in_proc(tmp_path: Path) -> None:
    class Sandbox:
        def __init__(self, pid: int) -> None:
            self.reloads, self.attrs = 0, {"State": {"Running": True, "Pid": pid}}

        def reload(self) -> None:
            self.reloads += 1

    launch = NodeLaunch(argv=["x"], data_dir=tmp_path)
    node = DockerNode(None, "n1", "198.18.0.11", tmp_path / "n1.log", launch, "c", "s")  # type: ignore[arg-type]
    live = subprocess.Popen(["sleep", "30"])
    try:
        node._sandbox = sb = Sandbox(live.pid)
        assert [node.sandbox_pid() for _ in range(3)] == [live.pid] * 3 and sb.reloads == 1
    finally:
        live.kill()
        live.wait()
    gone = subprocess.Popen(["true"])
    gone.wait()
    node._sandbox_pid = (live.pid, node._sandbox_pid[1])  # type: ignore[index]  # that process is gone now
    sb.attrs = {"State": {"Running": True, "Pid": gone.pid}}
    assert node.sandbox_pid() == gone.pid and sb.reloads == 2  # asked again: the remembered one failed the check
    assert node._sandbox_pid is None  # and the new pid (also gone) is not remembered: nothing to check it by
