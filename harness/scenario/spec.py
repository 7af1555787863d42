"""Scenario files (``workloads/scenarios/*.yaml``): workloads plus a timeline of faults.

A scenario runs one or more workloads *concurrently* against one cluster (each with its
own clients and process-id range, so e.g. linearizable and serializable reads can run side
by side) while a timeline injects faults. Everything is validated before any cluster
starts; each mistake is one ``ConfigError(file, field, reason)``.

Example (``workloads/scenarios/etcd-leader-in-minority.yaml``, abridged)::

    name: etcd-leader-in-minority
    system: etcd
    nodes: 5
    seed: 7
    workloads:                       # paths (relative to this file) or inline workloads
      - {name: lin, keys: {count: 5}, mix: {put: 2, get: 2, cas: 1}, read_consistency: linearizable,
         load: {mode: open, rate_ops_s: 100, concurrency: 10}}
      - {name: ser, keys: {count: 5}, mix: {get: 1}, read_consistency: serializable,
         load: {mode: open, rate_ops_s: 100, concurrency: 10}}
    timeline:
      - {at: 10, fault: partition, shape: leader-in-minority}
      - {at: 40, fault: heal}
    end: 70

Fields (defaults in brackets)
- ``name`` (required; ``NAME_PATTERN``, as workload names: it names a directory of the run),
  ``description`` [""], ``system`` [etcd], ``nodes`` 1..15 [5], ``seed`` [1]
- ``workload`` (one) or ``workloads`` (a list): a workload file path or an inline workload
  mapping (``harness.workload.spec``). The scenario owns the clock: every workload runs from
  the load start to ``end`` (its ``duration_s`` becomes ``end - warmup_s``; inline
  workloads may omit it) and on the scenario's node count.
- ``timeline``: events in time order, each ``{at: seconds after the load starts, fault: ...}``
  plus the fault's own fields (``FAULTS``).
- ``end`` (required): seconds after the load starts when the load stops, (0, 86400]. Whatever is still
  broken then is repaired (heal, heal-link, resume, restart) before the final reads.
- ``final_reads`` [true]: after the repair, read every key from every node, linearizable
  and serializable, recorded as get ops with ``extra.final``.
- ``poll_interval_s`` [0.3]: how often every member's leader and raft term are polled.

Faults (``FAULTS``; fields in brackets are optional)
- ``partition``: ``shape`` (halves | majority-minority | leader-in-minority |
  leader-in-majority | isolate-leader | isolate-node | cut-from-leader | bridge | ring | groups),
  [``placement``] (majority-minority), [``node``] (isolate-node, cut-from-leader), [``groups``] (groups)
- ``heal``: removes the partition.
- ``loss``: ``probability`` (0 < p <= 1), [shape fields as partition; default ``all``]
- ``latency``: ``delay_ms``, [``jitter_ms``], [shape fields] (needs the kernel's netem)
- ``heal-link``: removes every loss/latency fault.
- ``kill`` / ``pause``: [``target``]: leader | follower | random | a node name [leader]
- ``restart`` / ``resume``: [``target``]: all | a node name [all]
- ``client-latency``: ``latency_ms``, [``jitter_ms``], [``nodes``] (Toxiproxy between the load's
  clients and those nodes; any kernel); ``client-down`` / ``client-reset``: [``nodes``];
  ``heal-client``: removes every client link fault (``harness/nemesis/client_links.py``)
- ``noop``
Every event may carry a free-text ``note``. ``at`` is in [0, end]; ``delay_ms``, ``jitter_ms`` and
``latency_ms`` are at most 60,000 ms; ``probability`` is in (0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


from harness import registry
from harness.api import OwnFaults
from harness.config_fields import (NAME_PATTERN, boolean, document, key_text, number, refuse_unknown, safe_name,
                                   shown, text)
from harness.errors import ConfigError, EnvironmentProblem
from harness.nemesis.shapes import PLACEMENTS, SHAPES, ShapeError, grouping
from harness.providers.base import NetworkControl
from harness.workload.spec import (MAX_NODES, MAX_SECONDS, MAX_SEED, Workload, load_workload,
                                   parse_workload)
from harness.yamlfile import read_yaml_file

SHAPE_FIELDS = ("shape", "placement", "node", "groups")
FAULTS: dict[str, dict[str, tuple[str, ...]]] = {
    # fault: {"required": (...), "optional": (...)}
    "partition": {"required": ("shape",), "optional": ("placement", "node", "groups")},
    "heal": {"required": (), "optional": ()},
    "loss": {"required": ("probability",), "optional": SHAPE_FIELDS},
    "latency": {"required": ("delay_ms",), "optional": ("jitter_ms",) + SHAPE_FIELDS},
    "heal-link": {"required": (), "optional": ()},
    "kill": {"required": (), "optional": ("target",)},
    "pause": {"required": (), "optional": ("target",)},
    "restart": {"required": (), "optional": ("target",)},
    "resume": {"required": (), "optional": ("target",)},
    "client-latency": {"required": ("latency_ms",), "optional": ("jitter_ms", "nodes")},
    "client-down": {"required": (), "optional": ("nodes",)},
    "client-reset": {"required": (), "optional": ("nodes",)},
    "heal-client": {"required": (), "optional": ()},
    "noop": {"required": (), "optional": ()},
}
CLIENT_LINK_FAULTS = frozenset({"client-latency", "client-down", "client-reset", "heal-client"})
NETWORK_FAULTS = frozenset({"partition", "heal", "loss", "latency", "heal-link"})
PROCESS_FAULTS = frozenset({"kill", "pause", "restart", "resume"})
DISRUPT_TARGETS = ("leader", "follower", "random")
_TOP = {"name", "description", "system", "nodes", "seed", "workload", "workloads", "timeline", "end",
        "final_reads", "poll_interval_s"}
#: Process ids of workload k start at k * PROCESS_BLOCK (distinct ranges, distinct tokens).
PROCESS_BLOCK = 1_000_000_000
#: Longest injected delay (latency, jitter): a minute is already a partition in all but name.
MAX_DELAY_MS = 60_000


@dataclass(frozen=True)
class Event:
    """One timeline entry: at ``at_s`` seconds after the load starts, do ``fault(params)``."""

    index: int
    at_s: float
    fault: str
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"at": self.at_s, "fault": self.fault, **dict(self.params)}
        if self.note:
            d["note"] = self.note
        return d


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    sha256: str
    workloads: tuple[Workload, ...]
    timeline: tuple[Event, ...]
    end_s: float
    description: str = ""
    system: str = registry.DEFAULT_SYSTEM
    nodes: int = 5
    seed: int = 1
    final_reads: bool = True
    poll_interval_s: float = 0.3

    @property
    def node_names(self) -> list[str]:
        return [f"n{i}" for i in range(1, self.nodes + 1)]

    def faults_used(self) -> set[str]:
        return {e.fault for e in self.timeline}

    def keys(self) -> list[str]:
        """Every key any workload may touch (final reads read them all), sorted."""
        from harness.workload.generator import KeyChooser
        import random
        out: set[str] = set()
        for w in self.workloads:
            kc = KeyChooser(w.keys.count, "sequential", random.Random(0), prefix=w.keys.prefix)
            out.update(kc.key(i) for i in range(w.keys.count))
        return sorted(out)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "source": self.source, "sha256": self.sha256,
                "system": self.system, "nodes": self.nodes, "seed": self.seed, "end": self.end_s,
                "final_reads": self.final_reads, "poll_interval_s": self.poll_interval_s,
                "workloads": [w.to_dict() for w in self.workloads],
                "timeline": [e.to_dict() for e in self.timeline]}


def _load_workloads(file: str, base: Path, data: Mapping[str, Any], nodes: int, end: float,
                    system: str) -> tuple[Workload, ...]:
    if "workload" in data and "workloads" in data:
        raise ConfigError(file, "workloads", "give either 'workload' or 'workloads', not both")
    if "workload" in data:
        items, fld = [data["workload"]], "workload"
    elif "workloads" in data:
        items, fld = data["workloads"], "workloads"
        if not isinstance(items, list) or not items:
            raise ConfigError(file, "workloads", "must be a non-empty list of workload files or inline workloads")
    else:
        raise ConfigError(file, "workloads", "required: 'workload' (one) or 'workloads' (a list)")
    out: list[Workload] = []
    for i, item in enumerate(items):
        where = fld if fld == "workload" else f"{fld}[{i}]"
        if isinstance(item, str):
            w = load_workload(base / item)
        elif isinstance(item, Mapping):
            d = dict(item)
            d.setdefault("duration_s", end)
            d.setdefault("system", system)  # an inline workload is the scenario's system unless it says so
            d.setdefault("nodes", nodes)
            w = parse_workload(d, f"{file}#{where}")
        else:
            raise ConfigError(file, where, f"must be a workload file path or an inline workload mapping, got "
                                           f"{shown(item)}")
        if w.system != system:
            raise ConfigError(file, where, f"workload system {w.system!r} differs from the scenario's {system!r}")
        if w.warmup_s >= end:
            raise ConfigError(w.source, "warmup_s", f"{w.warmup_s:g}s leaves no time before the scenario's end "
                              f"({end:g}s)")
        w = w.with_overrides(nodes=nodes, duration_s=end - w.warmup_s, max_ops=None, origin=file)
        out.append(w)
    names = [w.name for w in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(file, fld, f"workload names must be distinct (each gets its own directory): {dup}")
    if sum(1 for w in out if w.preload) > 1:
        raise ConfigError(file, fld, "at most one workload may preload (two would write the same "
                          "'pre:<key>' tokens twice, which the checkers cannot tell apart)")
    return tuple(out)


def _check_shape(file: str, fld: str, ev: Mapping[str, Any], nodes: list[str], default: str | None) -> None:
    shape = ev.get("shape", default)
    if not isinstance(shape, str) or shape not in SHAPES:
        raise ConfigError(file, f"{fld}.shape", f"unknown shape {shown(shape)} (known: {', '.join(SHAPES)})")
    if shape == "all" and ev.get("fault") == "partition":
        raise ConfigError(file, f"{fld}.shape", "'all' cuts every link (no side could work); pick a partition shape")
    allowed = {"isolate-node": "node", "cut-from-leader": "node", "groups": "groups",
               "majority-minority": "placement"}
    for extra in ("node", "groups", "placement"):
        if extra in ev and allowed.get(shape) != extra:
            raise ConfigError(file, f"{fld}.{extra}", f"not a field of shape {shape!r}")
    if shape == "groups" and "groups" not in ev:
        raise ConfigError(file, f"{fld}.groups", "required for shape 'groups': a list of node lists")
    if "groups" in ev:
        g = ev["groups"]
        if not isinstance(g, list) or not all(isinstance(x, list) and all(isinstance(n, str) for n in x) for x in g):
            raise ConfigError(file, f"{fld}.groups", "must be a list of lists of node names")
    for n in ([ev["node"]] if "node" in ev else []) + [n for group in ev.get("groups", []) for n in group]:
        if not isinstance(n, str) or n not in nodes:
            raise ConfigError(file, f"{fld}.{'node' if 'node' in ev else 'groups'}",
                              f"unknown node {shown(n)} (this cluster has {', '.join(nodes)})")
    if "placement" in ev and (not isinstance(ev["placement"], str) or ev["placement"] not in PLACEMENTS):
        raise ConfigError(file, f"{fld}.placement", f"unknown placement {shown(ev['placement'])} (known: "
                                                    f"{', '.join(PLACEMENTS)})")
    # A stand-in leader (not the named node): only the structure is checked here; the real
    # leader is asked at run time.
    stand_in = next((n for n in nodes if n != ev.get("node")), nodes[0])
    try:
        grouping(shape, nodes, leader=stand_in, node=ev.get("node"), groups=ev.get("groups"),
                 placement=ev.get("placement"))
    except ShapeError as e:
        bad = "node" if "node" in ev and "unknown node" in str(e) and allowed.get(shape) == "node" else \
            "groups" if "groups" in ev else "placement" if "placement" in str(e) else "shape"
        raise ConfigError(file, f"{fld}.{bad}", str(e)) from e


def _parse_timeline(file: str, raw: Any, nodes: list[str], end: float, system: str = registry.DEFAULT_SYSTEM
                    ) -> tuple[Event, ...]:
    plugin = registry.system_plugin(system, file, "system")
    own = plugin if isinstance(plugin, OwnFaults) else None
    faults = {**FAULTS, **({f: {"required": req, "optional": opt} for f, (req, opt) in own.own_faults.items()}
                           if own else {})}
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(file, "timeline", "must be a list of events ({at: seconds, fault: name, ...})")
    events: list[Event] = []
    prev = 0.0
    # what is broken at each point, to refuse events that cannot make sense
    partitioned_at: float | None = None
    link_faults = 0
    latency_active = False
    client_faults: list[str] = []  # client link faults in effect
    killed: list[str] = []  # node names, or "?" for a dynamic target (leader/follower/random)
    paused: list[str] = []
    for i, ev in enumerate(raw):
        fld = f"timeline[{i}]"
        if not isinstance(ev, Mapping):
            raise ConfigError(file, fld, "an event must be a mapping {at: seconds, fault: name, ...}")
        if "fault" not in ev:
            raise ConfigError(file, f"{fld}.fault", f"required (known faults: {', '.join(faults)})")
        fault = ev["fault"]
        if not isinstance(fault, str) or fault not in faults:
            raise ConfigError(file, f"{fld}.fault", f"unknown fault {shown(fault)} (known: {', '.join(faults)})")
        spec = faults[fault]
        allowed = {"at", "fault", "note", *spec["required"], *spec["optional"]}
        for k in ev:
            if k not in allowed:
                raise ConfigError(file, f"{fld}.{key_text(k)}", f"unknown field for fault {fault!r} (allowed: "
                                  f"{', '.join(sorted(allowed))})")
        for k in spec["required"]:
            if k not in ev:
                raise ConfigError(file, f"{fld}.{k}", f"required for fault {fault!r}")
        if "at" not in ev:
            raise ConfigError(file, f"{fld}.at", "required: seconds after the load starts")
        at = float(number(file, f"{fld}.at", ev["at"], 0, MAX_SECONDS, unit="seconds after the load starts"))
        if at < prev:
            raise ConfigError(file, f"{fld}.at", f"events out of order: {at:g}s comes after an event at {prev:g}s")
        if at > end:
            raise ConfigError(file, f"{fld}.at", f"{at:g}s is beyond the scenario's end ({end:g}s)")
        prev = at
        if fault in ("partition", "loss", "latency"):
            _check_shape(file, fld, ev, nodes, None if fault == "partition" else "all")
        if fault == "loss":
            number(file, f"{fld}.probability", ev["probability"], 0, 1, lo_open=True)
        if fault == "latency":
            number(file, f"{fld}.delay_ms", ev["delay_ms"], 0, MAX_DELAY_MS, unit="ms", lo_open=True)
            if "jitter_ms" in ev:
                number(file, f"{fld}.jitter_ms", ev["jitter_ms"], 0, MAX_DELAY_MS, unit="ms")
        target = ev.get("target")
        if target is not None and not isinstance(target, str):
            raise ConfigError(file, f"{fld}.target", f"must be a string, got {shown(target)}")
        if fault in ("kill", "pause"):
            t = target or "leader"
            if t not in DISRUPT_TARGETS and t not in nodes:
                raise ConfigError(file, f"{fld}.target", f"unknown target {shown(t)} (one of {', '.join(DISRUPT_TARGETS)} "
                                  f"or a node: {', '.join(nodes)})")
            if t in killed or t in paused:
                raise ConfigError(file, f"{fld}.target", f"{t} is already {'killed' if t in killed else 'paused'} "
                                  "at this point")
            if len(killed) + len(paused) >= len(nodes):
                raise ConfigError(file, fld, "every node is already killed or paused at this point")
            (killed if fault == "kill" else paused).append(t if t in nodes else "?")
        if fault in ("restart", "resume"):
            pool, what, undo = (killed, "kill", "restart") if fault == "restart" else (paused, "pause", "resume")
            t = target or "all"
            if not pool:
                raise ConfigError(file, fld, f"{undo} without {what}: no node is {what.rstrip('e')}ed at this point")
            if t == "all":
                pool.clear()
            elif t in pool:
                pool.remove(t)
            elif t in nodes and "?" in pool:
                pool.remove("?")  # it may be the node a dynamic target picked; checked again at run time
            else:
                raise ConfigError(file, f"{fld}.target", f"{undo} of {shown(t)}, which is not {what.rstrip('e')}ed at "
                                  "this point (use 'all' or a node killed/paused by name)")
        if fault == "partition":
            if partitioned_at is not None:
                raise ConfigError(file, fld, f"a partition is already in place (since {partitioned_at:g}s); "
                                  "heal it first")
            partitioned_at = at
        if fault == "heal":
            if partitioned_at is None:
                hint = " (link faults are removed by 'heal-link')" if link_faults else ""
                raise ConfigError(file, fld, f"heal with nothing to heal: no partition is in place at {at:g}s{hint}")
            partitioned_at = None
        if fault in ("loss", "latency"):
            if fault == "latency" and latency_active:
                raise ConfigError(file, fld, "a latency fault is already in place; heal-link first")
            latency_active = latency_active or fault == "latency"
            link_faults += 1
        if fault == "heal-link":
            if not link_faults:
                raise ConfigError(file, fld, f"heal-link with nothing to heal: no loss or latency fault at {at:g}s")
            link_faults, latency_active = 0, False
        if fault in CLIENT_LINK_FAULTS:
            _check_client_fault(file, fld, ev, nodes, client_faults, at)
        params = {k: v for k, v in ev.items() if k not in ("at", "fault", "note")}
        if own is not None and fault in own.own_faults:
            problem = own.fault_problem(fault, params, nodes)
            if problem is not None:
                raise ConfigError(file, f"{fld}.{problem[0]}" if problem[0] else fld, problem[1])
        events.append(Event(i, at, fault, params, text(file, f"{fld}.note", ev.get("note"))))
    return tuple(events)


def parse_scenario(data: Any, file: str = "<inline>", sha256: str = "", base: Path | None = None) -> Scenario:
    """Build and validate a Scenario from parsed YAML (``base``: where workload paths start)."""
    data = document(file, data, "scenario")
    refuse_unknown(file, "", data, _TOP, kind="scenario")
    if "name" not in data:
        raise ConfigError(file, "name", f"required: a name matching {NAME_PATTERN}")
    name = safe_name(file, "name", data["name"])
    system = data.get("system", registry.DEFAULT_SYSTEM)
    registry.system_plugin(system, file, "system")
    nodes = number(file, "nodes", data.get("nodes", 5), 1, MAX_NODES, unit="nodes on one host", integer=True)
    seed = number(file, "seed", data.get("seed", 1), 0, MAX_SEED, integer=True)
    if "end" not in data:
        raise ConfigError(file, "end", "required: seconds after the load starts when the scenario ends")
    end = float(number(file, "end", data["end"], 0, MAX_SECONDS, unit="seconds", lo_open=True))
    final_reads = boolean(file, "final_reads", data.get("final_reads", True))
    poll = float(number(file, "poll_interval_s", data.get("poll_interval_s", 0.3), 0.05, 10, unit="seconds"))
    node_names = [f"n{i}" for i in range(1, nodes + 1)]
    timeline = _parse_timeline(file, data.get("timeline"), node_names, end, system)
    workloads = _load_workloads(file, base or Path("."), data, nodes, end, system)
    return Scenario(name=name, source=file, sha256=sha256, workloads=workloads, timeline=timeline, end_s=end,
                    description=text(file, "description", data.get("description")), system=system, nodes=nodes,
                    seed=seed, final_reads=final_reads, poll_interval_s=poll)


def load_scenario(path: str | Path) -> Scenario:
    """Read, parse and validate a scenario file (and every workload it names)."""
    p = Path(path)
    f = str(path)
    data, sha = read_yaml_file(p)
    return parse_scenario(data, f, sha, base=p.parent)


def _check_client_fault(file: str, fld: str, ev: Mapping[str, Any], nodes: list[str], active: list[str],
                        at: float) -> None:
    fault = ev["fault"]
    if fault == "heal-client":
        if not active:
            raise ConfigError(file, fld, f"heal-client with nothing to heal: no client link fault at {at:g}s")
        active.clear()
        return
    want = ev.get("nodes", "all")
    if want != "all":
        if not isinstance(want, list) or not want:
            raise ConfigError(file, f"{fld}.nodes", "a non-empty list of node names, or 'all'")
        for n in want:
            if n not in nodes:
                raise ConfigError(file, f"{fld}.nodes", f"unknown node {shown(n)} (this cluster has {', '.join(nodes)})")
    if fault == "client-latency":
        number(file, f"{fld}.latency_ms", ev["latency_ms"], 0, MAX_DELAY_MS, unit="ms", lo_open=True)
        if "jitter_ms" in ev:
            number(file, f"{fld}.jitter_ms", ev["jitter_ms"], 0, MAX_DELAY_MS, unit="ms")
    if fault in active:
        raise ConfigError(file, fld, f"a {fault} fault is already in place; heal-client first")
    active.append(fault)


def check_environment(scenario: Scenario, provider: Any = None) -> None:
    """What the host / provider must offer for this timeline; raises EnvironmentProblem
    before any cluster starts (netem for latency; namespaces for network faults; owned
    processes for process faults)."""
    used = scenario.faults_used()
    if "latency" in used:
        from harness.nemesis.link import require_netem
        require_netem()
    if used & CLIENT_LINK_FAULTS:
        from harness.nemesis.toxiproxy import require_binary
        require_binary(f"scenario {scenario.name} injects client link faults, which need")
    if provider is not None:
        pname = getattr(provider, "name", type(provider).__name__)
        if used & NETWORK_FAULTS and not isinstance(provider, NetworkControl):
            raise EnvironmentProblem(f"scenario {scenario.name} injects network faults "
                                     f"({', '.join(sorted(used & NETWORK_FAULTS))}), which provider {pname} cannot "
                                     "do: use --provider netns")
        via = getattr(provider, "peer_links_mode", "direct")  # netns and docker say; others link directly
        link_faults = used & {"loss", "latency", "heal-link"}
        if via == "toxiproxy" and link_faults:
            raise EnvironmentProblem(f"scenario {scenario.name} uses {', '.join(sorted(link_faults))}, iptables/netem "
                                     "faults on the nodes' own addresses, which peer links through Toxiproxy bypass: "
                                     "run it with --peer-links direct")
        if used & PROCESS_FAULTS and pname == "external":
            raise EnvironmentProblem(f"scenario {scenario.name} kills/pauses nodes, which the external provider "
                                     "cannot do (it does not own the processes): use --provider netns")
