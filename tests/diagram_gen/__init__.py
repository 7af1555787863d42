"""Tiny fixture results trees and specs for the diagram_gen tests.

Built in tmp_path (never the committed runs, so expected values do not move when new runs
are committed). Three runs, oldest to newest:

- RUN_A ``20260101T100000Z-etcd``: summary (put 256 B p99 12.5 ms, plus a second matching
  put row from a mixed workload: the shorthand is ambiguous there), a put workload with a
  history, an HDR log and etcd_metrics.json, and scenario ``s1`` (failure summary, timeline,
  history, nemesis, members, availability);
- RUN_B ``20260102T100000Z-etcd``: summary only (put 256 B p99 20.0 ms), newer fsync figures;
- RUN_C ``20260103T100000Z-comparison``: comparison.json comparing RUN_B;
plus ``benchmarks/checker-speed.json`` and an in-progress ``.tmp-...`` run that must be ignored.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

RUN_A = "20260101T100000Z-etcd"
RUN_B = "20260102T100000Z-etcd"
RUN_C = "20260103T100000Z-comparison"


def _w(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))


def _jsonl(path: Path, rows: list[dict[str, Any]], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text)


def _manifest(run: str, started: str, fsync_p99: float) -> dict[str, Any]:
    return {"run_id": run, "started_utc": started, "scenario": {"name": "etcd", "system": "etcd"},
            "host": {"cpu_model": "TestCPU", "logical_cores": 4, "memory_total_bytes": 8 * 1024 ** 3,
                     "data_dir_filesystem": "ext4", "data_dir_device": "/dev/sda", "data_dir_rotational": False,
                     "fsync_latency": {"p50_ms": 0.5, "p99_ms": fsync_p99}},
            "software": {"etcd": {"version": "3.6.16"}},
            "cluster": {"system": "etcd", "nodes": 5, "provider": "netns",
                        "config": {"election_timeout_ms": 1000, "heartbeat_ms": 100}}}


def _row(**kw: Any) -> dict[str, Any]:
    base = {"system": "etcd", "tool": "harness", "op": "put", "value_size": 256, "outcome": "ok",
            "read_consistency": "", "concurrency": 16}
    base.update(kw)
    return base


def _hist(buckets: list[tuple[Any, int]], total: float) -> dict[str, Any]:
    return {"buckets": [list(b) for b in buckets], "count": buckets[-1][1], "sum": total}


def make_results(root: Path) -> Path:
    """Write the fixture results tree under ``root / "results"`` and return it."""
    res = root / "results"
    a, b, c = res / RUN_A, res / RUN_B, res / RUN_C
    # -- run A ----------------------------------------------------------------------------------
    _w(a / "manifest.json", _manifest(RUN_A, "2026-01-01T10:00:00.123+00:00", 2.25))
    _w(a / "summary.json", {"rows": [
        _row(workload="etcd-put-256B", p50_ms=5.0, p99_ms=12.5, throughput_ops_s=800.0),
        _row(workload="etcd-mixed", p50_ms=1.0, p99_ms=3.0, throughput_ops_s=50.0, concurrency=4),
        _row(workload="etcd-put-256B", tool="etcd-benchmark", p50_ms=4.0, p99_ms=9.0, throughput_ops_s=900.0),
    ]})
    w = a / "workloads" / "etcd-put-256B"
    _jsonl(w / "history.jsonl", [
        {"i": 0, "process": 0, "f": "put", "key": "k1", "value": "0:1", "invoke_ns": 2_000_000_000,
         "complete_ns": 2_010_000_000, "intended_ns": None, "type": "ok"},
        {"i": 1, "process": 1, "f": "put", "key": "k2", "value": "1:1", "invoke_ns": 1_000_000_000,
         "complete_ns": 1_020_000_000, "intended_ns": None, "type": "ok"},
        {"i": 2, "process": 2, "f": "put", "key": "k3", "value": "2:1", "invoke_ns": 3_000_000_000,
         "complete_ns": None, "intended_ns": None, "type": "info"},
    ])
    from harness.recorder.histograms import new_histogram, write_hlog

    h = new_histogram()
    for _ in range(99):
        h.record_value(1_000_000)  # 1 ms
    h.record_value(10_000_000)     # 10 ms
    (w / "hlog").mkdir(parents=True, exist_ok=True)
    write_hlog(w / "hlog" / "put.ok.hlog", [(0, h)], 1_767_261_600.0, 1.0)
    fsync = "etcd_disk_wal_fsync_duration_seconds"
    _w(w / "etcd_metrics.json", {"schema_version": 1, "leader": "n2", "nodes": {
        "n1": {fsync: _hist([(0.001, 10), (0.002, 10), (0.004, 10), (0.008, 10), ("+Inf", 20)], 0.5)},
        "n2": {fsync: _hist([(0.001, 50), (0.002, 90), (0.004, 99), (0.008, 100), ("+Inf", 100)], 0.15)},
    }})
    s = a / "scenarios" / "s1"
    _w(s / "timeline.json", {"load_start_ns": 10_000_000_000, "end_s": 60.0})
    _w(s / "failure_summary.json", {
        "schema_version": 2,
        "partition": {"minority": ["n1", "n2"], "election": {"elected_after_s": 1.25},
                      "minority_behaviour": {"writes": {"ok": 0, "served": False, "first_ok_after_fault_s": None},
                                             "staleness": {"weak": {"serializable": {"stale_share": 0.25}}}}},
        "leader_changes": [{"t_s": -0.5, "leader": "n1"}, {"t_s": 11.25, "leader": "n3"}],
        "late_writes": {"count": 2},
        "lost_writes": {"count": 0},
    })
    _w(s / "availability.json", {"windows": [{"duration_s": 30.0}]})
    _jsonl(s / "history.jsonl.gz", [
        {"i": 0, "process": 0, "node": "n1", "f": "get", "invoke_ns": 10_500_000_000, "complete_ns": 10_600_000_000,
         "intended_ns": 10_400_000_000, "type": "ok"},
        {"i": 1, "process": 1, "node": "n3", "f": "put", "invoke_ns": 21_000_000_000, "complete_ns": None,
         "intended_ns": None, "type": "info"},
    ], gz=True)
    _jsonl(s / "nemesis.jsonl", [{"i": 0, "process": "nemesis", "f": "partition", "invoke_ns": 20_000_000_000,
                                  "complete_ns": 20_250_000_000, "type": "ok"}])
    _jsonl(s / "members.jsonl", [{"start_ns": 9_000_000_000, "end_ns": 9_500_000_000, "members": {
        "n2": {"leader": "n1", "raft_term": 2, "is_leader": False},
        "n1": {"leader": "n1", "raft_term": 2, "is_leader": True}}}])
    # -- run B (newer) --------------------------------------------------------------------------
    _w(b / "manifest.json", _manifest(RUN_B, "2026-01-02T10:00:00+00:00", 3.5))
    _w(b / "summary.json", {"rows": [_row(workload="etcd-put-256B", p50_ms=6.0, p99_ms=20.0, throughput_ops_s=700.0)]})
    _w(b / "visibility" / "visibility.json", {"rows": [
        {"write_consistency": "ONE", "delay_ms": 0, "p_visible": 0.5},
        {"write_consistency": "ONE", "delay_ms": 10, "p_visible": 1.0},
        {"write_consistency": "QUORUM", "delay_ms": 0, "p_visible": 1.0}]})
    # -- run C: a comparison of run B -------------------------------------------------------------
    _w(c / "manifest.json", {"run_id": RUN_C, "kind": "comparison", "source_runs": {"etcd": RUN_B}})
    _w(c / "comparison.json", {"rows": [
        {"metric": "write_p99", "system": "etcd", "value": 20.0, "unit": "ms", "run_id": RUN_B,
         "file": "summary.json", "query": "put p99"},
        {"metric": "kill", "system": "etcd", "value": "not measured: the suite kills no node", "unit": "share"},
    ]})
    # -- not runs ---------------------------------------------------------------------------------
    _w(res / "benchmarks" / "checker-speed.json", {"totals": {"ops_per_s": 12345.5}})
    tmp = res / ".tmp-20260109T000000Z-etcd"
    _w(tmp / "manifest.json", _manifest(".tmp-20260109T000000Z-etcd", "2026-01-09T00:00:00+00:00", 9.0))
    _w(tmp / "summary.json", {"rows": [_row(workload="etcd-put-256B", p99_ms=999.0)]})
    return res


#: A valid spec for each kind; tests override pieces of it.
def spec_text(kind: str, type_: str, *, diagram_id: str | None = None, figures: str | None = None,
              claims: str = "", layout: str = "", title: str = "Test {put_p99}", guarantee: str = "lin",
              series: str | None = None) -> str:
    figures = figures if figures is not None else (
        "  put_p99: {from: etcd/put/256B, where: {workload: etcd-put-256B}, stat: p99, unit: ms}\n"
        "  timeout: {cited: \"etcd default --election-timeout=1000 ms\", source: \"https://etcd.io/docs/v3.5/tuning/\"}\n")
    series = series if series is not None else "  ops: {from: history, scenario: s1}\n"
    if type_ == "timeline" and "window_rule" not in layout:  # a timeline names its window rule
        layout = "  window_rule: stale-weak-read-in-minority\n" + layout
    return (f"id: {diagram_id or 'G-LIN-' + kind.upper()}\nguarantee: {guarantee}\nkind: {kind}\ntype: {type_}\n"
            f"title: \"{title}\"\npurpose: \"what it shows\"\nfigures:\n{figures}series:\n{series}"
            + (f"claims:\n{claims}" if claims else "") + (f"layout:\n{layout}" if layout else ""))


CATALOGUE_TEXT = """kinds:
  concept: What does it promise?
  implementation: How is it built?
  comparison: How does it differ?
  failure: What happens under faults?
  performance: What does it cost?
  decision: Should you use it?
