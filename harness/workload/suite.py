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
from typing import Any, Mapping

from harness.errors import ConfigError
from harness.yamlfile import read_yaml_file
from harness.workload.spec import Workload, load_workload

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


def load_suite(path: str | Path) -> Suite:
    p = Path(path)
    f = str(path)
    data, sha = read_yaml_file(p)
    if not isinstance(data, Mapping):
        raise ConfigError(f, "(top level)", "a suite file must be a YAML mapping")
    for k in data:
        if k not in _FIELDS:
            raise ConfigError(f, k, f"unknown field (allowed: {', '.join(sorted(_FIELDS))})")
    if not isinstance(data.get("name"), str):
        raise ConfigError(f, "name", "required: a string")
    wl = data.get("workloads")
    if not isinstance(wl, list) or not wl:
        raise ConfigError(f, "workloads", "required: a non-empty list of workload files")
    nodes = data.get("nodes", 5)
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise ConfigError(f, "nodes", f"must be an integer >= 1, got {nodes!r}")
    system = data.get("system", "etcd")
    workloads = []
    for i, item in enumerate(wl):
        if not isinstance(item, str):
            raise ConfigError(f, f"workloads[{i}]", "must be a file path")
        w = load_workload(p.parent / item)
        if w.system != system:
            raise ConfigError(str(p.parent / item), "system", f"{w.system!r} differs from the suite's {system!r}")
        workloads.append(w.with_overrides(nodes=nodes))
    scen = data.get("scenarios") or []
    if not isinstance(scen, list):
        raise ConfigError(f, "scenarios", "must be a list of scenario files")
    for i, s in enumerate(scen):
        if not isinstance(s, str) or not (p.parent / s).is_file():
            raise ConfigError(f, f"scenarios[{i}]", f"no such scenario file: {s!r}")
    vis = None
    if data.get("visibility") is not None:
        from harness.workload.visibility import parse_visibility

        if system != "cassandra":
            raise ConfigError(f, "visibility", "the t-visibility probe needs consistency levels (system: cassandra)")
        vis = parse_visibility(data["visibility"], f)
        vis.validate(nodes)
    return Suite(name=data["name"], source=f, sha256=sha, system=system,
                 nodes=nodes, workloads=tuple(workloads), etcd_benchmark=bool(data.get("etcd_benchmark", False)),
                 description=data.get("description", "") or "",
                 scenarios=tuple(str(p.parent / s) for s in scen), visibility=vis)
