"""docker-compose.yml: a 5-node etcd cluster with the harness's own etcd flags, plus Toxiproxy
with one client proxy per member: its content, then brought up for real with Debian's
docker-compose (set-up installs it with docker.io) on the local images, driven by `gbench run
--provider external` directly and through Toxiproxy, and taken down with nothing of its project
left (containers, network, volumes). Then `gbench compose cassandra`: a project generated from
the harness's own launch (harness/providers/compose_file.py), brought up, driven and taken down
the same way. The real tests need a Docker engine (started here under CI=true, as the docker
provider's tests do) and skip without one outside CI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from harness.systems.etcd.system import EtcdConfig
from tests.harness.providers.test_docker import _unavailable, engine, images  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[3]


def test_compose_is_five_etcd_members_with_the_harness_flags_and_toxiproxy() -> None:
    doc = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    svc = doc["services"]
    members = sorted(k for k in svc if k.startswith("etcd"))
    assert members == [f"etcd{i}" for i in range(1, 6)]
    want = EtcdConfig().argv()  # ["--heartbeat-interval", "100", ...]
    flags = {f"{want[i]}={want[i + 1]}" for i in range(0, len(want), 2)}
    cluster = ",".join(f"etcd{i}=http://etcd{i}:2380" for i in range(1, 6))
    for m in members:
        cmd = svc[m]["command"]
        assert flags <= set(cmd), sorted(flags - set(cmd))
        assert f"--initial-cluster={cluster}" in cmd and f"--name={m}" in cmd
        assert all(p.startswith("127.0.0.1:") for p in svc[m]["ports"])
    proxies = json.loads((REPO / "harness/setup/docker/toxiproxy-compose.json").read_text())
    assert [(p["name"], p["upstream"]) for p in proxies] == [(m, f"{m}:2379") for m in members]
    tp = svc["toxiproxy"]
    assert all(p.startswith("127.0.0.1:") for p in tp["ports"])
    assert {p["listen"].split(":")[1] for p in proxies} == {p.split(":")[-1] for p in tp["ports"]} - {"8474"}


PROJECT = "gbench-compose-test"
ENDPOINTS = [f"127.0.0.1:{p}" for p in range(23791, 23796)]
PROXIES = [f"127.0.0.1:{p}" for p in range(22791, 22796)]


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker-compose", "-p", PROJECT, "-f", str(REPO / "docker-compose.yml"), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


def left(kind: str, project: str = PROJECT) -> list[str]:
    """The project's containers, networks or volumes still there (by compose's own label)."""
    argv = {"container": ["ps", "-aq"], "network": ["network", "ls", "-q"], "volume": ["volume", "ls", "-q"]}[kind]
    out = subprocess.run(["docker", *argv, "--filter", f"label=com.docker.compose.project={project}"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{endpoint}/health", timeout=2) as r:
            return json.loads(r.read()).get("health") == "true"
    except (OSError, ValueError):
        return False


@pytest.fixture
def cluster(images: dict[str, str]) -> Iterator[dict[str, str]]:  # noqa: F811 (the fixture imported above)
    if shutil.which("docker-compose") is None:
        _unavailable("no docker-compose (make setup installs Debian's with docker.io)")
    env = dict(os.environ, GBENCH_ETCD_IMAGE=images["etcd"], GBENCH_TOXIPROXY_IMAGE=images["toxiproxy"])
    compose("down", "-v", env=env)  # a previous interrupted run of this test
    try:
        up = compose("up", "-d", env=env)
        assert up.returncode == 0, up.stderr[-2000:]
        deadline = time.monotonic() + 60
        while not all(healthy(e) for e in ENDPOINTS) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert all(healthy(e) for e in ENDPOINTS), "the compose etcd members did not all report healthy in 60 s"
        yield env
    finally:
        down = compose("down", "-v", env=env)
        assert down.returncode == 0, down.stderr[-2000:]


@pytest.mark.cluster
def test_docker_compose_up_a_workload_directly_and_through_toxiproxy_then_down(cluster: dict[str, str],
                                                                              tmp_path: Path) -> None:
    version = subprocess.run(["docker-compose", "version", "--short"], capture_output=True, text=True).stdout.strip()
    print(f"\n[test] docker-compose {version}")
    with urllib.request.urlopen("http://127.0.0.1:8474/proxies", timeout=5) as r:
        assert sorted(json.loads(r.read())) == [f"etcd{i}" for i in range(1, 6)]
    env = dict(cluster, GBENCH_RESULTS_DIR=str(tmp_path))
    for endpoints in (ENDPOINTS, PROXIES):
        run = subprocess.run([str(REPO / ".venv" / "bin" / "gbench"), "run", "workloads/ci/etcd-short-put-256B.yaml",
                              "--provider", "external", "--endpoints", ",".join(endpoints), "--quiet"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    runs = sorted(p for p in tmp_path.iterdir() if (p / "manifest.json").is_file())
    assert len(runs) == 2
    for r in runs:
        manifest = json.loads((r / "manifest.json").read_text())
        assert manifest["cluster"]["provider"] == "external"
        rows = json.loads((r / "summary.json").read_text())["rows"]
        assert any(row["op"] == "put" and row["outcome"] == "ok" and row["count"] > 0 for row in rows)


@pytest.mark.cluster
def test_nothing_of_the_compose_project_is_left(images: dict[str, str]) -> None:  # noqa: F811
    """After the test above (its fixture's `down -v`): no container, network or volume of the project."""
    if shutil.which("docker-compose") is None:
        _unavailable("no docker-compose (make setup installs Debian's with docker.io)")
    assert (left("container"), left("network"), left("volume")) == ([], [], [])


# --------------------------------------------------------------------------- gbench compose

def test_a_generated_project_is_the_providers_launch_with_fixed_addresses(tmp_path: Path) -> None:
    from ipaddress import ip_network

    from harness.providers.compose_file import compose_document, node_addresses
    from harness.providers.docker import container_argv
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.plugin import etcd_image
    from harness.systems.etcd.system import EtcdSystem

    system, spec, subnet = EtcdSystem(find_etcd()), etcd_image("3.6.16"), ip_network("198.18.200.0/24")
    addrs = node_addresses(3, subnet)
    assert [(a.name, a.host) for a in addrs] == [("n1", "198.18.200.11"), ("n2", "198.18.200.12"),
                                                 ("n3", "198.18.200.13")]
    launches = [(a, system.launch(a, addrs, tmp_path / a.name)) for a in addrs]
    doc = compose_document(system, spec, launches, subnet, user="0:0")
    assert doc["networks"] == {"cluster": {"driver": "bridge", "ipam": {"config": [
        {"subnet": "198.18.200.0/24", "gateway": "198.18.200.1"}]}}}
    assert sorted(doc["services"]) == ["n1", "n2", "n3"]
    n2 = doc["services"]["n2"]
    entry, cmd = container_argv(launches[1][1], spec)
    assert (n2["image"], n2["entrypoint"], n2["command"]) == ("gbench/etcd:3.6.16-local", entry, cmd)
    assert n2["networks"] == {"cluster": {"ipv4_address": "198.18.200.12"}} and n2["user"] == "0:0"
    assert n2["volumes"] == [f"{tmp_path / 'n2'}:{tmp_path / 'n2'}"] and "depends_on" not in n2
    assert "--initial-advertise-peer-urls=http://198.18.200.12:2380" in " ".join(cmd).replace(" http", "=http")


def _wait_ready(system: Any, endpoints: list[str], run_dir: Path, timeout_s: float) -> None:
    """The external provider's own readiness check (30 s a try), retried until ``timeout_s``."""
    from harness.errors import ClusterError
    from harness.providers.external import ExternalProvider

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ExternalProvider(endpoints).start(system, len(endpoints), run_dir)
            return
        except ClusterError:
            if time.monotonic() > deadline:
                raise


@pytest.fixture
def cassandra_project(engine: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:  # noqa: F811
    from harness.systems.cassandra import CassandraSystem
    from tests.harness.providers.test_docker import system_image

    if shutil.which("docker-compose") is None:
        _unavailable("no docker-compose (make setup installs Debian's with docker.io)")
    system = CassandraSystem.from_environment()
    system_image(request, system)
    out = tmp_path / "project"
    made = subprocess.run([str(REPO / ".venv/bin/gbench"), "compose", "cassandra", "--nodes", "3", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    endpoints = made.stdout.split("--endpoints ")[1].split()[0]
    argv = ["docker-compose", "-p", "gbench-compose-cassandra-test", "-f", str(out / "docker-compose.yml")]
    try:
        up = subprocess.run([*argv, "up", "-d"], capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr[-2000:]
        _wait_ready(system, endpoints.split(","), tmp_path / "ready", 240)  # JVMs start slowly on a busy host
        yield {"endpoints": endpoints, "argv": argv, "out": out}
    finally:
        down = subprocess.run([*argv, "down", "-v"], capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, down.stderr[-2000:]


@pytest.mark.cluster
def test_gbench_compose_cassandra_up_a_workload_then_down(cassandra_project: dict[str, Any], tmp_path: Path) -> None:
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"))
    run = subprocess.run([str(REPO / ".venv/bin/gbench"), "run", "workloads/ci/cassandra-short-quorum-256B.yaml",
                          "--provider", "external", "--endpoints", cassandra_project["endpoints"], "--quiet"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (r,) = [p for p in (tmp_path / "results").iterdir() if (p / "manifest.json").is_file()]
    manifest = json.loads((r / "manifest.json").read_text())
    assert manifest["cluster"]["provider"] == "external" and manifest["cluster"]["nodes"] == 3
    rows = json.loads((r / "summary.json").read_text())["rows"]
    assert {row["op"] for row in rows if row["outcome"] == "ok" and row["count"] > 0} == {"put", "get"}
    ps = subprocess.run([*cassandra_project["argv"], "ps", "-q"], capture_output=True, text=True, timeout=60)
    assert len(ps.stdout.split()) == 3


@pytest.mark.cluster
def test_nothing_of_the_cassandra_project_is_left(engine: Any) -> None:  # noqa: F811
    """After the test above (its fixture's `down -v`)."""
    assert [left(k, "gbench-compose-cassandra-test") for k in ("container", "network", "volume")] == [[], [], []]
