"""Node-to-node links through Toxiproxy: one proxy per *directed* link, so a partition
between any two groups of nodes is a set of Toxiproxy toxics (the third way, beside
iptables in the nodes' namespaces under netns and docker).

Why one proxy per directed link: a member advertises one peer URL to everyone
(``http://n2:2380``). To cut n1->n2 but not n3->n2, n1 and n3 must reach n2 through
different proxies, so each node resolves its peers' names to *its own* proxies: node
``nX``'s hosts file maps ``nY`` to the address of proxy ``nX->nY``. Toxiproxy listens on
one address per directed link (all on the Toxiproxy container's interface), and every
proxy forwards to the real peer address. A node's own name maps to its own address.

Members that dial their peers' *addresses* (Cassandra: gossip carries IPs, not names) get
the same per-link proxies another way: in node ``nX``'s own namespace a nat ``OUTPUT`` rule
per peer sends its connections to ``nY``'s peer port to proxy ``nX->nY`` (``redirect_rules``;
the rules live as long as the namespace, so a killed and restarted node keeps them). The
peer sees the connection come from Toxiproxy's address; a system that names itself in its
handshake (Cassandra's internode protocol does) does not care.

Addresses (run subnet ``198.18.7.0/24``, node ``i`` at ``subnet[10 + i]``)::

    Toxiproxy (API :8474)         subnet[9]               198.18.7.9
    proxy nX->nY (peer port)      subnet[100 + 10X + Y]   n1->n2 = 198.18.7.112:2380

so at most ``MAX_LINKED_NODES`` (9) nodes: enough for the 5-node clusters this is for.

A cut of the directed link a->b drops what a sends to b: the ``timeout`` toxic with
``timeout: 0`` (data is dropped and the connection held open, as with an iptables DROP)
on the upstream of proxy a->b (connections a opened to b) and on the downstream of proxy
b->a (replies a sends on connections b opened). Heal removes exactly the toxics the cut
added; Toxiproxy then closes the connections that carried them (the toxic's cleanup), so
the members reconnect, where after an iptables heal TCP would retransmit.

Example::

    plan = plan_peer_links(["n1", "n2", "n3"], IPv4Network("198.18.7.0/24"), 2380)
    plan.hosts_for("n1")          # {"n1": "198.18.7.11", "n2": "198.18.7.112", "n3": "198.18.7.113"}
    links = PeerLinks(plan, ToxiproxyClient("http://198.18.7.9:8474"))
    links.create()                # 6 proxies
    links.cut([("n1", "n2"), ("n2", "n1")]); links.restore()
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Network
from typing import Any, Iterable, Sequence

from harness.api import AddressedPeers, NamedPeers, System
from harness.errors import ConfigError
from harness.nemesis.toxiproxy import ToxiproxyClient, ToxiproxyError
from harness.providers.base import NODE_HOST_OFFSET, NodeAddress

MAX_LINKED_NODES = 9
MODES = ("direct", "toxiproxy")
TOXIPROXY_HOST_INDEX = 9
LINK_HOST_BASE = 100
#: the toxic a cut adds (name per stream, so a proxy can carry both directions' cuts)
CUT_TOXIC = "timeout"


@dataclass(frozen=True)
class PeerLink:
    src: str
    dst: str
    listen: str    # ip:port Toxiproxy listens on for src's connections to dst
    upstream: str  # dst's real peer address

    @property
    def name(self) -> str:
        return f"peer-{self.src}-{self.dst}"


@dataclass(frozen=True)
class PeerLinkPlan:
    nodes: tuple[str, ...]
    addresses: dict[str, str]       # node -> its real IP
    toxiproxy_host: str             # Toxiproxy's own address (API and every listen address's interface)
    links: tuple[PeerLink, ...]     # every directed link, sorted by (src, dst)

    def link(self, src: str, dst: str) -> PeerLink:
        for lk in self.links:
            if lk.src == src and lk.dst == dst:
                return lk
        raise KeyError(f"no link {src}->{dst}")

    def listen_hosts(self) -> list[str]:
        """The addresses Toxiproxy's interface must carry (one per directed link)."""
        return [lk.listen.rsplit(":", 1)[0] for lk in self.links]

    def hosts_for(self, node: str) -> dict[str, str]:
        """``node``'s name resolution: itself -> its own address, each peer -> its proxy."""
        out = {node: self.addresses[node]}
        for lk in self.links:
            if lk.src == node:
                out[lk.dst] = lk.listen.rsplit(":", 1)[0]
        return dict(sorted(out.items()))

    def redirect_rules(self, node: str) -> list[list[str]]:
        """iptables commands for ``node``'s own namespace: each of its connections to a
        peer's peer port goes to its own proxy for that link (nat OUTPUT DNAT)."""
        out = []
        for lk in self.links:
            if lk.src == node:
                ip, port = lk.upstream.rsplit(":", 1)
                out.append(["iptables", "-w", "5", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", f"{ip}/32",
                            "--dport", port, "-m", "comment", "--comment", f"gbench-peer-link {lk.name}",
                            "-j", "DNAT", "--to-destination", lk.listen])
        return out

    def hosts_file(self, node: str) -> str:
        lines = ["127.0.0.1\tlocalhost", "# gbench: peers resolve to this node's own Toxiproxy links"]
        lines += [f"{ip}\t{name}" for name, ip in self.hosts_for(node).items()]
        return "\n".join(lines) + "\n"


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError("--peer-links", "peer_links", f"{mode!r} is not {' or '.join(MODES)}")


