"""The ``docker`` provider: every node is a container on a user-defined network per run,
created through testcontainers-python (4.x), so the harness runs where users' Docker hosts are.

Topology (run short id ``1a2b3c``, subnet ``198.18.7.0/24``)::

    host (the harness)
      gd1a2b3c-br  198.18.7.1/24   <- the run's bridge network "gbench-1a2b3c" (internal: no
        |                             route out, but the host reaches every node directly)
        |-- gbench-1a2b3c-n1-net  198.18.7.11, alias n1   <- sandbox: holds n1's network namespace
        |     `-- gbench-1a2b3c-n1                        <- etcd, network_mode container:<sandbox>
        |-- gbench-1a2b3c-n2-net  198.18.7.12, alias n2
        ...

Why two containers per node: the nemesis cuts links with iptables *inside* a node's network
namespace (``exec_in_node_netns``, via ``nsenter -t <pid> -n``). A container's namespace
dies with its process, so with one container per node a ``kill`` + ``restart`` during a
partition would silently heal that node. The sandbox (a ``pause`` process, like a
Kubernetes pod's) owns the address, the network alias and the rules; the server container
joins it, and can be killed (``docker kill``), paused (``docker pause``, the cgroup
freezer) and restarted (``docker start``: same command, same data dir) while its address
and any partition stay in force, exactly as with the netns provider.

Addresses are fixed before any container starts (the system's ``launch`` needs every
member's address): the provider picks a free /24 of 198.18.0.0/15 as netns does, and node
``i`` gets ``subnet[10 + i]``. ``NodeAddress.host`` is that IP: the harness reaches it
through the bridge, and a node's command is exactly what the netns provider would run,
except ``argv[0]``, which becomes the server binary's path inside the image. The data
dir is bind-mounted at the same path, so data stays on the disk ``$GBENCH_DATA_DIR``
names (fsync cost is measured there), and the container runs as the caller's uid:gid so
the caller can delete it afterwards.

Nothing leaks: every container and the network carry the label ``gbench.run=<run id>``
(plus the owner's pid and start time, the scratch dir and the bridge name), and
``teardown`` and ``cleanup_docker`` remove everything *by label*, whether or not
testcontainers' Ryuk reaper runs (Ryuk's image cannot be pulled on an offline host;
``TESTCONTAINERS_RYUK_DISABLED=true`` or an absent Ryuk image turns it off).

Images are per system (``ImageSpec``): the local image ``harness/setup/docker/images.sh``
builds (the same static etcd binary netns runs) when present, else the official image if
present, else the official image is pulled when ``GBENCH_DOCKER_PULL=1`` allows it. An
implicit pull never happens: on an offline host it would hang or leak traffic.

Example::

    with DockerProvider(run_id) as provider:
        cluster = provider.start(EtcdSystem(find_etcd()), 3, run_dir)
        cluster.node("n2").kill(); cluster.node("n2").restart()
        provider.exec_in_node_netns("n1", ["iptables", "-S"])
    # containers, network, rules and data dirs are gone here, even after an exception
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Self, Sequence

from harness import interrupt
from harness.api import ImageSpec, System
from harness.errors import ClusterError, ConfigError, EnvironmentProblem
from harness.nemesis.peer_links import (PeerLinkPlan, PeerLinks, advertising_names, check_supported, dials_names,
                                        link_routing, plan_peer_links)
from harness.nemesis.toxiproxy import ToxiproxyClient
from harness.providers.base import NODE_HOST_OFFSET, BridgedProvider, Cluster, NodeAddress, NodeLaunch, start_in_stages
from harness.providers.ledger import proc_start_time, proc_state, same_process, state_dir, state_lock
from harness.providers.netns import (MAX_NODES, SUBNET_ENV, claimed_subnets, default_data_root,
                                     forward_rule_needed, forward_rule_spec, parse_host_networks, pick_subnet,
                                     run_captured, short_id, signals_deferred, validate_subnet)

#: How long one Docker API call may take before the provider gives up on the engine.
API_TIMEOUT_S = 60
PULL_ENV = "GBENCH_DOCKER_PULL"
RYUK_ENV = "TESTCONTAINERS_RYUK_DISABLED"

LABEL_RUN = "gbench.run"
LABEL_ROLE = "gbench.role"  # sandbox | node | aux
LABEL_NODE = "gbench.node"
LABEL_OWNER_PID = "gbench.owner_pid"
LABEL_OWNER_START = "gbench.owner_start_time"
LABEL_SCRATCH = "gbench.scratch"
LABEL_BRIDGE = "gbench.bridge"
#: Written into the scratch dir; cleanup deletes a labelled dir only if this file names the run.
RUN_MARKER = ".gbench-run"


# --------------------------------------------------------------------------- images

#: The sandbox holding each node's network namespace (``harness/setup/docker/pause``).
PAUSE_IMAGE = ImageSpec("gbench/pause:1-local", "registry.k8s.io/pause:3.10", "/pause")
TOXIPROXY_VERSION = "2.12.0"
TOXIPROXY_IMAGE = ImageSpec(f"gbench/toxiproxy:{TOXIPROXY_VERSION}-local",
                            f"ghcr.io/shopify/toxiproxy:{TOXIPROXY_VERSION}", "/toxiproxy")
TOXIPROXY_API_PORT = 8474


def image_for(system: System) -> ImageSpec:
    """The default image of ``system``, as its plugin says; EnvironmentProblem (from the
    plugin, saying why) for systems without one, or for a system no plugin registers."""
    from harness.registry import system_plugin

    try:
        plugin = system_plugin(system.name)
    except ConfigError:
        raise EnvironmentProblem(f"the docker provider has no image for {system.name!r}: no system plugin "
                                 "registers it") from None
    return plugin.image(system.version())


def pull_allowed() -> bool:
    return os.environ.get(PULL_ENV, "").strip().lower() in ("1", "true", "yes")


def _path_mapper(launch: NodeLaunch, spec: ImageSpec) -> Callable[[str], str]:
    """``launch``'s named host directories -> where ``spec``'s image holds them, applied to
    whole path components only (``/a/lib`` maps in ``/a/lib/x.jar:/a/lib/y.jar``, never in
    ``/a/lib2``); longest host path first. EnvironmentProblem when the image lacks one."""
    missing = sorted(set(launch.host_paths) - set(spec.paths))
    if missing:
        raise EnvironmentProblem(f"image {spec.local} does not hold the {', '.join(missing)} directory the node's "
                                 f"command uses ({', '.join(str(launch.host_paths[m]) for m in missing)} on this "
                                 f"host); the image holds only {sorted(spec.paths) or 'its binary'}")
    subs = [(re.compile(re.escape(str(host).rstrip("/")) + r"(?=[/:=]|$)"), spec.paths[name])
            for name, host in sorted(launch.host_paths.items(), key=lambda kv: -len(str(kv[1])))]

    def mapped(text: str) -> str:
        for rx, to in subs:
            text = rx.sub(lambda _m, to=to: to, text)
        return text
    return mapped


def container_argv(launch: NodeLaunch, spec: ImageSpec) -> tuple[list[str], list[str]]:
    """(entrypoint, command) for ``launch`` in ``spec``'s image: the host binary path in
    ``argv[0]`` becomes the image's, and the host directories the launch names
    (``host_paths``) become the image's (``spec.paths``); every flag stays as the system
    wrote it otherwise (the data dir is mounted at its own path)."""
    if not launch.argv:
        raise ClusterError("the system returned an empty command")
    mapped = _path_mapper(launch, spec)
    return [spec.binary], [mapped(a) for a in launch.argv[1:]]


def container_env(launch: NodeLaunch, spec: ImageSpec) -> dict[str, str]:
    """``launch.env`` with its host directories mapped as in ``container_argv``."""
    mapped = _path_mapper(launch, spec)
    return {k: mapped(v) for k, v in launch.env.items()}


def _memory_limit(limit: int | None) -> dict[str, int]:
    """Docker's memory limit for a node: RAM and RAM + swap equal (no swap), or none."""
    return {} if limit is None else {"mem_limit": int(limit), "memswap_limit": int(limit)}


