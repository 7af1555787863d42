"""What the command line takes from the registry instead of naming systems: bench's default
suites, the peer tools' flags of ``gbench run``, and the peer tool a ``show`` line names."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli
from harness.registry import system_names
from harness.results.store import REPO_ROOT
from harness.workload.suite import load_suite


def test_bench_runs_every_registered_systems_default_suite_in_registry_order() -> None:
    assert system_names() == ("etcd", "cassandra", "zookeeper", "postgres", "redis")
    suites = cli.default_suites()
    assert suites == [REPO_ROOT / "workloads" / "suites" / f"{name}.yaml" for name in system_names()]
    assert [load_suite(p).system for p in suites] == list(system_names())  # each suite measures its own system


def test_peer_tool_flags_come_from_the_plugins() -> None:
    assert cli._peer_tools() == [("etcd", "etcd_benchmark")]
    args = cli.build_parser().parse_args(["run", "w.yaml", "--etcd-benchmark"])
    assert args.etcd_benchmark is True
    assert "--etcd-benchmark" in cli.build_parser()._subparsers._group_actions[0].choices["run"].format_help()


def test_another_systems_peer_tool_is_refused_before_any_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(tmp_path / "results"))
    wl = REPO_ROOT / "workloads" / "zookeeper-put-256B.yaml"
    assert cli.main(["run", str(wl), "--etcd-benchmark"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gbench: error: --etcd-benchmark: is not a peer tool of zookeeper (the system of {wl})"]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("entry, system, name", [
    ({"tool": "etcd_benchmark", "workload": "w"}, "etcd", "etcd_benchmark"),
    ({"workload": "w"}, "etcd", "etcd_benchmark"),  # written before entries were named: etcd's one tool
    ({"workload": "w"}, "cassandra", "an unnamed peer tool"),  # a system without one cannot say
])
def test_show_names_the_peer_tool_of_a_comparison_entry(entry: dict, system: str, name: str) -> None:
    assert cli._peer_tool_name(entry, system) == name
