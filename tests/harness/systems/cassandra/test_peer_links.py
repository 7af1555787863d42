"""Cassandra's internode links through Toxiproxy (one proxy per directed link), under netns
and docker: Cassandra dials its peers' addresses, so each node's connections to a peer's
storage port are redirected by nat rules in its own namespace. Measured here: the cluster
forms through the proxies (connections are established on the link addresses), a cut of
one node's links makes the others see it down, and the heal brings it back up."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.harness.providers.test_docker import engine  # noqa: F401 (the docker half's fixture)
from tests.harness.systems.cassandra.test_cluster import _prerequisites

pytestmark = pytest.mark.cluster
NODES = 3


@pytest.fixture(params=["netns", "docker"])
def linked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from tests.harness.providers.test_docker import module_leftovers, module_provider

    system = _prerequisites()
    run_id = f"cass-links-{request.param}-{int(time.time() * 1000) % 10**9}"
    provider = module_provider(request.param, run_id, tmp_path, request, system, peer_links="toxiproxy")
    with provider:
        cluster = provider.start(system, NODES, tmp_path / "run")
        yield {"cluster": cluster, "system": system, "provider": provider}
    assert module_leftovers(request.param, provider, tmp_path) == []


def _established_on(addresses: set[str], netns_pid: int | None, port: int) -> int:
    """TCP connections established *to* ``address:port`` seen from the host (netns: the
    proxies listen on the bridge) or from Toxiproxy's container namespace (docker)."""
    argv = ["ss", "-Htn", "state", "established", f"( sport = :{port} )"]
    if netns_pid is not None:
        argv = ["nsenter", "-t", str(netns_pid), "-n", "--", *argv]
    lines = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.splitlines()
    return sum(1 for ln in lines if ln.split()[2].rsplit(":", 1)[0] in addresses)


def _toxiproxy_pid(provider: Any) -> int | None:
    if provider.name != "docker":
        return None
    c = provider._client.containers.get(provider.names.toxiproxy)
    return int(c.attrs["State"]["Pid"])


def _view(system: Any, host: str, of: str, want: str, timeout_s: float) -> str | None:
    deadline, seen = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        try:
            seen = system.nodetool_status(host, timeout_s=30).get(of)
        except RuntimeError:
            seen = None
        if seen == want:
            return seen
        time.sleep(1)
    return seen


def test_the_ring_forms_through_the_proxies_and_a_cut_isolates_a_node(linked: dict[str, Any]) -> None:
    cluster, system, provider = linked["cluster"], linked["system"], linked["provider"]
    links = provider.peer_links
    assert provider.facts()["peer_links"]["routing"].startswith("internode connections (storage port) redirected")
    listen = {lk.listen.rsplit(":", 1)[0] for lk in links.plan.links}
    assert _established_on(listen, _toxiproxy_pid(provider), system.peer_port) >= len(links.plan.links)
    n1, n3 = cluster.node("n1"), cluster.node("n3")
    added, errors = links.cut([(a, b) for a in ("n3",) for b in ("n1", "n2")] +
                              [(b, a) for a in ("n3",) for b in ("n1", "n2")])
    assert errors == [] and len(added) == 8
    try:
        assert _view(system, n1.host, n3.host, "DN", 90) == "DN"  # the failure detector convicts n3
    finally:
        removed, errors = links.restore()
        assert errors == [] and removed == 8
    assert _view(system, n1.host, n3.host, "UN", 120) == "UN"
