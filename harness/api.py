"""The contracts between the harness and a system under test, in one place.

The seams follow Jepsen's (DB, Client, Nemesis, Checker) and testcontainers' one folder per
database: everything that knows a database lives in ``harness/systems/<name>/``, which
exposes one ``SystemPlugin`` (module attribute ``PLUGIN`` of its ``plugin`` module, found
through ``harness.registry``). Code outside that folder talks to a system only through the
types below; it never compares a system's name.

- ``SystemPlugin``: what the registry knows of a system without starting anything: its read
  and write ``Level``s and their ``ConsistencyClass``, the options block of its workloads,
  its image, peer tools, exit budget, and how to build its ``System`` and ``Client``.
- ``System``: a pure description of a cluster's members (version, the command for one node,
  readiness). Starts nothing itself; a provider runs what ``launch`` returns.
- ``Client``: the load generator's connection to one node (or to the cluster, when the
  driver routes): ``open``, ``invoke(Request) -> Outcome``, ``close``.
- ``ReadinessCheck``: one poll loop and one diagnosis format (status, log tail, hint) for
  every system, as testcontainers' wait strategies.
- Optional capabilities, each a small ``runtime_checkable`` protocol checked with
  ``isinstance``: ``Staged``, ``Primary``, ``MemberStatus``, ``StatusSource``, ``Metrics``,
  ``Prepare``, ``Facts``, ``ExplainedValueLimit``, ``NamedPeers``; and on
  plugins ``PeerTool``, ``TunableLevels``, ``AfterFaultFindings``, ``SystemForWorkloads`` and
  ``OwnFaults`` (a system's own scenario faults).

Example::

    from harness.registry import system_plugin
    plugin = system_plugin("etcd")
    system = plugin.make_system()                 # binaries found, nothing started
    cluster = provider.start(system, 5, run_dir)  # launch() per node, then wait_ready()
    if isinstance(system, Primary):
        system.leader(cluster)                    # "n3"
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Literal, Mapping, Protocol, Sequence, runtime_checkable)

from harness.errors import ClusterError

if TYPE_CHECKING:  # providers.base imports this module's System for its Cluster
    from harness.providers.base import Cluster, Node, NodeAddress, NodeLaunch, ReadyReport

# --------------------------------------------------------------------------- levels

#: What a read (or write) level guarantees on its own, coarsest first:
#: ``strong``: linearizable (a read sees every write acknowledged before it started, and
#: reads never go back); ``session``: guarantees within one client session only (read your
#: writes, monotonic reads), no promise across sessions; ``weak``: none of these (a replica's
#: current state, possibly stale; eventual consistency at best).
ConsistencyClass = Literal["strong", "session", "weak"]
CONSISTENCY_CLASSES: tuple[str, ...] = ("strong", "session", "weak")


@dataclass(frozen=True)
class Level:
    """One consistency level a system's workloads may name (``read_consistency: SERIAL``).

    ``name`` is spelled as the workload files spell it; ``cls`` is what a read (or write) at
    this level alone guarantees, and ``description`` says why, in one or two sentences with
    the source of the claim where there is one. Within one plugin a name has one class."""

    name: str
    kind: Literal["read", "write"]
    cls: ConsistencyClass
    description: str


# --------------------------------------------------------------------------- requests

@dataclass(frozen=True, slots=True)
class MicroOp:
    """One step of a transaction (Jepsen's ``[f k v]``): ``r`` reads ``key`` (value None in
    the request; the outcome carries what was read), ``w`` writes ``value``, ``append``
    appends it. No system executes transactions yet; the shape is fixed so a transactional
    workload fits without changing ``Request`` or ``Client``."""

    f: str
    key: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Request:
    """One operation a client performs.

    A single-key operation: ``f`` is put | get | cas | delete on ``key``; ``value`` is the
    token to write (put), ``(expected, new)`` (cas; expected None = the key is absent) or
    None (get, delete); ``read_consistency`` is the level of a get (a name of the system's
    read ``Level``s; None = the system's default read). A transaction: ``f == "txn"``,
    ``txn`` its micro-operations in order, ``key`` "" and ``value`` None."""

    f: str
    key: str
    value: Any = None
    read_consistency: str | None = None
    txn: tuple[MicroOp, ...] | None = None
    #: A session position a get must reflect (``clients.session.reads: token-wait``, a system
    #: with ``SessionPositions``): the client waits until the node it reads from has applied
    #: it, then reads. None: read at once.
    after: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The result of one operation as the history records it (the one shape every client returns).

    ``type``: ``ok`` (it happened), ``fail`` (it certainly did not take effect) or ``info``
    (indeterminate: a timeout; it may still take effect). ``result``: what a get read (a
    token or None). ``error``: a short machine-readable reason for fail/info. ``revision``:
    the store's revision after the operation, where the system has one (etcd), else None."""

    type: str  # ok | fail | info
    result: Any = None
    error: str | None = None
    revision: int | None = None
    #: Where the op left its session, for a client reporting positions (``SessionPositions``):
    #: a write's position in the replication stream, or what the node a get read from had
    #: applied; None otherwise. Sessions carry the highest they saw into ``Request.after``.
    position: int | None = None


# --------------------------------------------------------------------------- System, Client

class System(Protocol):
    """A database system's cluster description. Pure: starts nothing itself.

    Must hold: ``launch`` only computes (and may write the node's own config files into its
    ``data_dir``); the same argv serves restarts of the node; ``wait_ready`` returns only when
    every member serves clients, and fails at once (not at the timeout) when a member's
    process has exited, with a ``ClusterError`` that names the node, its status, its last
    log lines and a hint (``ReadinessCheck`` does all of that)."""

    name: str
    client_port: int
    peer_port: int
    #: A provider waits this long for readiness unless told otherwise.
    default_ready_timeout_s: float

    def version(self) -> str:
        """Exact version string of the server that will run."""
        ...

    @property
    def max_value_bytes(self) -> int:
        """The largest value one request may carry with this system's configuration."""
        ...

    def launch(self, node: "NodeAddress", cluster: Sequence["NodeAddress"], data_dir: Path) -> "NodeLaunch":
        """The command that starts ``node`` as a member of ``cluster``. Must not start it."""
        ...

    def wait_ready(self, cluster: "Cluster", timeout_s: float) -> "ReadyReport":
        """Block until every member is healthy and (if any) a leader is known; ClusterError
        (from ``ReadinessCheck.diagnose``) otherwise."""
        ...


class Client(Protocol):
    """The load generator's client: one per (worker, endpoint), or one per worker when the
    driver routes each request (``SystemPlugin.routes_per_request``).

    Must hold: ``open`` connects before the start barrier, so connecting is never timed;
    ``invoke`` never raises for a database error: it returns an ``Outcome`` whose type says
    whether the operation certainly did not happen (fail) or may have (info); ``close`` is
    idempotent."""

    async def open(self) -> None: ...

    async def invoke(self, request: Request) -> Outcome: ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- optional capabilities

@dataclass(frozen=True)
class Stage:
    """Nodes a provider starts together, with the role they play (``primary``, ``replica``,
    ``seed``, ``member``). A provider waits for ``ready`` (if any) before the next stage."""

    role: str
    nodes: tuple[str, ...]
    #: Called with the addresses started so far; returns when the stage can serve the next
    #: one (e.g. a primary accepts replication connections). None: start the next at once.
    ready: Callable[[Sequence["NodeAddress"], float], None] | None = None


@runtime_checkable
class Staged(Protocol):
    """A system whose members must start in order (a primary before its replicas). Without
    it, a provider starts every node at once (one stage, role ``member``)."""

    def stages(self, cluster: Sequence["NodeAddress"]) -> Sequence[Stage]:
        """Every node of ``cluster`` exactly once, in start order."""
        ...


@runtime_checkable
class Primary(Protocol):
    """A system with one leader (or primary) at a time."""

    def leader(self, cluster: "Cluster") -> str | None:
        """The node that leads now (the one with the highest term among claimants), or None."""
        ...


@runtime_checkable
class MemberStatus(Protocol):
    """Per-node view of the cluster (who leads, terms, states), polled into members.jsonl.

    Each node's status mapping holds at least ``leader`` (the node it names as leader, or
    None), ``is_leader`` (it claims to lead) and ``term`` (its election term: etcd's Raft
    term, ZooKeeper's epoch; None where the system has none), which the availability checker
    compares; anything else is the system's own (etcd's ``raft_index``, ZooKeeper's ``zxid``)."""

    def member_status(self, cluster: "Cluster") -> dict[str, dict[str, Any] | None]:
        """Best effort, per node: its status mapping, or None when it does not answer. Must
        be cheap enough to call every few hundred ms between faults."""
        ...


@runtime_checkable
class StatusSource(Protocol):
    """A faster, reusable status poller than ``MemberStatus.member_status`` (persistent
    connections), for the member poller."""

    def status_source(self, cluster: "Cluster") -> "StatusPoll":
        """A poller for ``cluster``; the caller closes it."""
        ...


class StatusPoll(Protocol):
    """What ``StatusSource.status_source`` returns: called repeatedly, closed once."""

    def __call__(self, cluster: "Cluster | None" = None) -> dict[str, dict[str, Any] | None]: ...

    def close(self) -> None: ...


@runtime_checkable
class Metrics(Protocol):
    """The system's own latency histograms, recorded per workload beside the harness's."""

    #: the file name, under ``workloads/<name>/``, of ``metrics_delta``'s document
    metrics_file: str

    def metrics_snapshot(self, cluster: "Cluster") -> dict[str, Any]:
        """Every member's cumulative figures now."""
        ...

    def metrics_delta(self, before: dict[str, Any], after: dict[str, Any], leader: str | None) -> dict[str, Any]:
        """What happened between two snapshots, as a JSON document."""
        ...


@runtime_checkable
class Prepare(Protocol):
    """Something to create before a workload's clients connect (a keyspace and table)."""

    def prepare_workload(self, cluster: "Cluster", workload: Any) -> None:
        """Idempotent; raises ClusterError when the cluster cannot take the workload."""
        ...


@runtime_checkable
class Facts(Protocol):
    """What shaped the servers, for the run manifest's ``cluster.config``."""

    def config_dict(self) -> dict[str, Any]:
        """JSON-ready; every tunable the harness set, the binary and its version."""
        ...


@runtime_checkable
class ExplainedValueLimit(Protocol):
    """A system that can say what sets its ``max_value_bytes``, for the error refusing a
    larger value before any cluster starts."""

    def value_limit_reason(self) -> str:
        """E.g. ``--max-request-bytes 1572864 minus request overhead``."""
        ...


@runtime_checkable
class NamedPeers(Protocol):
    """A system whose members dial each other by ``NodeAddress.peer_host`` (when a provider
    sets it) on its one ``peer_port``: what peer links through Toxiproxy need, since each node
    then resolves a peer's name to its own proxy for that link (``harness.nemesis.peer_links``)."""

    def advertised_peer_url(self, node: "NodeAddress") -> str:
        """The address peers dial for ``node`` (its ``peer_host`` when set)."""
        ...


@runtime_checkable
class AddressedPeers(Protocol):
    """A system whose members dial each other's *addresses* on their one ``peer_port`` and
    identify a peer by what it says in its handshake, not by the connection's source address:
    peer links through Toxiproxy then redirect each node's connections with nat rules in its
    own namespace (``harness.nemesis.peer_links.PeerLinkPlan.redirect_rules``)."""

    def peer_links_by_address(self) -> str:
        """Why redirecting the peer port is faithful for this system (for the manifest)."""
        ...


@runtime_checkable
class SessionPositions(Protocol):
    """A plugin whose clients can report positions and make a read wait for one (session
    guarantees by token: MongoDB's ``afterClusterTime``, a PostgreSQL standby's replay LSN).

    Must hold: for a workload where ``position_wait(workload)`` is not None, its clients
    return ``Outcome.position`` on every ok op (comparable ints, never decreasing along one
    node's stream) and honour ``Request.after`` on gets: the read is served only once the node
    it reads from has applied that position (else it times out), so a session that carries
    the highest position it saw reads its own writes and never goes back."""

    def position_wait(self, workload: Any) -> str | None:
        """How a read waits for a position, in one line (for the manifest and errors); None
        when this workload's reads cannot (e.g. a read level that ignores the node)."""
        ...


@runtime_checkable
class OwnFaults(Protocol):
    """A plugin whose system has faults only it knows (PostgreSQL's ``promote``: a standby
    made the primary, the way an operator or a failover manager does), named in scenario
    timelines beside the standard ones.

    Must hold: no name in ``own_faults`` is a standard fault; ``fault_problem`` checks one
    event's fields before any cluster starts (the scenario parser has checked that only the
    declared fields are there and the required ones present); ``nemesis()`` returns a fresh
    ``harness.nemesis.core.Nemesis`` whose ``faults`` are exactly ``own_faults``' names and
    which keeps the nemesis contract (records, never raises for a failed action)."""

    #: fault name -> (required fields, optional fields), as ``harness.scenario.spec.FAULTS``
    own_faults: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]

    def fault_problem(self, fault: str, params: Mapping[str, Any], nodes: Sequence[str]) -> tuple[str, str] | None:
        """(field, reason) when the event cannot make sense on these nodes, else None."""
        ...

    def nemesis(self) -> Any:
        """A nemesis handling ``own_faults`` (imported lazily: plugins stay cheap to import)."""
        ...


