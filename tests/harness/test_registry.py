"""The system registry: lookups, level classes and their conflicts, plugin options errors (pure)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from harness import registry
from harness.api import Level, TunableLevels
from harness.errors import ConfigError
from harness.registry import PluginBroken, default_read_level, level_class, levels, read_levels, system_plugin
from harness.workload.spec import load_workload


def test_the_registered_systems_and_their_plugins() -> None:
    assert registry.system_names()[:2] == ("etcd", "cassandra")
    assert system_plugin("etcd").name == "etcd" and system_plugin("cassandra").name == "cassandra"
    assert system_plugin("etcd") is system_plugin("etcd")  # imported once


@pytest.mark.parametrize("name, shown", [("mongodb", "'mongodb'"), (["etcd"], "['etcd']"), (None, "None")])
def test_an_unknown_system_names_the_known_ones(name: Any, shown: str) -> None:
    with pytest.raises(ConfigError) as e:
        system_plugin(name, "w.yaml", "system")
    known = ", ".join(registry.system_names())
    assert (e.value.file, e.value.field, e.value.reason) == ("w.yaml", "system", f"unknown system {shown} "
                                                                                  f"(known: {known})")


def test_levels_of_etcd_and_cassandra() -> None:
    assert [(lv.name, lv.kind, lv.cls) for lv in levels("etcd")] == [
        ("linearizable", "read", "strong"), ("serializable", "read", "weak")]
    assert read_levels("cassandra") == ("ONE", "LOCAL_ONE", "TWO", "THREE", "QUORUM", "LOCAL_QUORUM", "ALL",
                                        "SERIAL", "LOCAL_SERIAL")
    writes = [lv.name for lv in levels("cassandra") if lv.kind == "write"]
    assert writes == ["ANY", "ONE", "LOCAL_ONE", "TWO", "THREE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL"]
    assert {lv.cls for lv in levels("cassandra") if lv.kind == "write"} == {"weak"}
    assert (default_read_level("etcd"), default_read_level("cassandra")) == ("linearizable", "QUORUM")


@pytest.mark.parametrize("level, system, cls", [
    ("linearizable", "etcd", "strong"), ("serializable", "etcd", "weak"), (None, "etcd", "strong"),
    ("SERIAL", "cassandra", "strong"), ("LOCAL_SERIAL", "cassandra", "strong"), ("QUORUM", "cassandra", "weak"),
    ("ALL", "cassandra", "weak"), ("ONE", "cassandra", "weak"), (None, "cassandra", "weak"),
    # no system (a bare history file): looked up over every plugin
    ("SERIAL", None, "strong"), ("serializable", None, "weak"), ("ONE", None, "weak"), (None, None, "strong"),
])
def test_level_class(level: str | None, system: str | None, cls: str) -> None:
    assert level_class(level, system) == cls


def test_final_read_levels_are_the_trusted_then_the_cheapest() -> None:
    assert registry.final_read_levels("etcd") == ("linearizable", "serializable")
    assert registry.final_read_levels("cassandra") == ("SERIAL", "ONE")


def test_a_level_the_system_does_not_have() -> None:
    with pytest.raises(ConfigError) as e:
        level_class("SERIAL", "etcd", source="h.jsonl")
    assert (e.value.file, e.value.field, e.value.reason) == (
        "h.jsonl", "read_consistency", "unknown level 'SERIAL' for etcd (known: linearizable, serializable)")


def test_a_level_no_system_has() -> None:
    with pytest.raises(ConfigError) as e:
        level_class("bounded", source="h.jsonl")
    assert (e.value.file, e.value.field) == ("h.jsonl", "read_consistency")
    assert e.value.reason == f"no registered system has a level 'bounded' (systems: {', '.join(registry.system_names())})"


@dataclass(frozen=True)
class _Stub:
    """A stand-in plugin: only what the level lookups read."""

    name: str
    levels: tuple[Level, ...]
    default_read_level: str | None = None


def test_two_systems_giving_one_level_two_classes_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SYSTEMS", {
        "a": _Stub("a", (Level("eventual", "read", "weak", ""),)),
        "b": _Stub("b", (Level("eventual", "read", "session", ""), Level("fresh", "read", "strong", ""))),
        "c": _Stub("c", (Level("eventual", "read", "weak", ""),)),
    })
    with pytest.raises(ConfigError) as e:
        level_class("eventual", source="h.jsonl")
    assert e.value.reason == ("level 'eventual' has different classes in different systems (a: weak, b: session, "
                              "c: weak); say which system the history is from")
    assert level_class("eventual", "b") == "session" and level_class("fresh") == "strong"
    assert level_class(None, "a") == "strong"  # one kind of read, no levels named


def test_one_plugin_giving_a_level_two_classes_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SYSTEMS", {"x": _Stub("x", (Level("L", "read", "weak", ""),
                                                               Level("L", "write", "strong", "")))})
    with pytest.raises(PluginBroken, match=r"system plugin x gives level 'L' two classes: \['strong', 'weak'\]"):
        level_class("L", "x")


def test_a_plugin_module_that_does_not_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SYSTEMS", {"ghost": "harness.systems.ghost.plugin"})
    with pytest.raises(PluginBroken, match=r"system plugin harness.systems.ghost.plugin \(ghost\) failed to "
                                           r"import: ModuleNotFoundError"):
        system_plugin("ghost")


def test_plugin_levels_have_one_class_per_name() -> None:
    for name in registry.system_names():
        by_name: dict[str, set[str]] = {}
        for lv in levels(name):
            by_name.setdefault(lv.name, set()).add(lv.cls)
            assert lv.description, f"{name} {lv.name} has no description"
        assert all(len(c) == 1 for c in by_name.values()), name
        plugin = system_plugin(name)
        assert plugin.default_read_level in read_levels(name)


CASS = "name: c\nsystem: cassandra\nnodes: 3\nduration_s: 1\n"


@pytest.mark.parametrize("extra, field, reason", [
    ("cassandra: [1]\n", "cassandra", "must be a mapping, got [1]"),
    ("cassandra: {rf: 3}\n", "cassandra.rf", "unknown field (allowed: replication_factor, routing, "
                                             "serial_consistency, write_consistency)"),
    ("cassandra: {replication_factor: 0}\n", "cassandra.replication_factor",
     "must be >= 1 (an integer in [1, 15] replicas), got 0"),
    ("cassandra: {routing: [pinned]}\n", "cassandra.routing", "must be pinned or token-aware, got ['pinned']"),
])
def test_the_cassandra_options_schema_errors(tmp_path: Path, extra: str, field: str, reason: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(CASS + extra)
    with pytest.raises(ConfigError) as e:
        load_workload(p)
    assert (e.value.file, e.value.field, e.value.reason) == (str(p), field, reason)


def test_options_of_another_system_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "e.yaml"
    p.write_text("name: e\nduration_s: 1\ncassandra: {replication_factor: 3}\n")
    with pytest.raises(ConfigError) as e:
        load_workload(p)
    assert (e.value.field, e.value.reason) == ("cassandra", "cassandra options on a 'etcd' workload")


def test_cassandra_options_round_trip_into_the_manifest(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(CASS + "cassandra: {write_consistency: ONE, routing: token-aware}\n")
    w = load_workload(p)
    assert w.to_dict()["cassandra"] == {"replication_factor": 3, "write_consistency": "ONE",
                                        "serial_consistency": "SERIAL", "routing": "token-aware"}
    assert "cassandra" not in replace(w, system="etcd", options=None, read_consistency="linearizable").to_dict()
    plugin = system_plugin("cassandra")
    assert plugin.routes_per_request(w) is True and system_plugin("etcd").routes_per_request(w) is False


def test_only_cassandra_has_tunable_levels() -> None:
    plugin = system_plugin("cassandra")
    assert isinstance(plugin, TunableLevels) and not isinstance(system_plugin("etcd"), TunableLevels)
    assert plugin.level_pair_problem("ONE", "QUORUM", 3) is None
    assert plugin.level_pair_problem("THREE", "ONE", 2) == ("THREE needs 3 replicas but replication_factor is 2: "
                                                            "every request would fail with Unavailable")
    assert plugin.level_pair_problem("ONE", "EACH_QUORUM", 3) == (
        "'EACH_QUORUM' is not a read consistency level (one of ONE, LOCAL_ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, "
        "ALL, SERIAL, LOCAL_SERIAL)")
