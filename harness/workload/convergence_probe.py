"""Time to convergence, measured: once writes stop (and a fault on one replica is undone),
how long until every node returns the last acknowledged value of every key.

Eventual consistency promises that replicas converge when writes stop, and says nothing
about when; this probe measures when, per write level and condition, on the real cluster.
Each trial:

1. The fault of the condition is put on the *reader* node (default: the last node):
   ``normal`` none; ``reader-paused`` SIGSTOP (the nemesis' ``pause``); ``reader-partitioned``
   cut from every other node (``partition`` ``isolate-node``; the harness still reaches it);
   ``reader-link-loss`` ``loss_probability`` of the packets on its links to the others lost.
2. A burst: ``writes_per_key`` puts to each of ``keys`` fresh keys, one at a time through
   the *writer* node, at the pair's write level. Each key's expected final value is its last
   acknowledged write; a key whose last write was not acknowledged (or was followed by an
   indeterminate one) may end either way and is judged only by agreement (``ambiguous``).
3. The fault is held until ``fault_s`` after it began, then undone (resume, heal,
   heal-link): the *heal* moment (for ``normal``, the last write's acknowledgement).
4. Every ``poll_ms``, every node in ``nodes`` reads every key at the pair's read level (a
   replica's own state), until each node returns the expected value for every key, or
   ``timeout_s`` after the heal.

Reported per trial: ``converged`` (every node, every key), ``after_heal_ms`` (from the heal
to the first round in which everything agreed; 0 when the first round already did) and
``after_last_write_ms`` (the same from the last write's acknowledgement), per node its own
time (measured to the start of the first round in which everything agreed: the reads of that
round ran within ``round_ms_median`` after it, so 0 means "by the first round after the heal"),
and the writes that failed (a synchronous level with the reader paused may refuse or
time out writes: that is the price, recorded, not hidden; the burst stops after
``MAX_UNACKED_IN_A_ROW`` of them in a row, and a trial with none acknowledged is "not
measured"). A round that does not agree is followed by the next after ``poll_ms``.

Bounded: ``trials`` per (condition, pair), each burst ``keys * writes_per_key`` writes, each
poll loop ``timeout_s``; traffic only to the cluster's own nodes.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness import registry
from harness.api import Prepare, Request
from harness.providers.base import Cluster
from harness.workload.visibility import (check_level_pairs, level_probes, parse_level_pairs, section_fields,
                                         tunable_plugin)
from harness.workload.spec import LoadSpec, Workload

#: A burst stops after this many writes in a row are not acknowledged (a level that waits for
#: the faulted replica: each would only wait out its timeout).
MAX_UNACKED_IN_A_ROW = 3
CONDITIONS = ("normal", "reader-paused", "reader-partitioned", "reader-link-loss")
#: condition -> (fault to apply, its params given the reader, fault that undoes it)
_FAULTS: dict[str, tuple[str, Callable[[str, float], dict[str, Any]], str]] = {
    "reader-paused": ("pause", lambda n, p: {"target": n}, "resume"),
    "reader-partitioned": ("partition", lambda n, p: {"shape": "isolate-node", "node": n}, "heal"),
    "reader-link-loss": ("loss", lambda n, p: {"probability": p, "shape": "isolate-node", "node": n}, "heal-link"),
}


@dataclass(frozen=True)
class ConvergenceSpec:
    #: (write level, read level[, replication factor]) as in the t-visibility probe; the read
    #: level must be one a replica answers from its own state, or nothing is measured
    pairs: tuple[tuple[Any, ...], ...] = ()
    replication_factor: int = 3
    conditions: tuple[str, ...] = CONDITIONS
    keys: int = 20
    writes_per_key: int = 3
    trials: int = 3
    fault_s: float = 2.0
    loss_probability: float = 0.3
    poll_ms: float = 10.0
    timeout_s: float = 30.0
    op_timeout_s: float = 2.0
    value_size: int = 64
    writer: str | None = None  # default: the first node
    reader: str | None = None  # default: the last node of ``nodes``
    nodes: tuple[str, ...] = ()  # the nodes read; default: every node
    seed: int = 1

    def probes(self) -> list[tuple[str, str, int]]:
        return level_probes(self.pairs, self.replication_factor)

    def read_nodes(self, names: list[str]) -> list[str]:
        return list(self.nodes) or names

    def validate(self, n_nodes: int, system: str, src: str = "convergence") -> None:
        from harness.config_fields import number, shown
        from harness.errors import ConfigError
        from harness.workload.spec import MAX_OP_TIMEOUT_S, MAX_SEED, MAX_VALUE_SIZE, MIN_VALUE_SIZE

        names = [f"n{i}" for i in range(1, n_nodes + 1)]
        number(src, "keys", self.keys, 1, 1000, integer=True)
        number(src, "writes_per_key", self.writes_per_key, 1, 100, integer=True)
        number(src, "trials", self.trials, 1, 100, integer=True, unit="per (condition, pair)")
        number(src, "fault_s", self.fault_s, 0, 600, unit="seconds")
        number(src, "loss_probability", self.loss_probability, 0, 1, lo_open=True)
        number(src, "poll_ms", self.poll_ms, 1, 10_000, unit="ms")
        number(src, "timeout_s", self.timeout_s, 0, 600, unit="seconds", lo_open=True)
        number(src, "op_timeout_s", self.op_timeout_s, 0, MAX_OP_TIMEOUT_S, unit="seconds", lo_open=True)
        number(src, "value_size", self.value_size, MIN_VALUE_SIZE, MAX_VALUE_SIZE, unit="bytes", integer=True)
        number(src, "seed", self.seed, 0, MAX_SEED, integer=True)
        for c in self.conditions:
            if c not in CONDITIONS:
                raise ConfigError(src, "conditions", f"unknown condition {shown(c)} (known: {', '.join(CONDITIONS)})")
        for n in (*self.nodes, *(x for x in (self.writer, self.reader) if x is not None)):
            if n not in names:
                raise ConfigError(src, "nodes", f"unknown node {shown(n)} (the cluster has {', '.join(names)})")
        if self.reader is not None and self.reader not in self.read_nodes(names):
            raise ConfigError(src, "reader", f"the faulted reader {self.reader} is not among the nodes read")
        if n_nodes < 2 and any(c != "normal" for c in self.conditions):
            raise ConfigError(src, "conditions", "a fault on the reader needs at least 2 nodes")
        check_level_pairs(self.probes(), n_nodes, system, src)


def parse_convergence(data: Any, file: str, system: str | None = None) -> ConvergenceSpec:
    """The ``convergence:`` section of a suite file (every field but ``pairs`` optional)."""
    from harness.errors import ConfigError

    kw = section_fields(data, file, "convergence", set(ConvergenceSpec.__dataclass_fields__))
    if "pairs" in kw:
        kw["pairs"] = parse_level_pairs(kw["pairs"], file, "convergence.pairs", system)
    for k in ("conditions", "nodes"):
        if k in kw:
            if not isinstance(kw[k], list):
                raise ConfigError(file, f"convergence.{k}", f"must be a list, got {kw[k]!r}")
            kw[k] = tuple(kw[k])
    return ConvergenceSpec(**kw)


def _workload(spec: ConvergenceSpec, system: str, n_nodes: int, w: str, r: str, rf: int) -> Workload:
    return Workload(name="convergence", duration_s=1, system=system, nodes=n_nodes, value_size=spec.value_size,
                    read_consistency=r, load=LoadSpec(concurrency=1, op_timeout_s=spec.op_timeout_s),
                    options=tunable_plugin(system, "convergence").level_pair_options(w, rf))


def judge_round(reads: dict[str, dict[str, Any]], expected: dict[str, Any], ambiguous: set[str]) -> dict[str, bool]:
    """Per node: whether this round's reads show convergence on it: every key's read equals
    the expected value (for an ambiguous key: equals what every node read this round)."""
    out = {}
    for node, got in reads.items():
        ok = True
        for k, want in expected.items():
            if k in ambiguous:
                vals = {repr(r.get(k, "?")) for r in reads.values()}
                ok = ok and len(vals) == 1 and got.get(k, "?") != "?"
            else:
                ok = ok and got.get(k, "?") == want
        out[node] = ok
    return out


async def _trial(cluster: Cluster, spec: ConvergenceSpec, nem: Any, condition: str, w: str, r: str, rf: int,
                 writer: str, reader: str, read_nodes: list[str], trial: int, origin_ns: int) -> dict[str, Any]:
    system = cluster.system.name
    plugin = registry.system_plugin(system)
    wl = _workload(spec, system, len(cluster.nodes), w, r, rf)
    wc = plugin.make_client(wl, cluster.client_endpoint(writer), cluster.client_endpoints)
    rcs = {n: plugin.make_client(wl, cluster.client_endpoint(n), cluster.client_endpoints) for n in read_nodes}
    rec: dict[str, Any] = {"condition": condition, "write_consistency": w, "read_consistency": r,
                           "replication_factor": rf, "trial": trial, "writer": writer, "reader": reader}
    fault = _FAULTS.get(condition)
    applied = False
    try:
        await wc.open()
        for c in rcs.values():
            await c.open()
        t_fault = time.monotonic()
        if fault is not None:
            fr = nem.invoke(fault[0], fault[1](reader, spec.loss_probability))
            rec["fault"] = {"f": fr.f, "type": fr.type, "error": fr.error}
            if fr.type == "fail":
                rec["converged"] = "not measured: the fault could not be applied"
                return rec
            applied = True
        tag = f"conv-{condition}-{w}-{r}-{rf}-{trial}-{int(time.time() * 1000) % 10**8}"
        keys = [f"{tag}-{i}" for i in range(spec.keys)]
        expected: dict[str, Any] = {k: None for k in keys}
        ambiguous: set[str] = set()
        counts = {"ok": 0, "fail": 0, "info": 0}
        t_last_ack = None
        unacked = 0
        for i in range(spec.writes_per_key):
            for k in keys:
                if unacked >= MAX_UNACKED_IN_A_ROW:
                    break
                token = f"{tag}:{k}:{i}"
                o = await wc.invoke(Request("put", k, token))
                counts[o.type] = counts.get(o.type, 0) + 1
                if o.type == "ok":
                    expected[k] = token
                    ambiguous.discard(k)
                    t_last_ack = time.monotonic()
                    unacked = 0
                else:
                    unacked += 1
                    if o.type == "info":
                        ambiguous.add(k)
        rec["writes"] = counts
        if unacked >= MAX_UNACKED_IN_A_ROW:
            rec["burst_stopped"] = f"{MAX_UNACKED_IN_A_ROW} writes in a row not acknowledged under the fault"
        hold = spec.fault_s - (time.monotonic() - t_fault)
        if fault is not None and hold > 0:
            await asyncio.sleep(hold)
        if applied:
            assert fault is not None
            hr = nem.invoke(fault[2], {"target": reader} if fault[2] == "resume" else {})
            rec["heal"] = {"f": hr.f, "type": hr.type, "error": hr.error}
            applied = False
        t_heal = time.monotonic()
        if t_last_ack is None:
            rec["converged"] = "not measured: no write was acknowledged"
            return rec
        first_ok: dict[str, float] = {}
        rounds, round_ms, deadline = 0, [], t_heal + spec.timeout_s
        done = False
        while not done and time.monotonic() < deadline:
            t_round = time.monotonic()
            reads: dict[str, dict[str, Any]] = {}
            for n, c in rcs.items():
                got = {}
                for k in keys:
                    o = await c.invoke(Request("get", k, None, r))
                    got[k] = o.result if o.type == "ok" else "?"
                reads[n] = got
            rounds += 1
            round_ms.append((time.monotonic() - t_round) * 1000)
            verdict = judge_round(reads, expected, ambiguous)
            for n, ok in verdict.items():
                if ok and n not in first_ok:
                    first_ok[n] = t_round
                elif not ok:
                    first_ok.pop(n, None)  # converged only if it stays so
            done = len(first_ok) == len(rcs) and all(verdict.values())
            if not done:
                await asyncio.sleep(spec.poll_ms / 1000.0)
        rec.update({"converged": done, "rounds": rounds, "ambiguous_keys": len(ambiguous),
                    "round_ms_median": round(sorted(round_ms)[len(round_ms) // 2], 3) if round_ms else None})
        if done:
            t_all = max(first_ok.values())
            rec["after_heal_ms"] = round(max(0.0, t_all - t_heal) * 1000, 3)
            rec["after_last_write_ms"] = round(max(0.0, t_all - t_last_ack) * 1000, 3)
            rec["per_node_after_heal_ms"] = {n: round(max(0.0, t - t_heal) * 1000, 3) for n, t in first_ok.items()}
        else:
            rec["not_converged_nodes"] = sorted(set(rcs) - set(first_ok))
        return rec
    finally:
        if applied and fault is not None:
            nem.invoke(fault[2], {"target": reader} if fault[2] == "resume" else {})
        await wc.close()
        for c in rcs.values():
            await c.close()


def run_convergence(cluster: Cluster, spec: ConvergenceSpec, directory: Path, time_origin_ns: int, *,
                    run_id: str = "convergence", log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Every condition x pair x trial; ``convergence.json`` (spec, rows) and
    ``convergence_trials.jsonl``; returns the rows (one per trial)."""
    from harness.nemesis import NemesisContext, standard_nemesis

    names = [n.name for n in cluster.nodes]
    spec.validate(len(names), cluster.system.name)
    read_nodes = spec.read_nodes(names)
    writer, reader = spec.writer or names[0], spec.reader or read_nodes[-1]
    directory.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    nem = standard_nemesis(cluster.system.name)
    nem.setup(NemesisContext(cluster, run_id, time_origin_ns, rng=random.Random(spec.seed), log=log))
    try:
        with open(directory / "convergence_trials.jsonl", "w", encoding="utf-8") as out:
            for condition in spec.conditions:
                for w, r, rf in spec.probes():
                    if isinstance(cluster.system, Prepare):
                        cluster.system.prepare_workload(cluster, _workload(spec, cluster.system.name, len(names),
                                                                           w, r, rf))
                    log(f"[convergence] {condition}: W={w} R={r} RF={rf}, {spec.trials} trial(s)")
                    for t in range(spec.trials):
                        rec = asyncio.run(_trial(cluster, spec, nem, condition, w, r, rf, writer, reader,
                                                 read_nodes, t, time_origin_ns))
                        rec["system"] = cluster.system.name
                        out.write(json.dumps(rec) + "\n")
                        rows.append(rec)
                    if condition != "normal":  # the next probe starts from a ready cluster
                        cluster.system.wait_ready(cluster, timeout_s=120.0)
    finally:
        nem.teardown()
    doc = {"schema_version": 1, "definition": __doc__.split("\n\n")[0],
           "spec": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(spec).items()},
           "writer": writer, "reader": reader, "nodes": read_nodes, "rows": rows}
    (directory / "convergence.json").write_text(json.dumps(doc, indent=1, default=str))
    return rows