families:
  ordering: {name: Single-object ordering, about: One key at a time.}
  staleness: {name: Staleness, about: How far reads lag.}
availability:
  unavailable: {label: unavailable in a partition, about: some nodes refuse, source: https://jepsen.io/consistency}
  total: {label: totally available, about: every replica serves, source: https://jepsen.io/consistency}
guarantees:
  %(guarantee)s:
    name: Linearizability
    family: ordering
    definition: Every operation takes effect atomically between its call and its return.
    defined_in: Herlihy & Wing 1990
    reference: https://doi.org/10.1145/78969.78972
    availability: unavailable
    seen_in: {text: etcd reads by default, source: https://etcd.io/docs/v3.5/learning/api_guarantees/}
  eventual:
    name: Eventual consistency
    family: staleness
    definition: If writes stop, all replicas converge.
    defined_in: Vogels 2008
    reference: https://doi.org/10.1145/1466443.1466448
    availability: total
    seen_in: {text: Cassandra at ONE, source: https://cassandra.apache.org/doc/latest/}
"""


def write_catalogue(root: Path, guarantee: str = "lin") -> Path:
    """``root/guarantees.yaml``, the catalogue beside ``root/specs``: ``guarantee`` (with
    specs) and ``eventual`` (without), in two families."""
    path = root / "guarantees.yaml"
    path.write_text(CATALOGUE_TEXT % {"guarantee": guarantee})
    return path


def write_specs(root: Path, guarantee: str = "lin", overrides: dict[str, str] | None = None) -> Path:
    """specs/<guarantee>/<kind>.yaml for all six kinds, and the catalogue beside them
    (write_catalogue); ``overrides`` maps kind -> full text."""
    from diagram_gen.model import KIND_TYPES

    write_catalogue(root, guarantee)
    specs = root / "specs"
    d = specs / guarantee
    d.mkdir(parents=True, exist_ok=True)
    for kind, typ in KIND_TYPES.items():
        text = (overrides or {}).get(kind) or spec_text(kind, typ, guarantee=guarantee)
        (d / f"{kind}.yaml").write_text(text)
    return specs
