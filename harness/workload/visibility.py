"""t-visibility, measured (Bailis et al., "Probabilistically Bounded Staleness"): the
probability that a read at consistency level R, issued t ms after a write at level W was
acknowledged, returns that write.

Each trial writes a fresh key (a unique token) through the *writer* node as coordinator,
waits ``t`` ms after the acknowledgement, and reads the key at R through the *reader* node
as coordinator. The read either returns the token (visible) or not (absent: stale). A trial
whose write or read did not succeed counts in ``writes_failed`` / ``reads_failed`` and not
in the probability; nothing is inferred for it.

Conditions:

- ``normal``: nothing injected.
- ``writer-isolated``: the nemesis' ``isolate-node`` partition ``[writer] | [the rest]``:
  a write at ONE is acknowledged by the writer's own replica and reaches no other, so a ONE
  read through any other node cannot see it; a QUORUM write needs replicas the writer cannot
  reach, so it is refused (Unavailable) instead of being acknowledged and then missed. The
  two pairs fail in opposite ways, which is the point. (Measured here: a coordinator does
  not prefer its own replica for a ONE read; with a ``bridge`` cut, reads were routed around
  the cut to the bridge node, which had the write.)

Bounded: ``trials`` per (W, R, t), each call with its timeout; the traffic goes only to the
cluster's own nodes.

    rows = run_visibility(cluster, VisibilitySpec(pairs=(("ONE", "ONE"), ("QUORUM", "QUORUM"))), out_dir, origin)
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from harness import registry
from harness.api import Prepare, Request, TunableLevels
from harness.providers.base import Cluster
from harness.workload.spec import LoadSpec, Workload

CONDITIONS = ("normal", "writer-isolated")


@dataclass(frozen=True)
class VisibilitySpec:
    #: (write level, read level) pairs, in the system's level names, each optionally with its
    #: own replication factor as a third item (else ``replication_factor``); required (no
    #: system's levels are a default here).
    pairs: tuple[tuple[Any, ...], ...] = ()
    delays_ms: tuple[float, ...] = (0, 1, 2, 5, 10, 20, 50, 100)
    trials: int = 100
    conditions: tuple[str, ...] = CONDITIONS
    replication_factor: int = 3
    value_size: int = 256
    timeout_s: float = 2.0
    writer: str | None = None  # default: the first node
    reader: str | None = None  # default: the last node
    seed: int = 1

    def probes(self) -> list[tuple[str, str, int]]:
        """Every (write level, read level, replication factor) to probe, in order."""
        return level_probes(self.pairs, self.replication_factor)

    def validate(self, n_nodes: int, system: str, src: str = "visibility") -> None:
        """Every check that needs no cluster, the level pairs checked by ``system``'s plugin
        (its ``TunableLevels``); ``src`` names the file in errors."""
        from harness.config_fields import number, shown
        from harness.errors import ConfigError
        from harness.workload.spec import MAX_NODES, MAX_OP_TIMEOUT_S, MAX_SEED, MAX_VALUE_SIZE, MIN_VALUE_SIZE

        number(src, "trials", self.trials, 1, 10_000, unit="per (W, R, delay)", integer=True)
        if not self.delays_ms:
            raise ConfigError(src, "delays_ms", "a non-empty list of delays in 0..10000 ms")
        for d in self.delays_ms:
            number(src, "delays_ms", d, 0, 10_000, unit="ms")
        number(src, "replication_factor", self.replication_factor, 1, MAX_NODES, unit="replicas", integer=True)
        number(src, "value_size", self.value_size, MIN_VALUE_SIZE, MAX_VALUE_SIZE, unit="bytes", integer=True)
        number(src, "timeout_s", self.timeout_s, 0, MAX_OP_TIMEOUT_S, unit="seconds", lo_open=True)
        number(src, "seed", self.seed, 0, MAX_SEED, integer=True)
        for k in ("writer", "reader"):
            node = getattr(self, k)
            if node is not None and node not in [f"n{i}" for i in range(1, n_nodes + 1)]:
                raise ConfigError(src, k, f"must be a node name n1..n{n_nodes}, got {shown(node)}")
        for c in self.conditions:
            if c not in CONDITIONS:
                raise ConfigError(src, "conditions", f"unknown condition {shown(c)} (known: {', '.join(CONDITIONS)})")
        if "writer-isolated" in self.conditions and n_nodes < 2:
            raise ConfigError(src, "conditions", "writer-isolated needs at least 2 nodes")
        if self.replication_factor > n_nodes:
            raise ConfigError(src, "replication_factor", f"{self.replication_factor} replicas on {n_nodes} nodes")
        check_level_pairs(self.probes(), n_nodes, system, src)


def tunable_plugin(system: str, src: str) -> TunableLevels:
    from harness.errors import ConfigError

    plugin = registry.system_plugin(system, src, "system")
    if not isinstance(plugin, TunableLevels):
        raise ConfigError(src, "visibility", f"the t-visibility probe needs write and read consistency levels "
                                             f"chosen per request; {system} has none")
    return plugin


def _workload(spec: VisibilitySpec, system: str, n_nodes: int, w: str, r: str, rf: int) -> Workload:
    return Workload(name="visibility", duration_s=1, system=system, nodes=n_nodes, value_size=spec.value_size,
                    read_consistency=r, load=LoadSpec(concurrency=1, op_timeout_s=spec.timeout_s),
                    options=tunable_plugin(system, "visibility").level_pair_options(w, rf))


async def _trials(cluster: Cluster, spec: VisibilitySpec, condition: str, w: str, r: str, rf: int, writer: str,
                  reader: str, out: Any, rng: random.Random) -> list[dict[str, Any]]:
    system = cluster.system.name
    plugin = registry.system_plugin(system)
    wl = _workload(spec, system, len(cluster.nodes), w, r, rf)
    wc = plugin.make_client(wl, cluster.client_endpoint(writer), cluster.client_endpoints)
    rc = plugin.make_client(wl, cluster.client_endpoint(reader), cluster.client_endpoints)
    rows = []
    try:
        await wc.open()
        await rc.open()
        schedule = [d for d in spec.delays_ms for _ in range(spec.trials)]
        rng.shuffle(schedule)  # interleaved, so a slow phase of the host is not charged to one delay
        counts = {d: {"trials": 0, "visible": 0, "writes_failed": 0, "reads_failed": 0} for d in spec.delays_ms}
        tag = f"{condition}-{w}-{r}-{rf}-{int(time.time() * 1000) % 10**8}"
        for i, delay in enumerate(schedule):
            key, token = f"vis-{tag}-{i}", f"vis:{tag}:{i}"
            t0 = time.monotonic_ns()
            wo = await wc.invoke(Request("put", key, token))
            acked = time.monotonic_ns()
            rec = {"condition": condition, "write_consistency": w, "read_consistency": r, "replication_factor": rf,
                   "delay_ms": delay,
                   "key": key, "write": wo.type, "write_error": wo.error, "write_ms": round((acked - t0) / 1e6, 3)}
            c = counts[delay]
            if wo.type != "ok":
                c["writes_failed"] += 1
            else:
                if delay > 0:
                    await asyncio.sleep(delay / 1000.0)
                issued = time.monotonic_ns()
                ro = await rc.invoke(Request("get", key, None, r))
                rec.update({"read": ro.type, "read_error": ro.error, "issued_after_ack_ms": round((issued - acked) / 1e6, 3),
                            "visible": ro.type == "ok" and ro.result == token})
                if ro.type != "ok":
                    c["reads_failed"] += 1
                else:
                    c["trials"] += 1
                    c["visible"] += int(ro.result == token)
            out.write(json.dumps(rec) + "\n")
        for d in spec.delays_ms:
            c = counts[d]
            rows.append({"system": system, "condition": condition, "write_consistency": w, "read_consistency": r,
                         "replication_factor": rf, "delay_ms": d, "writer": writer, "reader": reader, **c,
                         "p_visible": round(c["visible"] / c["trials"], 4) if c["trials"] else
                         "not measured: no trial had both a successful write and a successful read"})
    finally:
        await wc.close()
        await rc.close()
    return rows


def run_visibility(cluster: Cluster, spec: VisibilitySpec, directory: Path, time_origin_ns: int, *,
                   run_id: str = "visibility", log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """All conditions x pairs x delays; writes ``visibility.csv``-ready rows to
    ``visibility.json`` and every trial to ``visibility_trials.jsonl``; returns the rows."""
    from harness.nemesis import NemesisContext, standard_nemesis

    spec.validate(len(cluster.nodes), cluster.system.name)
    names = [n.name for n in cluster.nodes]
    directory.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []
    rng = random.Random(spec.seed)
    with open(directory / "visibility_trials.jsonl", "w", encoding="utf-8") as out:
        for condition in spec.conditions:
            nem = None
            writer, reader = spec.writer or names[0], spec.reader or names[-1]
            try:
                if condition == "writer-isolated":
                    nem = standard_nemesis()
                    nem.setup(NemesisContext(cluster, run_id, time_origin_ns, rng=random.Random(spec.seed), log=log))
                    rec = nem.invoke("partition", {"shape": "isolate-node", "node": writer})
                    groups = rec.value.get("groups") or []
                    faults.append({"condition": condition, "fault": rec.f, "type": rec.type, "error": rec.error,
                                   "groups": groups, "verified": rec.extra.get("verification", {}).get("ok")})
                    if rec.type != "ok":
                        raise RuntimeError(f"could not isolate the writer {writer}: {rec.error}")
                for w, r, rf in spec.probes():
                    if isinstance(cluster.system, Prepare):  # Cassandra's keyspace per RF; PostgreSQL's standbys
                        cluster.system.prepare_workload(cluster, _workload(spec, cluster.system.name, len(names),
                                                                           w, r, rf))
                    log(f"[visibility] {condition}: W={w} R={r} RF={rf}, {spec.trials} trials x "
                        f"{len(spec.delays_ms)} delays")
                    rows += asyncio.run(_trials(cluster, spec, condition, w, r, rf, writer, reader, out, rng))
            finally:
                if nem is not None:
                    nem.teardown()
                    # Gossip needs a moment to see the isolated node again: wait until every node
                    # sees every other Up/Normal, so nothing after this probe starts half-healed.
                    t_heal = time.monotonic()
                    cluster.system.wait_ready(cluster, timeout_s=120.0)
                    if faults:
                        faults[-1]["ready_again_after_heal_s"] = round(time.monotonic() - t_heal, 3)
    doc = {"schema_version": 1, "definition": __doc__.split("\n\n")[0], "spec": _spec_dict(spec),
           "faults": faults, "rows": rows}
    (directory / "visibility.json").write_text(json.dumps(doc, indent=1, default=str))
    return rows


def parse_visibility(data: Any, file: str, system: str | None = None) -> VisibilitySpec:
    """The ``visibility:`` section of a suite file (every field optional). Level names are
    matched to ``system``'s own spelling regardless of case (``one`` is Cassandra's ``ONE``);
    a name no level matches is kept, for ``validate`` to refuse."""
    from harness.errors import ConfigError

    kw = section_fields(data, file, "visibility", set(VisibilitySpec.__dataclass_fields__))
    try:
        if "pairs" in kw:
            kw["pairs"] = parse_level_pairs(kw["pairs"], file, "visibility.pairs", system)
        for k in ("delays_ms", "conditions"):
            if k in kw:
                kw[k] = tuple(kw[k])
    except (TypeError, ValueError) as e:
        raise ConfigError(file, "visibility", f"malformed: {e}") from e
    return VisibilitySpec(**kw)


def level_probes(pairs: Any, replication_factor: int) -> list[tuple[str, str, int]]:
    """``[W, R]`` / ``[W, R, RF]`` pairs as (W, R, RF) triples, ``replication_factor`` where a
    pair names none."""
    return [(p[0], p[1], p[2] if len(p) > 2 else replication_factor) for p in pairs]


def section_fields(data: Any, file: str, section: str, fields: set[str]) -> dict[str, Any]:
    """A probe's suite section as a dict; ConfigError when it is not a mapping or has a key
    outside ``fields``."""
    from harness.errors import ConfigError

    if not isinstance(data, dict):
        raise ConfigError(file, section, "must be a mapping")
    for k in data:
        if k not in fields:
            raise ConfigError(file, f"{section}.{k}", f"unknown field (allowed: {', '.join(sorted(fields))})")
    return dict(data)


def parse_level_pairs(raw: Any, file: str, field: str, system: str | None) -> tuple[tuple[Any, ...], ...]:
    """``[[W, R], [W, R, RF], ...]`` with level names matched to ``system``'s own spelling
    regardless of case (``one`` is Cassandra's ``ONE``); a name no level matches is kept, for
    ``check_level_pairs`` to refuse."""
    from harness.errors import ConfigError

    names = {lv.name.lower(): lv.name for lv in registry.levels(system)} if system else {}
    # YAML 1.1 reads a bare on/off as a boolean: a level named on/off (PostgreSQL's
    # synchronous_commit) is what was meant
    spelled = lambda x: names.get(({True: "on", False: "off"}[x] if isinstance(x, bool)  # noqa: E731
                                   else str(x)).lower(), str(x))
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(file, field, f"must be a list of [write level, read level] pairs, got {raw!r}")
    pairs = []
    for i, p in enumerate(raw):
        if not isinstance(p, (list, tuple)) or len(p) not in (2, 3):
            raise ConfigError(file, f"{field}[{i}]", f"must be [write level, read level] or [write level, read level, "
                                                     f"replication factor], got {p!r}")
        pairs.append((spelled(p[0]), spelled(p[1]), *p[2:]))
    return tuple(pairs)


def check_level_pairs(probes: list[tuple[str, str, int]], n_nodes: int, system: str, src: str) -> None:
    """Every (W, R, RF) measurable on ``n_nodes`` nodes of ``system`` (its ``TunableLevels``)."""
    from harness.config_fields import number
    from harness.errors import ConfigError

    plugin = tunable_plugin(system, src)
    if not probes:
        raise ConfigError(src, "pairs", f"required: the (write, read) level pairs to probe, [[W, R], ...] in "
                                        f"{system}'s level names")
    for i, (w, r, rf) in enumerate(probes):
        number(src, f"pairs[{i}][2]", rf, 1, n_nodes, unit=f"replicas (the cluster has {n_nodes} nodes)", integer=True)
        why = plugin.level_pair_problem(w, r, rf)
        if why:
            raise ConfigError(src, "pairs", why)


def _spec_dict(spec: VisibilitySpec) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(spec).items()}


def with_trials(spec: VisibilitySpec, trials: int) -> VisibilitySpec:
    return replace(spec, trials=trials)
