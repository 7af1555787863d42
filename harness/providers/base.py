"""Cluster providers: *where* nodes run (network namespaces, Docker containers, or an
existing cluster), separated from *what* runs (a ``harness.api.System`` such as etcd).

A provider allocates an address per node, asks the system for the command that node
needs (``System.launch``), starts the nodes in the stages the system declares
(``harness.api.Staged``; without it, all at once: ``start_in_stages``), and hands back a
``Cluster`` once the system says it is ready. Faults use the per-node handles (``Node``)
and, when the provider supports it, ``NetworkControl`` (commands inside a node's
network namespace, for partitions and link faults).

Providers must not: start anything outside what they record in their ledger
(``harness.providers.ledger``), touch host-global firewall chains other than the one
explicit ACCEPT rule for their own bridge, or leave anything behind after ``teardown``.
"""
from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Callable, Generic, Protocol, Self, Sequence, TypeVar, runtime_checkable

from harness.api import Stage, Staged, System
from harness.errors import ClusterError


#: Node i gets host address ``subnet[NODE_HOST_OFFSET + i]`` (n1 = .11) on the bridged
#: providers' subnets: readable in logs, and what the peer-link plan routes to.
NODE_HOST_OFFSET = 10


@dataclass(frozen=True)
class NodeAddress:
    """Where a node can be reached from the harness (and from its peers)."""

    name: str  # "n1" ... "nN"
    host: str  # IP address (or hostname under Docker)
    #: The name peers dial for this node's peer port, when it is not ``host``: with peer
    #: links through Toxiproxy each node resolves it to its own proxy for that link.
    peer_host: str | None = None


@dataclass(frozen=True)
class NodeLaunch:
    """What a system wants run for one node; independent of provider.

    ``data_dir`` is created by the provider (and kept across restarts of the node).
    """

    argv: list[str]
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    #: Named host directories that ``argv`` and ``env`` refer to besides the data dir
    #: (``{"lib": Path(".cache/cassandra/5.0.9/lib")}``): a provider that runs the node from
    #: an image maps each to where the image holds it (``ImageSpec.paths``).
    host_paths: dict[str, Path] = field(default_factory=dict)
    #: The most memory the node may use, in bytes, for providers that can enforce it (a
    #: container's memory limit, swap included); None: no limit.
    memory_limit_bytes: int | None = None
    #: The user the node's process runs as, for a server that refuses to run as root
    #: (PostgreSQL); None: the provider's own user. A provider that honours it gives the user
    #: the node's data dir and makes its parents traversable (``harness.providers.run_as``);
    #: one that cannot refuses the launch with the reason.
    run_as: str | None = None


@dataclass(frozen=True)
class ReadyReport:
    """What readiness found: the time it took and who leads (if the system has a leader)."""

    seconds: float
    leader: str | None
    details: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Node(Protocol):
    """A handle on one running node. Every method is idempotent where it can be."""

    name: str
    host: str
    log_path: Path

    def pid(self) -> int | None: ...

    def is_running(self) -> bool: ...

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        ...

    def kill(self) -> None:
        """SIGKILL (kill -9). The data dir stays for ``restart``."""
        ...

    def pause(self) -> None:
        """SIGSTOP."""
        ...

    def resume(self) -> None:
        """SIGCONT."""
        ...

    def restart(self) -> None:
        """Start the node again with the same command and data dir (after stop/kill)."""
        ...


@runtime_checkable
class NetworkControl(Protocol):
    """Optional: run commands inside a node's network namespace (for the nemesis)."""

    def exec_in_node_netns(self, node: str, argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        ...


@runtime_checkable
class ProviderFacts(Protocol):
    """Optional: what the provider itself contributes to the manifest (network, images...)."""

    def facts(self) -> dict[str, object]: ...


@dataclass
class Cluster:
    """A running cluster. ``provider`` is the object that owns the processes."""

    system: System
    provider: "ClusterProvider"
    nodes: list[Node]
    time_to_ready_s: float | None = None
    ready: ReadyReport | None = None

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def client_endpoint(self, node: Node | str) -> str:
        n = self.node(node) if isinstance(node, str) else node
        port = getattr(n, "port", None) or self.system.client_port  # external clusters may remap ports
        return f"{n.host}:{port}"

    @property
    def client_endpoints(self) -> list[str]:
        return [self.client_endpoint(n) for n in self.nodes]


def start_stages(system: System, addrs: Sequence[NodeAddress]) -> list[Stage]:
    """The order ``system`` wants its nodes started in: its ``Staged.stages`` (checked to name
    every node exactly once), or one stage of every node (role ``member``)."""
    names = [a.name for a in addrs]
    if not isinstance(system, Staged):
        return [Stage("member", tuple(names))]
    stages = list(system.stages(addrs))
    staged = [n for st in stages for n in st.nodes]
    if sorted(staged) != sorted(names):
        raise ClusterError(f"{system.name}'s start stages name {staged}, not every node of {names} exactly once")
    return stages


def start_in_stages(system: System, addrs: Sequence[NodeAddress], start: Callable[[list[str]], None],
                    timeout_s: float) -> None:
    """Start the nodes stage by stage: ``start(names)`` starts one stage's nodes (at once),
    then the stage's ``ready`` (if any) is waited for, with ``timeout_s``, before the next."""
    started: list[NodeAddress] = []
    for st in start_stages(system, addrs):
        start(list(st.nodes))
        started += [a for a in addrs if a.name in st.nodes]
        if st.ready is not None:
            st.ready(started, timeout_s)


class ClusterProvider(Protocol):
    """Starts and tears down clusters. Use as a context manager: teardown always runs."""

    name: str

    def check_environment(self) -> None:
        """Raise EnvironmentProblem (saying which provider can run instead) before starting."""
        ...

    def start(self, system: System, n_nodes: int, run_dir: Path) -> Cluster:
        """Start ``n_nodes`` in the system's stages (``start_in_stages``), wait for
        readiness, return the cluster.

        Node logs go to ``run_dir/nodes/<name>.log``; data dirs live under the run's
        scratch space (not in results). On any failure, tears down what it started.
        """
        ...

    def teardown(self) -> None:
        """Remove everything this provider created. Idempotent; never raises for 'already gone'."""
        ...


NodeT = TypeVar("NodeT")


class BridgedProvider(ABC, Generic[NodeT]):
    """What the providers that start nodes on this host's own bridge (netns, docker) share:
    node data under ``data_root/run_id``, the bridge's gateway address, the node list, and
    use as a context manager whose exit tears down. Each subclass says where its data root
    is and how it tears down."""

    run_id: str
    subnet: IPv4Network | None
    _nodes: list[NodeT]

    @property
    @abstractmethod
    def data_root(self) -> Path: ...

    @property
    def scratch_dir(self) -> Path:
        return self.data_root / self.run_id

    @property
    def gateway(self) -> str | None:
        """The bridge's address: the harness's clients come from it, and the nemesis never cuts it."""
        return str(self.subnet[1]) if self.subnet else None

    @property
    def nodes(self) -> list[NodeT]:
        return list(self._nodes)

    @abstractmethod
    def teardown(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()