# --------------------------------------------------------------------------- naming

@dataclass(frozen=True)
class DockerNames:
    """Names of everything the provider creates for one run (all also labelled)."""

    short: str

    @property
    def network(self) -> str:
        return f"gbench-{self.short}"

    @property
    def bridge(self) -> str:
        return f"gd{self.short}-br"  # netns uses gb<short>-br: the two never collide

    def sandbox(self, node: str) -> str:
        return f"gbench-{self.short}-{node}-net"

    def container(self, node: str) -> str:
        return f"gbench-{self.short}-{node}"

    @property
    def toxiproxy(self) -> str:
        return f"gbench-{self.short}-toxiproxy"


def run_labels(run_id: str, role: str, **extra: str) -> dict[str, str]:
    me = os.getpid()
    return {LABEL_RUN: run_id, LABEL_ROLE: role, LABEL_OWNER_PID: str(me),
            LABEL_OWNER_START: str(proc_start_time(me) or ""), **extra}


def exit_status(exit_code: int | None, running: bool) -> int | None:
    """Docker's ExitCode in Popen's convention: None while running, ``-N`` when a signal N
    killed it (Docker reports 128 + N, e.g. 137 after ``docker kill``)."""
    if running or exit_code is None:
        return None
    return -(exit_code - 128) if 128 < exit_code < 160 else exit_code


# --------------------------------------------------------------------------- engine

def _docker_sdk() -> Any:
    try:
        import docker  # noqa: F401  (installed with testcontainers)
        from testcontainers.core.config import testcontainers_config  # noqa: F401
    except ImportError as e:
        raise EnvironmentProblem(f"the docker provider needs testcontainers-python 4.x ({e}); run `make setup` "
                                 "(pip install testcontainers)") from e
    import docker
    return docker


def engine_problem(timeout_s: float = 5.0) -> str | None:
    """None when a Docker engine answers on this host, else why not (one line)."""
    try:
        docker = _docker_sdk()
    except EnvironmentProblem as e:
        return str(e)
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return (f"DOCKER_HOST={host} is not a local socket: node IPs and namespaces must be on this host "
                "(nsenter, direct routes to the bridge)")
    try:
        client = docker.from_env(timeout=max(1, int(timeout_s)))
    except Exception as e:  # noqa: BLE001 - docker raises DockerException subclasses and OSErrors
        return f"no Docker engine answers ({_one_line(e)})"
    try:
        client.ping()
    except Exception as e:  # noqa: BLE001
        return f"no Docker engine answers ({_one_line(e)})"
    finally:
        client.close()
    return None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


@dataclass(frozen=True)
class DockerdConfig:
    """How ``ensure_dockerd`` starts a daemon of its own (CI and this host only).

    The flags keep the daemon away from everything the harness does not own: no iptables
    changes (Docker's default FORWARD DROP policy would break the netns provider's bridges
    wherever br_netfilter is loaded), no NAT or IP forwarding (nodes need no internet; no
    registry is reachable anyway) and no default ``docker0`` bridge (runs create their own).
    """

    binary: str = "dockerd"
    log_path: Path = Path("/tmp/gbench-dockerd.log")
    args: tuple[str, ...] = ("--iptables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none")
    ready_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0


