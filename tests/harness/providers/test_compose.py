"""docker-compose.yml: a 5-node etcd cluster with the harness's own etcd flags, plus Toxiproxy
with one client proxy per member: its content, then brought up for real with Debian's
docker-compose (set-up installs it with docker.io) on the local images, driven by `gbench run
--provider external` directly and through Toxiproxy, and taken down with nothing of its project
left (containers, network, volumes). The real test needs a Docker engine (started here under
CI=true, as the docker provider's tests do) and skips without one outside CI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator

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


def left(kind: str) -> list[str]:
    """The project's containers, networks or volumes still there (by compose's own label)."""
    argv = {"container": ["ps", "-aq"], "network": ["network", "ls", "-q"], "volume": ["volume", "ls", "-q"]}[kind]
    out = subprocess.run(["docker", *argv, "--filter", f"label=com.docker.compose.project={PROJECT}"],
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


def test_nothing_of_the_compose_project_is_left(images: dict[str, str]) -> None:  # noqa: F811
    """After the test above (its fixture's `down -v`): no container, network or volume of the project."""
    if shutil.which("docker-compose") is None:
        _unavailable("no docker-compose (make setup installs Debian's with docker.io)")
    assert (left("container"), left("network"), left("volume")) == ([], [], [])
