"""Bindings -> values: turn a DiagramSpec's figures and series into a ResolvedDiagram.

Why here and not in the renderers: every number a diagram prints must say where it came
from, so one module reads ``results/`` and attaches a Provenance (run, file relative to the
repository root, query) to each value; renderers only ever see resolved values.

Run selection: a binding with ``run: <id>`` reads that run only; ``run_of: <name>`` only
the runs of that suite or scenario (manifest ``scenario.name``, e.g. ``etcd`` for the etcd
suite of ``make bench``), so regenerating after a new bench picks the new run but never a
one-off scenario run made another way; ``run_compared: <system>`` the run that the newest
comparison run compares for that system (its manifest ``source_runs``), so a comparison
diagram's other figures come from the same runs as its cells; ``compares: [a, b]`` narrows
both ``run_compared`` and a ``from: comparison`` binding to comparison runs of exactly those
systems (a ZooKeeper-beside-etcd comparison is then never taken for an etcd-beside-Cassandra
one); otherwise the runs are tried newest first (run ids start with a UTC timestamp, so names sort by time) and the first
in which the query resolves is used. With ``newest=True`` (``gbench diagrams --newest``, what
the scheduled bench job regenerates with) a pinned ``run: <id>`` is read as "the runs like
<id>, newest first": the runs whose manifest has the same kind, suite or scenario name,
provider, node count and partition mechanism (and, for a comparison run, compares the same
systems), the pinned run among them; the footer then
names the run each figure came from. With ``fresh`` (``gbench diagrams-refresh``: the batch's
runs) only those may replace the pinned run, so nothing moves to an older run that was already
there. A pinned run that is not in the results root stays
pinned (and is reported missing), and so does a run the spec's own text names (a claim "in the
reference run <id>", a label): moving that figure to another run would make the text false. A query that resolves nowhere is ``NotMeasured`` with a
reason naming what was looked for -- never an exception, never a default. An ambiguous
query (a summary ``where`` matching several rows) stops at the newest run that has it: taking
an older run instead would silently change what the number means.

Damaged runs: a run whose files cannot be read or have the wrong shape (sources.DamagedFile:
invalid or truncated JSON or gzip, wrong top-level type, required key missing) is refused.
Its small files (manifest, summary, comparison, every scenario's failure summary and
timeline) are checked before the run is first tried (``run_damage``), the large ones
(histories, JSONL logs, HDR logs, a system's metrics) when a binding reads them. A binding that
reaches a damaged run stops there as ``NotMeasured`` naming the file and the reason: it never
takes an older run's figure instead, because a figure silently moved to an older run is a
lie about what the newest run measured. Every damaged file is recorded in
``Resolver.damaged``; the build lists them as problems and ``gbench diagrams`` exits 1. A
run the binding does not apply to (its manifest names another suite for ``run_of``, it lacks
the file or the row) is different: the walk moves on.

Units: a value's source unit is read off its field name (``p99_ms``, ``elected_after_s``,
``*_seconds``, ``*_bytes``, ``*_share``) or from the row's ``unit`` column (comparison.json);
``unit:`` converts within a dimension (s -> ms, B -> MiB, share -> %), and labels the value
when the source unit is unknown; ``scale:`` is an explicit factor and the unit is then a label.

Series row shapes (one dict per row, file order):
- history: the history record as stored (see harness/recorder/history.py) plus ``invoke_s``,
  ``complete_s`` (seconds after the scenario's load start, timeline.json ``load_start_ns``;
  for a workload: after its first invoke) and ``latency_ms`` (from intended_ns in open loop,
  else invoke_ns; null when the op never completed).
- nemesis: the nemesis record plus ``at_s`` (invoke) and ``in_effect_s`` (complete), same origin.
- members: one row per (poll, node): ``poll, start_s, end_s, node`` and whatever the member
  record holds: ``leader, term, is_leader`` and the system's own fields (runs before issue 11
  wrote the term as ``raft_term``; this series shows the record as written).
- hlog: ``percentile, value_ms, count, inverse_tail`` (sources.hlog_spectrum).
- summary_rows: summary.json rows as stored.
- run_rows: the rows (a list of mappings) at ``path`` in a run's JSON ``file``, those matching
  ``where`` (all when it is absent), as stored: e.g. the t-visibility probe's
  ``visibility/visibility.json`` ``rows``, the convergence probe's ``convergence/convergence.json``.
- scenario_runs: one row per run having the scenario: ``run_id, provider, partitions_via,
  file`` plus the requested ``fields`` (dotted paths into its failure_summary.json).

The footer names every run whose data a diagram uses (for a comparison run, also the runs it
compares), its start date and host: CPU x logical cores, memory, data-dir filesystem,
device and whether it is rotational, and the fsync latency measured on it. Each of those
footer values is recorded in ``ResolvedDiagram.derived`` under ``footer.<run>.<name>``, so
the sidecar traces the footer like any other number.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from diagram_gen.model import Cited, DiagramSpec, Figure, Measured, NotMeasured, Provenance, ResolvedDiagram, Series
from diagram_gen.model import format_value
from diagram_gen.sources import (SYSTEM_METRICS_SHAPE, JsonCache, get_path, hlog_spectrum, history_file, list_runs,
                                 read_jsonl, row_matches)
from diagram_gen.spec import binding_kind, rel_to, shorthand_where
from harness.errors import ConfigError, DamagedFile
from harness.results.scenario_comparison import partition_mechanism
from harness.results.store import read_run

BENCHMARKS_RUN = "benchmarks"
#: how messages name the results root (not its path: a render from a copy of the same runs
#: must give the same bytes)
RESULTS_DIR = "the results directory"
#: files of every scenario of a run, checked before the run is first tried (with the manifest
#: and the results file, which ``store.read_run`` checks)
SCENARIO_FILES = ("failure_summary.json", "timeline.json")

#: unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "ns": ("time", 1e-9), "us": ("time", 1e-6), "µs": ("time", 1e-6), "ms": ("time", 1e-3), "s": ("time", 1.0),
    "min": ("time", 60.0), "h": ("time", 3600.0),
    "B": ("bytes", 1.0), "KiB": ("bytes", 1024.0), "MiB": ("bytes", 1024.0 ** 2), "GiB": ("bytes", 1024.0 ** 3),
    "KB": ("bytes", 1e3), "MB": ("bytes", 1e6), "GB": ("bytes", 1e9),
    "share": ("ratio", 1.0), "%": ("ratio", 0.01),
    "ops/s": ("rate", 1.0),
}
#: field-name suffix -> source unit (longest suffixes first)
SUFFIX_UNITS = (("_ops_s", "ops/s"), ("_seconds", "s"), ("_bytes", "B"), ("_share", "share"), ("_ratio", "share"),
                ("_fraction", "share"), ("_pct", "%"), ("_percent", "%"), ("_ms", "ms"), ("_ns", "ns"),
                ("_us", "us"), ("_s", "s"))
SHORT_STATS = {"p50": "p50_ms", "p90": "p90_ms", "p99": "p99_ms", "p999": "p999_ms", "max": "max_ms",
               "min": "min_ms", "mean": "mean_ms", "throughput": "throughput_ops_s"}
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}


class _Miss(Exception):
    """The query does not resolve in this run. ``final``: do not try older runs (ambiguity)."""

    def __init__(self, reason: str, final: bool = False, no_file: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.final, self.no_file = reason, final, no_file


@dataclass(frozen=True)
class _Hit:
    value: Any
    source_unit: str | None
    path: Path
    query: str
    qualifier: str | None = None


#: statistic words that may follow the unit in a field name (``superseded_ms_max``, ``stale_ms_p50``)
STAT_WORDS = frozenset({"max", "min", "mean", "median", "p50", "p90", "p95", "p99", "p999", "avg", "total"})


def source_unit_of(name: str) -> str | None:
    """The unit a field name carries: as its suffix (``p99_ms``), or followed only by
    statistic words (``superseded_ms_max`` -> ms)."""
    for suffix, unit in SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    parts = name.split("_")
    while len(parts) > 1 and parts[-1] in STAT_WORDS:
        parts.pop()
        stem = "_".join(parts)
        for suffix, unit in SUFFIX_UNITS:
            if stem.endswith(suffix):
                return unit
    return None


def clean_float(v: float) -> float:
    """Drop binary noise from a conversion (1.628624 * 1000 -> 1628.624, not 1628.6239999999998)."""
    return float(f"{v:.12g}")


def convert(value: Any, source_unit: str | None, unit: str | None, scale: float | None) -> tuple[Any, str | None]:
    """(value, unit) as the binding asks; raises _Miss when the units do not convert."""
    if unit is None and scale is None:
        return value, (None if source_unit == "share" else source_unit)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Miss(f"value {value!r} is not a number; unit/scale apply to numbers", final=True)
    if scale is not None:
        v = value * scale
        return (clean_float(v) if isinstance(v, float) else v), unit
    if source_unit is None or unit == source_unit:
        return value, unit
    if unit not in UNITS or source_unit not in UNITS or UNITS[unit][0] != UNITS[source_unit][0]:
        raise _Miss(f"cannot express a value in {source_unit} as {unit}", final=True)
    return clean_float(value * UNITS[source_unit][1] / UNITS[unit][1]), unit


def _where_text(where: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in where.items())


def _since(ns: Any, origin: int) -> float | None:
    """Seconds from ``origin`` to a recorded monotonic ``ns`` (9 decimals); None when unrecorded."""
    return round((ns - origin) / 1e9, 9) if isinstance(ns, int) else None


class Resolver:
    """Resolves bindings against one results root; caches parsed files across diagrams."""

    def __init__(self, results_root: Path, repo_root: Path, cache: JsonCache | None = None,
                 newest: bool = False, fresh: frozenset[str] | None = None) -> None:
        self.results_root = Path(results_root)
        self.repo_root = Path(repo_root)
        self.cache = cache or JsonCache()
        #: pinned bindings (run:) read the newest run like the pinned one (module docstring)
        self.newest = newest
        #: with ``newest``: only these runs may replace a pinned one (the bench job's batch);
        #: None: any newer run like it
        self.fresh = fresh
        #: runs the diagram being resolved names in its text: they stay pinned under ``newest``
        self.named_runs: frozenset[str] = frozenset()
        #: the plain (pinned-as-pinned) resolver ``values_in_runs`` reads single runs with
        self._pinned: Resolver | None = None
        self._runs: list[str] | None = None
        self._run_damage: dict[str, DamagedFile | None] = {}
        #: every damaged file met so far: file (relative to the repository) -> reason
        self.damaged: dict[str, str] = {}

    # -- helpers -------------------------------------------------------------------------------
    @property
    def runs(self) -> list[str]:
        if self._runs is None:
            self._runs = list_runs(self.results_root)
        return self._runs

    def rel(self, path: Path) -> str:
        return rel_to(path, self.repo_root)

    # -- damaged runs ------------------------------------------------------------------------------
    def _record(self, e: DamagedFile) -> DamagedFile:
        self.damaged.setdefault(self.rel(Path(e.file)), e.reason)
        return e

    def run_damage(self, run_id: str) -> DamagedFile | None:
        """The first damaged file of ``run_id`` among its manifest, its results file
        (``store.read_run``: missing, unreadable or lacking a field is damage) and every
        scenario's failure summary and timeline, or None. Checked once per run; recorded."""
        if run_id in self._run_damage:
            return self._run_damage[run_id]
        run = self.results_root / run_id
        found: DamagedFile | None = None
        try:
            r = read_run(run)
            self.cache.put(run / "manifest.json", r.manifest)
            self.cache.put(run / r.results_file, r.results)
        except DamagedFile as e:
            found = self._record(e)
        sdir = run / "scenarios"
        files = [d / n for d in sorted(sdir.iterdir()) if d.is_dir() for n in SCENARIO_FILES] if sdir.is_dir() else []
        for f in files:
            try:
                self.cache.load(f)
            except DamagedFile as e:
                found = found or self._record(e)
        self._run_damage[run_id] = found
        return found

    def check_runs(self) -> dict[str, DamagedFile]:
        """Every damaged run under the results root (run id -> its first damaged file)."""
        out = {}
        for r in self.runs:
            e = self.run_damage(r)
            if e is not None:
                out[r] = e
        return out

    def _damage_text(self, run_id: str, e: DamagedFile) -> str:
        return (f"run {run_id} is damaged: {self.rel(Path(e.file))}: {e.reason} (refused: no figure is taken "
                "from an older run instead)")

    def _json(self, path: Path) -> Any:
        data, err = self.cache.load(path)
        if err:
            raise _Miss(f"{self.rel(path)}: {err}", no_file=not Path(path).is_file())
        return data

    def _path_hit(self, path: Path, dotted: str) -> _Hit:
        """The scalar at ``dotted`` in a JSON file, its unit named by the path's last segment."""
        return _Hit(self._path_value(path, dotted), source_unit_of(dotted.split(".")[-1]), path, dotted)

    def _path_value(self, path: Path, dotted: str) -> Any:
        data = self._json(path)
        length = dotted.endswith(".len()")
        p = dotted[: -len(".len()")] if length else dotted
        v, err = get_path(data, p)
        if err:
            raise _Miss(f"{self.rel(path)}: {p}: {err}")
        if length:
            if not isinstance(v, (list, Mapping)):
                raise _Miss(f"{self.rel(path)}: {p}: len() of a {type(v).__name__}", final=True)
            return len(v)
        if v is None:
            raise _Miss(f"{self.rel(path)}: {p} is null")
        if isinstance(v, (list, Mapping)):
            raise _Miss(f"{self.rel(path)}: {p} is a {type(v).__name__} of {len(v)} items, not a scalar "
                        "(index it, filter it [k=v] or take .len())", final=True)
        return v

    def _manifest_of(self, run_id: str) -> Mapping[str, Any] | None:
        """The run's manifest, or None when the run is damaged (it is then a candidate of every
        selection: whether it applies cannot be told, and trying it reports the damage)."""
        if self.run_damage(run_id) is not None:
            return None
        m, _ = self.cache.load(self.results_root / run_id / "manifest.json")
        return m

    @staticmethod
    def _compares(m: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        """Is the manifest a comparison run the binding may take (``compares``: of exactly
        those systems)?"""
        if m.get("kind") != "comparison":
            return False
        src = m.get("source_runs")
        return "compares" not in b or (isinstance(src, Mapping) and set(src) == set(b["compares"]))

    @staticmethod
    def run_identity(m: Mapping[str, Any]) -> tuple[Any, ...]:
        """What makes two runs "alike" for ``newest``: the manifest's kind, its suite or
        scenario name, how its cluster ran (provider, node count, partition mechanism: a
        figure pinned to a docker run is about docker), and for a comparison run the systems
        it compares."""
        scenario = m.get("scenario")
        src = m.get("source_runs")
        cluster = m.get("cluster") if isinstance(m.get("cluster"), Mapping) else {}
        return (m.get("kind"), scenario.get("name") if isinstance(scenario, Mapping) else scenario,
                cluster.get("provider"), cluster.get("nodes"), partition_mechanism(dict(m)),
                tuple(sorted(src)) if m.get("kind") == "comparison" and isinstance(src, Mapping) else None)

    def _like(self, run_id: str) -> list[str]:
        """The runs like ``run_id`` (``run_identity``), newest first; just ``[run_id]`` when it
        is not in the results root or is damaged (trying it reports that)."""
        if not (self.results_root / run_id).is_dir() or (m := self._manifest_of(run_id)) is None:
            return [run_id]
        want = self.run_identity(m)
        alike = [r for r in self.runs if (o := self._manifest_of(r)) is None or self.run_identity(o) == want]
        if self.fresh is None:
            return alike
        return [r for r in alike if r in self.fresh and r != run_id] + [run_id]

    def candidate_runs(self, b: Mapping[str, Any]) -> list[str]:
        """The runs binding ``b`` may read, in the order they are tried (newest first)."""
        return self._run_candidates(b)

    def values_in_runs(self, key: str, b: Mapping[str, Any], limit: int) -> list[tuple[str, str | None, Any]]:
        """The value of figure binding ``b`` in each run it may read (``candidate_runs``, the
        newest ``limit``), oldest first, as (run id, the run's batch id or None, value); runs in
        which it does not resolve (or that are damaged) are left out. For a figure's noise."""
        if self._pinned is None:  # one for every figure: its damage checks and runs list are kept
            self._pinned = Resolver(self.results_root, self.repo_root, self.cache)
        pinned = self._pinned
        out: list[tuple[str, str | None, Any]] = []
        for run_id in self.candidate_runs(b)[:limit]:
            f = pinned.scalar(key, {**b, "run": run_id})
            if isinstance(f, Measured):
                batch = (self._manifest_of(run_id) or {}).get("batch")
                out.append((run_id, str(batch["id"]) if isinstance(batch, Mapping) and batch.get("id") else None,
                            f.value))
        return out[::-1]

    def _run_candidates(self, b: Mapping[str, Any]) -> list[str]:
        if "run" in b:
            run = str(b["run"])
            return self._like(run) if self.newest and run not in self.named_runs else [run]
        if "run_compared" in b:  # the run the newest comparison run compares for that system
            want = str(b["run_compared"])
            for r in self.runs:
                m = self._manifest_of(r)
                if m is None:
                    return [r]
                if self._compares(m, b):
                    src = (m.get("source_runs") or {}).get(want)
                    return [str(src)] if src else []
            return []
        if "run_of" in b:  # runs of one suite or scenario (manifest scenario.name), newest first
            want = str(b["run_of"])
            out = []
            for r in self.runs:
                m = self._manifest_of(r)
                if m is None or (isinstance(m.get("scenario"), Mapping) and m["scenario"].get("name") == want):
                    out.append(r)
            return out
        if "compares" in b:  # comparison runs of exactly those systems (a damaged run: kept, to report it)
            return [r for r in self.runs if (m := self._manifest_of(r)) is None or self._compares(m, b)]
        return self.runs

    # -- scalar lookups: (run dir, binding) -> _Hit ---------------------------------------------
    def _summary(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        where = dict(shorthand_where(str(b["from"])) or {})
        where.update(b.get("where") or {})
        path = run / "summary.json"
        data = self._json(path)
        rows = data.get("rows") if isinstance(data, Mapping) else None
        if not isinstance(rows, list):
            raise _Miss(f"{self.rel(path)}: no rows")
        hits = [r for r in rows if isinstance(r, Mapping) and row_matches(r, where)]
        q = f"rows[{_where_text(where)}]"
        if not hits:
            raise _Miss(f"{self.rel(path)}: no row {q}")
        if len(hits) > 1:
            names = sorted({str(r.get("workload")) for r in hits})
            raise _Miss(f"{self.rel(path)}: {len(hits)} rows match {q} (workloads {', '.join(names)}): "
                        "narrow it with where: {workload: ...}", final=True)
        row, stat = hits[0], str(b["stat"])
        if stat not in row and SHORT_STATS.get(stat) in row:
            stat = SHORT_STATS[stat]
        if stat not in row:
            raise _Miss(f"{self.rel(path)}: row {q} has no column {b['stat']!r}", final=True)
        v = row[stat]
        if v is None or v == "":
            raise _Miss(f"{self.rel(path)}: {q}.{stat} is empty")
        return _Hit(v, source_unit_of(stat), path, f"{q}.{stat}")

    def _manifest(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        return self._path_hit(run / "manifest.json", str(b["path"]))

    def _failure_summary(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        return self._path_hit(run / "scenarios" / str(b["scenario"]) / "failure_summary.json", str(b["path"]))

    def _scenario_file(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        return self._path_hit(run / "scenarios" / str(b["scenario"]) / str(b["file"]), str(b["path"]))

    def _run_file(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        return self._path_hit(run / str(b["file"]), str(b["path"]))

    def _comparison(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        path = run / "comparison.json"
        data = self._json(path)
        rows = data.get("rows") if isinstance(data, Mapping) else None
        where = dict(b["where"])
        q = f"rows[{_where_text(where)}]"
        hits = [r for r in (rows or []) if isinstance(r, Mapping) and row_matches(r, where)]
        if not hits:
            raise _Miss(f"{self.rel(path)}: no row {q}")
        if len(hits) > 1:
            raise _Miss(f"{self.rel(path)}: {len(hits)} rows match {q}: narrow the where", final=True)
        row, stat = hits[0], str(b.get("stat", "value"))
        if row.get(stat) is None:
            raise _Miss(f"{self.rel(path)}: {q}.{stat} is empty")
        unit = row.get("unit") if stat == "value" else source_unit_of(stat)
        origin = ""
        if row.get("run_id") and row.get("file"):
            origin = f" (from {row['run_id']}/{row['file']} {row.get('query', '')})"
        return _Hit(row[stat], unit or None, path, f"{q}.{stat}{origin}")

    def _system_metrics(self, run: Path, b: Mapping[str, Any]) -> _Hit:
        base = run / "scenarios" / str(b["scenario"]) if "scenario" in b else run
        path = base / "workloads" / str(b["workload"]) / str(b["file"])
        data, err = self.cache.load(path, SYSTEM_METRICS_SHAPE)
        if err:
            raise _Miss(f"{self.rel(path)}: {err}", no_file=not path.is_file())
        nodes = data.get("nodes") if isinstance(data, Mapping) else None
        if not isinstance(nodes, Mapping) or not nodes:
            raise _Miss(f"{self.rel(path)}: no nodes")
        metric, stat, node = str(b["metric"]), str(b["stat"]), str(b.get("node", "leader"))
        if node == "leader":
            leader = data.get("leader")
            if not leader or leader not in nodes:
                raise _Miss(f"{self.rel(path)}: no leader recorded")
            names, label = [leader], f"{leader}(leader)"
        elif node == "all":
            names, label = sorted(nodes), "all"
        else:
            if node not in nodes:
                raise _Miss(f"{self.rel(path)}: no node {node}")
            names, label = [node], node
        hists = []
        for n in names:
            h = nodes[n].get(metric) if isinstance(nodes[n], Mapping) else None
            if not isinstance(h, Mapping):
                raise _Miss(f"{self.rel(path)}: node {n} has no metric {metric}")
            hists.append(h)
        count = sum(int(h.get("count") or 0) for h in hists)
        total = sum(float(h.get("sum") or 0.0) for h in hists)
        q = f"nodes[{label}].{metric}"
        src_unit = source_unit_of(metric)
        if stat == "count":
            return _Hit(count, None, path, f"{q}.count")
        if count == 0:
            raise _Miss(f"{self.rel(path)}: {q}: no observations (count 0)")
        if stat == "sum":
            return _Hit(clean_float(total), src_unit, path, f"{q}.sum")
        if stat == "mean":
            return _Hit(clean_float(total / count), src_unit, path, f"{q}.sum / {q}.count")
        bounds: dict[float, int] = {}
        for h in hists:
            for le, c in h.get("buckets") or []:
                ub = math.inf if le in ("+Inf", "Inf", "inf") else float(le)
                bounds[ub] = bounds.get(ub, 0) + int(c)
        if len({len(h.get("buckets") or []) for h in hists}) > 1:
            raise _Miss(f"{self.rel(path)}: {q}: nodes have different buckets", final=True)
        rank = QUANTILES[stat] * count
        finite = [ub for ub in sorted(bounds) if math.isfinite(ub)]
        for ub in sorted(bounds):
            if bounds[ub] >= rank:
                how = f"{q}: upper bound of the bucket holding {stat} (rank {QUANTILES[stat]} x {count})"
                if math.isfinite(ub):
                    return _Hit(ub, src_unit, path, how, qualifier="≤")
                if not finite:
                    break
                return _Hit(finite[-1], src_unit, path, how + "; in +Inf: lower bound", qualifier="≥")
        raise _Miss(f"{self.rel(path)}: {q}: buckets do not reach rank {rank}", final=True)

    LOOKUPS = {"summary": _summary, "manifest": _manifest, "failure_summary": _failure_summary,
               "scenario_file": _scenario_file, "run_file": _run_file, "comparison": _comparison,
               "system_metrics": _system_metrics}

    def _describe(self, kind: str, b: Mapping[str, Any]) -> str:
        """What the binding looks for, for NotMeasured reasons."""
        parts = {k: v for k, v in b.items() if k not in ("label", "unit", "scale", "run")}
        return f"{kind} " + ", ".join(f"{k}={v}" for k, v in parts.items() if k != "from" or v != kind)

    # -- public ----------------------------------------------------------------------------------
    def scalar(self, key: str, b: Mapping[str, Any]) -> Figure:
        kind = binding_kind(b)
        if kind == "cited":
            return Cited(key, str(b["cited"]), str(b["source"]))
        try:
            if kind == "benchmark":
                if "run" in b:
                    raise _Miss("benchmark files belong to no run: drop run:", final=True)
                path = self.results_root / "benchmarks" / str(b["file"])
                return self._measured(key, b, BENCHMARKS_RUN, self._path_hit(path, str(b["path"])))
            lookup = self.LOOKUPS[kind]
        except _Miss as m:
            return NotMeasured(key, f"{self._describe(kind, b)}: {m.reason}", dict(b))
        except DamagedFile as e:
            self._record(e)
            return NotMeasured(key, f"{self._describe(kind, b)}: {self.rel(Path(e.file))} is damaged: {e.reason}",
                               dict(b))
        return self._newest(key, kind, b, lambda run_id, run: self._measured(key, b, run_id, lookup(self, run, b)))

    def _newest(self, key: str, kind: str, b: Mapping[str, Any], attempt: Any) -> Any:
        """``attempt(run_id, run_dir)`` on the candidate runs, newest first: the first result,
        or NotMeasured naming what was looked for (stops early at a final miss)."""
        runs = self._run_candidates(b)
        misses: list[_Miss] = []
        for run_id in runs:
            run = self.results_root / run_id
            if not run.is_dir():
                misses.append(_Miss(f"run {run_id}: no such run in {RESULTS_DIR}"))
                break
            damage = self.run_damage(run_id)
            if damage is not None:
                return NotMeasured(key, f"{self._describe(kind, b)}: {self._damage_text(run_id, damage)}", dict(b))
            try:
                return attempt(run_id, run)
            except _Miss as m:
                misses.append(m)
                if m.final:
                    return NotMeasured(key, f"{self._describe(kind, b)}: {m.reason}", dict(b))
            except DamagedFile as e:
                self._record(e)
                return NotMeasured(key, f"{self._describe(kind, b)}: {self._damage_text(run_id, e)}", dict(b))
        return NotMeasured(key, self._not_found(kind, b, runs, misses), dict(b))

    def _not_found(self, kind: str, b: Mapping[str, Any], runs: list[str], misses: list[_Miss]) -> str:
        """Name what was looked for, and the most telling miss: the newest run that has the
        file (its path or row did not resolve), else the newest run."""
        what = self._describe(kind, b)
        if not runs:
            if "run_of" in b:
                return f"{what}: no run of {b['run_of']!r} in {RESULTS_DIR}"
            if "run_compared" in b:
                return f"{what}: no comparison run compares a {b['run_compared']!r} run"
            if "compares" in b:
                return f"{what}: no comparison run of exactly {', '.join(map(str, b['compares']))}"
            return f"{what}: no runs in {RESULTS_DIR}"
        if "run" in b and not self.newest:
            return f"{what}: {misses[0].reason if misses else 'not found'}"
        with_file = [x for x in misses if not x.no_file]
        if with_file:
            return f"{what}: in none of {len(runs)} runs (newest with the file: {with_file[0].reason})"
        return f"{what}: in none of {len(runs)} runs (newest: {misses[0].reason})"

    def _measured(self, key: str, b: Mapping[str, Any], run_id: str, hit: _Hit) -> Figure:
        if isinstance(hit.value, str) and hit.value.lower().startswith("not measured"):
            # the results file itself says so (e.g. a comparison cell with no source run)
            return NotMeasured(key, f"{self.rel(hit.path)}: {hit.query}: {hit.value}", dict(b))
        try:
            value, unit = convert(hit.value, hit.source_unit, b.get("unit"), b.get("scale"))
        except _Miss as m:
            return NotMeasured(key, f"{self.rel(hit.path)}: {hit.query}: {m.reason}", dict(b))
        query = hit.query
        if b.get("scale") is not None:
            query += f" x {b['scale']}"
        elif unit != hit.source_unit and hit.source_unit and unit:
            query += f" ({hit.source_unit} -> {unit})"
        return Measured(key, value, unit, Provenance(run_id, self.rel(hit.path), query), qualifier=hit.qualifier)

    # -- series ------------------------------------------------------------------------------------
    def _origin_ns(self, scenario_dir: Path) -> int:
        tl = self._json(scenario_dir / "timeline.json")
        ns = tl.get("load_start_ns") if isinstance(tl, Mapping) else None
        if not isinstance(ns, int):
            raise _Miss(f"{self.rel(scenario_dir / 'timeline.json')}: no load_start_ns")
        return ns

    def _history(self, run: Path, b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Path, str]:
        if "scenario" in b:
            sdir = run / "scenarios" / str(b["scenario"])
            d = sdir / "workloads" / str(b["workload"]) if "workload" in b else sdir
        else:
            sdir, d = None, run / "workloads" / str(b["workload"])
        path = history_file(d)
        if path is None:
            raise _Miss(f"{self.rel(d)}: no history.jsonl(.gz)", no_file=True)
        rows = self._jsonl(path)
        if sdir is not None:
            origin = self._origin_ns(sdir)
            how = f"timeline.json load_start_ns={origin}"
        else:
            inv = [r["invoke_ns"] for r in rows if isinstance(r.get("invoke_ns"), int) and r.get("process") != "nemesis"]
            if not inv:
                raise _Miss(f"{self.rel(path)}: no operations")
            origin = min(inv)
            how = f"first invoke_ns={origin}"
        system, _ = get_path(self._json(run / "manifest.json"), "cluster.system")
        classes: dict[Any, str] = {}
        out = []
        for r in rows:
            r = dict(r)
            inv_ns, comp_ns = r.get("invoke_ns"), r.get("complete_ns")
            start = r.get("intended_ns") if r.get("intended_ns") is not None else inv_ns
            r["invoke_s"], r["complete_s"] = _since(inv_ns, origin), _since(comp_ns, origin)
            r["latency_ms"] = (round((comp_ns - start) / 1e6, 6)
                               if isinstance(comp_ns, int) and isinstance(start, int) else None)
            if r.get("f") == "get":
                r["level_class"] = self._level_class(r.get("read_consistency"), system, path, classes)
            out.append(r)
        return out, path, (f"all lines; invoke_s/complete_s = (ns - {how}) / 1e9; latency_ms = complete - (intended "
                           f"or invoke); reads' level_class from the {system} plugin (harness.registry.level_class)")

    def _level_class(self, level: Any, system: Any, path: Path, seen: dict[Any, str]) -> str:
        """What a read at ``level`` guarantees, from the run's system plugin; a level the plugin
        does not know makes the history unreadable for the diagram (a miss naming it)."""
        from harness.registry import level_class

        if level not in seen:
            try:
                seen[level] = level_class(level if isinstance(level, str) else None, system if isinstance(
                    system, str) else None)
            except ConfigError as e:
                raise _Miss(f"{self.rel(path)}: {e.reason}") from None
        return seen[level]

    def _jsonl(self, path: Path) -> list[dict[str, Any]]:
        """The file's records; a missing or unreadable file is a miss naming it."""
        rows, err = read_jsonl(path)
        if err:
            raise _Miss(f"{self.rel(path)}: {err}", no_file=not path.is_file())
        return list(rows or [])

    def _scenario_records(self, run: Path, b: Mapping[str, Any], name: str) -> tuple[list[dict[str, Any]], Path, int]:
        """A scenario's JSONL file (nemesis.jsonl, members.jsonl) and its load-start origin."""
        sdir = run / "scenarios" / str(b["scenario"])
        path = sdir / name
        return self._jsonl(path), path, self._origin_ns(sdir)

    def _nemesis(self, run: Path, b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Path, str]:
        rows, path, origin = self._scenario_records(run, b, "nemesis.jsonl")
        out = []
        for r in rows:
            r = dict(r)
            r["at_s"], r["in_effect_s"] = _since(r.get("invoke_ns"), origin), _since(r.get("complete_ns"), origin)
            out.append(r)
        return out, path, f"all lines; at_s/in_effect_s = (invoke_ns/complete_ns - timeline.json load_start_ns={origin}) / 1e9"

    def _members(self, run: Path, b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Path, str]:
        rows, path, origin = self._scenario_records(run, b, "members.jsonl")
        out = []
        for poll, r in enumerate(rows):
            st, en = _since(r.get("start_ns"), origin), _since(r.get("end_ns"), origin)
            for node in sorted(r.get("members") or {}):
                m = r["members"][node]
                row = {"poll": poll, "node": node, "start_s": st, "end_s": en}
                row.update(m if isinstance(m, Mapping) else {"status": m})
                out.append(row)
        return out, path, f"one row per (poll, node); start_s/end_s after timeline.json load_start_ns={origin}"

    def _hlog(self, run: Path, b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Path, str]:
        base = run / "scenarios" / str(b["scenario"]) if "scenario" in b else run
        path = base / "workloads" / str(b["workload"]) / "hlog" / str(b["file"])
        rows, err = hlog_spectrum(path)
        if err:
            raise _Miss(f"{self.rel(path)}: {err}", no_file=not path.is_file())
        return rows or [], path, "all intervals merged; HdrHistogram percentile distribution (5 ticks per half distance)"

    def _summary_rows(self, run: Path, b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Path, str]:
        path = run / "summary.json"
        data = self._json(path)
        where = dict(b["where"])
        rows = [dict(r) for r in (data.get("rows") or []) if isinstance(r, Mapping) and row_matches(r, where)]
        if not rows:
            raise _Miss(f"{self.rel(path)}: no row rows[{_where_text(where)}]")
        return rows, path, f"rows[{_where_text(where)}]"

    def _run_rows(self, run: Path, b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Path, str]:
        path = run / str(b["file"])
        data = self._json(path)
        rows, err = get_path(data, str(b["path"]))
        if err or not isinstance(rows, list):
            raise _Miss(f"{self.rel(path)}: {b['path']}: {err or 'not a list of rows'}")
        where = dict(b.get("where") or {})
        out = [dict(r) for r in rows if isinstance(r, Mapping) and row_matches(r, where)]
        if not out:
            raise _Miss(f"{self.rel(path)}: no row {b['path']}[{_where_text(where)}]")
        return out, path, f"{b['path']}[{_where_text(where)}]"

    SERIES = {"history": _history, "nemesis": _nemesis, "members": _members, "hlog": _hlog,
              "summary_rows": _summary_rows, "run_rows": _run_rows}

    def _scenario_runs(self, key: str, b: Mapping[str, Any]) -> Series | NotMeasured:
        """One row per run (oldest first) whose scenarios/<scenario>/failure_summary.json
        exists: run_id, how it ran (provider + partition mechanism), the file, and each field
        (None where the run's summary lacks it or says "not measured"). A damaged run among
        the candidates makes the whole series not measured: dropping its row would hide it."""
        name, fields = str(b["scenario"]), dict(b["fields"])
        rows: list[dict[str, Any]] = []
        files: list[str] = []
        for run_id in sorted(self._run_candidates(b)):
            run = self.results_root / run_id
            damage = self.run_damage(run_id) if run.is_dir() else None
            if damage is not None:
                return NotMeasured(key, f"scenario_runs {name}: {self._damage_text(run_id, damage)}", dict(b))
            path = run / "scenarios" / name / "failure_summary.json"
            if not path.is_file():
                continue
            data, _ = self.cache.load(path)
            m, _ = self.cache.load(run / "manifest.json")
            manifest = m if isinstance(m, dict) else {}
            row: dict[str, Any] = {"run_id": run_id, "provider": (manifest.get("cluster") or {}).get("provider"),
                                   "partitions_via": partition_mechanism(manifest), "file": self.rel(path)}
            for col, dotted in fields.items():
                v, e = get_path(data, dotted)
                row[col] = None if e or (isinstance(v, str) and v.startswith("not measured")) else v
            rows.append(row)
            files.append(self.rel(path))
        if not rows:
            return NotMeasured(key, f"scenario_runs {name}: no run has scenarios/{name}/failure_summary.json", dict(b))
        query = (f"one row per run with scenarios/{name}/failure_summary.json ({', '.join(r['run_id'] for r in rows)}); "
                 + "; ".join(f"{c} = {p}" for c, p in fields.items()))
        newest = rows[-1]
        return Series(key, tuple(rows), Provenance(newest["run_id"], newest["file"], query))

    def series(self, key: str, b: Mapping[str, Any]) -> Series | NotMeasured:
        kind = str(b["from"])
        if kind == "scenario_runs":
            return self._scenario_runs(key, b)
        lookup = self.SERIES[kind]

        def attempt(run_id: str, run: Path) -> Series:
            rows, path, query = lookup(self, run, b)
            return Series(key, tuple(rows), Provenance(run_id, self.rel(path), query))

        return self._newest(key, kind, b, attempt)

    # -- footer ------------------------------------------------------------------------------------
    def footer(self, run_ids: list[str]) -> tuple[list[str], dict[str, Measured]]:
        """Footer lines for the runs used, and every value in them as a traced figure."""
        lines: list[str] = []
        figs: dict[str, Measured] = {}
        seen: list[str] = []
        queue = sorted(set(run_ids))
        while queue:
            rid = queue.pop(0)
            if rid in seen:
                continue
            seen.append(rid)
            if rid == BENCHMARKS_RUN:
                continue
            path = self.results_root / rid / "manifest.json"
            damage = self.run_damage(rid) if (self.results_root / rid).is_dir() else None
            m, err = self.cache.load(path) if damage is None else (None, None)
            if damage is not None or err or not isinstance(m, Mapping):
                lines.append(f"run {rid}: " + (self._damage_text(rid, damage) if damage else f"manifest.json {err}"))
                continue
            rel = self.rel(path)

            def rec(name: str, dotted: str, value: Any, unit: str | None = None, scale: float | None = None,
                    how: str = "") -> str:
                v = clean_float(value * scale) if scale is not None else value
                k = f"footer.{rid}.{name}"
                q = dotted + how
                figs[k] = Measured(k, v, unit, Provenance(rid, rel, q))
                return format_value(v, unit)

            parts = [f"run {rid}"]
            if isinstance(m.get("started_utc"), str):
                s = m["started_utc"]
                parts[0] += f", {rec('started_utc', 'started_utc', s[:16].replace('T', ' ') + ' UTC')}"
            src = m.get("source_runs")
            if isinstance(src, Mapping) and src:
                names = [f"{k} {v}" for k, v in sorted(src.items()) if isinstance(v, str)]
                parts.append("compares " + ", ".join(names))
                queue.extend(sorted(v for v in src.values() if isinstance(v, str)))
                queue.sort()
            host = m.get("host")
            if isinstance(host, Mapping):
                hw = []
                if host.get("cpu_model") is not None:
                    hw.append(rec("cpu_model", "host.cpu_model", host["cpu_model"]))
                if isinstance(host.get("logical_cores"), int):
                    hw.append(f"x {rec('logical_cores', 'host.logical_cores', host['logical_cores'])} logical cores")
                if hw:
                    parts.append(" ".join(hw))
                if isinstance(host.get("memory_total_bytes"), (int, float)):
                    mem = rec("memory", "host.memory_total_bytes", host["memory_total_bytes"], "GiB", 1 / 1024 ** 3,
                              " / 2^30")
                    parts.append(f"{mem} RAM")
                disk = []
                if host.get("data_dir_filesystem"):
                    disk.append(rec("data_dir_filesystem", "host.data_dir_filesystem", host["data_dir_filesystem"]))
                if host.get("data_dir_device"):
                    disk.append("on " + rec("data_dir_device", "host.data_dir_device", host["data_dir_device"]))
                if isinstance(host.get("data_dir_rotational"), bool):
                    rec("data_dir_rotational", "host.data_dir_rotational", host["data_dir_rotational"])
                    disk.append("(rotational)" if host["data_dir_rotational"] else "(non-rotational)")
                if disk:
                    parts.append("data dir " + " ".join(disk))
                fs = host.get("fsync_latency")
                if isinstance(fs, Mapping):
                    fl = [f"{p} {rec('fsync_' + p, f'host.fsync_latency.{p}_ms', fs[p + '_ms'], 'ms')}"
                          for p in ("p50", "p99") if isinstance(fs.get(p + "_ms"), (int, float))]
                    if fl:
                        parts.append("fsync " + " / ".join(fl) + " (measured)")
                described = host_description(host)
                if described:
                    rec("host", HOST_QUERY, described)
            lines.append(", ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if parts[1:] else ""))
        self._compared_hosts(seen, figs)
        return lines, figs

    def _compared_hosts(self, runs: list[str], figs: dict[str, Measured]) -> None:
        """``footer.<run>.host`` for a comparison run: the host of the runs it compares, when
        they all ran on one host (same description); otherwise none (no host to name)."""
        for rid in runs:
            m = self._manifest_of(rid) if (self.results_root / rid).is_dir() else None
            src = m.get("source_runs") if isinstance(m, Mapping) else None
            if not isinstance(src, Mapping) or not src or f"footer.{rid}.host" in figs:
                continue
            hosts = [figs.get(f"footer.{s}.host") for _, s in sorted(src.items())]
            if all(hosts) and len({h.value for h in hosts if h}) == 1:
                first = hosts[0]
                assert first is not None
                names = ", ".join(f"{k} {v}" for k, v in sorted(src.items()))
                figs[f"footer.{rid}.host"] = Measured(f"footer.{rid}.host", first.value, None, Provenance(
                    first.provenance.run_id, first.provenance.file,
                    f"{first.provenance.query} (the host of every run {rid} compares: {names})"))


#: what ``host_description`` reads from a manifest
HOST_QUERY = "host.logical_cores, host.cpu_model, host.data_dir_device, host.data_dir_rotational"


def host_description(host: Mapping[str, Any]) -> str | None:
    """The host facts a measurement depends on, in one phrase (CPU, cores, disk): how a
    cited claim names the host that measured it. None when the manifest records none."""
    parts = []
    if isinstance(host.get("logical_cores"), int):
        parts.append(f"{host['logical_cores']} logical cores")
    if isinstance(host.get("cpu_model"), str):
        parts.append(host["cpu_model"])
    if isinstance(host.get("data_dir_device"), str):
        rot = host.get("data_dir_rotational")
        kind = {True: " (rotational)", False: " (non-rotational)"}.get(rot, "") if isinstance(rot, bool) else ""
        parts.append(f"disk {host['data_dir_device']}{kind}")
    return ", ".join(parts) or None


def runs_used(figures: Mapping[str, Figure], series: Mapping[str, Series | NotMeasured]) -> list[str]:
    ids = {f.provenance.run_id for f in figures.values() if isinstance(f, Measured)}
    ids |= {s.provenance.run_id for s in series.values() if isinstance(s, Series)}
    return sorted(ids)


#: a run id inside a text (store.RUN_ID_RE, unanchored)
RUN_ID_IN_TEXT = re.compile(r"\b\d{8}T\d{6}Z-[\w.-]*\w")


def runs_named_in_text(spec: DiagramSpec) -> frozenset[str]:
    """The run ids the spec's prose names: title, purpose, key insight, claims, figure labels and
    every string of its layout (not the bindings' ``run:`` values)."""
    texts: list[str] = [spec.title, spec.purpose, spec.key_insight or ""]
    texts += [c.text for c in spec.claims]
    texts += [str(b.get("label", "")) for b in (*spec.figures.values(), *spec.series.values())]

    def walk(x: Any) -> None:
        if isinstance(x, str):
            texts.append(x)
        elif isinstance(x, Mapping):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(spec.layout)
    return frozenset(m.group(0) for t in texts for m in RUN_ID_IN_TEXT.finditer(t))


def resolve_with(resolver: Resolver, spec: DiagramSpec) -> ResolvedDiagram:
    """Resolve with a shared Resolver (a build resolves many diagrams against one cache)."""
    resolver.named_runs = runs_named_in_text(spec)
    try:
        figures = {k: resolver.scalar(k, b) for k, b in sorted(spec.figures.items())}
        series = {k: resolver.series(k, b) for k, b in sorted(spec.series.items())}
    finally:
        resolver.named_runs = frozenset()
    lines, footer_figs = resolver.footer(runs_used(figures, series))
    d = ResolvedDiagram(spec=spec, figures=figures, series=series, footer=lines)
    d.derived.update(footer_figs)
    return d


def resolve(spec: DiagramSpec, results_root: Path, repo_root: Path) -> ResolvedDiagram:
    """Every figure and series of ``spec`` resolved against ``results_root``."""
    return resolve_with(Resolver(results_root, repo_root), spec)
