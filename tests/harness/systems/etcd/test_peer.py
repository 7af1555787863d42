"""The comparison with etcd's benchmark tool: ratios and CPU per operation (exact values)."""
from __future__ import annotations

import json
from pathlib import Path

from harness.systems.etcd.peer import compare, cpu_per_op

OURS = {"throughput_ops_s": 1800.0, "p50_ms": 15.0, "count": 27000}
THEIRS = {"throughput_ops_s": 2400.0, "p50_ms": 12.0, "count": 27000}


def test_compare_ratios_and_goals() -> None:
    c = compare(OURS, THEIRS)
    assert (c["throughput_ratio"], c["p50_ratio"]) == (0.75, 1.25)
    assert c["throughput_goal_met"] is True and c["p50_goal_met"] is True
    c = compare({**OURS, "throughput_ops_s": 1000.0, "p50_ms": 16.0}, THEIRS)
    assert (c["throughput_ratio"], c["p50_ratio"]) == (0.417, 1.333)
    assert c["throughput_goal_met"] is False and c["p50_goal_met"] is False
    assert compare(OURS, None)["summary"].startswith("not measured")


def test_cpu_per_op_from_worker_samples_and_tool_rusage(tmp_path: Path) -> None:
    wj = tmp_path / "workers.json"
    wj.write_text(json.dumps({"cpu": {"per_process": {"worker-1": {"mean_cores": 0.3}, "worker-2": {"mean_cores": 0.24},
                                                      "node-n1": {"mean_cores": 0.5}},
                                      "host_busy_cores": {"mean_cores": 1.9}, "host_cores": 2}}))
    c = cpu_per_op(wj, OURS, 2.7, THEIRS)
    assert c["harness_cpu_us_per_op"] == 300.0  # 0.54 cores / 1800 ops/s
    assert c["tool_cpu_us_per_op"] == 100.0  # 2.7 s / 27000 ops
    assert (c["host_busy_cores_during_harness"], c["host_cores"]) == (1.9, 2)
    missing = cpu_per_op(tmp_path / "absent.json", OURS, None, THEIRS)
    assert missing["harness_cpu_us_per_op"].startswith("not measured")
    assert missing["tool_cpu_us_per_op"].startswith("not measured")