def check_supported(mode: str, system: System, n_nodes: int) -> None:
    """What a provider checks before it starts anything (ConfigError naming the field)."""
    check_mode(mode)
    if mode != "toxiproxy":
        return
    if not isinstance(system, (NamedPeers, AddressedPeers)):
        raise ConfigError("--peer-links", "peer_links", f"peer links through Toxiproxy need members that dial their "
                                                       f"peers on one peer port, by name or by address; "
                                                       f"{system.name} does not")
    if n_nodes > MAX_LINKED_NODES:
        raise ConfigError("--nodes", "nodes", f"peer links through Toxiproxy support up to {MAX_LINKED_NODES} "
                                              f"nodes, not {n_nodes}")


def dials_names(system: System) -> bool:
    """True when ``system``'s members dial their peers by name (``NamedPeers``: a hosts file
    per node routes each link), False when by address (nat rules per node route each link)."""
    return isinstance(system, NamedPeers)


def link_routing(system: System) -> str:
    """How a run's peer links reach the proxies, for the manifest."""
    return PeerLinks.BY_NAME if dials_names(system) or not isinstance(system, AddressedPeers) \
        else system.peer_links_by_address()


def advertising_names(addrs: Sequence[NodeAddress]) -> list[NodeAddress]:
    """The addresses with each node's name as the host its peers dial (resolved per node)."""
    return [replace(a, peer_host=a.name) for a in addrs]


def _index(node: str) -> int:
    if not (node.startswith("n") and node[1:].isdigit()):
        raise ValueError(f"node names must be n1..n{MAX_LINKED_NODES}, not {node!r}")
    return int(node[1:])


def plan_peer_links(nodes: Sequence[str], subnet: IPv4Network, peer_port: int) -> PeerLinkPlan:
    """Addresses of every node, of Toxiproxy, and of each directed link's proxy (pure)."""
    if not 1 <= len(nodes) <= MAX_LINKED_NODES:
        raise ValueError(f"peer links through Toxiproxy support 1..{MAX_LINKED_NODES} nodes, not {len(nodes)}")
    if subnet.num_addresses < 256:
        raise ValueError(f"peer links need a /24 or larger, not {subnet}")
    idx = {n: _index(n) for n in nodes}
    addresses = {n: str(subnet[NODE_HOST_OFFSET + i]) for n, i in idx.items()}
    links = tuple(PeerLink(a, b, f"{subnet[LINK_HOST_BASE + 10 * idx[a] + idx[b]]}:{peer_port}",
                           f"{addresses[b]}:{peer_port}")
                  for a in sorted(nodes, key=idx.get) for b in sorted(nodes, key=idx.get) if a != b)
    return PeerLinkPlan(tuple(nodes), addresses, str(subnet[TOXIPROXY_HOST_INDEX]), links)


def cut_toxics(plan: PeerLinkPlan, cut: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """(proxy name, stream) pairs that get the cut toxic for the directed links ``cut``."""
    out: set[tuple[str, str]] = set()
    for a, b in cut:
        out.add((plan.link(a, b).name, "upstream"))
        out.add((plan.link(b, a).name, "downstream"))
    return sorted(out)


class PeerLinks:
    """The live proxies of one run (the provider owns the Toxiproxy process or container)."""

    #: How each node's connections reach its own proxies when members dial peers by name.
    BY_NAME = "each node's hosts file maps a peer's name to its own proxy for that link"

    def __init__(self, plan: PeerLinkPlan, client: ToxiproxyClient, routing: str = BY_NAME) -> None:
        self.plan = plan
        self.client = client
        self.routing = routing
        self.active: list[tuple[str, str]] = []

    def create(self) -> None:
        for lk in self.plan.links:
            self.client.create_proxy(lk.name, lk.listen, lk.upstream)

    def cut(self, cut: Iterable[Sequence[str]]) -> tuple[list[tuple[str, str]], list[str]]:
        """Add the cut toxics; returns (added, errors). On an error the caller restores."""
        added: list[tuple[str, str]] = []
        errors: list[str] = []
        for proxy, stream in cut_toxics(self.plan, cut):
            try:
                self.client.add_toxic(proxy, CUT_TOXIC, name=f"gbench-cut-{stream}", stream=stream,
                                      timeout=0)
                added.append((proxy, stream))
            except ToxiproxyError as e:
                errors.append(f"{proxy} {stream}: {e}")
        self.active += added
        return added, errors

    def restore(self) -> tuple[int, list[str]]:
        """Remove every cut toxic this object added; returns (removed, errors)."""
        removed, errors, left = 0, [], []
        for proxy, stream in self.active:
            try:
                self.client.remove_toxic(proxy, f"gbench-cut-{stream}")
                removed += 1
            except ToxiproxyError as e:
                if e.status == 404:
                    removed += 1
                else:
                    errors.append(f"{proxy} {stream}: {e}")
                    left.append((proxy, stream))
        self.active = left
        return removed, errors

    def verify(self, expected: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Read every proxy's toxics back from the API: exactly ``expected`` must carry the cut."""
        want = set(expected)
        seen: set[tuple[str, str]] = set()
        problems: list[str] = []
        for lk in self.plan.links:
            try:
                for t in self.client.toxics(lk.name):
                    if t.name.startswith("gbench-cut-"):
                        seen.add((lk.name, t.stream))
            except ToxiproxyError as e:
                problems.append(f"{lk.name}: {e}")
        missing, extra = sorted(want - seen), sorted(seen - want)
        return {"ok": not (missing or extra or problems), "method": "toxics read back from the Toxiproxy API",
                "cut_streams": len(seen), "missing": [list(x) for x in missing], "unexpected": [list(x) for x in extra],
                "errors": problems}

    def describe(self) -> dict[str, Any]:
        return {"via": "toxiproxy", "toxiproxy": self.plan.toxiproxy_host, "proxies": len(self.plan.links),
                "routing": self.routing, "cut_toxic": f"{CUT_TOXIC} (timeout 0: data dropped, connection held)"}