@dataclass
class DockerdHandle:
    """The daemon ``ensure_dockerd`` found or started; ``stop`` ends it only if it started it."""

    started: bool
    proc: subprocess.Popen[bytes] | None = None
    config: DockerdConfig = field(default_factory=DockerdConfig)
    startup_s: float | None = None

    def stop(self) -> None:
        p = self.proc
        if not self.started or p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)  # dockerd stops its containers and its containerd itself
        try:
            p.wait(timeout=self.config.stop_timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)  # its own session: only what it started
            p.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_dockerd(config: DockerdConfig | None = None) -> DockerdHandle:
    """A Docker engine that answers: the one already running (left alone), or a ``dockerd``
    started here in its own session when the binary exists and we are root.

    Raises EnvironmentProblem naming what is missing when neither is possible.
    """
    cfg = config or DockerdConfig()
    if engine_problem(timeout_s=3) is None:
        return DockerdHandle(started=False, config=cfg)
    binary = shutil.which(cfg.binary)
    if binary is None:
        raise EnvironmentProblem(f"no Docker engine answers and `{cfg.binary}` is not installed (apt-get install "
                                 "docker.io); use --provider netns")
    if os.geteuid() != 0:
        raise EnvironmentProblem("no Docker engine answers, and starting dockerd needs root; start the Docker "
                                 "service (or use --provider netns)")
    t0 = time.monotonic()
    log = open(cfg.log_path, "ab")
    try:
        proc = subprocess.Popen([binary, *cfg.args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    finally:
        log.close()
    handle = DockerdHandle(started=True, proc=proc, config=cfg)
    deadline = t0 + cfg.ready_timeout_s
    problem: str | None = "not polled"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        problem = engine_problem(timeout_s=2)
        if problem is None:
            handle.startup_s = time.monotonic() - t0
            return handle
        time.sleep(0.25)
    handle.stop()
    tail = cfg.log_path.read_text(errors="replace").splitlines()[-5:] if cfg.log_path.exists() else []
    raise EnvironmentProblem(f"dockerd did not answer within {cfg.ready_timeout_s:g}s (exit {proc.poll()}; "
                             f"{problem}); last lines of {cfg.log_path}: " + " | ".join(tail))


def _configure_ryuk(client: Any, allow_pull: bool) -> bool:
    """Decide whether testcontainers starts its Ryuk reaper; returns True when it will.

    An explicit ``TESTCONTAINERS_RYUK_DISABLED`` wins. Otherwise Ryuk runs only if its
    image is here or may be pulled: testcontainers would otherwise try to pull it on the
    first container start and fail there. Cleanup never depends on Ryuk either way.
    """
    from testcontainers.core.config import testcontainers_config as tc

    if os.environ.get(RYUK_ENV, "").strip():
        return not tc.ryuk_disabled
    if allow_pull:
        return not tc.ryuk_disabled
    try:
        client.images.get(tc.ryuk_image)
        return not tc.ryuk_disabled
    except Exception:  # noqa: BLE001 - ImageNotFound or an API error: no Ryuk
        tc.ryuk_disabled = True
        return False


def resolve_image(client: Any, spec: ImageSpec, allow_pull: bool) -> tuple[str, str]:
    """(image reference, how it was found: ``local`` | ``official`` | ``pulled``)."""
    import docker.errors

    for ref, how in ((spec.local, "local"), (spec.official, "official")):
        if not ref:
            continue
        try:
            client.images.get(ref)
            return ref, how
        except docker.errors.ImageNotFound:
            continue
    if allow_pull and spec.official:
        try:
            client.images.pull(spec.official)
            return spec.official, "pulled"
        except Exception as e:  # noqa: BLE001
            raise EnvironmentProblem(f"image {spec.official} could not be pulled ({_one_line(e)}); run "
                                     f"harness/setup/docker/images.sh to build {spec.local} offline") from e
    hint = f" or set {PULL_ENV}=1 to pull {spec.official}" if spec.official else ""
    raise EnvironmentProblem(f"docker image {spec.local} is not present (and no official image either); run "
                             f"harness/setup/docker/images.sh to build it offline{hint}")


# --------------------------------------------------------------------------- log capture

class _LogFollower(threading.Thread):
    """Copies one container incarnation's output (``docker logs -f --since``) into the
    node's log file, so ``wait_ready`` diagnostics and ``nodes/<name>.log`` see it live.
    Ends by itself when the container stops."""

    def __init__(self, container: Any, path: Path, since: float) -> None:
        super().__init__(name=f"gbench-docker-log-{path.stem}", daemon=True)
        self.container, self.path, self.since = container, path, since

    def run(self) -> None:
        try:
            stream = self.container.logs(stream=True, follow=True, stdout=True, stderr=True, since=self.since)
            with open(self.path, "ab") as fh:
                for chunk in stream:
                    fh.write(chunk)
                    fh.flush()
        except Exception as e:  # noqa: BLE001 - a vanished container ends the stream
            with contextlib.suppress(OSError), open(self.path, "ab") as fh:
                fh.write(f"===== gbench: log stream ended: {_one_line(e)}\n".encode())


# --------------------------------------------------------------------------- nodes

class DockerNode:
    """One server container inside its sandbox's network namespace. Idempotent methods;
    the data dir, the address and the command survive kill/stop, so ``restart`` brings
    back the same member."""

    def __init__(self, provider: "DockerProvider", name: str, host: str, log_path: Path, launch: NodeLaunch,
                 container_name: str, sandbox_name: str) -> None:
        self.name, self.host, self.log_path, self.launch = name, host, log_path, launch
        self.data_dir = launch.data_dir
        self.container_name, self.sandbox_name = container_name, sandbox_name
        self.starts = 0
        self._provider = provider
        self._container: Any = None  # docker.models.containers.Container
        self._sandbox: Any = None
        self._sandbox_pid: tuple[int, int] | None = None
        self._followers: list[_LogFollower] = []
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"DockerNode({self.name}, {self.host}, container={self.container_name}, pid={self.pid()})"

    def _state(self) -> dict[str, Any] | None:
        c = self._container
        if c is None:
            return None
        try:
            c.reload()
        except Exception:  # noqa: BLE001 - removed, or the engine went away: not running
            return None
        return dict(c.attrs.get("State") or {})

    def pid(self) -> int | None:
        st = self._state()
        return int(st["Pid"]) if st and st.get("Running") and st.get("Pid") else None

    def sandbox_pid(self) -> int | None:
        """Pid of the process holding this node's network namespace (for nsenter).

        Asked of the engine once, then remembered with the process's start time and checked
        against ``/proc`` on every later call (a sandbox is never restarted; a pid reused by
        another process fails the check): a partition enters a namespace once per rule, and
        an engine round trip per rule made applying one 3-4 times slower than under netns."""
        known = self._sandbox_pid
        if known is not None and same_process(known[0], known[1]):
            return known[0]
        s = self._sandbox
        if s is None:
            return None
        try:
            s.reload()
        except Exception:  # noqa: BLE001
            return None
        st = s.attrs.get("State") or {}
        pid = int(st["Pid"]) if st.get("Running") and st.get("Pid") else None
        started = proc_start_time(pid) if pid else None
        self._sandbox_pid = (pid, started) if pid and started is not None else None  # remembered only if checkable
        return pid

    @property
    def returncode(self) -> int | None:
        """Exit status of the last incarnation in Popen's convention (-9 after kill)."""
        st = self._state()
        return None if st is None else exit_status(st.get("ExitCode"), bool(st.get("Running")))

    def is_running(self) -> bool:
        """True while the container runs, including while paused (as a SIGSTOPped process)."""
        st = self._state()
        return bool(st and st.get("Running"))

    def state(self) -> str | None:
        """``T`` while paused (the cgroup freezer's equivalent of SIGSTOP, so the nemesis's
        check reads the same as with netns), else the ``/proc`` state letter; None when stopped."""
        st = self._state()
        if not st or not st.get("Running"):
            return None
        if st.get("Paused"):
            return "T"
        return proc_state(int(st["Pid"])) if st.get("Pid") else None

    def stop(self, timeout_s: float = 10.0) -> None:
        """``docker stop``: SIGTERM, SIGKILL after ``timeout_s`` (resumed first if paused)."""
        with self._lock:
            if not self.is_running():
                return
            self.resume()
            self._container.stop(timeout=max(1, int(round(timeout_s))))
            self._wait_stopped(timeout_s + 10)

    def kill(self) -> None:
        """``docker kill`` (SIGKILL); works on a paused container too; waits until it is gone."""
        with self._lock:
            if not self.is_running():
                return
            with contextlib.suppress(Exception):
                self._container.kill()
            self._wait_stopped(10)

    def _wait_stopped(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.is_running():
            raise ClusterError(f"{self.name} ({self.container_name}) is still running {timeout_s:g}s after kill")

    def pause(self) -> None:
        """``docker pause`` (cgroup freezer): every process of the node stops at once."""
        with self._lock:
            st = self._state()
            if st and st.get("Running") and not st.get("Paused"):
                self._container.pause()

    def resume(self) -> None:
        """``docker unpause``."""
        with self._lock:
            st = self._state()
            if st and st.get("Paused"):
                self._container.unpause()

    def restart(self) -> None:
        """``docker start`` again: same command, data dir, address and namespace (stopping first if it runs)."""
        with self._lock:
            if self.is_running():
                self.stop()
            self._provider._start_node(self)

    def join_followers(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        for f in self._followers:
            f.join(timeout=max(0.0, deadline - time.monotonic()))


# --------------------------------------------------------------------------- provider

@dataclass(frozen=True)
class DockerOptions:
    """Provider settings; every field has a default that works on a normal Docker host."""

    #: Per system name: which image runs its server (default: ``image_for(system)``).
    images: Mapping[str, ImageSpec] = field(default_factory=dict)
    sandbox: ImageSpec = PAUSE_IMAGE
    #: Pull an official image when neither image is present (default: ``$GBENCH_DOCKER_PULL``).
    allow_pull: bool | None = None
    #: An internal network has no route out: nodes reach each other and the host, nothing else.
    internal_network: bool = True
    ready_timeout_s: float | None = None
    subnet: IPv4Network | None = None
    data_root: Path | None = None
    #: Force (True) or forbid (False) a host FORWARD ACCEPT rule for the run's bridge;
    #: None decides as netns does (needed only when the host filters bridged traffic and
    #: Docker does not manage iptables for the bridge itself).
    forward_rule: bool | None = None
    #: How members reach each other: ``direct`` (their own addresses; partitions are
    #: iptables rules in the nodes' namespaces) or ``toxiproxy`` (one Toxiproxy proxy per
    #: directed link, peers resolved through per-node hosts files; partitions are toxics).
    peer_links: str = "direct"


#: ``DockerProvider._probe_runtime``'s answers: (image id, probe) -> what the probe printed.
_RUNTIMES: dict[tuple[str, tuple[str, ...]], str | None] = {}


class DockerProvider(BridgedProvider[DockerNode]):
    """Starts a cluster of containers on this host's Docker engine.

    Single use: one ``start`` per provider. ``teardown`` (also run by ``__exit__`` and on
    any failure inside ``start``) removes everything labelled with the run id, is
    idempotent, and defers Ctrl-C while it works.
    """

    name = "docker"

    def __init__(self, run_id: str, options: DockerOptions | None = None) -> None:
        self.run_id = run_id
        self.names = DockerNames(short_id(run_id))
        self.options = options or DockerOptions()
        self.subnet: IPv4Network | None = None
        self.images: dict[str, str] = {}  # role -> image reference actually used
        self.image_sources: dict[str, str] = {}
        #: what the node image's ``ImageSpec.probe`` printed (its runtime), or None
        self.node_runtime: str | None = None
        self.ryuk: bool | None = None
        self.forward_rule_added = False
        self.last_cleanup: DockerCleanupResult | None = None
        self.sandboxes_s: float | None = None
        #: the live per-link proxies when ``peer_links == "toxiproxy"`` (the partition
        #: nemesis cuts through them instead of iptables), else None
        self.peer_links: PeerLinks | None = None
        self._peer_plan: PeerLinkPlan | None = None
        self._named_peers = True
        self._client: Any = None  # docker.DockerClient
        self._network: Any = None  # testcontainers Network
        self._nodes: list[DockerNode] = []
        self._teardown_lock = threading.RLock()
        self._started = False
        self._closing = False
        self._lock = threading.RLock()

    # -- fluent configuration (same names as NetnsProvider where they mean the same)
    def with_subnet(self, cidr: str) -> Self:
        self.options = replace(self.options, subnet=validate_subnet(cidr, "with_subnet"))
        return self

    def with_ready_timeout(self, seconds: float) -> Self:
        self.options = replace(self.options, ready_timeout_s=float(seconds))
        return self

    def with_data_root(self, path: str | os.PathLike[str]) -> Self:
        self.options = replace(self.options, data_root=Path(path))
        return self

    def with_image(self, system_name: str, spec: ImageSpec) -> Self:
        self.options = replace(self.options, images={**self.options.images, system_name: spec})
        return self

    def with_pull(self, allow: bool) -> Self:
        self.options = replace(self.options, allow_pull=allow)
        return self

    @property
    def peer_links_mode(self) -> str:
        """``direct`` or ``toxiproxy`` (``DockerOptions.peer_links``)."""
        return self.options.peer_links

    @property
    def allow_pull(self) -> bool:
        return pull_allowed() if self.options.allow_pull is None else self.options.allow_pull

    @property
    def data_root(self) -> Path:
        """``$GBENCH_DATA_DIR`` or ``<repo>/.cache/data`` (on disk, as for netns)."""
        return self.options.data_root if self.options.data_root is not None else default_data_root()

    # -- environment
    def check_environment(self) -> None:
        problem = engine_problem()
        if problem:
            raise EnvironmentProblem(f"the docker provider cannot run here: {problem}. Start Docker (on this host: "
                                     "apt-get install docker.io, then dockerd), or use --provider netns (root) or "
                                     "--provider external --endpoints host:port,...")

    def facts(self) -> dict[str, Any]:
        """What the run manifest should say about where the nodes ran."""
        out: dict[str, Any] = {"provider": self.name, "network": self.names.network, "bridge": self.names.bridge,
                               "subnet": str(self.subnet) if self.subnet else None, "images": dict(self.images),
                               "image_sources": dict(self.image_sources), "node_runtime": self.node_runtime,
                               "ryuk": self.ryuk,
                               "sandboxes_s": self.sandboxes_s,
                               "memory_limit_bytes": {n.name: n.launch.memory_limit_bytes for n in self._nodes},
                               "peer_links": self.peer_links.describe() if self.peer_links else {"via": "direct"}}
        if self._client is not None:
            with contextlib.suppress(Exception):
                v = self._client.version()
                out["engine"] = {"version": v.get("Version"), "api": v.get("ApiVersion"),
                                 "kernel": v.get("KernelVersion")}
            with contextlib.suppress(Exception):
                out["image_ids"] = {k: self._client.images.get(ref).id for k, ref in self.images.items()}
        return out

    # -- start
    def start(self, system: System, n_nodes: int, run_dir: Path) -> Cluster:
        with self._lock:
            if self._started or self._closing:
                raise ClusterError(f"provider for run {self.run_id} was already started; create a new one")
            self._started = True
        if not 1 <= n_nodes <= MAX_NODES:
            raise ConfigError("--nodes", "nodes", f"{n_nodes} is not between 1 and {MAX_NODES}")
        self.check_environment()
        spec = self.options.images.get(system.name) or image_for(system)
        check_supported(self.options.peer_links, system, n_nodes)
        via_proxy = self.options.peer_links == "toxiproxy"
        try:
            docker = _docker_sdk()
            self._client = docker.from_env(timeout=API_TIMEOUT_S)
            self.ryuk = _configure_ryuk(self._client, self.allow_pull)
            node_image, self.image_sources["node"] = resolve_image(self._client, spec, self.allow_pull)
            sandbox_image, self.image_sources["sandbox"] = resolve_image(self._client, self.options.sandbox,
                                                                         self.allow_pull)
            self.images = {"node": node_image, "sandbox": sandbox_image}
            self.node_runtime = self._probe_runtime(node_image, spec)
            if via_proxy:
                self.images["toxiproxy"], self.image_sources["toxiproxy"] = resolve_image(
                    self._client, TOXIPROXY_IMAGE, self.allow_pull)
            self._create_network(n_nodes)
            self._maybe_forward_rule()
            addrs = [NodeAddress(f"n{i}", str(self.subnet[NODE_HOST_OFFSET + i]))  # type: ignore[index]
                     for i in range(1, n_nodes + 1)]
            self._create_dirs(addrs)
            named = dials_names(system)
            if via_proxy:
                if named:
                    addrs = advertising_names(addrs)
                self._start_peer_links([a.name for a in addrs], system)
            nodes = self._make_nodes(system, addrs, Path(run_dir), spec)
            t_sb = time.monotonic()
            self._parallel(self._start_sandbox, nodes)
            if via_proxy and not named:  # address-dialing members: nat rules in each sandbox's namespace
                assert self._peer_plan is not None
                for n in nodes:
                    for rule in self._peer_plan.redirect_rules(n.name):
                        self.exec_in_node_netns(n.name, rule)
            self.sandboxes_s = time.monotonic() - t_sb
            timeout = self.options.ready_timeout_s or system.default_ready_timeout_s
            by_name = {n.name: n for n in nodes}
            t0 = time.monotonic()
            # a stage's nodes all at once: no member is ready before a quorum runs
            start_in_stages(system, addrs, lambda names: self._parallel(self._start_node, [by_name[n] for n in names]),
                            timeout)
            cluster = Cluster(system=system, provider=self, nodes=list(nodes))  # type: ignore[arg-type]
            cluster.ready = system.wait_ready(cluster, timeout_s=timeout)
            cluster.time_to_ready_s = time.monotonic() - t0
            return cluster
        except BaseException:
            self.teardown()
            raise

    def _probe_runtime(self, image: str, spec: ImageSpec) -> str | None:
        """What ``spec.probe`` prints in ``image`` (its first lines), run without network once
        per image id and probe in this process (an image never changes under its id); None
        when the spec has no probe. A probe that fails is an error naming the image."""
        if not spec.probe:
            return None
        key = (self._client.images.get(image).id, spec.probe)
        if key not in _RUNTIMES:
            _RUNTIMES[key] = self._run_probe(image, spec)
        return _RUNTIMES[key]

    def _run_probe(self, image: str, spec: ImageSpec) -> str | None:
        try:
            out = self._client.containers.run(image, list(spec.probe[1:]), entrypoint=[spec.probe[0]],
                                              network_mode="none", remove=True, stdout=True, stderr=True,
                                              labels=run_labels(self.run_id, "aux", **{LABEL_NODE: "probe"}))
        except Exception as e:  # noqa: BLE001 - ContainerError, ImageNotFound, APIError
            raise EnvironmentProblem(f"image {image}: `{shlex.join(spec.probe)}` failed ({_one_line(e)})") from e
        text = out.decode("utf-8", "replace") if isinstance(out, bytes) else str(out)
        return " / ".join(line.strip() for line in text.splitlines()[:3] if line.strip()) or None

    @staticmethod
    def _parallel(fn: Any, nodes: Sequence[DockerNode]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as ex:
            for _ in ex.map(fn, nodes):  # re-raises the first failure
                pass

    def _create_network(self, n_nodes: int) -> None:
        """A /24 of 198.18.0.0/15 that no host network, Docker network or netns ledger uses,
        chosen under the ledger lock (as netns chooses) when the state dir is writable."""
        from docker.types import IPAMConfig, IPAMPool
        from testcontainers.core.network import Network

        with _maybe_state_lock():
            override = self.options.subnet or (validate_subnet(os.environ[SUBNET_ENV], SUBNET_ENV)
                                               if os.environ.get(SUBNET_ENV) else None)
            taken = subnets_in_use(self._client)
            seed = int(hashlib.sha1(self.run_id.encode()).hexdigest()[:8], 16)
            tried: list[str] = []
            for attempt in range(8):  # a concurrent run may take the same /24 between pick and create
                subnet = override or pick_subnet(taken, [], seed + attempt)
                if override is not None:
                    clash = [str(n) for n in taken if n.overlaps(subnet)]
                    if clash:
                        raise EnvironmentProblem(f"subnet {subnet} overlaps {', '.join(clash)} already in use on "
                                                 f"this host; choose another ({SUBNET_ENV})")
                if n_nodes + NODE_HOST_OFFSET + 1 >= subnet.num_addresses:
                    raise ConfigError("--nodes", "nodes", f"{n_nodes} nodes do not fit in {subnet}")
                ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet), gateway=str(subnet[1]))])
                net = Network(docker_network_kw={
                    "driver": "bridge", "ipam": ipam, "internal": self.options.internal_network,
                    "check_duplicate": True,
                    "labels": run_labels(self.run_id, "network", **{LABEL_SCRATCH: str(self.scratch_dir.resolve()),
                                                                   LABEL_BRIDGE: self.names.bridge}),
                    "options": {"com.docker.network.bridge.name": self.names.bridge,
                                "com.docker.network.bridge.enable_ip_masquerade": "false"}})
                net.name = self.names.network
                try:
                    net.create()
                except Exception as e:  # noqa: BLE001 - APIError: overlapping pool, name in use...
                    msg = _one_line(e)
                    tried.append(f"{subnet}: {msg}")
                    if override is None and "overlap" in msg.lower():
                        taken.append(subnet)
                        continue
                    raise EnvironmentProblem(f"cannot create docker network {self.names.network} ({subnet}): "
                                             f"{msg}") from e
                self._network, self.subnet = net, subnet
                return
        raise EnvironmentProblem("no free subnet for the docker network after 8 attempts: " + "; ".join(tried))

    def _maybe_forward_rule(self) -> None:
        add = self.options.forward_rule
        if add is False or os.geteuid() != 0 or shutil.which("iptables") is None:
            return
        if add is None:
            p = run_captured(["iptables", "-w", "5", "-S"])
            if p.returncode != 0:
                return
            lines = p.stdout.splitlines()
            if any(self.names.bridge in line for line in lines):
                return  # Docker manages iptables for this bridge (a normal Docker host)
            add = forward_rule_needed(lines)
        if add:
            p = run_captured(["iptables", "-w", "5", "-I", *forward_rule_spec(self.names.bridge, self.run_id)])
            if p.returncode != 0:
                raise EnvironmentProblem(f"cannot add the FORWARD rule for {self.names.bridge}: {p.stderr.strip()}")
            self.forward_rule_added = True

    def _create_dirs(self, addrs: Sequence[NodeAddress]) -> None:
        self.data_root.mkdir(parents=True, exist_ok=True)
        scratch = self.scratch_dir.resolve()
        if scratch.exists():
            raise EnvironmentProblem(f"data dir {scratch} already exists (a crashed run with the same id?); run "
                                     "`gbench cleanup` or remove it")
        scratch.mkdir(mode=0o700)
        (scratch / RUN_MARKER).write_text(self.run_id + "\n")
        for a in addrs:
            (scratch / a.name).mkdir(mode=0o700)  # etcd wants 0700

    def _make_nodes(self, system: System, addrs: Sequence[NodeAddress], run_dir: Path,
                    spec: ImageSpec) -> list[DockerNode]:
        logs = run_dir / "nodes"
        logs.mkdir(parents=True, exist_ok=True)
        scratch = self.scratch_dir.resolve()
        self._spec = spec
        nodes = [DockerNode(self, a.name, a.host, logs / f"{a.name}.log", system.launch(a, addrs, scratch / a.name),
                            self.names.container(a.name), self.names.sandbox(a.name)) for a in addrs]
        for n in nodes:  # a command the image cannot run fails here, before any container starts
            if n.launch.run_as is not None:
                raise EnvironmentProblem(f"{n.name} must run as user {n.launch.run_as!r}; the docker provider runs "
                                         "every node as its own user (use --provider netns)")
            container_argv(n.launch, spec)
        self._nodes = nodes
        return nodes

    def _start_sandbox(self, node: DockerNode) -> None:
        """The namespace holder: fixed IP and alias on the run network, nothing else."""
        from docker.types import EndpointConfig
        from testcontainers.core.container import DockerContainer

        self._check_open(node)
        api_version = self._client.api.api_version
        tc = (DockerContainer(self.images["sandbox"], name=node.sandbox_name)
              .with_network(self._network).with_network_aliases(node.name)
              .with_kwargs(hostname=node.name, detach=True,
                           labels=run_labels(self.run_id, "sandbox", **{LABEL_NODE: node.name}),
                           networking_config={self._network.name: EndpointConfig(
                               api_version, aliases=[node.name], ipv4_address=node.host)},
                           cap_drop=["ALL"], restart_policy={"Name": "no"}))
        tc.start()
        node._sandbox = tc.get_wrapped_container()
        if self.options.internal_network:
            self._drop_default_route(node)

    def _drop_default_route(self, node: DockerNode) -> None:
        """Docker before 25.0 gives containers on an internal network a default route via
        the bridge anyway; remove it (as netns never adds one), so a node can reach its peers
        and the harness but nothing routed beyond. Needs root (nsenter); else left as is."""
        pid = node.sandbox_pid()
        if pid is None or os.geteuid() != 0 or shutil.which("nsenter") is None:
            return
        p = run_captured(["nsenter", "-t", str(pid), "-n", "--", "ip", "-4", "route", "show", "default"])
        if p.returncode == 0 and p.stdout.strip():
            q = run_captured(["nsenter", "-t", str(pid), "-n", "--", "ip", "-4", "route", "del", "default"])
            if q.returncode != 0:
                raise ClusterError(f"cannot remove the default route of {node.name}: {q.stderr.strip()}")

    def _start_node(self, node: DockerNode) -> None:
        """Create the server container on first start (``docker create`` + ``start``), then
        ``docker start`` it again on restarts; each incarnation gets a log follower."""
        with node._lock:
            self._check_open(node)
            if node._sandbox is None or node.sandbox_pid() is None:
                raise ClusterError(f"cannot start {node.name}: its sandbox {node.sandbox_name} is not running")
            node.starts += 1
            what = "start" if node.starts == 1 else f"restart #{node.starts - 1}"
            entry, cmd = container_argv(node.launch, self._spec)
            marker = (f"===== gbench: {what} of {node.name} at {dt.datetime.now(dt.timezone.utc).isoformat()} in "
                      f"container {node.container_name} ({self.images['node']}): {shlex.join(entry + cmd)}\n")
            with open(node.log_path, "ab") as log:
                log.write(marker.encode())
            since = time.time()
            if node._container is None:
                node._container = self._create_node_container(node, entry, cmd)
            else:
                node._container.start()
            follower = _LogFollower(node._container, node.log_path, since)
            node._followers.append(follower)
            follower.start()

    def _create_node_container(self, node: DockerNode, entry: list[str], cmd: list[str]) -> Any:
        from testcontainers.core.container import DockerContainer

        data = str(node.data_dir)
        tc = DockerContainer(self.images["node"], command=cmd, env=container_env(node.launch, self._spec),
                             name=node.container_name) \
            .with_volume_mapping(data, data, "rw")
        if self._peer_plan is not None and self._named_peers:
            # this node's own name resolution: each peer's name -> this node's proxy for that link
            hosts = self.scratch_dir.resolve() / "hosts" / node.name
            hosts.parent.mkdir(exist_ok=True)
            hosts.write_text(self._peer_plan.hosts_file(node.name))
            hosts.chmod(0o644)
            tc = tc.with_volume_mapping(str(hosts), "/etc/hosts", "ro")
        tc = tc \
            .with_kwargs(entrypoint=entry, detach=True, working_dir=data,
                         network=None,  # never let testcontainers attach a "host network" of its own
                         network_mode=f"container:{node._sandbox.id}",
                         user=f"{os.getuid()}:{os.getgid()}",
                         labels=run_labels(self.run_id, "node", **{LABEL_NODE: node.name}),
                         restart_policy={"Name": "no"}, stop_signal="SIGTERM",
                         **_memory_limit(node.launch.memory_limit_bytes))
        tc.start()
        return tc.get_wrapped_container()

    def _start_peer_links(self, nodes: list[str], system: System) -> None:
        """Toxiproxy on the run network with one address per directed link, and its proxies.

        The container gets ``subnet[9]``; the link addresses are added to its interface from
        the host (``nsenter ... ip addr add``: root), so Toxiproxy can listen on each of them
        at the peer port. The host reaches its API through the bridge. Members that dial peers
        by name get a hosts file each; by address, ``start`` adds nat rules in each node's
        namespace."""
        from docker.types import EndpointConfig
        from testcontainers.core.container import DockerContainer

        assert self.subnet is not None
        plan = plan_peer_links(nodes, self.subnet, int(system.peer_port))
        if os.geteuid() != 0 or shutil.which("nsenter") is None:
            raise EnvironmentProblem("peer links through Toxiproxy add addresses to the Toxiproxy container's "
                                     "interface with nsenter: run as root")
        tc = (DockerContainer(self.images["toxiproxy"], name=self.names.toxiproxy, command=["-host=0.0.0.0"])
              .with_network(self._network)
              .with_kwargs(detach=True, labels=run_labels(self.run_id, "aux", **{LABEL_NODE: "toxiproxy"}),
                           networking_config={self._network.name: EndpointConfig(
                               self._client.api.api_version, ipv4_address=plan.toxiproxy_host)},
                           cap_drop=["ALL"], restart_policy={"Name": "no"}))
        tc.start()
        c = tc.get_wrapped_container()
        c.reload()
        pid = int(c.attrs["State"]["Pid"])
        prefix = self.subnet.prefixlen
        for ip in plan.listen_hosts():
            p = run_captured(["nsenter", "-t", str(pid), "-n", "--", "ip", "addr", "add", f"{ip}/{prefix}", "dev", "eth0"])
            if p.returncode != 0:
                raise ClusterError(f"cannot add link address {ip} to {self.names.toxiproxy}: {p.stderr.strip()}")
        client = ToxiproxyClient(f"http://{plan.toxiproxy_host}:{TOXIPROXY_API_PORT}")
        problem = client.wait_until_answers(15.0, step_s=0.1)
        if problem is not None:
            raise ClusterError(f"Toxiproxy ({self.names.toxiproxy}) did not answer on "
                               f"{plan.toxiproxy_host}:{TOXIPROXY_API_PORT}: {problem}")
        links = PeerLinks(plan, client, link_routing(system))
        links.create()
        self._peer_plan, self.peer_links, self._named_peers = plan, links, dials_names(system)

    def _check_open(self, node: DockerNode) -> None:
        if self._closing:
            raise ClusterError(f"cannot start {node.name}: the cluster of run {self.run_id} was torn down")

    # -- network control
    def exec_in_node_netns(self, node: str, argv: Sequence[str],
                           check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (a host program: iptables, tc, python) inside ``node``'s network
        namespace with ``nsenter -t <sandbox pid> -n``; needs root, like netns.

        With ``check``, a non-zero exit raises ClusterError naming the node, command and stderr.
        """
        n = next((x for x in self._nodes if x.name == node), None)
        if n is None:
            raise KeyError(f"no node {node!r} in run {self.run_id} (nodes: {[x.name for x in self._nodes]})")
        if os.geteuid() != 0 or shutil.which("nsenter") is None:
            raise EnvironmentProblem("network faults under the docker provider need root and nsenter (util-linux) "
                                     "to enter the containers' namespaces")
        pid = n.sandbox_pid()
        if pid is None:
            raise ClusterError(f"on {node}: sandbox {n.sandbox_name} is not running")
        p = run_captured(["nsenter", "-t", str(pid), "-n", "--", *argv])
        if check and p.returncode != 0:
            raise ClusterError(f"on {node} (container {n.sandbox_name}): `{shlex.join(argv)}` exited "
                               f"{p.returncode}: {(p.stderr or p.stdout).strip()}")
        return p

    # -- teardown
    def still_removing(self) -> list[str]:
        """What teardown has not removed yet (a second Ctrl-C prints it): until ``cleanup_docker``
        has succeeded, the run's containers, network, rule and data dir."""
        if not self._started or (self.last_cleanup is not None and self.last_cleanup.ok):
            return []
        return [f"container {n.container_name}" for n in self._nodes] + \
            [f"docker network, FORWARD rule and data dir of run {self.run_id}"]

    def teardown(self) -> None:
        """Remove every container, the network, the FORWARD rule and the data dirs of this
        run, by label (``cleanup_docker``). Idempotent; never raises for what is gone; says
        on stderr what could not be removed (``gbench cleanup`` can retry)."""
        with signals_deferred(self.still_removing), self._teardown_lock:  # one at a time (a watchdog's, the main one's)
            with self._lock:
                self._closing = True
                started = self._started
            if not started:
                return
            if self.last_cleanup is not None and self.last_cleanup.ok:
                return
            result = cleanup_docker(self.run_id, force=True, client=self._client)
            for n in self._nodes:
                n.join_followers(timeout_s=interrupt.share(5.0))
            self.last_cleanup = result
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
            if not result.ok:
                print(f"[gbench] WARNING: teardown of run {self.run_id} left resources behind (run `gbench cleanup`):"
                      "\n  " + "\n  ".join(result.errors), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- cleanup by label

@dataclass
class DockerCleanupResult:
    """What ``cleanup_docker`` did; ``errors`` non-empty means something is still there."""

    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped_live: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        lines = [f"  - {x}" for x in self.removed] + [f"  ! {x}" for x in self.errors]
        lines += [f"run {r}: skipped, its harness (pid {p}) is still running (use --force)" for r, p in
                  self.skipped_live]
        return "\n".join(lines) or "nothing to clean up (docker)"


def cleanup_docker(run_id: str | None = None, *, force: bool = False, client: Any = None) -> DockerCleanupResult:
    """Remove what docker runs left, found only by the ``gbench.run`` label: containers
    (servers, then sandboxes, then anything else), networks, the run's FORWARD rule,
    run-specific image tags and the data dirs the labels name (only if the dir's marker
    file names the same run). With ``run_id`` None: every run whose harness is dead
    (owner pid + start time from the labels), or every run with ``force``.

    Works whether or not Ryuk ran; never touches unlabelled objects. Without a Docker
    engine it returns an empty result (nothing of ours can exist there).
    """
    import docker.errors

    result = DockerCleanupResult()
    own_client = client is None
    if own_client:
        if engine_problem(timeout_s=5) is not None:
            return result
        client = _docker_sdk().from_env(timeout=API_TIMEOUT_S)
    try:
        filt = {"label": f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN}
        containers = client.containers.list(all=True, filters=filt)
        networks = client.networks.list(filters=filt)
        runs: dict[str, dict[str, str]] = {}
        for obj in [*containers, *networks]:
            labels = _labels(obj)
            runs.setdefault(labels.get(LABEL_RUN, ""), labels)
        victims = set(runs)
        if run_id is None and not force:
            for r, labels in runs.items():
                pid, st = labels.get(LABEL_OWNER_PID, ""), labels.get(LABEL_OWNER_START, "")
                if pid.isdigit() and same_process(int(pid), int(st) if st.isdigit() else None):
                    result.skipped_live.append((r, int(pid)))
                    victims.discard(r)
        rank = {"node": 0, "aux": 1, "sandbox": 2}
        for c in sorted((c for c in containers if _labels(c).get(LABEL_RUN) in victims),
                        key=lambda c: rank.get(_labels(c).get(LABEL_ROLE, ""), 1)):
            try:
                with contextlib.suppress(docker.errors.APIError):
                    c.reload()
                    if (c.attrs.get("State") or {}).get("Paused"):
                        c.unpause()
                c.remove(force=True, v=True)
                result.removed.append(f"container {c.name}")
            except docker.errors.NotFound:
                pass
            except Exception as e:  # noqa: BLE001
                result.errors.append(f"container {c.name}: {_one_line(e)}")
        for n in networks:
            labels = _labels(n)
            r = labels.get(LABEL_RUN, "")
            if r not in victims:
                continue
            try:
                n.remove()
                result.removed.append(f"network {n.name}")
            except docker.errors.NotFound:
                pass
            except Exception as e:  # noqa: BLE001
                result.errors.append(f"network {n.name}: {_one_line(e)}")
            if labels.get(LABEL_BRIDGE):
                _remove_forward_rule(labels[LABEL_BRIDGE], r, result)
            if labels.get(LABEL_SCRATCH):
                _remove_scratch(Path(labels[LABEL_SCRATCH]), r, result)
        for r in victims:
            for img in client.images.list(filters={"label": f"{LABEL_RUN}={r}"}):
                try:
                    client.images.remove(img.id, force=True)
                    result.removed.append(f"image {img.tags or img.id}")
                except Exception as e:  # noqa: BLE001
                    result.errors.append(f"image {img.id}: {_one_line(e)}")
    finally:
        if own_client:
            client.close()
    return result


def _labels(obj: Any) -> dict[str, str]:
    attrs = getattr(obj, "attrs", {}) or {}
    return dict((attrs.get("Config") or {}).get("Labels") or attrs.get("Labels") or {})


def _remove_forward_rule(bridge: str, run_id: str, result: DockerCleanupResult) -> None:
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        return
    spec = forward_rule_spec(bridge, run_id)
    for _ in range(10):  # inserted twice by a retry? delete all
        if run_captured(["iptables", "-w", "5", "-C", *spec]).returncode != 0:
            return
        p = run_captured(["iptables", "-w", "5", "-D", *spec])
        if p.returncode != 0:
            result.errors.append(f"FORWARD rule for {bridge}: {p.stderr.strip()}")
            return
        result.removed.append(f"FORWARD rule for {bridge}")


def _remove_scratch(path: Path, run_id: str, result: DockerCleanupResult) -> None:
    """Delete a data dir only when its marker names this run: a label alone is not proof."""
    try:
        marker = (path / RUN_MARKER).read_text().strip()
    except OSError:
        return  # already gone, or not ours
    if marker != run_id:
        result.errors.append(f"dir {path}: marker names run {marker!r}, not {run_id!r}; left in place")
        return
    try:
        shutil.rmtree(path)
        result.removed.append(f"dir {path}")
    except OSError as e:
        result.errors.append(f"dir {path}: {e}")


# --------------------------------------------------------------------------- helpers

def subnets_in_use(client: Any) -> list[IPv4Network]:
    """What a new run's /24 must not overlap: the host's networks and routes, every Docker
    network of ``client``'s engine, and the subnets netns runs claimed in their ledgers."""
    return _host_networks() + _docker_networks(client) + _claimed_subnets()


def _host_networks() -> list[IPv4Network]:
    if shutil.which("ip") is None:
        return []
    a, r = run_captured(["ip", "-j", "-4", "addr", "show"]), run_captured(["ip", "-j", "-4", "route", "show", "table", "all"])
    if a.returncode != 0 or r.returncode != 0:
        return []
    return parse_host_networks(a.stdout, r.stdout)


def _docker_networks(client: Any) -> list[IPv4Network]:
    out = []
    for n in client.networks.list():
        for cfg in ((n.attrs.get("IPAM") or {}).get("Config") or []):
            with contextlib.suppress(KeyError, ValueError, TypeError):
                net = ipaddress.ip_network(cfg["Subnet"], strict=False)
                if isinstance(net, IPv4Network):
                    out.append(net)
    return out


def _claimed_subnets() -> list[IPv4Network]:
    """Subnets netns runs claimed in their ledgers (readable state dir only)."""
    with contextlib.suppress(OSError):
        return claimed_subnets(state_dir())
    return []


@contextlib.contextmanager
def _maybe_state_lock() -> Iterator[None]:
    """The netns providers' subnet lock when the state dir is usable (root or
    ``$GBENCH_STATE_DIR``); without it Docker's own overlap check still refuses clashes."""
    try:
        cm = state_lock()
        cm.__enter__()
    except (EnvironmentProblem, OSError):
        yield
        return
    try:
        yield
    finally:
        cm.__exit__(None, None, None)


def docker_unavailable_reason(system: System) -> str | None:
    """None when ``--provider docker`` can run ``system`` here (an engine answers and its
    images are present, or may be pulled), else why not: for choosing a provider."""
    problem = engine_problem(timeout_s=3)
    if problem:
        return problem
    try:
        spec = image_for(system)
    except EnvironmentProblem as e:
        return str(e)
    docker = _docker_sdk()
    client = docker.from_env(timeout=10)
    try:
        for s in (spec, PAUSE_IMAGE):
            try:
                resolve_image(client, s, allow_pull=False)
            except EnvironmentProblem as e:
                if not pull_allowed():
                    return str(e)
    finally:
        client.close()
    return None
