from __future__ import annotations

import csv
import io

from harness.recorder.history import Op
from harness.recorder.summary import COLUMNS, rows_from_history, to_csv


def op(i: int, f: str, lat_ms: float, t: str = "ok", phase: str | None = None) -> Op:
    return Op(i=i, process=1, f=f, key="k1", value=None, invoke_ns=i * 10_000_000,
              complete_ns=i * 10_000_000 + int(lat_ms * 1e6), type=t, value_size=256,
              read_consistency="linearizable" if f == "get" else None,
              extra={"phase": phase} if phase else {})


def test_exact_percentiles_and_grouping() -> None:
    ops = [op(i, "put", float(i)) for i in range(1, 101)]  # 1..100 ms
    ops += [op(200, "put", 999.0, phase="warmup"), op(201, "get", 4.0), op(202, "get", 6.0, t="info")]
    rows = rows_from_history(ops, run_id="r", system="etcd", provider="netns", nodes=5, concurrency=8,
                             measured_s=10.0, workload="w", load_mode="closed", target_rate=None, saturated=False)
    by = {(r["op"], r["outcome"]): r for r in rows}
    put = by[("put", "ok")]
    assert (put["count"], put["p50_ms"], put["p90_ms"], put["p99_ms"], put["p999_ms"], put["max_ms"]) == \
        (100, 50.0, 90.0, 99.0, 100.0, 100.0)
    assert put["throughput_ops_s"] == 10.0
    assert by[("get", "ok")]["read_consistency"] == "linearizable"
    assert by[("get", "info")]["count"] == 1
    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert list(table[0].keys()) == COLUMNS and len(table) == 3
