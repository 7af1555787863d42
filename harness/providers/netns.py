"""The ``netns`` provider: every node is a real server process in its own network namespace.

Topology (run short id ``1a2b3c``, subnet ``198.18.7.0/24``)::

    host namespace (the harness)
      gb1a2b3c-br  198.18.7.1/24   <- bridge; the harness reaches every node directly
        |-- gb1a2b3c-n1 (veth) ==== eth0 198.18.7.11  in netns gb-1a2b3c-n1  (etcd --name n1)
        |-- gb1a2b3c-n2 (veth) ==== eth0 198.18.7.12  in netns gb-1a2b3c-n2
        ...

Why this shape: a namespace per node gives each node its own interface, firewall and
traffic control, so the nemesis can cut or slow one node's links (``exec_in_node_netns``)
without touching the host. Addresses come from the RFC 2544 benchmarking range
198.18.0.0/15 (a /24 no route or address on the host overlaps, chosen under a lock so
concurrent runs differ), and nodes get no default route: they can reach each other and
the harness, nothing else.

Everything created is written to the run's ledger first (``harness.providers.ledger``), so
``gbench cleanup`` can remove it after a SIGKILL; ``teardown`` uses the same cleanup code.

Example::

    with NetnsProvider(run_id).with_subnet("198.18.42.0/24") as provider:
        cluster = provider.start(EtcdSystem(find_etcd()), 3, run_dir)
        cluster.node("n2").kill(); cluster.node("n2").restart()
        provider.exec_in_node_netns("n1", ["iptables", "-A", "INPUT", "-s", "198.18.42.12", "-j", "DROP"])
    # everything is gone here, even after an exception
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Callable, Iterable, Self, Sequence

import psutil

from harness import interrupt
from harness.api import System
from harness.errors import ClusterError, ConfigError, EnvironmentProblem
from harness.nemesis.peer_links import (PeerLinks, advertising_names, check_mode, check_supported, dials_names,
                                        link_routing, plan_peer_links)
from harness.nemesis.toxiproxy import ToxiproxyServer, require_binary
from harness.providers.base import NODE_HOST_OFFSET, BridgedProvider, Cluster, NodeAddress, NodeLaunch, start_in_stages
from harness.providers.run_as import blocking_parent, hand_over
from harness.providers.ledger import (NETNS_RUN_DIR, CleanupResult, Ledger, cleanup_run, list_ledgers, pending,
                                      proc_start_time, proc_state, state_dir, state_lock)


REPO_ROOT = Path(__file__).resolve().parents[2]
RFC2544 = IPv4Network("198.18.0.0/15")
SUBNET_ENV = "GBENCH_SUBNET"
DATA_DIR_ENV = "GBENCH_DATA_DIR"
NODE_IFACE = "eth0"
IFNAMSIZ = 15  # Linux interface names: at most 15 characters
MAX_NODES = 99
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: ``ip netns exec NS`` bind-mounts every file of ``/etc/netns/NS/`` over ``/etc/`` (hosts).
NETNS_ETC_DIR = Path("/etc/netns")
#: Where a run's node dirs go when a node's user cannot pass the data root's parents (on disk,
#: world-passable, sticky): ``<root>/gbench-<run id>``, removed at teardown.
OPEN_SCRATCH_ROOT = Path("/var/tmp")


def default_data_root() -> Path:
    """Where node data dirs go unless a provider is told otherwise: ``$GBENCH_DATA_DIR`` or
    ``<repo>/.cache/data`` (on disk, not /tmp, which may be tmpfs and would hide fsync cost)."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else REPO_ROOT / ".cache" / "data"


# --------------------------------------------------------------------------- naming / addressing

