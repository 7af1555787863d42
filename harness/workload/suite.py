"""Suite files (``workloads/suites/*.yaml``): several workloads run one after the other on one
cluster, plus the peer tools (etcd's own benchmark) run with the same settings.

    name: bench
    system: etcd
    nodes: 5
    workloads: [../etcd-put-256B.yaml, ../etcd-get-linearizable-256B.yaml]
    etcd_benchmark: true     # run etcd's benchmark tool beside each pure put/get workload

Workload paths are relative to the suite file. Every workload is loaded and validated
before the cluster starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config_fields import NAME_PATTERN, boolean, document, number, refuse_unknown, safe_name, shown, text
from harness.errors import ConfigError
from harness.workload.spec import KNOWN_SYSTEMS, MAX_NODES, Workload, load_workload
from harness.yamlfile import read_yaml_file

_FIELDS = {"name", "description", "system", "nodes", "workloads", "etcd_benchmark", "scenarios", "visibility"}


@dataclass(frozen=True)
class Suite:
    name: str
    source: str
    sha256: str
    system: str
    nodes: int
    workloads: tuple[Workload, ...]
    etcd_benchmark: bool = False
    description: str = ""
    scenarios: tuple[str, ...] = ()  # scenario files (nemesis timelines), run after the workloads
    visibility: Any = None  # harness.workload.visibility.VisibilitySpec (Cassandra), run after the workloads

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "system": self.system,
                "nodes": self.nodes, "etcd_benchmark": self.etcd_benchmark,
                "workloads": [w.source for w in self.workloads], "scenarios": list(self.scenarios),
                "visibility": vars(self.visibility) if self.visibility is not None else None}


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
    refuse_unknown(f, "", data, _FIELDS, kind="suite")
    if "name" not in data:
        raise ConfigError(f, "name", f"required: a name matching {NAME_PATTERN}")
    name = safe_name(f, "name", data["name"])
    wl = data.get("workloads")
    if not isinstance(wl, list) or not wl:
        raise ConfigError(f, "workloads", "required: a non-empty list of workload files")
    nodes = number(f, "nodes", data.get("nodes", 5), 1, MAX_NODES, unit="nodes on one host", integer=True)
    system = data.get("system", "etcd")
    if not isinstance(system, str) or system not in KNOWN_SYSTEMS:
        raise ConfigError(f, "system", f"unknown system {shown(system)} (known: {', '.join(KNOWN_SYSTEMS)})")
    etcd_benchmark = boolean(f, "etcd_benchmark", data.get("etcd_benchmark", False))
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
    vis = None
    if data.get("visibility") is not None:
        from harness.workload.visibility import parse_visibility

        if system != "cassandra":
            raise ConfigError(f, "visibility", "the t-visibility probe needs consistency levels (system: cassandra)")
        vis = parse_visibility(data["visibility"], f)
        vis.validate(nodes, f)
    return Suite(name=name, source=f, sha256=sha, system=system, nodes=nodes, workloads=tuple(workloads),
                 etcd_benchmark=etcd_benchmark, description=description,
                 scenarios=tuple(str(p.parent / s) for s in scen), visibility=vis)
