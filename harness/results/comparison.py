"""The etcd-vs-Cassandra comparison (the spec's Diagram 3) built from two published runs.

Every cell is a measurement with its provenance: the run id, the file inside the run and the
query that picked it (``{"workload": ..., "op": ..., "outcome": "ok", "stat": "p99_ms"}``),
or ``"not measured: <reason>"``. Nothing is copied from the spec.

Output, a run directory of its own (``results/<ts>-comparison/``, published atomically):
``comparison.csv`` (tidy: one row per metric x system) and ``comparison.json`` (the same, plus
both runs' hardware and software), and a ``manifest.json`` naming the source runs.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.results.store import RunDirectory, dig, git_commit, read_json, read_run

COLUMNS = ["metric", "system", "value", "unit", "run_id", "file", "query", "note"]


@dataclass(frozen=True)
class RowQuery:
    """One summary row (harness tool) and one of its columns."""

    workload: str
    op: str
    stat: str
    outcome: str = "ok"

    def pick(self, rows: list[dict[str, Any]]) -> Any:
        hits = [r for r in rows if r.get("tool") == "harness" and r.get("workload") == self.workload
                and r.get("op") == self.op and r.get("outcome") == self.outcome]
        if len(hits) != 1:
            return f"not measured: {len(hits)} summary rows match {vars(self)}"
        v = hits[0].get(self.stat)
        return v if v not in (None, "") else f"not measured: {self.stat} is empty in the matching row"


def _summary_cell(run: Path, q: RowQuery) -> dict[str, Any]:
    rows = read_json(run / "summary.json")["rows"]  # checked by read_run in comparison_rows
    return {"value": q.pick(rows), "file": "summary.json", "query": json.dumps(vars(q), sort_keys=True)}


def _json_cell(run: Path, file: str, path: list[Any], describe: str) -> dict[str, Any]:
    """A value inside a JSON file of the run, by key path. A file the run lacks is "not
    measured"; a file it has but that cannot be read is DamagedFile, never "not measured"."""
    p = run / file
    if not p.exists():
        return {"value": f"not measured: {file} is not in this run", "file": file, "query": describe}
    cur: Any = read_json(p, expect=object)
    for k in path:
        if callable(k):
            cur = k(cur)
        elif isinstance(cur, dict) and k in cur:
            cur = cur[k]
        elif isinstance(cur, list) and isinstance(k, int) and 0 <= k < len(cur):
            cur = cur[k]
        else:
            return {"value": f"not measured: {file} has no {describe}", "file": file, "query": describe}
        if cur is None:
            return {"value": f"not measured: {file} has no {describe}", "file": file, "query": describe}
    return {"value": cur, "file": file, "query": describe}


def _objects(doc: Any, key: str) -> list[dict[str, Any]]:
    """The objects in the list ``doc[key]`` (nothing when ``doc`` is not an object or has no such list)."""
    items = doc.get(key) if isinstance(doc, dict) else None
    return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def _partition_window(doc: Any) -> Any:
    return next((w for w in _objects(doc, "windows") if w.get("fault") == "partition"), None)


def _available_side(w: Any) -> Any:
    side = w.get("available_side") if isinstance(w, dict) else None
    return dig(w, f"during.{side}") if isinstance(side, str) else None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _ok_share(d: Any) -> Any:
    """ok / attempted of a counts object; None (not measured) unless both are finite numbers, attempted > 0."""
    ok, attempted = (d.get("ok"), d.get("attempted")) if isinstance(d, dict) else (None, None)
    return round(ok / attempted, 4) if _is_number(ok) and _is_number(attempted) and attempted > 0 else None


def _verdict(workload: str) -> Callable[[Any], Any]:
    def pick(doc: Any) -> Any:
        for v in _objects(doc, "verdicts"):
            if v.get("workload") == workload and v.get("checker") == "linearizability":
                return v.get("verdict")
        return None
    return pick


def _visibility(condition: str, w: str, delay: float) -> Callable[[Any], Any]:
    def pick(doc: Any) -> Any:
        for r in _objects(doc, "rows"):
            if (r.get("condition"), r.get("write_consistency"), r.get("delay_ms")) == (condition, w, delay):
                return r.get("p_visible")
        return None
    return pick