@runtime_checkable
class PeerTool(Protocol):
    """A system's own load tool run beside the harness on the same cluster (etcd's
    ``benchmark``), enabled per suite by the boolean field ``suite_field``."""

    name: str
    suite_field: str

    def facts(self) -> dict[str, Any] | None:
        """Its path and version for the manifest's ``software`` (None when not installed)."""
        ...

    def run(self, workload: Any, cluster: "Cluster", run_path: Path, run_id: str,
            all_rows: list[dict[str, Any]], workload_rows: list[dict[str, Any]],
            log: Callable[[str], None]) -> dict[str, Any] | None:
        """Run beside ``workload``; adds its rows to ``all_rows``; returns the comparison
        entry for summary.json (None when the tool does not apply to this workload)."""
        ...


@dataclass(frozen=True)
class ImageSpec:
    """Which image runs a system's server, and where its binary is inside that image.

    ``local`` is built offline (``harness/setup/docker/images.sh`` for etcd,
    ``jvm-images.sh`` for the JVM systems); ``official`` is the upstream image, used when
    present (or pulled when pulling is allowed), None where no upstream image has the same
    layout. ``binary`` replaces ``argv[0]`` of the system's ``NodeLaunch`` (a host path, or a
    name the image's PATH resolves); both images must have it at the same place (they do
    for etcd: ``/usr/local/bin/etcd``).

    ``paths`` says where the image holds each named host directory a launch refers to
    (``NodeLaunch.host_paths``, e.g. ``{"lib": "/opt/cassandra/lib"}``): the provider
    rewrites those host paths in the command and environment. A launch naming a directory
    the image does not hold cannot run from it (``harness.providers.docker.container_argv``).
    ``probe`` is a command (entrypoint first) whose output names the runtime inside the image
    (``java -version``): the image's runtime may not be the host's, so the run records it.
    """

    local: str
    official: str | None
    binary: str
    paths: Mapping[str, str] = field(default_factory=dict)
    probe: tuple[str, ...] = ()

    def candidates(self) -> list[str]:
        return [self.local] + ([self.official] if self.official else [])


