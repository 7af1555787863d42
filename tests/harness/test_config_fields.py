"""File kinds: the systems' own top-level fields come from the registry, not from a list naming them."""
from __future__ import annotations

import pytest

from harness.config_fields import FILE_KINDS, file_kinds, refuse_unknown
from harness.errors import ConfigError


def test_the_systems_fields_come_from_their_plugins() -> None:
    kinds = file_kinds()
    # each plugin's options_field, in registry order
    assert kinds["workload"][0] == FILE_KINDS["workload"][0] + ("cassandra", "zookeeper", "postgres", "redis")
    assert kinds["suite"][0] == ("scenarios", "visibility", "etcd_benchmark")  # etcd's peer tool
    assert kinds["scenario"] == FILE_KINDS["scenario"]


def test_a_suite_given_where_a_workload_belongs_is_named_by_its_peer_tool_field() -> None:
    with pytest.raises(ConfigError) as e:
        refuse_unknown("s.yaml", "", {"etcd_benchmark": True}, {"name"}, kind="workload")
    assert (e.value.field, str(e.value)) == ("(kind)", "s.yaml: field '(kind)': this looks like a suite file (it "
                                             "has 'etcd_benchmark'), not a workload file: run it with: gbench bench "
                                             "--suite s.yaml")