_ETCD_SC = "scenarios/etcd-leader-in-minority/failure_summary.json"
_CASS_SC = "scenarios/cassandra-partition-2-3/failure_summary.json"
_MB = ["partition", "minority_behaviour"]
_ETCD_AV = "scenarios/etcd-leader-in-minority/availability.json"
_CASS_AV = "scenarios/cassandra-partition-2-3/availability.json"
_CASS_KILL = "scenarios/cassandra-kill-during-writes/failure_summary.json"

#: metric -> unit, etcd cell, Cassandra cell (each: run dir -> cell), a note on what is compared.
METRICS: list[tuple[str, str, Callable[[Path], dict[str, Any]], Callable[[Path], dict[str, Any]], str]] = [
    *[(f"write_latency_{s}_256B", "ms", (lambda r, s=s: _summary_cell(r, RowQuery("etcd-put-256B", "put", f"{s}_ms"))),
       (lambda r, s=s: _summary_cell(r, RowQuery("cassandra-put-256B", "put", f"{s}_ms"))),
       "closed loop, 32 clients, 1000 keys; etcd Raft write vs Cassandra QUORUM write (RF 3)")
      for s in ("p50", "p99", "p999")],
    *[(f"read_latency_{s}_256B", "ms",
       (lambda r, s=s: _summary_cell(r, RowQuery("etcd-get-linearizable-256B", "get", f"{s}_ms"))),
       (lambda r, s=s: _summary_cell(r, RowQuery("cassandra-get-quorum-256B", "get", f"{s}_ms"))),
       "closed loop, 32 clients; etcd linearizable read vs Cassandra QUORUM read")
      for s in ("p50", "p99", "p999")],
    *[(f"write_latency_{s}_1MiB", "ms", (lambda r, s=s: _summary_cell(r, RowQuery("etcd-put-1MiB", "put", f"{s}_ms"))),
       (lambda r, s=s: _summary_cell(r, RowQuery("cassandra-put-1MiB", "put", f"{s}_ms"))),
       "closed loop, 4 clients, 32 keys, 1 MiB values") for s in ("p50", "p99")],
    ("write_throughput_256B", "ops/s", lambda r: _summary_cell(r, RowQuery("etcd-put-256B", "put", "throughput_ops_s")),
     lambda r: _summary_cell(r, RowQuery("cassandra-put-256B", "put", "throughput_ops_s")),
     "same host, same 32 clients: on a 2-core host both are CPU-bound (see harness_saturated)"),
    ("read_throughput_256B", "ops/s",
     lambda r: _summary_cell(r, RowQuery("etcd-get-linearizable-256B", "get", "throughput_ops_s")),
     lambda r: _summary_cell(r, RowQuery("cassandra-get-quorum-256B", "get", "throughput_ops_s")),
     "etcd linearizable vs Cassandra QUORUM reads"),
    ("weak_read_latency_p50_256B", "ms",
     lambda r: _summary_cell(r, RowQuery("etcd-get-serializable-256B", "get", "p50_ms")),
     lambda r: _summary_cell(r, RowQuery("cassandra-mixed-256B-one", "get", "p50_ms")),
     "etcd serializable (local) read vs Cassandra ONE read (mixed with ONE writes)"),
    ("register_linearizable", "verdict", lambda r: _json_cell(r, _ETCD_SC, ["linearizability", "linearizable_reads",
                                                                           "verdict"], "linearizable-read verdict"),
     lambda r: _json_cell(r, "summary.json", [_verdict("cassandra-lwt-register")], "LWT register verdict"),
     "etcd: puts/cas + linearizable reads (partition scenario); Cassandra: LWT cas + SERIAL reads"),
    ("weak_register_linearizable", "verdict",
     lambda r: _json_cell(r, _ETCD_SC, ["linearizability", "serializable_reads", "verdict"], "serializable verdict"),
     lambda r: _json_cell(r, "summary.json", [_verdict("cassandra-one-register")], "ONE/ONE register verdict"),
     "etcd serializable reads vs Cassandra ONE/ONE: the cheap read, judged"),
    ("p_read_sees_write_at_0ms_ONE", "probability",
     lambda r: {"value": "not measured: etcd has no per-request write level (every acknowledged write is committed)",
                "file": "", "query": ""},
     lambda r: _json_cell(r, "visibility/visibility.json", [_visibility("normal", "ONE", 0.0)], "ONE/ONE t=0"),
     "t-visibility: a read at R issued right after a write at W was acknowledged"),
    ("minority_side_writes_served", "bool", lambda r: _json_cell(r, _ETCD_SC, [*_MB, "writes", "served"], "minority writes"),
     lambda r: _json_cell(r, _CASS_SC, [*_MB, "writes_at_QUORUM", "served"], "minority QUORUM writes"),
     "during a {2} | {3} partition, clients on both sides (etcd: leader on the 2-node side; Cassandra: QUORUM)"),
    ("minority_side_writes_ok_share", "share",
     lambda r: _json_cell(r, _ETCD_SC, [*_MB, "writes", _ok_share], "minority writes ok / attempted"),
     lambda r: _json_cell(r, _CASS_SC, [*_MB, "writes_at_QUORUM", _ok_share], "minority QUORUM writes ok / attempted"),
     "share of the minority side's writes that succeeded during the partition (Cassandra: the keys with 2 of "
     "their 3 replicas on that side)"),
    ("minority_side_weak_writes_served", "bool",
     lambda r: {"value": "not measured: etcd has no weaker write than a committed one", "file": "", "query": ""},
     lambda r: _json_cell(r, _CASS_SC, [*_MB, "writes_at_ONE", "served"], "minority ONE writes"),
     "Cassandra ONE writes on the 2-node side"),
    ("minority_side_weak_reads_served", "bool",
     lambda r: _json_cell(r, _ETCD_SC, [*_MB, "serializable_reads", "served"], "minority serializable reads"),
     lambda r: _json_cell(r, _CASS_SC, [*_MB, "reads_at_ONE", "served"], "minority ONE reads"),
     "etcd serializable reads vs Cassandra ONE reads on the 2-node side"),
    ("majority_side_writes_ok_share", "share",
     lambda r: _json_cell(r, _ETCD_AV, [_partition_window, _available_side, "write", _ok_share],
                          "majority writes ok / attempted during the partition"),
     lambda r: _json_cell(r, _CASS_AV, [_partition_window, _available_side, "write_QUORUM", _ok_share],
                          "majority QUORUM writes ok / attempted during the partition"),
     "failure tolerance, measured: with 2 of 5 nodes cut off, the share of the 3-node side's writes that "
     "succeeded (etcd: includes the election gap; Cassandra: fails for keys with 2 replicas on the other side)"),
    ("writes_ok_share_one_node_killed_QUORUM", "share",
     lambda r: {"value": "not measured: the etcd suite kills no node", "file": "", "query": ""},
     lambda r: _json_cell(r, _CASS_KILL, ["process_faults", "windows", 0, "others_served", "write_QUORUM", _ok_share],
                          "QUORUM writes ok / attempted while one node was down"),
     "one of 5 nodes SIGKILLed for 20 s during writes (RF 3)"),
    ("writes_ok_share_one_node_killed_ALL", "share",
     lambda r: {"value": "not measured: the etcd suite kills no node", "file": "", "query": ""},
     lambda r: _json_cell(r, _CASS_KILL, ["process_faults", "windows", 0, "others_served", "write_ALL", _ok_share],
                          "ALL writes ok / attempted while one node was down"),
     "ALL succeeds only for keys none of whose replicas is the dead node"),
    ("hint_files_replayed_after_restart", "count",
     lambda r: {"value": "not measured: etcd has no hinted handoff (a returning member catches up from the log)",
                "file": "", "query": ""},
     lambda r: _json_cell(r, _CASS_KILL, ["process_faults", "windows", 0, "hints_replayed_to_it", "files"],
                          "hints files replayed to the restarted node (node logs)"),
     "Cassandra's own log lines: hints the other nodes stored for the dead node and replayed to it"),
    ("majority_unavailable_after_cut", "s",
     lambda r: _json_cell(r, _ETCD_SC, ["partition", "unavailability", "majority_first_ok_write_after_s"],
                          "first ok majority write after the cut"),
     lambda r: _json_cell(r, _CASS_SC, ["partition", "unavailability", "majority_first_ok_write_after_s"],
                          "first ok majority write after the cut"),
     "seconds from the cut to the first successful write on the 3-node side (Cassandra: QUORUM)"),
    ("lost_writes_after_heal", "count",
     lambda r: _json_cell(r, _ETCD_SC, ["lost_writes", "count"], "lost writes"),
     lambda r: _json_cell(r, _CASS_SC, ["lost_writes", "count"], "lost writes"),
     "acknowledged writes missing from the final reads after the heal"),
    ("late_writes_after_heal", "count",
     lambda r: _json_cell(r, _ETCD_SC, ["late_writes", "count"], "late writes"),
     lambda r: _json_cell(r, _CASS_SC, ["late_writes", "count"], "late writes"),
     "writes that timed out at the client and were seen to take effect later"),
]