# --------------------------------------------------------------------------- the plugin

class SystemOptions(Protocol):
    """A workload's system-specific block (``cassandra: {replication_factor: 3}``), parsed
    by the plugin. Frozen; ``to_dict`` is what the manifest records."""

    @property
    def write_level(self) -> str | None:
        """The level writes are made at, or None where the system has no such choice."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


class SystemPlugin(Protocol):
    """What ``harness/systems/<name>/plugin.py`` exposes as ``PLUGIN``. Importing the plugin
    module must be cheap (no driver, no gRPC): the registry imports every plugin to look a
    level up; heavy modules are imported inside ``make_system`` / ``make_client``.

    Must hold: ``levels`` names every level a workload may give, with one class per name,
    reads in order from the most trusted to the cheapest within a class (a scenario's final
    reads use the first strong read level and the first other one: ``registry.final_read_levels``);
    ``default_read_level`` is one of them (or None for a system with one kind of read);
    ``parse_options`` and ``validate_workload`` raise ``ConfigError(file, field, reason)``
    with the field's dotted path from the workload file's top (``cassandra.routing``)."""

    name: str
    levels: tuple[Level, ...]
    default_read_level: str | None
    #: The workload file's key of this system's options block (None: the system has none).
    options_field: str | None
    #: Seconds a run has, after SIGINT/SIGTERM, to remove this system's cluster.
    exit_budget_s: float
    peer_tools: tuple[PeerTool, ...]
    #: The suite ``gbench bench`` (``make bench``) runs for this system, relative to the
    #: repository root (``workloads/suites/etcd.yaml``); None: bench runs none for it.
    default_suite: str | None

    def parse_options(self, file: str, data: Mapping[str, Any] | None) -> SystemOptions | None:
        """The options block (None when absent: defaults), unknown keys refused."""
        ...

    def validate_workload(self, workload: Any) -> None:
        """Checks of the whole workload that only this system knows (a level against the
        replication factor). Called by ``harness.workload.spec.validate``."""
        ...

    def image(self, version: str) -> ImageSpec:
        """The Docker image that runs ``version`` of the server; EnvironmentProblem saying
        why when this system has none (it then runs only with the netns provider)."""
        ...

    def make_system(self) -> System:
        """The system with its binaries found (EnvironmentProblem when they are not)."""
        ...

    def software_facts(self, system: System) -> dict[str, Any]:
        """The manifest's ``software``: exact versions and paths of what the run used."""
        ...

    def make_client(self, workload: Any, endpoint: str, all_endpoints: Sequence[str] = ()) -> Client:
        """A client bound to ``endpoint`` (host:port); over ``all_endpoints`` when
        ``routes_per_request(workload)``."""
        ...

    def routes_per_request(self, workload: Any) -> bool:
        """True when the driver, not the client assignment, picks each request's node."""
        ...


