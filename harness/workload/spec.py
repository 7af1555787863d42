"""Workload files (``workloads/*.yaml``): what operations, on which keys, how fast, how long.

A workload is declarative data, loaded into frozen dataclasses and validated completely
before any cluster starts; every mistake is one ``ConfigError`` naming file, field, reason.

Example (``workloads/etcd-put-256B.yaml``)::

    name: etcd-put-256B
    system: etcd
    keys: {count: 1000, distribution: uniform}
    value_size: 256
    mix: {put: 1}
    load: {mode: closed, concurrency: 16}
    duration_s: 20
    warmup_s: 5

Fields (defaults in brackets; every number finite and inside the range given, see ``MAX_*``)
- ``name`` (required; ``NAME_PATTERN``: it names the run's directory), ``description`` [""],
  ``system`` [etcd], ``nodes`` 1..15 [5]
- ``keys.count`` 1..1,000,000 [1000], ``keys.distribution`` uniform|zipfian|sequential|disjoint [uniform]
  (disjoint: each client its own block of keys, each written once until the block wraps;
  read-own-writes: writes as disjoint, and each get reads the key of the client's latest
  write, so a replica that has not applied it shows as a read-your-writes violation),
  ``keys.zipf_theta`` (0, 10] [0.99], ``keys.prefix`` ["k"]
- ``value_size`` bytes, 32..64 MiB [256] (and within the system's request limit)
- ``mix``: relative weights of put/get/cas/delete, 0..1,000,000 (at least one > 0)
- ``read_consistency``: one of the system's read levels (``harness.registry.read_levels``;
  etcd linearizable|serializable [linearizable]; Cassandra a read consistency level
  ONE|TWO|THREE|QUORUM|ALL|LOCAL_ONE|LOCAL_QUORUM|SERIAL|LOCAL_SERIAL [QUORUM])
- the system's own options block, under the key its plugin names (``options_field``) and
  checked by the plugin (Cassandra: ``cassandra``: ``replication_factor`` [3],
  ``write_consistency`` [QUORUM] (puts, deletes, and the commit of a cas),
  ``serial_consistency`` SERIAL|LOCAL_SERIAL [SERIAL] (the Paxos phase of a cas: Cassandra's
  lightweight transactions), ``routing`` pinned|token-aware [pinned]; see
  ``harness.systems.cassandra.options``)
- ``load.mode`` closed|open [closed]; ``load.concurrency`` clients 1..1024 [16];
  ``load.rate_ops_s`` (0, 1,000,000] (open loop only, required there); ``load.workers``
  processes 1..64 [min(cores, concurrency)]; ``load.op_timeout_s`` (0, 600] [5]
- ``clients.pin`` round-robin|leader|followers|[node names] [round-robin]
- ``clients.session.reads`` sticky|round-robin [no sessions]: each client is a session (Terry et
  al. 1994): its operations carry ``extra.session`` (its first process id, kept after an
  indeterminate operation, when the process id changes) for the session checkers
  (``harness.checkers.session``); ``sticky``: its reads stay on its pinned node; ``round-robin``:
  its successive reads rotate over every node clients are pinned to (``node`` names the one
  each read went through); ``token-wait``: they rotate the same way, and each waits until its
  node has applied the highest position the session has seen (``harness.api.SessionPositions``;
  ``extra.after`` records it). Not with a driver that picks the node per request.
- ``preload`` write every key once before measuring (reads need data): true|false [false]
- ``duration_s`` measured seconds, (0, 86400] (required), ``warmup_s`` [0, 86400] [0],
  ``max_ops`` optional cap 1..10^9
- ``seed`` 0..2^63-1 [1]
- ``checks``: checkers that judge this workload's history after it ran, their verdicts in
  ``summary.json: verdicts`` (``linearizability``, ``stale-reads``; with ``clients.session`` the
  session checkers ``ryw``, ``monotonic-reads``, ``monotonic-writes``, ``wfr``, ``pram``,
  ``causal``, ``consistent-prefix``) [none]

The file is read by ``harness.yamlfile`` (duplicate keys refused, only true/false are
booleans, UTF-8); ``1e12`` is text in YAML 1.1, write ``1000000000000`` or ``1.0e+12``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping


from harness import registry
from harness.api import SessionPositions, SystemOptions
from harness.config_fields import NAME_PATTERN, boolean, document, mapping, number, refuse_unknown, safe_name, shown, text
from harness.errors import ConfigError
from harness.yamlfile import read_yaml_file

KEY_DISTRIBUTIONS = ("uniform", "zipfian", "sequential", "disjoint", "read-own-writes")
LOAD_MODES = ("closed", "open")
OPS = ("put", "get", "cas", "delete")
PIN_MODES = ("round-robin", "leader", "followers")
#: How a session's reads are routed (``clients.session.reads``).
SESSION_READS = ("sticky", "round-robin", "token-wait")
CHECKS = ("linearizability", "stale-reads")
#: Checks that judge sessions (``harness.checkers.session``): a workload naming one records them
#: (``clients.session``).
SESSION_CHECKS = ("ryw", "monotonic-reads", "monotonic-writes", "wfr", "pram", "causal", "consistent-prefix")

# Hard ceilings, so that a typo (concurrency: 100000, value_size: 10000000000) fails before a
# cluster starts. They are what this harness can really do, not performance claims; the
# system's own request limit is checked separately (``check_against_system``).
#: Nodes of one cluster on one host (each a process or container with its own namespace).
MAX_NODES = 15
#: One day: the longest measured window, warm-up, scenario or timeline a file may ask for.
MAX_SECONDS = 86_400
#: Logical clients: each is a coroutine in one of the worker processes, and each worker's
#: clients share one connection per node; 1024 is 16x the largest shipped workload (64).
MAX_CONCURRENCY = 1024
#: Worker processes (each a Python interpreter with its own connections).
MAX_WORKERS = 64
#: Open-loop target: ~15,000 ops/s were measured on this 2-core host (etcd serializable
#: gets, 32 clients); 1,000,000 is beyond what the worker pool can issue on any host.
MAX_RATE_OPS_S = 1_000_000
#: Keys: the zipfian chooser keeps a table of this many entries per client, and a scenario's
#: final reads read every key from every node.
MAX_KEYS = 1_000_000
#: Bytes per value: above every supported system's request limit (Cassandra 16 MiB, etcd 1.5 MiB).
MAX_VALUE_SIZE = 64 * 1024 * 1024
MIN_VALUE_SIZE = 32
MAX_OP_TIMEOUT_S = 600
MAX_OPS = 1_000_000_000
MAX_MIX_WEIGHT = 1_000_000
MAX_ZIPF_THETA = 10
MAX_SEED = 2 ** 63 - 1


@dataclass(frozen=True)
class KeySpec:
    count: int = 1000
    distribution: str = "uniform"
    zipf_theta: float = 0.99
    prefix: str = "k"


@dataclass(frozen=True)
class LoadSpec:
    mode: str = "closed"
    concurrency: int = 16
    rate_ops_s: float | None = None
    workers: int | None = None
    op_timeout_s: float = 5.0

    def worker_count(self) -> int:
        return self.workers or max(1, min(os.cpu_count() or 1, self.concurrency))


@dataclass(frozen=True)
class Workload:
    name: str
    duration_s: float
    source: str = "<inline>"
    sha256: str = ""
    description: str = ""
    system: str = registry.DEFAULT_SYSTEM
    nodes: int = 5
    keys: KeySpec = field(default_factory=KeySpec)
    value_size: int = 256
    mix: Mapping[str, float] = field(default_factory=lambda: {"put": 1.0})
    read_consistency: str = "linearizable"
    load: LoadSpec = field(default_factory=LoadSpec)
    pin: tuple[str, ...] | str = "round-robin"
    #: ``clients.session.reads``: None = no sessions recorded; else how a session's reads route
    session_reads: str | None = None
    preload: bool = False
    warmup_s: float = 0.0
    max_ops: int | None = None
    seed: int = 1
    #: The system's own options block (parsed and checked by its plugin), None where the
    #: system has none.
    options: SystemOptions | None = None
    checks: tuple[str, ...] = ()

    @property
    def write_consistency(self) -> str | None:
        """The level writes are made at (Cassandra), None where the system has no such choice."""
        return self.options.write_level if self.options is not None else None

    def with_overrides(self, *, origin: str | None = None, **kw: Any) -> "Workload":
        """This workload with fields replaced (``nodes=3``, ``duration_s=5``, ``concurrency=8``
        for ``load``), validated by the same rules as the file. ``origin`` names where the
        overrides come from (``--duration``, a suite or scenario file): errors then name it,
        and the workload file in the reason, instead of blaming the workload file alone."""
        load_kw = {k: kw.pop(k) for k in list(kw) if k in LoadSpec.__dataclass_fields__}
        w = replace(self, **kw)
        if load_kw:
            w = replace(w, load=replace(w.load, **load_kw))
        if origin is None:
            validate(w)
            return w
        try:
            validate(w)
        except ConfigError as e:
            raise ConfigError(origin, e.field, f"{e.reason} (overriding {self.source})") from e
        return w

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "system": self.system,
            "nodes": self.nodes, "source": self.source, "sha256": self.sha256,
            "keys": vars(self.keys).copy(), "value_size": self.value_size, "mix": dict(self.mix),
            "read_consistency": self.read_consistency, "load": vars(self.load).copy(),
            "pin": list(self.pin) if isinstance(self.pin, tuple) else self.pin,
            **({"session": {"reads": self.session_reads}} if self.session_reads is not None else {}),
            "preload": self.preload, "duration_s": self.duration_s, "warmup_s": self.warmup_s,
            "max_ops": self.max_ops, "seed": self.seed,
            **({_options_field(self.system): self.options.to_dict()} if self.options is not None else {}),
            **({"checks": list(self.checks)} if self.checks else {}),
        }


_TOP = {"name", "description", "system", "nodes", "keys", "value_size", "mix", "read_consistency",
        "load", "clients", "preload", "duration_s", "warmup_s", "max_ops", "seed", "checks"}


def _options_field(system: str) -> str:
    field = registry.system_plugin(system).options_field
    assert field is not None, f"{system} has options but no options field"
    return field


def _options_fields() -> dict[str, str]:
    """Options block key -> the system it belongs to, over every registered system."""
    return {f: name for name in registry.system_names() if (f := registry.system_plugin(name).options_field)}


def parse_workload(data: Any, file: str = "<inline>", sha256: str = "") -> Workload:
    """Build and validate a Workload from parsed YAML data."""
    data = document(file, data, "workload")
    options_fields = _options_fields()
    refuse_unknown(file, "", data, _TOP | set(options_fields), kind="workload")
    if "name" not in data:
        raise ConfigError(file, "name", f"required: a name matching {NAME_PATTERN}")
    if "duration_s" not in data:
        raise ConfigError(file, "duration_s", "required: measured duration in seconds")
    system = data.get("system", registry.DEFAULT_SYSTEM)
    plugin = registry.system_plugin(system, file, "system")
    keys_d = mapping(file, "keys", data.get("keys"))
    refuse_unknown(file, "keys.", keys_d, set(KeySpec.__dataclass_fields__))
    load_d = mapping(file, "load", data.get("load"))
    refuse_unknown(file, "load.", load_d, set(LoadSpec.__dataclass_fields__))
    clients_d = mapping(file, "clients", data.get("clients"))
    refuse_unknown(file, "clients.", clients_d, {"pin", "session"})
    session_d = mapping(file, "clients.session", clients_d["session"]) if "session" in clients_d else None
    if session_d is not None:
        refuse_unknown(file, "clients.session.", session_d, {"reads"})
    mix_d = mapping(file, "mix", data.get("mix", {"put": 1}))
    refuse_unknown(file, "mix.", mix_d, set(OPS))
    for key, owner in options_fields.items():
        if key in data and owner != system:
            raise ConfigError(file, key, f"{owner} options on a {system!r} workload")
    options_d = mapping(file, plugin.options_field, data.get(plugin.options_field)) if plugin.options_field else None
    options = plugin.parse_options(file, options_d)
    checks = data.get("checks") or []
    if not isinstance(checks, list) or not all(isinstance(c, str) and c in CHECKS + SESSION_CHECKS for c in checks):
        raise ConfigError(file, "checks", f"a list of checkers, each one of {', '.join(CHECKS + SESSION_CHECKS)}; "
                                          f"got {shown(checks)}")
    pin = clients_d.get("pin", "round-robin")
    if isinstance(pin, list):
        if not all(isinstance(p, str) for p in pin):
            raise ConfigError(file, "clients.pin", f"a list of node names (n1, n2, ...), got {shown(pin)}")
        pin = tuple(pin)
    w = Workload(
        name=data["name"], duration_s=data["duration_s"], source=file, sha256=sha256,
        description=text(file, "description", data.get("description")), system=system,
        nodes=data.get("nodes", 5), keys=KeySpec(**keys_d), value_size=data.get("value_size", 256),
        mix=dict(mix_d), read_consistency=data.get("read_consistency", plugin.default_read_level),
        load=LoadSpec(**load_d), pin=pin, preload=data.get("preload", False),
        session_reads=None if session_d is None else session_d.get("reads", "sticky"),
        warmup_s=data.get("warmup_s", 0.0), max_ops=data.get("max_ops"), seed=data.get("seed", 1),
        options=options, checks=tuple(checks),
    )
    validate(w)
    return w


def validate(w: Workload) -> None:
    """Every check that needs no cluster. Raises ConfigError(file, field, reason)."""
    f = w.source
    safe_name(f, "name", w.name)
    plugin = registry.system_plugin(w.system, f, "system")
    number(f, "nodes", w.nodes, 1, MAX_NODES, unit="nodes on one host", integer=True)
    number(f, "keys.count", w.keys.count, 1, MAX_KEYS, unit="keys", integer=True)
    _one_of(f, "keys.distribution", w.keys.distribution, KEY_DISTRIBUTIONS, "distribution")
    number(f, "keys.zipf_theta", w.keys.zipf_theta, 0, MAX_ZIPF_THETA, lo_open=True)
    if not isinstance(w.keys.prefix, str) or not w.keys.prefix or len(w.keys.prefix) > 64:
        raise ConfigError(f, "keys.prefix", f"must be a non-empty string of at most 64 characters, got "
                                            f"{shown(w.keys.prefix)}")
    number(f, "value_size", w.value_size, MIN_VALUE_SIZE, MAX_VALUE_SIZE, unit="bytes", integer=True)
    for op, wt in w.mix.items():
        number(f, f"mix.{op}", wt, 0, MAX_MIX_WEIGHT, unit="(a relative weight)")
    if sum(w.mix.values()) <= 0:
        raise ConfigError(f, "mix", "at least one operation needs a weight > 0")
    _one_of(f, "read_consistency", w.read_consistency, registry.read_levels(w.system), "read consistency",
            f" for {w.system}")
    plugin.validate_workload(w)
    _one_of(f, "load.mode", w.load.mode, LOAD_MODES, "load mode")
    number(f, "load.concurrency", w.load.concurrency, 1, MAX_CONCURRENCY, unit="clients", integer=True)
    if w.load.mode == "open":
        if w.load.rate_ops_s is None:
            raise ConfigError(f, "load.rate_ops_s", "required for open-loop load (mode: open)")
        number(f, "load.rate_ops_s", w.load.rate_ops_s, 0, MAX_RATE_OPS_S, unit="ops/s", lo_open=True)
    elif w.load.rate_ops_s is not None:
        raise ConfigError(f, "load.rate_ops_s", "only meaningful with load.mode: open")
    if w.load.workers is not None:
        number(f, "load.workers", w.load.workers, 1, MAX_WORKERS, unit="processes", integer=True)
        if w.load.workers > w.load.concurrency:
            raise ConfigError(f, "load.workers", f"{w.load.workers} workers for {w.load.concurrency} clients: "
                              "each worker needs at least one client")
    number(f, "load.op_timeout_s", w.load.op_timeout_s, 0, MAX_OP_TIMEOUT_S, unit="seconds", lo_open=True)
    if isinstance(w.pin, str):
        if w.pin not in PIN_MODES:
            raise ConfigError(f, "clients.pin", f"must be one of {', '.join(PIN_MODES)} or a list of node "
                              f"names, got {shown(w.pin)}")
    elif isinstance(w.pin, tuple):
        valid = {f"n{i}" for i in range(1, w.nodes + 1)}
        if not w.pin:
            raise ConfigError(f, "clients.pin", "an empty node list")
        for p in w.pin:
            if p not in valid:
                raise ConfigError(f, "clients.pin", f"unknown node {shown(p)} (this cluster has "
                                  f"{', '.join(sorted(valid, key=lambda s: int(s[1:])))})")
    else:
        raise ConfigError(f, "clients.pin", f"must be one of {', '.join(PIN_MODES)} or a list of node "
                          f"names, got {shown(w.pin)}")
    judged = [c for c in w.checks if c in SESSION_CHECKS]
    if judged and w.session_reads is None:
        raise ConfigError(f, "checks", f"{judged[0]} judges sessions: the workload needs clients.session "
                                       f"(e.g. clients: {{session: {{reads: sticky}}}})")
    if w.session_reads is not None:
        _one_of(f, "clients.session.reads", w.session_reads, SESSION_READS, "session read routing")
        if w.session_reads != "sticky" and plugin.routes_per_request(w):
            raise ConfigError(f, "clients.session.reads", f"{w.session_reads} routes each read through the next "
                              f"pinned node, but this {w.system} workload's driver picks the node per request")
        if w.session_reads == "token-wait" and (not isinstance(plugin, SessionPositions)
                                                or plugin.position_wait(w) is None):
            raise ConfigError(f, "clients.session.reads", f"token-wait needs positions a read can wait for; "
                              f"{w.system} with read_consistency {w.read_consistency} has none")
    boolean(f, "preload", w.preload)
    number(f, "duration_s", w.duration_s, 0, MAX_SECONDS, unit="seconds", lo_open=True)
    number(f, "warmup_s", w.warmup_s, 0, MAX_SECONDS, unit="seconds")
    if w.max_ops is not None:
        number(f, "max_ops", w.max_ops, 1, MAX_OPS, unit="operations", integer=True)
    number(f, "seed", w.seed, 0, MAX_SEED, integer=True)


def _one_of(f: str, field: str, v: Any, allowed: tuple[str, ...], what: str, context: str = "") -> str:
    if not isinstance(v, str) or v not in allowed:
        raise ConfigError(f, field, f"unknown {what} {shown(v)}{context} (known: {', '.join(allowed)})")
    return v


def check_against_system(w: Workload, max_value_bytes: int, system_file_hint: str = "") -> None:
    """Checks that need the system's limits (still before any cluster starts)."""
    if w.value_size > max_value_bytes:
        raise ConfigError(w.source, "value_size", f"{w.value_size} bytes exceeds {w.system}'s request "
                          f"limit of {max_value_bytes} bytes{system_file_hint}")


def load_workload(path: str | os.PathLike[str]) -> Workload:
    """Read, parse and validate a workload file."""
    data, sha = read_yaml_file(path)
    return parse_workload(data, str(path), sha)
