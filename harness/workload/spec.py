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

Fields (defaults in brackets)
- ``name`` (required), ``description`` [""], ``system`` [etcd], ``nodes`` [5]
- ``keys.count`` [1000], ``keys.distribution`` uniform|zipfian|sequential [uniform],
  ``keys.zipf_theta`` [0.99], ``keys.prefix`` ["k"]
- ``value_size`` bytes [256]
- ``mix``: relative weights of put/get/cas/delete (at least one > 0)
- ``read_consistency``: etcd linearizable|serializable [linearizable]; Cassandra a read
  consistency level ONE|TWO|THREE|QUORUM|ALL|LOCAL_ONE|LOCAL_QUORUM|SERIAL|LOCAL_SERIAL [QUORUM]
- ``cassandra`` (Cassandra only): ``replication_factor`` [3], ``write_consistency`` [QUORUM]
  (puts, deletes, and the commit of a cas), ``serial_consistency`` SERIAL|LOCAL_SERIAL
  [SERIAL] (the Paxos phase of a cas: Cassandra's lightweight transactions), ``routing``
  pinned|token-aware [pinned]
- ``load.mode`` closed|open [closed]; ``load.concurrency`` clients [16];
  ``load.rate_ops_s`` (open loop only, required there); ``load.workers`` processes
  [min(cores, concurrency)]; ``load.op_timeout_s`` [5]
- ``clients.pin`` round-robin|leader|followers|[node names] [round-robin]
- ``preload`` write every key once before measuring (reads need data) [false]
- ``duration_s`` measured seconds (required), ``warmup_s`` [0], ``max_ops`` optional cap
- ``seed`` [1]
- ``checks``: checkers that judge this workload's history after it ran, their verdicts in
  ``summary.json: verdicts`` (``linearizability``, ``stale-reads``) [none]
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping


from harness.yamlfile import read_yaml_file
from harness.errors import ConfigError
from harness.systems.cassandra.levels import READ_LEVELS, level_problem

KEY_DISTRIBUTIONS = ("uniform", "zipfian", "sequential")
LOAD_MODES = ("closed", "open")
OPS = ("put", "get", "cas", "delete")
READ_CONSISTENCIES = {"etcd": ("linearizable", "serializable"), "cassandra": READ_LEVELS}
DEFAULT_READ_CONSISTENCY = {"etcd": "linearizable", "cassandra": "QUORUM"}
KNOWN_SYSTEMS = tuple(READ_CONSISTENCIES)
PIN_MODES = ("round-robin", "leader", "followers")
CHECKS = ("linearizability", "stale-reads")
#: A generous hard ceiling so a typo (value_size: 10000000000) fails before a cluster starts;
#: the system's own request limit is checked separately (``check_against_system``).
MAX_NODES = 15


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
class CassandraOptions:
    """Cassandra-only settings of a workload (the keyspace is per replication factor)."""

    replication_factor: int = 3
    write_consistency: str = "QUORUM"
    serial_consistency: str = "SERIAL"
    #: pinned: each client's requests go to the node it is assigned (``clients.pin``), so a
    #: partition's sides are attributable; token-aware: the driver sends each request to a
    #: replica of its key (what applications do), and the history records no node.
    routing: str = "pinned"


@dataclass(frozen=True)
class Workload:
    name: str
    duration_s: float
    source: str = "<inline>"
    sha256: str = ""
    description: str = ""
    system: str = "etcd"
    nodes: int = 5
    keys: KeySpec = field(default_factory=KeySpec)
    value_size: int = 256
    mix: Mapping[str, float] = field(default_factory=lambda: {"put": 1.0})
    read_consistency: str = "linearizable"
    load: LoadSpec = field(default_factory=LoadSpec)
    pin: tuple[str, ...] | str = "round-robin"
    preload: bool = False
    warmup_s: float = 0.0
    max_ops: int | None = None
    seed: int = 1
    cassandra: CassandraOptions | None = None
    checks: tuple[str, ...] = ()

    @property
    def write_consistency(self) -> str | None:
        """The level writes are made at (Cassandra), None where the system has no such choice."""
        return self.cassandra.write_consistency if self.cassandra else None

    def with_overrides(self, **kw: Any) -> "Workload":
        """CLI overrides (``--nodes``, ``--duration``) go through the same validation."""
        load_kw = {k: kw.pop(k) for k in list(kw) if k in LoadSpec.__dataclass_fields__}
        w = replace(self, **kw)
        if load_kw:
            w = replace(w, load=replace(w.load, **load_kw))
        validate(w)
        return w

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "system": self.system,
            "nodes": self.nodes, "source": self.source, "sha256": self.sha256,
            "keys": vars(self.keys).copy(), "value_size": self.value_size, "mix": dict(self.mix),
            "read_consistency": self.read_consistency, "load": vars(self.load).copy(),
            "pin": list(self.pin) if isinstance(self.pin, tuple) else self.pin,
            "preload": self.preload, "duration_s": self.duration_s, "warmup_s": self.warmup_s,
            "max_ops": self.max_ops, "seed": self.seed,
            **({"cassandra": vars(self.cassandra).copy()} if self.cassandra else {}),
            **({"checks": list(self.checks)} if self.checks else {}),
        }