def short_id(run_id: str) -> str:
    """Six hex digits derived from the run id: keeps interface names under 15 characters
    while staying traceable (the ledger maps it back to the run id)."""
    return hashlib.sha1(run_id.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class NetnsNames:
    """Names of everything the provider creates for one run."""

    short: str

    @property
    def bridge(self) -> str:
        return f"gb{self.short}-br"

    def netns(self, node: str) -> str:
        return f"gb-{self.short}-{node}"

    def veth(self, node: str) -> str:
        return f"gb{self.short}-{node}"


def pick_subnet(in_use: Iterable[IPv4Network], claimed: Iterable[IPv4Network], seed: int) -> IPv4Network:
    """The first /24 of 198.18.0.0/15, starting at ``seed`` (mod 512), that overlaps no
    network in use on the host and none claimed by another run's ledger."""
    taken = [*in_use, *claimed]
    candidates = list(RFC2544.subnets(new_prefix=24))
    for k in range(len(candidates)):
        c = candidates[(seed + k) % len(candidates)]
        if not any(c.overlaps(t) for t in taken):
            return c
    raise EnvironmentProblem("no free /24 left in 198.18.0.0/15 (every one is in use on this host or claimed "
                             "by a run ledger); run `gbench cleanup` or set GBENCH_SUBNET")


def parse_host_networks(addr_json: str, route_json: str) -> list[IPv4Network]:
    """IPv4 networks already present on the host, from ``ip -j -4 addr`` and
    ``ip -j -4 route show table all``. The default route is not a conflict."""
    nets: list[IPv4Network] = []
    for link in json.loads(addr_json or "[]"):
        for a in link.get("addr_info", []):
            if a.get("family", "inet") == "inet" and "local" in a:
                nets.append(IPv4Network(f"{a['local']}/{a.get('prefixlen', 32)}", strict=False))
    for r in json.loads(route_json or "[]"):
        dst = r.get("dst")
        if not dst or dst == "default":
            continue
        try:
            n = IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if n.prefixlen > 0:
            nets.append(n)
    return nets


def needs_forward_rule(policy: str, br_nf_call_iptables: bool, forward_rules: int) -> bool:
    """Would the host firewall drop traffic between our bridge's ports?

    Bridged frames only meet iptables when br_netfilter is active; then a DROP policy
    (Docker sets one) or any FORWARD rule (which may reject) can drop them.
    """
    if policy.upper() != "ACCEPT":
        return True
    return br_nf_call_iptables and forward_rules > 0


def forward_rule_spec(bridge: str, run_id: str) -> list[str]:
    """The one host FORWARD rule a provider may add: ACCEPT within its own bridge."""
    return ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT", "-m", "comment", "--comment", f"gbench:{run_id}"]


def forward_rule_needed(iptables_rules: Sequence[str]) -> bool:
    """``needs_forward_rule`` for this host, from ``iptables -S`` lines (the FORWARD chain's
    or all of them) and whether br_netfilter hands bridged frames to iptables."""
    policy = next((l.split()[2] for l in iptables_rules if l.startswith("-P FORWARD")), "ACCEPT")
    rules = sum(1 for l in iptables_rules if l.startswith("-A FORWARD"))
    try:
        br_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables").read_text().strip() == "1"
    except OSError:
        br_nf = False
    return needs_forward_rule(policy, br_nf, rules)


def validate_subnet(cidr: str, source: str) -> IPv4Network:
    try:
        net = IPv4Network(cidr, strict=True)
    except ValueError as e:
        raise ConfigError(source, "subnet", f"{cidr!r} is not an IPv4 network ({e})") from e
    if not net.is_private:
        raise ConfigError(source, "subnet", f"{cidr} is not a private/benchmarking range; use part of "
                          "198.18.0.0/15 (RFC 2544)")
    if net.num_addresses < 32:
        raise ConfigError(source, "subnet", f"{cidr} is too small (need at least a /27)")
    return net


# --------------------------------------------------------------------------- commands

def run_captured(argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a host command, capturing its text output (bounded by ``timeout``)."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)


def _must(argv: Sequence[str]) -> str:
    p = run_captured(argv)
    if p.returncode != 0:
        raise EnvironmentProblem(f"`{shlex.join(argv)}` failed (exit {p.returncode}): {p.stderr.strip()}")
    return p.stdout


def _link_exists(name: str) -> bool:
    return run_captured(["ip", "-o", "link", "show", "dev", name]).returncode == 0


def signals_deferred(describe: Callable[[], list[str]] | None = None) -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM cannot cut the block (a teardown) in half: during a run they print what
    is still being removed (``describe``), otherwise they are held and re-raised after it
    (``harness.interrupt.removing``). Masking the signals in the main thread would not do:
    the kernel hands them to another thread and CPython runs the handler in the main thread
    at its next bytecode all the same."""
    return interrupt.removing(describe)


# --------------------------------------------------------------------------- nodes

class NetnsNode:
    """One server process in its own namespace. Methods are idempotent; the data dir and
    the command survive kill/stop, so ``restart`` brings back the same member."""

    def __init__(self, provider: "NetnsProvider", name: str, host: str, netns: str, veth: str,
                 log_path: Path, launch: NodeLaunch, command: Sequence[str] | None = None) -> None:
        self.name, self.host, self.netns, self.veth = name, host, netns, veth
        self.log_path, self.launch = log_path, launch
        #: what runs in the namespace: the launch's argv, behind ``setpriv`` when it runs as a user
        self.command = list(command if command is not None else launch.argv)
        self.data_dir = launch.data_dir
        self.starts = 0
        self._provider = provider
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"NetnsNode({self.name}, {self.host}, pid={self.pid()}, netns={self.netns})"

    def pid(self) -> int | None:
        p = self._proc
        return p.pid if p is not None and p.poll() is None else None

    @property
    def returncode(self) -> int | None:
        """Exit status of the last process (negative: killed by that signal); None while running."""
        p = self._proc
        return None if p is None else p.poll()

    def is_running(self) -> bool:
        """True while the process exists, including while paused."""
        return self.pid() is not None

    def state(self) -> str | None:
        """``/proc`` state letter (``T`` when paused), or None when not running."""
        pid = self.pid()
        return proc_state(pid) if pid else None

    def _signal(self, sig: int) -> bool:
        """``sig`` to the node. SIGSTOP, SIGCONT and SIGKILL reach every process of the node,
        as on a frozen or crashed machine: the server and all its descendants (PostgreSQL's
        postmaster starts each backend, WAL sender and receiver in a session of its own, so
        its process group alone is not the node). SIGSTOP and SIGKILL go to the server first
        (it can start no new child meanwhile), SIGCONT to the children first. SIGTERM goes to
        the server alone, which shuts its children down itself."""
        pid = self.pid()
        if pid is None:
            return False
        if sig == signal.SIGTERM:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            return True
        def children() -> list[psutil.Process]:
            try:
                return psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                return []

        def send(procs: Iterable[psutil.Process | None]) -> None:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError, psutil.Error):
                    if proc is None:
                        os.kill(pid, sig)
                    else:
                        proc.send_signal(sig)

        if sig == signal.SIGSTOP:  # the server first: a stopped server starts no child
            send([None])
            send(children())
        elif sig == signal.SIGCONT:
            send([*children(), None])
        else:  # SIGKILL: list the children while they are still the server's
            kids = children()
            send([None, *kids])
        return True

    def _wait_state(self, want_stopped: bool, timeout_s: float = 2.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            st = self.state()
            if st is None or (st in ("T", "t")) == want_stopped:
                return
            time.sleep(0.005)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (plus SIGCONT, since a paused process would never act on it), then SIGKILL."""
        with self._lock:
            if not self._signal(signal.SIGTERM):
                return
            self._signal(signal.SIGCONT)
            assert self._proc is not None
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL and reap; works on a paused process too."""
        with self._lock:
            if self._signal(signal.SIGKILL):
                assert self._proc is not None
                self._proc.wait(timeout=30)

    def pause(self) -> None:
        """SIGSTOP; returns once ``/proc`` shows the process stopped."""
        with self._lock:
            if self._signal(signal.SIGSTOP):
                self._wait_state(want_stopped=True)

    def resume(self) -> None:
        """SIGCONT; returns once the process is no longer stopped."""
        with self._lock:
            if self._signal(signal.SIGCONT):
                self._wait_state(want_stopped=False)

    def restart(self) -> None:
        """Start again with the same argv and data dir (stopping it first if it still runs)."""
        with self._lock:
            if self.is_running():
                self.stop()
            self._provider._spawn(self)

    def _reap(self, timeout_s: float) -> None:
        p = self._proc
        if p is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=timeout_s)


# --------------------------------------------------------------------------- provider

class NetnsProvider(BridgedProvider[NetnsNode]):
    """Starts a cluster of real processes in network namespaces on this host (needs root).

    Single use: one ``start`` per provider. ``teardown`` (also run by ``__exit__`` and on
    any failure inside ``start``) removes everything, is idempotent, and defers Ctrl-C
    while it works.
    """

    name = "netns"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.names = NetnsNames(short_id(run_id))
        self._subnet_override: IPv4Network | None = None
        self._ready_timeout_s: float | None = None  # None: the system's default_ready_timeout_s
        self._forward_rule: bool | None = None  # None: decide from the host firewall
        self._data_root: Path | None = None
        self._state_dir: Path | None = None
        #: where the node dirs went when the data root's parents shut out a node's user (run_as)
        self.open_scratch_dir: Path | None = None
        self._lock = threading.RLock()
        self._ledger: Ledger | None = None
        self._nodes: list[NetnsNode] = []
        self._closing = False
        self.subnet: IPv4Network | None = None
        self.forward_rule_added = False
        self.last_cleanup: CleanupResult | None = None
        self._cleanup_progress: CleanupResult | None = None
        self._teardown_lock = threading.RLock()
        self._peer_links_mode = "direct"
        #: the live per-link proxies under ``with_peer_links("toxiproxy")`` (the partition
        #: nemesis cuts through them), else None
        self.peer_links: PeerLinks | None = None
        self._toxiproxy: ToxiproxyServer | None = None

    # -- fluent configuration
    def with_peer_links(self, mode: str) -> Self:
        """``direct`` (default) or ``toxiproxy``: members reach each other through a
        Toxiproxy process in the host namespace, one proxy per directed link (addresses on
        the run's bridge), each namespace resolving its peers' names to its own proxies
        through ``/etc/netns/<ns>/hosts`` (``ip netns exec`` bind-mounts it over /etc/hosts)."""
        check_mode(mode)
        self._peer_links_mode = mode
        return self

    def with_subnet(self, cidr: str) -> Self:
        """Use this subnet instead of picking a free /24 of 198.18.0.0/15."""
        self._subnet_override = validate_subnet(cidr, "with_subnet")
        return self

    def with_ready_timeout(self, seconds: float) -> Self:
        self._ready_timeout_s = float(seconds)
        return self

    def with_forward_rule(self, add: bool | None) -> Self:
        """Force (True) or forbid (False) the FORWARD ACCEPT rule; None decides from the host."""
        self._forward_rule = add
        return self

    def with_data_root(self, path: str | os.PathLike[str]) -> Self:
        self._data_root = Path(path)
        return self

    def with_state_dir(self, path: str | os.PathLike[str]) -> Self:
        self._state_dir = Path(path)
        return self

    @property
    def data_root(self) -> Path:
        """Scratch root for node data dirs: ``$GBENCH_DATA_DIR`` or ``<repo>/.cache/data``
        (on disk, not /tmp, which may be tmpfs and would hide fsync cost)."""
        return self._data_root if self._data_root is not None else default_data_root()

    @property
    def peer_links_mode(self) -> str:
        """``direct`` or ``toxiproxy`` (``with_peer_links``)."""
        return self._peer_links_mode

    @property
    def ledger(self) -> Ledger | None:
        """This run's crash-cleanup ledger (None before ``start``): record any resource you
        create for the run (the nemesis records its in-namespace iptables rules here)."""
        return self._ledger

    # -- environment
    def check_environment(self) -> None:
        problems: list[str] = []
        if os.geteuid() != 0:
            problems.append("not running as root (namespaces, veths and the bridge need CAP_NET_ADMIN)")
        for tool in ("ip", "iptables"):
            if shutil.which(tool) is None:
                problems.append(f"`{tool}` is not installed")
        if not problems:
            p = run_captured(["ip", "netns", "list"])
            if p.returncode != 0:
                problems.append(f"`ip netns` is unusable: {p.stderr.strip()}")
            p = run_captured(["iptables", "-w", "5", "-S", "FORWARD"])
            if p.returncode != 0:
                problems.append(f"`iptables -S FORWARD` failed: {p.stderr.strip()}")
        if problems:
            raise EnvironmentProblem(
                "the netns provider cannot run here: " + "; ".join(problems) + ". Run as root on Linux with "
                "iproute2 and iptables (`make setup` installs them), or use `--provider external --endpoints "
                "host:port,...` against a cluster you run yourself, or `--provider docker` on a Docker host")

    # -- start
    def start(self, system: System, n_nodes: int, run_dir: Path) -> Cluster:
        if self._ledger is not None or self._closing:
            raise ClusterError(f"provider for run {self.run_id} was already started; create a new one")
        if not 1 <= n_nodes <= MAX_NODES:
            raise ConfigError("--nodes", "nodes", f"{n_nodes} is not between 1 and {MAX_NODES}")
        self.check_environment()
        check_supported(self._peer_links_mode, system, n_nodes)
        via_proxy = self._peer_links_mode == "toxiproxy"
        try:
            self._open_ledger(n_nodes, run_dir)
            addrs = self._create_network(n_nodes)
            self._create_dirs(addrs)
            if via_proxy:
                addrs = self._start_peer_links(addrs, system)
            nodes = self._make_nodes(system, addrs, Path(run_dir))
            timeout = self._ready_timeout_s or system.default_ready_timeout_s
            by_name = {n.name: n for n in nodes}
            t0 = time.monotonic()
            # back to back within a stage, no waiting: a member cannot be ready before a quorum runs
            start_in_stages(system, addrs, lambda names: [self._spawn(by_name[n]) for n in names], timeout)
            cluster = Cluster(system=system, provider=self, nodes=list(nodes))  # type: ignore[arg-type]
            cluster.ready = system.wait_ready(cluster, timeout_s=timeout)
            cluster.time_to_ready_s = time.monotonic() - t0
            return cluster
        except BaseException:
            self.teardown()
            raise

    def _open_ledger(self, n_nodes: int, run_dir: Path) -> None:
        sdir = self._state_dir or state_dir()
        with state_lock(sdir):
            if self._subnet_override is not None:
                subnet = self._subnet_override
            elif os.environ.get(SUBNET_ENV):
                subnet = validate_subnet(os.environ[SUBNET_ENV], SUBNET_ENV)
            else:
                subnet = None
            in_use = parse_host_networks(_must(["ip", "-j", "-4", "addr", "show"]),
                                         _must(["ip", "-j", "-4", "route", "show", "table", "all"]))
            claimed = claimed_subnets(sdir)
            if subnet is None:
                subnet = pick_subnet(in_use, claimed, int(hashlib.sha1(self.run_id.encode()).hexdigest()[:8], 16))
            else:
                clash = [str(n) for n in [*in_use, *claimed] if n.overlaps(subnet)]
                if clash:
                    raise EnvironmentProblem(f"subnet {subnet} overlaps {', '.join(clash)} already in use on this "
                                             "host or by another run; choose another (GBENCH_SUBNET)")
            if n_nodes + NODE_HOST_OFFSET + 1 >= subnet.num_addresses:
                raise ConfigError("--nodes", "nodes", f"{n_nodes} nodes do not fit in {subnet}")
            self.subnet = subnet
            self._ledger = Ledger.create(self.run_id, directory=sdir, meta={
                "provider": self.name, "short_id": self.names.short, "subnet": str(subnet),
                "bridge": self.names.bridge, "scratch_dir": str(self.scratch_dir), "run_dir": str(run_dir),
                "nodes": n_nodes})

    def _fresh(self, kind: str, name: str) -> None:
        """Refuse to adopt something that already exists: cleanup would later delete it."""
        exists = (NETNS_RUN_DIR / name).exists() if kind == "netns" else _link_exists(name)
        if exists:
            raise EnvironmentProblem(f"{kind} {name} already exists (left by a crashed run? `gbench cleanup` "
                                     "removes what ledgers list; otherwise delete it by hand)")

    def _create_network(self, n_nodes: int) -> list[NodeAddress]:
        assert self._ledger is not None and self.subnet is not None
        led, nm, net = self._ledger, self.names, self.subnet
        prefix = net.prefixlen
        for n in range(1, n_nodes + 1):
            for name in (nm.veth(f"n{n}"), nm.bridge):
                if len(name) > IFNAMSIZ:
                    raise ConfigError("--nodes", "nodes", f"interface name {name} exceeds {IFNAMSIZ} characters")
        self._fresh("bridge", nm.bridge)
        led.record("bridge", name=nm.bridge)
        _must(["ip", "link", "add", "name", nm.bridge, "type", "bridge"])
        _must(["ip", "link", "set", "dev", nm.bridge, "addrgenmode", "none"])  # no IPv6 chatter
        _must(["ip", "addr", "add", f"{net[1]}/{prefix}", "dev", nm.bridge])
        _must(["ip", "link", "set", "dev", nm.bridge, "up"])
        self._maybe_forward_rule()
        addrs = []
        for i in range(1, n_nodes + 1):
            node = f"n{i}"
            ns, veth, host = nm.netns(node), nm.veth(node), str(net[NODE_HOST_OFFSET + i])
            self._fresh("netns", ns)
            led.record("netns", name=ns)
            _must(["ip", "netns", "add", ns])
            _must(["ip", "-n", ns, "link", "set", "dev", "lo", "up"])
            self._fresh("veth", veth)
            led.record("veth", name=veth)
            _must(["ip", "link", "add", "name", veth, "type", "veth", "peer", "name", NODE_IFACE, "netns", ns])
            _must(["ip", "link", "set", "dev", veth, "addrgenmode", "none"])
            _must(["ip", "link", "set", "dev", veth, "master", nm.bridge, "up"])
            _must(["ip", "-n", ns, "link", "set", "dev", NODE_IFACE, "addrgenmode", "none"])
            _must(["ip", "-n", ns, "addr", "add", f"{host}/{prefix}", "dev", NODE_IFACE])
            _must(["ip", "-n", ns, "link", "set", "dev", NODE_IFACE, "up"])
            addrs.append(NodeAddress(node, host))
        return addrs

    def _maybe_forward_rule(self) -> None:
        assert self._ledger is not None
        add = self._forward_rule
        if add is None:
            add = forward_rule_needed(_must(["iptables", "-w", "5", "-S", "FORWARD"]).splitlines())
        if not add:
            return
        spec = forward_rule_spec(self.names.bridge, self.run_id)
        self._ledger.record("iptables_rule", delete_argv=["iptables", "-w", "5", "-D", *spec],
                            check_argv=["iptables", "-w", "5", "-C", *spec])
        _must(["iptables", "-w", "5", "-I", *spec])
        self.forward_rule_added = True

    def _create_dirs(self, addrs: Sequence[NodeAddress]) -> None:
        assert self._ledger is not None
        self.data_root.mkdir(parents=True, exist_ok=True)
        self._new_scratch(self.scratch_dir.resolve(), addrs)

    def _new_scratch(self, scratch: Path, addrs: Sequence[NodeAddress]) -> None:
        """``scratch`` (recorded in the ledger first) with a 0700 dir per node (etcd wants 0700)."""
        assert self._ledger is not None
        if scratch.exists():
            raise EnvironmentProblem(f"data dir {scratch} already exists (a crashed run with the same id?); "
                                     "run `gbench cleanup` or remove it")
        self._ledger.record("dir", path=str(scratch))
        scratch.mkdir(mode=0o700)
        for a in addrs:
            (scratch / a.name).mkdir(mode=0o700)

    def _start_peer_links(self, addrs: Sequence[NodeAddress], system: System) -> list[NodeAddress]:
        """Link addresses on the bridge, Toxiproxy and its proxies, and per namespace either a
        hosts file (members that dial peers by name) or nat rules (by address)."""
        assert self._ledger is not None and self.subnet is not None
        binary = require_binary("peer links through Toxiproxy need")
        named = dials_names(system)
        plan = plan_peer_links([a.name for a in addrs], self.subnet, int(system.peer_port))
        for ip in [plan.toxiproxy_host, *plan.listen_hosts()]:  # removed with the bridge
            _must(["ip", "addr", "add", f"{ip}/32", "dev", self.names.bridge])
        if named:
            ours = not NETNS_ETC_DIR.exists()  # remove /etc/netns itself later only if this run made it
            for a in addrs:
                d = NETNS_ETC_DIR / self.names.netns(a.name)
                if d.exists():
                    raise EnvironmentProblem(f"{d} already exists (left by a crashed run? `gbench cleanup`)")
                self._ledger.record("dir", path=str(d), rmdir_parent_if_empty=ours)
                d.mkdir(parents=True, mode=0o755)
                (d / "hosts").write_text(plan.hosts_file(a.name))
        else:  # the rules go with the namespaces at teardown
            for a in addrs:
                for rule in plan.redirect_rules(a.name):
                    _must(["ip", "netns", "exec", self.names.netns(a.name), *rule])
        server = ToxiproxyServer(binary, host=plan.toxiproxy_host)
        self._ledger.record("process", key="process:toxiproxy", node="toxiproxy", pid=None, start_time=None,
                            argv0=str(binary))
        server.start()
        assert server.proc is not None
        self._toxiproxy = server
        self._ledger.update("process:toxiproxy", pid=server.proc.pid, start_time=proc_start_time(server.proc.pid))
        links = PeerLinks(plan, server.client(), link_routing(system))
        links.create()
        self.peer_links = links
        return advertising_names(addrs) if named else list(addrs)

    def facts(self) -> dict[str, Any]:
        """What the run manifest should say about where the nodes ran."""
        return {"provider": self.name, "bridge": self.names.bridge,
                "subnet": str(self.subnet) if self.subnet else None,
                "peer_links": self.peer_links.describe() if self.peer_links else {"via": "direct"},
                "node_data_dir": str(self.open_scratch_dir or self.scratch_dir.resolve())}

    def _open_scratch(self, addrs: Sequence[NodeAddress], blocked: Path, user: str) -> Path:
        """``OPEN_SCRATCH_ROOT/gbench-<run id>``, with a dir per node, for nodes whose user
        (``run_as``) cannot pass ``blocked`` above the data root (a clone under /root or in a
        0700 temp dir); recorded in the ledger (removed at teardown), said on stderr and in
        the manifest (``node_data_dir``)."""
        d = OPEN_SCRATCH_ROOT / f"gbench-{self.run_id}"
        self._new_scratch(d, addrs)
        print(f"[gbench] node data in {d}: user {user} cannot pass {blocked} (mode "
              f"{blocked.stat().st_mode & 0o777:o}) above the data root {self.data_root}", file=sys.stderr, flush=True)
        self.open_scratch_dir = d
        return d

    def _make_nodes(self, system: System, addrs: Sequence[NodeAddress], run_dir: Path) -> list[NetnsNode]:
        logs = run_dir / "nodes"
        logs.mkdir(parents=True, exist_ok=True)
        scratch = self.scratch_dir.resolve()
        nodes = []
        for a in addrs:
            launch = system.launch(a, addrs, scratch / a.name)
            if launch.run_as is not None and (blocked := blocking_parent(launch.data_dir, scratch)) is not None:
                scratch = self._open_scratch(addrs, blocked, launch.run_as)
                launch = system.launch(a, addrs, scratch / a.name)
            command = [*hand_over(launch, scratch), *launch.argv]
            nodes.append(NetnsNode(self, a.name, a.host, self.names.netns(a.name), self.names.veth(a.name),
                                   logs / f"{a.name}.log", launch, command))
        self._nodes = nodes
        return nodes

    def _spawn(self, node: NetnsNode) -> None:
        """Start ``node``'s process: ledger entry first, then ``ip netns exec`` (which execs
        the server, so the Popen pid IS the server pid), then its pid and start time."""
        with self._lock:
            if self._closing or self._ledger is None:
                raise ClusterError(f"cannot start {node.name}: the cluster of run {self.run_id} was torn down")
            key = f"process:{node.name}"
            self._ledger.record("process", key=key, node=node.name, netns=node.netns, pid=None,
                                start_time=None, argv0=node.command[0])
            # A minimal, explicit environment: nothing from the harness's shell (ETCD_* variables
            # would silently override flags) reaches the server; the system adds what it needs.
            env = {"PATH": NODE_PATH, **node.launch.env}
            node.starts += 1
            what = "start" if node.starts == 1 else f"restart #{node.starts - 1}"
            marker = (f"===== gbench: {what} of {node.name} at {dt.datetime.now(dt.timezone.utc).isoformat()} "
                      f"in netns {node.netns}: {shlex.join(node.command)}\n")
            with open(node.log_path, "ab") as log:
                log.write(marker.encode())
                log.flush()
                proc = subprocess.Popen(["ip", "netns", "exec", node.netns, *node.command],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=node.data_dir, env=env, start_new_session=True, close_fds=True)
            node._proc = proc
            self._ledger.update(key, pid=proc.pid, start_time=proc_start_time(proc.pid))

    # -- network control
    def exec_in_node_netns(self, node: str, argv: Sequence[str],
                           check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside ``node``'s network namespace (its own iptables, tc, ip).

        With ``check``, a non-zero exit raises ClusterError naming the node, command and stderr.
        """
        if node not in {n.name for n in self._nodes}:
            raise KeyError(f"no node {node!r} in run {self.run_id} (nodes: {[n.name for n in self._nodes]})")
        ns = self.names.netns(node)
        p = run_captured(["ip", "netns", "exec", ns, *argv])
        if check and p.returncode != 0:
            raise ClusterError(f"on {node} (netns {ns}): `{shlex.join(argv)}` exited {p.returncode}: "
                               f"{(p.stderr or p.stdout).strip()}")
        return p

    # -- teardown
    #: Seconds teardown waits for each killed node to be reaped at most (the budget left after
    #: a signal shortens it; cleanup_run kills and waits again for whatever is still there).
    REAP_TIMEOUT_S = 10.0

    def still_removing(self) -> list[str]:
        """What teardown has not removed yet: running nodes, then the ledger's resources."""
        out = [f"node {n.name} (pid {pid})" for n in self._nodes if (pid := n.pid()) is not None]
        ledger = self._ledger
        if ledger is not None and ledger.path.exists():  # its processes: the nodes listed above
            out += [x for x in pending(ledger, self._cleanup_progress) if not x.startswith("process ")]
        return out

    def teardown(self) -> None:
        """Resume and kill every node, then remove rules, namespaces, veths, bridge, data dirs
        and the ledger (in that order, through ``cleanup_run``). Idempotent; never raises for
        what is already gone. If something cannot be removed, says so on stderr and keeps the
        ledger so `gbench cleanup` can retry. After a signal every wait is bounded by the budget
        left (``harness.interrupt``); a further signal prints ``still_removing()``."""
        with signals_deferred(self.still_removing), self._teardown_lock:  # one at a time (a watchdog's, the main one's)
            with self._lock:
                self._closing = True
                ledger = self._ledger
            nodes = list(self._nodes)
            for n in nodes:
                n._signal(signal.SIGCONT)
            for n in nodes:
                n._signal(signal.SIGKILL)
            deadline = time.monotonic() + interrupt.share(self.REAP_TIMEOUT_S, 0.5)
            for n in nodes:
                n._reap(timeout_s=max(0.0, deadline - time.monotonic()))
            if self._toxiproxy is not None:
                self._toxiproxy.stop()
            if ledger is None or (self.last_cleanup is not None and self.last_cleanup.ok and not ledger.path.exists()):
                return
            self._cleanup_progress = CleanupResult(ledger.run_id)
            result = cleanup_run(ledger, kill_timeout_s=interrupt.share(10.0, 0.5), result=self._cleanup_progress)
            self.last_cleanup = result
            if not result.ok:
                interrupt.never_raises(lambda s: print(s, file=sys.stderr, flush=True))(
                    f"[gbench] WARNING: teardown of run {self.run_id} left resources behind "
                    f"(ledger kept at {ledger.path}; run `gbench cleanup`):\n  " + "\n  ".join(result.errors))


def claimed_subnets(sdir: Path) -> list[IPv4Network]:
    out = []
    for p in list_ledgers(sdir):
        try:
            s = json.loads(p.read_text()).get("meta", {}).get("subnet")
            if s:
                out.append(ipaddress.IPv4Network(s))
        except (OSError, ValueError):
            continue
    return out
