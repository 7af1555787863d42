"""Fault scenarios: workloads + a fault timeline on one cluster, and what they measured.

- ``spec``: scenario files (``workloads/scenarios/*.yaml``), validated before any cluster
  starts (``load_scenario``, ``check_environment``).
- ``runner``: ``run_scenario(scenario, cluster, directory, time_origin_ns) -> ScenarioResult``.
- ``members``: leader/term polling into ``members.jsonl``; ``final_reads``: the reads after
  the repair; ``failure_summary``: ``failure_summary.json`` from a scenario directory.

    scenario = load_scenario("workloads/scenarios/etcd-leader-in-minority.yaml")
    check_environment(scenario, provider)            # before the cluster starts
    result = run_scenario(scenario, cluster, run_dir / "scenarios" / scenario.name, origin)
    result.summary_path                              # .../failure_summary.json
"""
from __future__ import annotations

from harness.scenario.spec import Event, Scenario, check_environment, load_scenario, parse_scenario

__all__ = ["Event", "Scenario", "check_environment", "load_scenario", "parse_scenario"]
