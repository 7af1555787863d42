"""Suite files: the shipped ones load; every bad suite is one ConfigError naming file, field, reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.workload.suite import load_suite

REPO = Path(__file__).resolve().parents[3]
WORKLOAD = "name: w\nkeys: {count: 10}\nmix: {put: 1}\nduration_s: 1\n"
SUITE = "name: s\nsystem: etcd\nnodes: 5\nworkloads: [w.yaml]\n"


def suite(tmp_path: Path, text: str, workload: str = WORKLOAD) -> Path:
    (tmp_path / "w.yaml").write_text(workload)
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def error_of(tmp_path: Path, text: str, workload: str = WORKLOAD) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load_suite(suite(tmp_path, text, workload))
    return ei.value


def test_shipped_suites_load() -> None:
    for p in sorted((REPO / "workloads" / "suites").glob("*.yaml")):
        s = load_suite(p)
        assert s.workloads and all(w.nodes == s.nodes for w in s.workloads)


def test_good_suite(tmp_path: Path) -> None:
    s = load_suite(suite(tmp_path, SUITE + "etcd_benchmark: true\n"))
    assert (s.name, s.nodes, s.peer_tools, [w.name for w in s.workloads]) == ("s", 5, ("etcd_benchmark",), ["w"])


@pytest.mark.parametrize("text, field, reason", [
    (SUITE + "nodes: 3\n", "nodes", "duplicate key at line 5: each key may appear once"),
    (SUITE + "etcd_benchmark: maybe\n", "etcd_benchmark", "must be true or false, got 'maybe'"),
    (SUITE + "etcd_benchmark: on\n", "etcd_benchmark", "must be true or false, got 'on' (yes/no/on/off are not "
                                                       "booleans here)"),
    (SUITE.replace("name: s", "name: ../../x"), "name", "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ without '..' "
                                                        "(it names a directory of the run), got '../../x'"),
    (SUITE.replace("nodes: 5", "nodes: .nan"), "nodes", "must be an integer in [1, 15] nodes on one host, got nan"),
    (SUITE.replace("nodes: 5", "nodes: 100000"), "nodes",
     "must be <= 15 (an integer in [1, 15] nodes on one host), got 100000"),
    (SUITE.replace("[w.yaml]", "[w.yaml, [x]]"), "workloads[1]", "must be a workload file path, got ['x']"),
    (SUITE + "description: [a]\n", "description", "must be text, got ['a']"),
    (SUITE + "scenarios: nope.yaml\n", "scenarios", "must be a list of scenario files, got 'nope.yaml'"),
])
def test_bad_suites(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert (e.file, e.field, e.reason) == (str(tmp_path / "s.yaml"), field, reason)


def test_suite_overrides_name_the_suite_not_the_workload(tmp_path: Path) -> None:
    e = error_of(tmp_path, SUITE.replace("nodes: 5", "nodes: 3"), WORKLOAD + "clients: {pin: [n5]}\n")
    assert (e.file, e.field, e.reason) == (str(tmp_path / "s.yaml"), "clients.pin", "unknown node 'n5' (this "
                                           f"cluster has n1, n2, n3) (overriding {tmp_path / 'w.yaml'})")


@pytest.mark.parametrize("visibility, field, reason", [
    ("{trials: many}", "trials", "must be an integer in [1, 10000] per (W, R, delay), got the string 'many'"),
    ("{delays_ms: [0, .nan]}", "delays_ms", "must be a finite number in [0, 10000] ms, got nan"),
    ("{timeout_s: .inf}", "timeout_s", "must be a finite number in (0, 600] seconds, got inf"),
    ("{reader: n9}", "reader", "must be a node name n1..n5, got 'n9'"),
])
def test_visibility_section_is_checked_and_names_the_suite(tmp_path: Path, visibility: str, field: str,
                                                            reason: str) -> None:
    text = SUITE.replace("system: etcd", "system: cassandra") + f"visibility: {visibility}\n"
    e = error_of(tmp_path, text, WORKLOAD + "system: cassandra\n")
    assert (e.file, e.field, e.reason) == (str(tmp_path / "s.yaml"), field, reason)


def test_paths_too_long_for_the_file_system_are_refused(tmp_path: Path) -> None:
    long = "x" * 4000
    e = error_of(tmp_path, SUITE + f"scenarios: [{long}]\n")
    assert (e.field, e.reason) == ("scenarios[0]", f"no such scenario file: '{'x' * 47}...{'x' * 48}'")
    e = error_of(tmp_path, SUITE.replace("[w.yaml]", f"[{long}]"))
    assert e.file == f"{tmp_path}/{long}"[:200] + "..." and (e.field, e.reason) == ("(file)",
                                                                                   "cannot read: File name too long")


def test_visibility_pairs_are_required_in_the_systems_level_names(tmp_path: Path) -> None:
    text = SUITE.replace("system: etcd", "system: cassandra") + "visibility: {trials: 5}\n"
    e = error_of(tmp_path, text, WORKLOAD + "system: cassandra\n")
    assert (e.file, e.field, e.reason) == (str(tmp_path / "s.yaml"), "pairs", "required: the (write, read) level "
                                           "pairs to probe, [[W, R], ...] in cassandra's level names")
