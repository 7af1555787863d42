"""Tidy summary rows (one row per tool x op x value_size x read_consistency x concurrency x
outcome) computed exactly from the raw history, and the summary.csv / summary.json writers.

Latencies are exact nearest-rank percentiles of every measured operation (no buckets, no
rounding before the percentile), reported in milliseconds with microsecond precision.
"""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.recorder.history import Op
from harness.results.percentiles import summarize

COLUMNS = ["run_id", "system", "provider", "nodes", "tool", "op", "value_size", "read_consistency",
           "concurrency", "outcome", "count", "throughput_ops_s", "p50_ms", "p90_ms", "p99_ms",
           "p999_ms", "max_ms",
           # beyond the required columns: the write level (Cassandra), which workload/load
           # mode, and the self-check
           "write_consistency", "workload", "load_mode", "target_rate_ops_s", "duration_s", "harness_saturated", "notes"]


def _ms(ns: float | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def rows_from_history(ops: Iterable[Op], *, run_id: str, system: str, provider: str, nodes: int,
                      concurrency: int, measured_s: float, workload: str, load_mode: str,
                      target_rate: float | None, saturated: bool, notes: str = "") -> list[dict[str, Any]]:
    """Rows for the harness's own measurements: measured-phase client ops only."""
    groups: dict[tuple[str, int | None, str | None, str | None, str], list[int]] = defaultdict(list)
    for op in ops:
        if op.process == "nemesis" or op.extra.get("phase") or op.latency_ns is None:
            continue
        groups[(op.f, op.value_size, op.read_consistency, op.write_consistency, op.type)].append(op.latency_ns)
    rows = []
    for (f, size, rc, wc, outcome), lat in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        s = summarize(lat)
        rows.append({
            "run_id": run_id, "system": system, "provider": provider, "nodes": nodes, "tool": "harness",
            "op": f, "value_size": size, "read_consistency": rc or "", "concurrency": concurrency,
            "outcome": outcome, "count": s["count"],
            "throughput_ops_s": round(len(lat) / measured_s, 1) if measured_s > 0 else None,
            "p50_ms": _ms(s["p50"]), "p90_ms": _ms(s["p90"]), "p99_ms": _ms(s["p99"]),
            "p999_ms": _ms(s["p99.9"]), "max_ms": _ms(s["max"]), "write_consistency": wc or "",
            "workload": workload, "load_mode": load_mode, "target_rate_ops_s": target_rate,
            "duration_s": round(measured_s, 3), "harness_saturated": saturated, "notes": notes,
        })
    return rows


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})
    return buf.getvalue()


def write_summary(directory: Path, rows: Sequence[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    """summary.csv (tidy) and summary.json (the same rows, plus comparisons/notes)."""
    (directory / "summary.csv").write_text(to_csv(rows))
    doc: dict[str, Any] = {"schema_version": 1, "columns": COLUMNS, "rows": list(rows)}
    if extra:
        doc.update(extra)
    (directory / "summary.json").write_text(json.dumps(doc, indent=2, default=str))


def read_summary(directory: Path) -> list[dict[str, Any]]:
    return json.loads((directory / "summary.json").read_text())["rows"]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A compact fixed-width table for the terminal (``gbench show``)."""
    cols = ["tool", "op", "value_size", "read_consistency", "write_consistency", "concurrency", "outcome", "count",
            "throughput_ops_s", "p50_ms", "p99_ms", "p999_ms", "max_ms", "harness_saturated"]
    head = ["tool", "op", "size", "read", "write", "conc", "outcome", "count", "ops/s", "p50ms", "p99ms",
            "p99.9ms", "maxms", "saturated"]
    cells = [[("not measured" if r.get(c) in (None, "") and c.endswith("_ms") else str(r.get(c, "")))
              for c in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(head))]
    lines += ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))) for c in cells]
    return "\n".join(lines)
