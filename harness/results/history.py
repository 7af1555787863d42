"""The results history across runs: every published measurement run as one tidy table.

One row per observation (pandas, ``history_frame``): a run, a series, a metric and its value.
A series is what may be compared across runs, and nothing else: the same **hardware
fingerprint** (``FINGERPRINT_FIELDS``: CPU model, logical and physical cores, memory, the data
directory's disk model, whether it spins, its filesystem and mount options, the class of its
measured fsync latency, the CI runner's label) and the same system, provider, node count, tool,
workload, operation, value size, read and write level, concurrency and load mode
(``SERIES_KEY``). Runs on different fingerprints are never in one series: a new host, or a
host fact an older manifest did not record ("not recorded"), starts a new one. Software
versions and the harness commit are attributes of each row (shown at every change), never part
of the key, since a version change is exactly what a change point should be able to show.
So is a run's ``batch`` (``harness.results.batch``: runs repeated on fresh clusters that
together make one point of a series).

Metrics (``METRICS``, each with the direction in which it is better):

- from each run's ``summary.json`` (the rows of ``summary.csv``), ``ok`` outcomes only:
  throughput and p50/p99/p99.9 latency. These percentiles come from the run's merged HDR
  histogram (``harness.recorder.summary``), never from averaging per-second percentiles.
- from each scenario's ``failure_summary.json``: election time, the unavailability window of
  writes, recovery after the heal, lost and late writes, and per read level the share of
  reads that were stale. A figure the summary marks "not measured: ..." gives no row.

What is read and what is not: ``list_runs`` finds every run directory; complete measurement
runs are read (a damaged one is an error naming its file, never skipped); comparison runs hold
no measurement of their own; incomplete, crashed and in-progress runs are left out and listed
in ``History.excluded`` with the reason.

Example::

    h = load_history([Path("results")])
    h.frame.groupby("series").size()       # points per series
    h.frame[h.frame.metric == "p99_ms"]    # one metric, every run
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from harness.errors import DamagedFile
from harness.results.batch import of_manifest as batch_of_manifest
from harness.results.store import COMPLETE, DAMAGED, Run, dig, list_runs, read_json, read_run

NOT_RECORDED = "not recorded"

#: (column, how to read it from a manifest). Missing facts become NOT_RECORDED.
FINGERPRINT_FIELDS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("cpu_model", lambda m: dig(m, "host.cpu_model")),
    ("logical_cores", lambda m: dig(m, "host.logical_cores")),
    ("physical_cores", lambda m: dig(m, "host.physical_cores")),
    ("threads_per_core", lambda m: dig(m, "host.threads_per_core")),
    ("memory_gib", lambda m: memory_gib(dig(m, "host.memory_total_bytes"))),
    ("disk_model", lambda m: dig(m, "host.data_dir_disk_model")),
    ("rotational", lambda m: dig(m, "host.data_dir_rotational")),
    ("filesystem", lambda m: dig(m, "host.data_dir_filesystem")),
    ("mount_options", lambda m: dig(m, "host.data_dir_mount_options")),
    ("fsync_class", lambda m: fsync_class(dig(m, "host.fsync_latency.p10_ms"))),
    ("runner_label", lambda m: runner_label(dig(m, "host"))),
)

#: What identifies a series besides its fingerprint (and its metric).
SERIES_KEY: tuple[str, ...] = ("fingerprint", "system", "provider", "nodes", "tool", "workload", "op",
                               "value_size", "level", "write_level", "concurrency", "load_mode", "metric")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    better: str  # "higher" | "lower"
    description: str


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("throughput_ops_s", "ops/s", "higher", "completed ok operations per second over the measured window"),
    Metric("p50_ms", "ms", "lower", "median latency of ok operations (merged HDR histogram)"),
    Metric("p99_ms", "ms", "lower", "99th percentile latency of ok operations (merged HDR histogram)"),
    Metric("p999_ms", "ms", "lower", "99.9th percentile latency of ok operations (merged HDR histogram)"),
    Metric("election_s", "s", "lower", "partition: seconds until a majority member led with a higher term "
                                       "(an upper bound, from member polls)"),
    Metric("unavailability_s", "s", "lower", "partition: the longest gap without an ok write on the side that "
                                             "kept a majority"),
    Metric("recovery_s", "s", "lower", "partition: seconds after the heal until every node served every "
                                       "operation class again"),
    Metric("lost_writes", "writes", "lower", "acknowledged writes no later read saw"),
    Metric("late_writes", "writes", "lower", "writes reported failed that later reads saw"),
    Metric("stale_read_share", "share", "lower", "stale reads / reads at one read level"),
)}

_FAILURE_PATHS = (("election_s", "partition.election.elected_after_s"),
                  ("unavailability_s", "partition.unavailability.writes.gap_s"),
                  ("recovery_s", "partition.recovery_after_heal.full_service_after_s"),
                  ("lost_writes", "lost_writes.count"),
                  ("late_writes", "late_writes.count"))

COLUMNS: tuple[str, ...] = (
    "run_id", "started_utc", "batch", "series", *SERIES_KEY, "value", "unit", "better", "duration_s",
    "harness_saturated", "harness_commit", "harness_dirty", "software", *(f for f, _ in FINGERPRINT_FIELDS),
    "source")
"""``batch``: the id of the batch the run belongs to (``harness.results.batch``), None outside
any; ``duration_s``: a summary row's measured window in seconds (None for failure figures);
``source``: the file a row was read from, relative to its results root."""


#: Integer columns that some rows leave empty (a scenario's figures have no value size).
INT_COLUMNS: tuple[str, ...] = ("nodes", "value_size", "concurrency")


def memory_gib(total_bytes: Any) -> int | None:
    """Memory in whole GiB (a kernel update moves MemTotal by a few MiB, not by a GiB)."""
    return round(total_bytes / 2**30) if isinstance(total_bytes, int) and not isinstance(total_bytes, bool) else None


def fsync_class(p10_ms: Any) -> str | None:
    """The decade of the measured fdatasync 10th percentile: "<0.1 ms" (NVMe with power-loss
    protection, a write-back cache), "0.1-1 ms", "1-10 ms", ">=10 ms" (a spinning disk); None
    if not measured. A class, not the figure, so runs on one disk share a fingerprint despite
    its noise; and the 10th percentile, not the median, because what else runs on the host
    moves the median by decades (committed runs of this 2-core host: fdatasync medians from
    under 0.1 ms to 3.4 ms on one virtual disk) while the fast end shows what the device can do."""
    if not isinstance(p10_ms, (int, float)) or isinstance(p10_ms, bool):
        return None
    for bound, label in ((0.1, "<0.1 ms"), (1.0, "0.1-1 ms"), (10.0, "1-10 ms")):
        if p10_ms < bound:
            return label
    return ">=10 ms"


def runner_label(host: Any) -> str | None:
    """The CI runner's label; "none" for a host that recorded having none (a run by hand),
    None (not recorded) for a manifest older than the field."""
    if not isinstance(host, dict) or "runner_label" not in host:
        return None
    return str(host["runner_label"]) if host["runner_label"] else "none"


def fingerprint(manifest: dict[str, Any]) -> dict[str, Any]:
    """The hardware facts that decide which runs may be compared (NOT_RECORDED when absent)."""
    out = {}
    for name, read in FINGERPRINT_FIELDS:
        v = read(manifest)
        out[name] = NOT_RECORDED if v is None else v
    return out


def fingerprint_id(fp: dict[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the fingerprint's canonical JSON."""
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]


