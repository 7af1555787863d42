"""Small published runs for tests of the results store and the CLI that reads it: each has
the manifest fields and results file that ``store.read_run`` checks, and nothing else."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def measurement_run(root: Path, run_id: str, system: str = "etcd", rows: list[dict[str, Any]] | None = None,
                    verdicts: list[dict[str, Any]] | None = None, provider: str = "netns",
                    scenarios: dict[str, dict[str, Any]] | None = None, host: dict[str, Any] | None = None,
                    started_utc: str = "2026-01-01T00:00:00+00:00", batch: dict[str, Any] | None = None,
                    commit: str = "abc123") -> Path:
    """A run of ``system``; ``scenarios`` maps a scenario name to its failure_summary.json;
    ``host`` replaces the manifest's host facts; ``batch`` is the manifest's batch field."""
    run = root / run_id
    write(run / "manifest.json", {
        **({"batch": batch} if batch is not None else {}),
        "schema_version": 1, "run_id": run_id, "started_utc": started_utc,
        "ended_utc": "2026-01-01T00:10:00+00:00", "scenario": {"name": run_id},
        "host": host if host is not None else {
            "cpu_model": "X", "logical_cores": 2, "fsync_latency": {"p50_ms": 0.2, "p99_ms": 0.3},
            "data_dir_filesystem": "ext4"},
        "harness": {"commit": commit, "dirty": False},
        "software": {system: {"version": "1.0"}},
        "cluster": {"system": system, "nodes": 5, "provider": provider, "time_to_ready_s": 1.5}})
    write(run / "summary.json", {"schema_version": 1, "rows": rows or [], "verdicts": verdicts or []})
    for name, fs in (scenarios or {}).items():
        write(run / "scenarios" / name / "failure_summary.json", fs)
    return run


def comparison_run(root: Path, run_id: str, etcd: str, cassandra: str) -> Path:
    run = root / run_id
    write(run / "manifest.json", {"schema_version": 1, "run_id": run_id, "kind": "comparison",
                                  "source_runs": {"etcd": etcd, "cassandra": cassandra}})
    write(run / "comparison.json", {"schema_version": 1, "rows": [
        {"metric": "write_latency_p50_256B", "system": "etcd", "value": 16.9, "unit": "ms"},
        {"metric": "write_latency_p50_256B", "system": "cassandra", "value": 30.0, "unit": "ms"}]})
    return run


def scenario_comparison_run(root: Path, run_id: str, scenario: str, sources: list[str]) -> Path:
    """Shaped like the committed ``…-compared`` runs: ``scenario`` is a string in the manifest."""
    run = root / run_id
    write(run / "manifest.json", {"schema_version": 1, "run_id": run_id, "kind": "scenario-comparison",
                                  "scenario": scenario, "source_runs": sources})
    write(run / "scenario-comparison.json", {"schema_version": 1, "scenario": scenario, "rows": []})
    (run / "scenario-comparison.md").write_text(f"# {scenario}: the same scenario, {len(sources)} ways\n")
    return run
