"""The system registry: system name -> the plugin module that describes it (imported only when used).

A system is one folder, ``harness/systems/<name>/``, whose ``plugin`` module exposes
``PLUGIN`` (a ``harness.api.SystemPlugin``). Adding a system is one line in ``SYSTEMS``;
nothing else outside its folder names it. Plugin modules are cheap to import (no driver, no
gRPC), so looking a level up over every registered plugin costs milliseconds.

Example::

    system_names()                                    # ("etcd", "cassandra")
    system_plugin("etcd").default_read_level          # "linearizable"
    level_class("serializable", "etcd")               # "weak"
    level_class("SERIAL")                             # "strong" (no system: looked up over all plugins)
"""
from __future__ import annotations

import importlib
from typing import Any, Union

from harness.api import ConsistencyClass, Level, SystemPlugin
from harness.config_fields import shown
from harness.errors import ConfigError, GbenchError

#: system name -> plugin module path (exposing ``PLUGIN``), or the plugin itself (tests
#: register a stand-in that way).
SYSTEMS: dict[str, Union[str, SystemPlugin]] = {
    "etcd": "harness.systems.etcd.plugin",
    "cassandra": "harness.systems.cassandra.plugin",
    "zookeeper": "harness.systems.zookeeper.plugin",
    "postgres": "harness.systems.postgres.plugin",
    "redis": "harness.systems.redis.plugin",
}

#: The system a workload, scenario or suite file means when it names none (files written
#: before there was a second system say nothing).
DEFAULT_SYSTEM = "etcd"

_loaded: dict[str, SystemPlugin] = {}


class PluginBroken(GbenchError):
    """A registered plugin module is missing, fails to import or has no ``PLUGIN``."""


def system_names() -> tuple[str, ...]:
    """Every registered system, in registration order."""
    return tuple(SYSTEMS)


def system_plugin(name: Any, file: str = "(system)", field: str = "system") -> SystemPlugin:
    """The plugin of system ``name``; ConfigError(file, field, ...) naming the known systems
    when no plugin is registered under that name."""
    if not isinstance(name, str) or name not in SYSTEMS:
        raise ConfigError(file, field, f"unknown system {shown(name)} (known: {', '.join(SYSTEMS)})")
    entry = SYSTEMS[name]
    if not isinstance(entry, str):
        return entry
    cached = _loaded.get(name)
    if cached is not None:
        return cached
    try:
        module = importlib.import_module(entry)
    except Exception as e:
        raise PluginBroken(f"system plugin {entry} ({name}) failed to import: {type(e).__name__}: {e}") from e
    plugin = getattr(module, "PLUGIN", None)
    if plugin is None:
        raise PluginBroken(f"system plugin {entry} ({name}) has no PLUGIN")
    if plugin.name != name:
        raise PluginBroken(f"system plugin {entry} is registered as {name!r} but names itself {plugin.name!r}")
    _loaded[name] = plugin
    return plugin


def levels(system: str) -> tuple[Level, ...]:
    """Every read and write level ``system``'s workloads may name."""
    return system_plugin(system).levels


def read_levels(system: str) -> tuple[str, ...]:
    """The names of ``system``'s read levels, in the plugin's order."""
    return tuple(lv.name for lv in levels(system) if lv.kind == "read")


def default_read_level(system: str) -> str | None:
    """The level of a workload that names none (None: the system has one kind of read)."""
    return system_plugin(system).default_read_level


def final_read_levels(system: str) -> tuple[str, ...]:
    """The levels of a scenario's final reads: the first strong read level (the one the system
    trusts), then the first read level that is not strong (its cheapest: a replica's own
    state), in the plugin's order; a system with one kind of read gives one."""
    reads = [lv for lv in levels(system) if lv.kind == "read"]
    trusted = next((lv.name for lv in reads if lv.cls == "strong"), None)
    cheapest = next((lv.name for lv in reads if lv.cls != "strong"), None)
    return tuple(lv for lv in (trusted, cheapest) if lv is not None)


def _class_in(plugin: SystemPlugin, level: str) -> ConsistencyClass | None:
    found = {lv.cls for lv in plugin.levels if lv.name == level}
    if len(found) > 1:
        raise PluginBroken(f"system plugin {plugin.name} gives level {level!r} two classes: {sorted(found)}")
    return found.pop() if found else None


def level_class(level: str | None, system: str | None = None, *, source: str = "(level)",
                field: str = "read_consistency") -> ConsistencyClass:
    """The consistency class (strong | session | weak) of a read at ``level``.

    ``level`` None is the system's one default read (its ``default_read_level``; a system
    with one kind of read and a history without levels, such as a Jepsen log: ``strong``).
    With ``system`` None (a bare history file), ``level`` is looked up over every registered
    plugin: ConfigError(source, field, ...) when no plugin knows it or two give it different
    classes."""
    if system is not None:
        plugin = system_plugin(system, source, "system")
        if level is None:
            if plugin.default_read_level is None:
                return "strong"
            level = plugin.default_read_level
        cls = _class_in(plugin, level)
        if cls is None:
            known = ", ".join(dict.fromkeys(lv.name for lv in plugin.levels))
            raise ConfigError(source, field, f"unknown level {shown(level)} for {system} (known: {known})")
        return cls
    if level is None:
        return "strong"
    by_system = {name: c for name in SYSTEMS if (c := _class_in(system_plugin(name), level)) is not None}
    if not by_system:
        raise ConfigError(source, field, f"no registered system has a level {shown(level)} "
                                         f"(systems: {', '.join(SYSTEMS)})")
    classes = set(by_system.values())
    if len(classes) > 1:
        said = ", ".join(f"{name}: {c}" for name, c in by_system.items())
        raise ConfigError(source, field, f"level {shown(level)} has different classes in different systems "
                                         f"({said}); say which system the history is from")
    return classes.pop()