def software_line(manifest: dict[str, Any]) -> str:
    """``name version`` of every piece of software the manifest names, sorted."""
    sw = manifest.get("software")
    if not isinstance(sw, dict):
        return NOT_RECORDED
    parts = [f"{k} {v['version']}" for k, v in sorted(sw.items()) if isinstance(v, dict) and v.get("version")]
    return "; ".join(parts) or NOT_RECORDED


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _series_id(row: dict[str, Any]) -> str:
    return "|".join("" if row[k] is None else str(row[k]) for k in SERIES_KEY)


@dataclass
class History:
    """The table and what was left out of it (run id, path, reason)."""

    rows: list[dict[str, Any]]
    excluded: list[tuple[str, str, str]] = field(default_factory=list)
    runs_read: int = 0
    run_paths: dict[str, Path] = field(default_factory=dict)
    """The directory of every run read, by run id."""

    @property
    def frame(self) -> Any:
        """The rows as a pandas DataFrame with ``COLUMNS`` (pandas imported here only)."""
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=list(COLUMNS))
        # Whole numbers stay whole where a failure row has none (pandas would make them floats).
        return df.astype({c: "Int64" for c in INT_COLUMNS})


def _base(run: Run, fp: dict[str, Any], fp_id: str) -> dict[str, Any]:
    m = run.manifest
    commit = m.get("harness") if isinstance(m.get("harness"), dict) else {}
    return {"run_id": run.run_id, "started_utc": m.get("started_utc"),
            "batch": batch_of_manifest(m, run.path / "manifest.json"), "fingerprint": fp_id,
            "harness_commit": commit.get("commit") or NOT_RECORDED, "harness_dirty": commit.get("dirty"),
            "software": software_line(m), **fp}


