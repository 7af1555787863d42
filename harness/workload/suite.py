"""Suite files (``workloads/suites/*.yaml``): several workloads run one after the other on one
cluster, plus the system's peer tools (etcd's own benchmark) run with the same settings.

    name: bench
    system: etcd
    nodes: 5
    workloads: [../etcd-put-256B.yaml, ../etcd-get-linearizable-256B.yaml]
    etcd_benchmark: true     # run etcd's benchmark tool beside each pure put/get workload

Workload paths are relative to the suite file. Every workload is loaded and validated
before the cluster starts. A peer tool is switched on by the boolean field its system's
plugin names (``PeerTool.suite_field``); the t-visibility probe (``visibility:``) needs a
system whose plugin has ``TunableLevels``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config_fields import NAME_PATTERN, boolean, document, number, refuse_unknown, safe_name, shown, text
from harness.errors import ConfigError
from harness import registry
from harness.api import TunableLevels
from harness.workload.spec import MAX_NODES, Workload, load_workload
from harness.yamlfile import read_yaml_file

_FIELDS = {"name", "description", "system", "nodes", "workloads", "scenarios", "visibility", "convergence"}


def _peer_tool_fields() -> dict[str, str]:
    """Suite field of every registered peer tool -> the system it belongs to."""
    return {t.suite_field: name for name in registry.system_names() for t in registry.system_plugin(name).peer_tools}


@dataclass(frozen=True)
class Suite:
    name: str
    source: str
    sha256: str
    system: str
    nodes: int
    workloads: tuple[Workload, ...]
    #: The suite fields of the peer tools switched on (``etcd_benchmark``).
    peer_tools: tuple[str, ...] = ()
    description: str = ""
    scenarios: tuple[str, ...] = ()  # scenario files (nemesis timelines), run after the workloads
    visibility: Any = None  # harness.workload.visibility.VisibilitySpec, run after the workloads
    convergence: Any = None  # harness.workload.convergence_probe.ConvergenceSpec, run after visibility

    def to_dict(self) -> dict[str, Any]:
        tools = {t.suite_field: t.suite_field in self.peer_tools for t in registry.system_plugin(self.system).peer_tools}
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "system": self.system,
                "nodes": self.nodes, **tools,
                "workloads": [w.source for w in self.workloads], "scenarios": list(self.scenarios),
                "visibility": vars(self.visibility) if self.visibility is not None else None,
                "convergence": vars(self.convergence) if self.convergence is not None else None}


def _is_file(p: Path) -> bool:
    try:
        return p.is_file()
    except OSError:  # e.g. a name too long for the file system
        return False


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file and every workload it lists (relative to the suite file)."""
    p = Path(path)
    f = str(path)
    data, sha = read_yaml_file(p)
    data = document(f, data, "suite")
    tool_fields = _peer_tool_fields()
    refuse_unknown(f, "", data, _FIELDS | set(tool_fields), kind="suite")
    if "name" not in data:
        raise ConfigError(f, "name", f"required: a name matching {NAME_PATTERN}")
    name = safe_name(f, "name", data["name"])
    wl = data.get("workloads")
    if not isinstance(wl, list) or not wl:
        raise ConfigError(f, "workloads", "required: a non-empty list of workload files")
    nodes = number(f, "nodes", data.get("nodes", 5), 1, MAX_NODES, unit="nodes on one host", integer=True)
    system = data.get("system", registry.DEFAULT_SYSTEM)
    plugin = registry.system_plugin(system, f, "system")
    peer_tools = []
    for key, owner in tool_fields.items():
        if key in data and owner != system and data[key] is not False:
            raise ConfigError(f, key, f"a peer tool of {owner}, not of {system!r}")
        if key in data and boolean(f, key, data[key]) and owner == system:
            peer_tools.append(key)
    description = text(f, "description", data.get("description"))
    workloads = []
    for i, item in enumerate(wl):
        if not isinstance(item, str):
            raise ConfigError(f, f"workloads[{i}]", f"must be a workload file path, got {shown(item)}")
        w = load_workload(p.parent / item)
        if w.system != system:
            raise ConfigError(str(p.parent / item), "system", f"{w.system!r} differs from the suite's {system!r}")
        workloads.append(w.with_overrides(nodes=nodes, origin=f))
    scen = data.get("scenarios") or []
    if not isinstance(scen, list):
        raise ConfigError(f, "scenarios", f"must be a list of scenario files, got {shown(scen)}")
    for i, s in enumerate(scen):
        if not isinstance(s, str) or not _is_file(p.parent / s):
            raise ConfigError(f, f"scenarios[{i}]", f"no such scenario file: {shown(s)}")
    probes: dict[str, Any] = {}
    for section, what in (("visibility", "the t-visibility probe"), ("convergence", "the convergence probe")):
        if data.get(section) is None:
            continue
        if not isinstance(plugin, TunableLevels):
            raise ConfigError(f, section, f"{what} needs write and read consistency levels chosen per request; "
                                          f"{system} has none")
        if section == "visibility":
            from harness.workload.visibility import parse_visibility as parse
        else:
            from harness.workload.convergence_probe import parse_convergence as parse
        probes[section] = parse(data[section], f, system)
        probes[section].validate(nodes, system, f)
    return Suite(name=name, source=f, sha256=sha, system=system, nodes=nodes, workloads=tuple(workloads),
                 peer_tools=tuple(peer_tools), description=description,
                 scenarios=tuple(str(p.parent / s) for s in scen), visibility=probes.get("visibility"),
                 convergence=probes.get("convergence"))
