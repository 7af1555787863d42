"""The convergence probe's pure parts: its suite section and the per-round verdict (exact values)."""
from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.workload.convergence_probe import ConvergenceSpec, judge_round, parse_convergence


def test_a_round_converges_a_node_only_when_every_key_is_as_expected() -> None:
    expected = {"a": "1", "b": None}
    reads = {"n1": {"a": "1", "b": None}, "n2": {"a": "0", "b": None}, "n3": {"a": "1", "b": "?"}}
    assert judge_round(reads, expected, set()) == {"n1": True, "n2": False, "n3": False}


def test_an_ambiguous_key_needs_every_node_to_agree() -> None:
    # a's last write was indeterminate: any value, as long as all nodes read the same
    assert judge_round({"n1": {"a": "x"}, "n2": {"a": "x"}}, {"a": "y"}, {"a"}) == {"n1": True, "n2": True}
    assert judge_round({"n1": {"a": "x"}, "n2": {"a": "y"}}, {"a": "y"}, {"a"}) == {"n1": False, "n2": False}
    assert judge_round({"n1": {"a": "?"}, "n2": {"a": "?"}}, {"a": "y"}, {"a"}) == {"n1": False, "n2": False}


def test_the_suite_section_is_parsed_and_checked() -> None:
    spec = parse_convergence({"pairs": [["on", "replica", 2]], "conditions": ["normal", "reader-paused"],
                              "nodes": ["n1", "n2", "n3"]}, "s.yaml", "postgres")
    assert spec.probes() == [("on", "replica", 2)] and spec.read_nodes(["n1"]) == ["n1", "n2", "n3"]
    spec.validate(3, "postgres", "s.yaml")
    with pytest.raises(ConfigError) as e:
        parse_convergence({"pairs": [], "colour": 1}, "s.yaml", "postgres")
    assert (e.value.field, e.value.reason.split(" (")[0]) == ("convergence.colour", "unknown field")
    with pytest.raises(ConfigError) as e:
        ConvergenceSpec(pairs=(("on", "replica", 1),), conditions=("reader-frozen",)).validate(3, "postgres", "s.yaml")
    assert e.value.field == "conditions" and "reader-frozen" in e.value.reason
    with pytest.raises(ConfigError) as e:
        ConvergenceSpec(pairs=(("on", "replica", 1),), nodes=("n1", "n2"), reader="n3").validate(3, "postgres", "s")
    assert (e.value.field, e.value.reason) == ("reader", "the faulted reader n3 is not among the nodes read")
    with pytest.raises(ConfigError) as e:
        ConvergenceSpec(pairs=(("remote_apply", "replica", 1),)).validate(3, "postgres", "s.yaml")
    assert e.value.field == "pairs" and e.value.reason.startswith("remote_apply at replication factor 1")