def measurement_rows(run: Run) -> Iterator[dict[str, Any]]:
    """The run's summary rows (ok outcomes) and failure summaries as history rows."""
    fp = fingerprint(run.manifest)
    base = _base(run, fp, fingerprint_id(fp))
    cluster = run.manifest.get("cluster") if isinstance(run.manifest.get("cluster"), dict) else {}
    summary_file = f"{run.path.name}/summary.json"
    for row in run.results["rows"]:
        if row.get("outcome") != "ok":
            continue
        key = {"system": row.get("system"), "provider": row.get("provider"), "nodes": row.get("nodes"),
               "tool": row.get("tool"), "workload": row.get("workload") or "", "op": row.get("op"),
               "value_size": row.get("value_size"), "level": row.get("read_consistency") or "",
               "write_level": row.get("write_consistency") or "", "concurrency": row.get("concurrency"),
               "load_mode": row.get("load_mode") or ""}
        for name in ("throughput_ops_s", "p50_ms", "p99_ms", "p999_ms"):
            v = _number(row.get(name))
            if v is not None:
                yield _row(base, key, name, v, bool(row.get("harness_saturated")), summary_file,
                           _number(row.get("duration_s")))
    for fs_path in sorted((run.path / "scenarios").glob("*/failure_summary.json")):
        yield from failure_rows(base, cluster, fs_path, fs_path.relative_to(run.path.parent).as_posix())


def failure_rows(base: dict[str, Any], cluster: dict[str, Any], path: Path, source: str) -> Iterator[dict[str, Any]]:
    """History rows of one ``failure_summary.json`` (DamagedFile when it cannot be read);
    ``source`` names it in the rows (relative to the results root)."""
    fs = read_json(path)
    key = {"system": fs.get("system"), "provider": cluster.get("provider") or NOT_RECORDED,
           "nodes": fs.get("nodes"), "tool": "harness", "workload": str(fs.get("scenario") or path.parent.name),
           "op": "scenario", "value_size": None, "level": "", "write_level": "", "concurrency": None,
           "load_mode": ""}
    for name, dotted in _FAILURE_PATHS:
        v = _number(dig(fs, dotted))
        if v is not None:
            yield _row(base, key, name, v, None, source)
    by_level = dig(fs, "stale_reads.evidence.by_read_consistency")
    if isinstance(by_level, dict):
        for level, d in sorted(by_level.items()):
            reads, stale = (_number(d.get("reads")), _number(d.get("stale"))) if isinstance(d, dict) else (None, None)
            if reads and stale is not None:
                yield _row(base, {**key, "level": level}, "stale_read_share", stale / reads, None, source)


def _row(base: dict[str, Any], key: dict[str, Any], metric: str, value: float, saturated: bool | None,
         source: str, duration_s: float | None = None) -> dict[str, Any]:
    m = METRICS[metric]
    row = {**base, **key, "metric": metric, "value": value, "unit": m.unit, "better": m.better,
           "duration_s": duration_s, "harness_saturated": saturated, "source": source}
    row["series"] = _series_id(row)
    return row


def load_history(roots: Sequence[Path]) -> History:
    """Every complete measurement run under each of ``roots`` (results directories), oldest
    first; a run id found under two roots is read once (the first root wins) and the second
    copy is listed as excluded."""
    h = History([])
    seen: dict[str, Path] = {}
    for root in roots:
        for entry in list_runs(Path(root)):
            if entry.state != COMPLETE:
                if entry.state == DAMAGED:
                    read_run(entry.path)  # raises the DamagedFile naming the file and the reason
                    raise DamagedFile(str(entry.path), entry.why)  # read_run passed: it changed since listed
                h.excluded.append((entry.run_id, str(entry.path), f"{entry.state.lower()}: {entry.why}"))
                continue
            assert entry.run is not None
            if entry.run_id in seen:
                h.excluded.append((entry.run_id, str(entry.path), f"the same run as {seen[entry.run_id]}"))
                continue
            seen[entry.run_id] = entry.path
            if entry.run.kind != "measurement":
                h.excluded.append((entry.run_id, str(entry.path), f"a {entry.run.kind} run: no measurement of its own"))
                continue
            h.rows.extend(measurement_rows(entry.run))
            h.runs_read += 1
            h.run_paths[entry.run_id] = entry.path
    h.rows.sort(key=lambda r: (r["started_utc"] or "", r["run_id"], r["series"]))
    return h
