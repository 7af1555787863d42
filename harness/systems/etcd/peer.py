"""etcd's official benchmark tool, run beside our harness on the same cluster.

For each pure put or pure get closed-loop workload, the tool runs with the same value size,
key space, concurrency (clients = gRPC connections = our client count) and endpoints, for as
many requests as our harness completed in its measured window. Its rows go into the same
summary (``tool=etcd-benchmark``) and a comparison records the ratios the issue sets as goals:
our write throughput >= 70% of the tool's, our p50 within 25% of its p50.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from harness.providers.base import Cluster
from harness.workload.spec import Workload

THROUGHPUT_GOAL = 0.70
P50_GOAL = 0.25
MIN_TOTAL, MAX_TOTAL = 500, 200_000


def _comparable_op(w: Workload) -> str | None:
    ops = [op for op, wt in w.mix.items() if wt > 0]
    if w.load.mode != "closed" or len(ops) != 1 or ops[0] not in ("put", "get"):
        return None
    return ops[0]


def run_peer_benchmark(w: Workload, cluster: Cluster, run_path: Path, run_id: str, all_rows: list[dict[str, Any]],
                       wrows: list[dict[str, Any]], log: Callable[[str], None]) -> dict[str, Any] | None:
    """Run the tool like ``w``; append its rows to ``all_rows``; return the comparison entry."""
    from harness.systems.etcd.benchmark_tool import EtcdBenchmarkRun, run_etcd_benchmark, to_summary_rows
    from harness.systems.etcd.binaries import find_etcd_benchmark

    op = _comparable_op(w)
    if op is None:
        return None
    ours = next((r for r in wrows if r["op"] == op and r["outcome"] == "ok"), None)
    entry: dict[str, Any] = {"workload": w.name, "op": op, "value_size": w.value_size,
                             "read_consistency": w.read_consistency if op == "get" else "",
                             "concurrency": w.load.concurrency}
    tool = find_etcd_benchmark()
    if tool is None:
        entry["summary"] = "not measured: etcd's benchmark tool is not built (make setup builds it with Go)"
        log(f"[gbench] {entry['summary']}")
        return entry
    total = max(MIN_TOTAL, min(MAX_TOTAL, int(ours["count"]) if ours else MIN_TOTAL))
    key_size = len(f"{w.keys.prefix}{w.keys.count - 1}")
    spec = EtcdBenchmarkRun(
        op="put" if op == "put" else "range", endpoints=cluster.client_endpoints, clients=w.load.concurrency,
        conns=w.load.concurrency, total=total, key_size=key_size, val_size=w.value_size,
        key_space_size=w.keys.count,
        consistency=None if op == "put" else ("l" if w.read_consistency == "linearizable" else "s"),
        target_leader=False,
        # range reads one existing key: the first key our preload wrote (same value size)
        key=f"{w.keys.prefix}{0:0{len(str(w.keys.count - 1))}d}" if op == "get" else None,
    )
    log(f"[gbench] etcd-benchmark {spec.op} x{total}, {w.load.concurrency} clients, {w.value_size} B")
    result = run_etcd_benchmark(getattr(tool, "path", tool), spec, timeout_s=300)
    out = run_path / "etcd-benchmark"
    out.mkdir(exist_ok=True)
    (out / f"{w.name}.txt").write_text(f"$ {' '.join(map(str, result.argv))}\n{result.stdout}")
    rows = to_summary_rows(result, {
        "run_id": run_id, "system": "etcd", "provider": cluster.provider.name, "nodes": len(cluster.nodes),
        "value_size": w.value_size, "read_consistency": w.read_consistency if op == "get" else "",
        "concurrency": w.load.concurrency, "workload": w.name, "load_mode": "closed",
    })
    all_rows.extend(rows)
    theirs = next((r for r in rows if r["op"] == op and r["outcome"] == "ok"), None)
    entry.update(compare(ours, theirs))
    entry.update(cpu_per_op(run_path / "workloads" / w.name / "workers.json", ours, result.cpu_s, theirs))
    if isinstance(entry["harness_cpu_us_per_op"], float) and isinstance(entry["tool_cpu_us_per_op"], float):
        entry["summary"] += (f"; load-generator CPU per op {entry['harness_cpu_us_per_op']:.0f} vs "
                             f"{entry['tool_cpu_us_per_op']:.0f} us")
    entry["raw_output"] = str((out / f"{w.name}.txt").relative_to(run_path))
    log(f"[gbench] vs etcd-benchmark: {entry['summary']}")
    return entry


def cpu_per_op(workers_json: Path, ours: dict[str, Any] | None, tool_cpu_s: float | None,
               theirs: dict[str, Any] | None) -> dict[str, Any]:
    """CPU microseconds per successful operation, ours (worker processes' mean cores over
    the measured window / throughput) and the tool's (its rusage / its ok count), and how
    busy the host was: on a host the cluster shares, a load generator's CPU is taken from
    the database, so this is the measured explanation of a throughput gap."""
    out: dict[str, Any] = {"harness_cpu_us_per_op": "not measured: no worker CPU samples",
                           "tool_cpu_us_per_op": "not measured: no tool rusage"}
    try:
        cpu = json.loads(workers_json.read_text()).get("cpu", {})
    except (OSError, ValueError):
        cpu = {}
    cores = [v.get("mean_cores") for k, v in cpu.get("per_process", {}).items() if k.startswith("worker-")]
    if ours and ours.get("throughput_ops_s") and cores and all(c is not None for c in cores):
        out["harness_cpu_us_per_op"] = round(sum(cores) / ours["throughput_ops_s"] * 1e6, 1)
    if cpu.get("host_busy_cores"):
        out["host_busy_cores_during_harness"] = cpu["host_busy_cores"].get("mean_cores")
        out["host_cores"] = cpu.get("host_cores")
    if tool_cpu_s is not None and theirs and theirs.get("count"):
        out["tool_cpu_us_per_op"] = round(tool_cpu_s / theirs["count"] * 1e6, 1)
    return out


def compare(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> dict[str, Any]:
    """Throughput ratio (ours / tool) and p50 deviation; 'not measured' where a side is missing."""
    if not ours or not theirs or not theirs.get("throughput_ops_s") or not theirs.get("p50_ms"):
        return {"throughput_ratio": None, "p50_ratio": None,
                "summary": "not measured: one side produced no successful operations"}
    tr = ours["throughput_ops_s"] / theirs["throughput_ops_s"]
    pr = ours["p50_ms"] / theirs["p50_ms"]
    ok_t, ok_p = tr >= THROUGHPUT_GOAL, abs(pr - 1) <= P50_GOAL
    return {
        "harness_throughput_ops_s": ours["throughput_ops_s"], "tool_throughput_ops_s": theirs["throughput_ops_s"],
        "harness_p50_ms": ours["p50_ms"], "tool_p50_ms": theirs["p50_ms"],
        "throughput_ratio": round(tr, 3), "p50_ratio": round(pr, 3),
        "throughput_goal_met": ok_t, "p50_goal_met": ok_p,
        "summary": (f"throughput {ours['throughput_ops_s']:.0f} vs {theirs['throughput_ops_s']:.0f} ops/s "
                    f"= {tr:.0%} (goal >= {THROUGHPUT_GOAL:.0%}: {'met' if ok_t else 'NOT met'}); p50 "
                    f"{ours['p50_ms']:.3f} vs {theirs['p50_ms']:.3f} ms = {pr:.2f}x (goal within "
                    f"{P50_GOAL:.0%}: {'met' if ok_p else 'NOT met'})"),
    }