@runtime_checkable
class TunableLevels(Protocol):
    """A plugin whose clients pick a write level and a read level per request over a
    replication factor (Cassandra): what the t-visibility probe (``harness.workload.
    visibility``) needs to measure how soon a read at R sees a write at W."""

    def level_pair_problem(self, write_level: str, read_level: str, replication_factor: int) -> str | None:
        """Why the pair cannot be measured at this replication factor (an unknown level, one
        that needs more replicas than there are), or None."""
        ...

    def level_pair_options(self, write_level: str, replication_factor: int) -> SystemOptions:
        """The workload options that make writes at ``write_level`` over ``replication_factor``
        replicas (the read level is the workload's ``read_consistency``)."""
        ...


@runtime_checkable
class SystemForWorkloads(Protocol):
    """A plugin whose servers need a start-up setting only when some workload of the run asks
    for it (a setting fixed when a node starts, such as ZooKeeper's local sessions, which
    read-only clients need). The session builds the run's ``System`` with it once every
    workload of the suite and its scenarios is known, before any cluster starts; without
    this capability ``make_system()`` serves every run."""

    def make_system_for(self, workloads: Sequence[Any]) -> System:
        """The system for a run of ``workloads`` (every workload of the suite and of its
        scenarios); the same binaries and limits as ``make_system()``, and the manifest's
        ``cluster.config`` (``Facts``) says what the workloads changed."""
        ...


