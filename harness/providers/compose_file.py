"""A Docker Compose project for any system's cluster, made from exactly what the docker
provider runs: the system's own ``launch`` per node (its config files written into the
node's data dir), the image its plugin names, the command and environment mapped into that
image (``container_argv`` / ``container_env``), the node's memory limit, and fixed
addresses on the project's own network (the addresses the node's config names). A cluster
started with ``docker-compose up`` is therefore configured as a harness run's is, and
``gbench run ... --provider external --endpoints <the printed list>`` drives it.

    gbench compose cassandra --nodes 5 --out .cache/compose/cassandra
    docker-compose -p gbench-cassandra -f .cache/compose/cassandra/docker-compose.yml up -d
    gbench run workloads/cassandra-put-256B.yaml --provider external --endpoints 198.18.x.11:9042,...
    docker-compose -p gbench-cassandra -f .cache/compose/cassandra/docker-compose.yml down -v

``compose_document`` is pure (no Docker call): the document is data, written as YAML by
``write_project``. The nodes reach each other and the host through the project's bridge;
the host reaches them at their addresses (Linux routes a bridge's subnet to it), so no port
is published and nothing listens beyond this host.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Sequence

import yaml

from harness.api import ImageSpec, System
from harness.errors import ConfigError, EnvironmentProblem
from harness.providers.base import NODE_HOST_OFFSET, NodeAddress, NodeLaunch, start_stages
from harness.providers.docker import container_argv, container_env

#: Compose's label on everything of a project (``docker-compose -p``).
PROJECT_LABEL = "com.docker.compose.project"


@dataclass(frozen=True)
class ComposeProject:
    """What ``write_project`` wrote: the compose file, the nodes' client endpoints."""

    file: Path
    endpoints: list[str]
    image: str
    subnet: IPv4Network


def node_addresses(n_nodes: int, subnet: IPv4Network) -> list[NodeAddress]:
    """n1..nN at ``subnet[10 + i]``, as the docker and netns providers number them."""
    if n_nodes + NODE_HOST_OFFSET + 1 >= subnet.num_addresses:
        raise ConfigError("--nodes", "nodes", f"{n_nodes} nodes do not fit in {subnet}")
    return [NodeAddress(f"n{i}", str(subnet[NODE_HOST_OFFSET + i])) for i in range(1, n_nodes + 1)]


def compose_document(system: System, spec: ImageSpec, launches: Sequence[tuple[NodeAddress, NodeLaunch]],
                     subnet: IPv4Network, image: str | None = None, user: str | None = None) -> dict[str, Any]:
    """The compose document (a dict) for ``launches``: one service per node, named as the
    node, on one network with ``subnet``; ``image`` defaults to ``spec.local``. Nodes of a
    later start stage depend on the earlier stages' (order only: Compose cannot wait for a
    system's readiness)."""
    img = image or spec.local
    addrs = [a for a, _ in launches]
    stages = start_stages(system, addrs)
    earlier: dict[str, list[str]] = {}
    before: list[str] = []
    for st in stages:
        for n in st.nodes:
            earlier[n] = list(before)
        before += list(st.nodes)
    services: dict[str, Any] = {}
    for addr, launch in launches:
        entry, cmd = container_argv(launch, spec)
        data = str(launch.data_dir)
        svc: dict[str, Any] = {
            "image": img, "entrypoint": entry, "command": cmd, "working_dir": data, "hostname": addr.name,
            "volumes": [f"{data}:{data}"], "networks": {"cluster": {"ipv4_address": addr.host}},
            "stop_signal": "SIGTERM", "labels": {"gbench.compose.system": system.name}}
        env = container_env(launch, spec)
        if env:
            svc["environment"] = env
        if user:
            svc["user"] = user
        if launch.memory_limit_bytes is not None:
            svc["mem_limit"] = int(launch.memory_limit_bytes)
            svc["memswap_limit"] = int(launch.memory_limit_bytes)
        if earlier[addr.name]:
            svc["depends_on"] = earlier[addr.name]
        services[addr.name] = svc
    return {"services": services,
            "networks": {"cluster": {"driver": "bridge", "ipam": {"config": [{"subnet": str(subnet),
                                                                              "gateway": str(subnet[1])}]}}}}


def write_project(system: System, spec: ImageSpec, n_nodes: int, out: Path, subnet: IPv4Network,
                  image: str | None = None) -> ComposeProject:
    """Each node's files (``system.launch``) under ``out/<node>`` and ``out/docker-compose.yml``.
    Refuses an ``out`` that already holds a compose project (its nodes' data would mix)."""
    out = out.resolve()
    compose = out / "docker-compose.yml"
    if compose.exists():
        raise ConfigError("--out", "out", f"{out} already holds a compose project; remove it (after "
                          "`docker-compose ... down -v`) or choose another directory")
    addrs = node_addresses(n_nodes, subnet)
    out.mkdir(parents=True, exist_ok=True)
    launches = []
    for a in addrs:
        d = out / a.name
        d.mkdir(mode=0o700, exist_ok=True)
        launches.append((a, system.launch(a, addrs, d)))
    doc = compose_document(system, spec, launches, subnet, image=image, user=f"{os.getuid()}:{os.getgid()}")
    header = (f"# {n_nodes}-node {system.name} {system.version()} made by `gbench compose` from the harness's own "
              f"launch (harness/providers/compose_file.py);\n# node data under {out}. Up: docker-compose -p "
              f"gbench-{system.name} -f {compose} up -d\n")
    compose.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=120))
    endpoints = [f"{a.host}:{system.client_port}" for a in addrs]
    return ComposeProject(compose, endpoints, image or spec.local, subnet)


def free_subnet(seed: int) -> IPv4Network:
    """A /24 of 198.18.0.0/15 that no host network, Docker network or netns run uses now."""
    from harness.providers.docker import _docker_sdk, engine_problem, subnets_in_use
    from harness.providers.netns import pick_subnet

    if engine_problem(timeout_s=3) is not None:
        raise EnvironmentProblem("no Docker engine answers: the compose project could not be started here anyway "
                                 "(start Docker first)")
    client = _docker_sdk().from_env(timeout=30)
    try:
        return pick_subnet(subnets_in_use(client), [], seed)
    finally:
        client.close()