def _host(run: Path) -> dict[str, Any]:
    m = read_json(run / "manifest.json")
    return {"run_id": m.get("run_id"), **{k: dig(m, f"host.{k}") for k in ("cpu_model", "logical_cores",
                                                                             "memory_total_bytes", "data_dir_filesystem")},
            "fsync_p50_ms": dig(m, "host.fsync_latency.p50_ms"), "nodes": dig(m, "cluster.nodes"),
            "software": m.get("software"), "harness": m.get("harness"), "time_to_ready_s": dig(m, "cluster.time_to_ready_s")}


def comparison_rows(runs: dict[str, Path | None]) -> list[dict[str, Any]]:
    """Rows for every metric and system; a missing run makes its cells 'not measured'.

    Each run is read first (:func:`read_run`): a damaged run is DamagedFile naming the file,
    never a table of 'not measured'."""
    for run in runs.values():
        if run is not None:
            read_run(run)
    out = []
    for metric, unit, etcd_q, cass_q, note in METRICS:
        for system, q in (("etcd", etcd_q), ("cassandra", cass_q)):
            run = runs.get(system)
            if run is None:
                cell = {"value": f"not measured: no complete {system} run", "file": "", "query": ""}
            else:
                cell = q(run)
            out.append({"metric": metric, "system": system, "value": cell["value"], "unit": unit,
                        "run_id": run.name if run is not None else "", "file": cell["file"], "query": cell["query"],
                        "note": note})
    return out