_TOP = {"name", "description", "system", "nodes", "keys", "value_size", "mix", "read_consistency",
        "load", "clients", "preload", "duration_s", "warmup_s", "max_ops", "seed", "cassandra", "checks"}


def _reject_unknown(file: str, prefix: str, d: Mapping[str, Any], allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            raise ConfigError(file, f"{prefix}{k}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _num(file: str, fld: str, v: Any, *, integer: bool = False, minimum: float | None = None,
         exclusive_min: bool = False) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise ConfigError(file, fld, f"must be {'an integer' if integer else 'a number'}, got {v!r}")
    if minimum is not None and (v <= minimum if exclusive_min else v < minimum):
        raise ConfigError(file, fld, f"must be {'>' if exclusive_min else '>='} {minimum}, got {v!r}")
    return v


def _mapping(file: str, fld: str, v: Any) -> Mapping[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise ConfigError(file, fld, f"must be a mapping, got {type(v).__name__}")
    return v


def parse_workload(data: Any, file: str = "<inline>", sha256: str = "") -> Workload:
    """Build and validate a Workload from parsed YAML data."""
    if not isinstance(data, Mapping):
        raise ConfigError(file, "(top level)", "a workload file must be a YAML mapping")
    _reject_unknown(file, "", data, _TOP)
    if "name" not in data or not isinstance(data["name"], str) or not data["name"].strip():
        raise ConfigError(file, "name", "required: a non-empty string")
    if "duration_s" not in data:
        raise ConfigError(file, "duration_s", "required: measured duration in seconds")
    keys_d = _mapping(file, "keys", data.get("keys"))
    _reject_unknown(file, "keys.", keys_d, set(KeySpec.__dataclass_fields__))
    load_d = _mapping(file, "load", data.get("load"))
    _reject_unknown(file, "load.", load_d, set(LoadSpec.__dataclass_fields__))
    clients_d = _mapping(file, "clients", data.get("clients"))
    _reject_unknown(file, "clients.", clients_d, {"pin"})
    mix_d = _mapping(file, "mix", data.get("mix", {"put": 1}))
    _reject_unknown(file, "mix.", mix_d, set(OPS))
    system = data.get("system", "etcd")
    cass_d = _mapping(file, "cassandra", data.get("cassandra"))
    _reject_unknown(file, "cassandra.", cass_d, set(CassandraOptions.__dataclass_fields__))
    if cass_d and system != "cassandra":
        raise ConfigError(file, "cassandra", f"Cassandra options on a {system!r} workload")
    checks = data.get("checks") or []
    if not isinstance(checks, list) or any(c not in CHECKS for c in checks):
        raise ConfigError(file, "checks", f"a list of checkers, each one of {', '.join(CHECKS)}; got {checks!r}")
    pin = clients_d.get("pin", "round-robin")
    if isinstance(pin, list):
        pin = tuple(str(p) for p in pin)
    try:
        w = Workload(
            name=data["name"], duration_s=data["duration_s"], source=file, sha256=sha256,
            description=data.get("description", "") or "", system=system,
            nodes=data.get("nodes", 5), keys=KeySpec(**keys_d), value_size=data.get("value_size", 256),
            mix=dict(mix_d),
            read_consistency=data.get("read_consistency", DEFAULT_READ_CONSISTENCY.get(system, "linearizable")),
            load=LoadSpec(**load_d), pin=pin, preload=data.get("preload", False),
            warmup_s=data.get("warmup_s", 0.0), max_ops=data.get("max_ops"), seed=data.get("seed", 1),
            cassandra=CassandraOptions(**cass_d) if system == "cassandra" else None, checks=tuple(checks),
        )
    except TypeError as e:  # pragma: no cover - unknown fields are caught above
        raise ConfigError(file, "(top level)", str(e)) from e
    validate(w)
    return w


def validate(w: Workload) -> None:
    """Every check that needs no cluster. Raises ConfigError(file, field, reason)."""
    f = w.source
    if w.system not in KNOWN_SYSTEMS:
        raise ConfigError(f, "system", f"unknown system {w.system!r} (known: {', '.join(KNOWN_SYSTEMS)})")
    _num(f, "nodes", w.nodes, integer=True, minimum=1)
    if w.nodes > MAX_NODES:
        raise ConfigError(f, "nodes", f"at most {MAX_NODES} nodes on one host, got {w.nodes}")
    _num(f, "keys.count", w.keys.count, integer=True, minimum=1)
    if w.keys.distribution not in KEY_DISTRIBUTIONS:
        raise ConfigError(f, "keys.distribution", f"unknown distribution {w.keys.distribution!r} "
                          f"(known: {', '.join(KEY_DISTRIBUTIONS)})")
    _num(f, "keys.zipf_theta", w.keys.zipf_theta, minimum=0, exclusive_min=True)
    if not isinstance(w.keys.prefix, str) or not w.keys.prefix:
        raise ConfigError(f, "keys.prefix", "must be a non-empty string")
    _num(f, "value_size", w.value_size, integer=True, minimum=32)
    for op, wt in w.mix.items():
        _num(f, f"mix.{op}", wt, minimum=0)
    if sum(w.mix.values()) <= 0:
        raise ConfigError(f, "mix", "at least one operation needs a weight > 0")
    allowed_rc = READ_CONSISTENCIES[w.system]
    if w.read_consistency not in allowed_rc:
        raise ConfigError(f, "read_consistency", f"unknown read consistency {w.read_consistency!r} for "
                          f"{w.system} (known: {', '.join(allowed_rc)})")
    if w.cassandra is not None:
        _validate_cassandra(w)
    if w.load.mode not in LOAD_MODES:
        raise ConfigError(f, "load.mode", f"must be one of {', '.join(LOAD_MODES)}, got {w.load.mode!r}")
    _num(f, "load.concurrency", w.load.concurrency, integer=True, minimum=1)
    if w.load.mode == "open":
        if w.load.rate_ops_s is None:
            raise ConfigError(f, "load.rate_ops_s", "required for open-loop load (mode: open)")
        _num(f, "load.rate_ops_s", w.load.rate_ops_s, minimum=0, exclusive_min=True)
    elif w.load.rate_ops_s is not None:
        raise ConfigError(f, "load.rate_ops_s", "only meaningful with load.mode: open")
    if w.load.workers is not None:
        _num(f, "load.workers", w.load.workers, integer=True, minimum=1)
        if w.load.workers > w.load.concurrency:
            raise ConfigError(f, "load.workers", f"{w.load.workers} workers for {w.load.concurrency} clients: "
                              "each worker needs at least one client")
    _num(f, "load.op_timeout_s", w.load.op_timeout_s, minimum=0, exclusive_min=True)
    if isinstance(w.pin, str):
        if w.pin not in PIN_MODES:
            raise ConfigError(f, "clients.pin", f"must be one of {', '.join(PIN_MODES)} or a list of node "
                              f"names, got {w.pin!r}")
    else:
        valid = {f"n{i}" for i in range(1, w.nodes + 1)}
        if not w.pin:
            raise ConfigError(f, "clients.pin", "an empty node list")
        for p in w.pin:
            if p not in valid:
                raise ConfigError(f, "clients.pin", f"unknown node {p!r} (this cluster has "
                                  f"{', '.join(sorted(valid, key=lambda s: int(s[1:])))})")
    if not isinstance(w.preload, bool):
        raise ConfigError(f, "preload", f"must be true or false, got {w.preload!r}")
    _num(f, "duration_s", w.duration_s, minimum=0, exclusive_min=True)
    _num(f, "warmup_s", w.warmup_s, minimum=0)
    if w.max_ops is not None:
        _num(f, "max_ops", w.max_ops, integer=True, minimum=1)
    _num(f, "seed", w.seed, integer=True)


def _validate_cassandra(w: Workload) -> None:
    f, c = w.source, w.cassandra
    assert c is not None
    _num(f, "cassandra.replication_factor", c.replication_factor, integer=True, minimum=1)
    if c.routing not in ("pinned", "token-aware"):
        raise ConfigError(f, "cassandra.routing", f"must be pinned or token-aware, got {c.routing!r}")
    if c.replication_factor > w.nodes:
        raise ConfigError(f, "cassandra.replication_factor", f"{c.replication_factor} replicas need at least "
                          f"{c.replication_factor} nodes; the cluster has {w.nodes}")
    for fld, kind, lv in (("read_consistency", "read", w.read_consistency),
                          ("cassandra.write_consistency", "write", c.write_consistency),
                          ("cassandra.serial_consistency", "serial", c.serial_consistency)):
        why = level_problem(kind, str(lv), c.replication_factor)
        if why:
            raise ConfigError(f, fld, why)


def check_against_system(w: Workload, max_value_bytes: int, system_file_hint: str = "") -> None:
    """Checks that need the system's limits (still before any cluster starts)."""
    if w.value_size > max_value_bytes:
        raise ConfigError(w.source, "value_size", f"{w.value_size} bytes exceeds {w.system}'s request "
                          f"limit of {max_value_bytes} bytes{system_file_hint}")


def load_workload(path: str | os.PathLike[str]) -> Workload:
    """Read, parse and validate a workload file."""
    p = Path(path)
    f = str(path)
    data, sha = read_yaml_file(p)
    return parse_workload(data, f, sha)
