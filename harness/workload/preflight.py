"""Everything about a suite that can be checked before a cluster starts, and nothing that
starts one: its scenario files load, their system and node count match the suite's, and
every value fits the system's request limit.

``gbench bench`` calls :func:`check_suite` for every suite before the first cluster starts
(so a mistake in the second suite is reported in seconds, not after the first suite's
minutes of measuring); ``session.run_suite`` calls it again for the suite it runs.

Example::

    system = make_system(suite.system)          # finds the binaries; EnvironmentProblem if absent
    scenarios = check_suite(suite, system)      # ConfigError naming file, field and reason
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.api import ExplainedValueLimit, System
from harness.errors import ArgumentError, ConfigError
from harness.workload.spec import check_against_system
from harness.workload.suite import Suite


def _value_limit_hint(system: System) -> str:
    return f" ({system.value_limit_reason()})" if isinstance(system, ExplainedValueLimit) else ""


def check_suite(suite: Suite, system: System | None) -> list[Any]:
    """Every check of ``suite`` that needs no cluster; returns its loaded scenarios.

    ``system`` None (its binaries are not on this host) skips only the value-size limit: a
    broken scenario file is still reported, though the suite cannot run here anyway.
    Raises ConfigError naming the scenario or workload file at fault."""
    from harness.scenario.spec import load_scenario

    scenarios = [load_scenario(p) for p in suite.scenarios]
    for i, sc in enumerate(scenarios):  # a scenario that does not fit is the suite's choice: name the suite
        if sc.system != suite.system:
            raise ConfigError(suite.source, f"scenarios[{i}]", f"{sc.source} is a scenario for {sc.system!r}, "
                                                               f"the suite's system is {suite.system!r}")
        if sc.nodes != suite.nodes:
            raise ConfigError(suite.source, f"scenarios[{i}]", f"{sc.source} needs {sc.nodes} nodes but the suite's "
                                                               f"cluster has {suite.nodes} (scenarios run on the "
                                                               "suite's cluster)")
    if system is None:
        return scenarios
    hint = _value_limit_hint(system)
    for w in list(suite.workloads) + [w for sc in scenarios for w in sc.workloads]:
        check_against_system(w, system.max_value_bytes, hint)
    return scenarios


def with_node_count(suite: Suite, nodes: int, option: str = "--nodes") -> Suite:
    """``suite`` on ``nodes`` nodes instead of its own count (the command line's ``--nodes``).

    A count the suite's workloads, scenarios or t-visibility probe cannot use is the command
    line's mistake, so the error names ``option`` (and the file that cannot use it), not the
    workload file as if it were wrong."""
    from harness.scenario.spec import load_scenario

    for sc in (load_scenario(p) for p in suite.scenarios):  # a broken scenario file is its own error
        if sc.nodes != nodes:
            raise ArgumentError(option, f"{nodes} does not suit suite {suite.source}: its scenario {sc.source} is "
                                        f"written for {sc.nodes} nodes (its partitions name them)")
    try:
        workloads = tuple(w.with_overrides(nodes=nodes) for w in suite.workloads)
        if suite.visibility is not None:
            suite.visibility.validate(nodes, suite.system)
    except ConfigError as e:
        raise ArgumentError(option, f"{nodes} does not suit suite {suite.source}: {e}") from None
    return replace(suite, nodes=nodes, workloads=workloads)