def write_comparison(runs: dict[str, Path | None], root: Path | None = None) -> Path:
    """Publish ``results/<ts>-comparison/`` from the runs (system -> published run dir)."""
    rows = comparison_rows(runs)
    rd = RunDirectory.create("comparison", root)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    (rd.path / "comparison.csv").write_text(buf.getvalue())
    hosts = {s: _host(p) for s, p in runs.items() if p is not None}
    rd.write_json("comparison.json", {"schema_version": 1, "columns": COLUMNS, "rows": rows, "runs": hosts})
    rd.write_json("manifest.json", {"schema_version": 1, "run_id": rd.run_id, "kind": "comparison",
                                    "source_runs": {s: (p.name if p else None) for s, p in runs.items()},
                                    "harness": git_commit()})
    return rd.complete()


def format_comparison(rows: list[dict[str, Any]]) -> str:
    by: dict[str, dict[str, Any]] = {}
    for r in rows:
        by.setdefault(r["metric"], {"unit": r["unit"]})[r["system"]] = r["value"]
    lines = [f"{'metric':40s} {'unit':12s} {'etcd':>22s} {'cassandra':>22s}"]
    for m, d in by.items():
        def fmt(v: Any) -> str:
            s = str(v)
            return "not measured" if s.startswith("not measured") else s
        lines.append(f"{m:40s} {d['unit']:12s} {fmt(d.get('etcd')):>22s} {fmt(d.get('cassandra')):>22s}")
    return "\n".join(lines)