@dataclass(frozen=True)
class RestoredNodes:
    """One kill or pause window of a scenario, as ``AfterFaultFindings`` sees it: the hosts
    (``NodeAddress.host``) of the nodes killed or paused, and when they were restarted or
    resumed (seconds after the load start; None: never within the run)."""

    hosts: frozenset[str]
    restored_at_s: float | None


@runtime_checkable
class AfterFaultFindings(Protocol):
    """A plugin whose nodes' own logs say what the cluster did for a node after it was killed
    or paused (Cassandra: hinted handoff, the writes the others kept for it and replayed once
    it was back), for ``failure_summary.json``'s ``process_faults``. Read after the run from
    the node logs kept in the run directory, so it is the plugin's (no binaries needed).
    Without it, the summary has no such fields."""

    #: The key of the findings in each kill/pause window (``process_faults.windows[].<window_field>``).
    window_field: str
    #: The key of the run's totals (``process_faults.<totals_field>``).
    totals_field: str

    def after_fault_findings(self, node_logs: Mapping[str, Path], windows: Sequence[RestoredNodes],
                             load_start_epoch_s: float | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Per window (same order) its findings, and the run's totals. Every log in
        ``node_logs`` (node -> path; the caller has checked it or its ``.gz`` exists) is read:
        DamagedFile naming it when it cannot be; the caller says "not measured" for logs it
        does not have."""
        ...


# --------------------------------------------------------------------------- readiness

@dataclass
class ProbeRound:
    """What one poll of a cluster found: ``report`` when it is ready (``ReadinessCheck`` sets
    its ``seconds``), else per-node status
    lines (``node -> "Status: UNAVAILABLE: ..."``) and, when the nodes disagree rather than
    fail, ``why`` (``disagree on the leader ...``)."""

    report: "ReadyReport | None" = None
    status: dict[str, str] = field(default_factory=dict)
    healthy: frozenset[str] = frozenset()
    why: str | None = None


class ReadinessProbe(Protocol):
    """A system's view of readiness, polled by ``ReadinessCheck``. May keep connections
    between polls (a driver session); ``close`` releases them."""

    def poll(self, cluster: "Cluster", waited_s: float, deadline: float) -> ProbeRound: ...

    def close(self) -> None: ...


def _tail(path: Path) -> list[str]:
    from harness.netutil import tail_lines

    return tail_lines(path)


@dataclass
class ReadinessCheck:
    """One poll loop and one diagnosis format for every system.

    ``wait`` polls ``probe`` every ``interval_s`` until it reports ready, a member's process
    exits (fails at once) or ``timeout_s`` passes; the ClusterError then reads::

        <system> cluster not ready after 30s: n2, n3 not healthy
        --- n2 (10.0.0.12:2379): process exited (code 1); status: Status: UNAVAILABLE: ...; last lines of n2.log:
            <the node's log tail (log_excerpt)>
        Hint: <the system's hint>
    """

    system: str
    hint: str
    interval_s: float = 0.1
    #: The lines of a node's log worth showing (default: its last 20 lines).
    log_excerpt: Callable[[Path], list[str]] = _tail
    #: How a node is named in the diagnosis: its client endpoint (default) or its host.
    where: Callable[["Cluster", "Node"], str] = lambda c, n: c.client_endpoint(n)

    def wait(self, cluster: "Cluster", probe: ReadinessProbe, timeout_s: float) -> "ReadyReport":
        t0 = time.monotonic()
        deadline = t0 + timeout_s
        last = ProbeRound()
        try:
            while True:
                dead = [n for n in cluster.nodes if not n.is_running()]
                if dead:
                    raise ClusterError(self.diagnose(cluster, last.status, dead, "exited before the cluster was ready",
                                                     timeout_s=None))
                last = probe.poll(cluster, time.monotonic() - t0, deadline)
                if last.report is not None:  # its seconds: from the start of the wait to now
                    return replace(last.report, seconds=time.monotonic() - t0)
                if time.monotonic() >= deadline:
                    bad = [n for n in cluster.nodes if n.name not in last.healthy] or list(cluster.nodes)
                    raise ClusterError(self.diagnose(cluster, last.status, bad, last.why or "not healthy",
                                                     timeout_s=timeout_s))
                time.sleep(self.interval_s)
        finally:
            probe.close()

    def diagnose(self, cluster: "Cluster", status: Mapping[str, str], bad: Sequence["Node"], why: str,
                 timeout_s: float | None) -> str:
        """The one diagnosis format: head line, then per bad node its process state, status
        and log excerpt, then the hint."""
        when = f"not ready after {timeout_s:g}s" if timeout_s is not None else "failed"
        parts = [f"{self.system} cluster {when}: {', '.join(n.name for n in bad)} {why}"]
        for n in bad:
            rc = getattr(n, "returncode", None)
            proc = "running" if n.is_running() else f"exited (code {rc})"
            parts.append(f"--- {n.name} ({self.where(cluster, n)}): process {proc}; "
                         f"status: {status.get(n.name, 'not probed')}; last lines of {n.log_path}:")
            parts += [f"    {line}" for line in self.log_excerpt(n.log_path)] or ["    (log empty)"]
        parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)
