"""How long a system's 5-node cluster takes to be ready, and how much memory each node holds,
under the docker provider and under netns side by side. Writes what it measured; the issue
notes quote it.

    python -m harness.benchmarks.cluster_startup --system cassandra --out results/benchmarks/cassandra-startup.json

Per provider, ``--repeats`` clusters, one after the other, each torn down (and checked gone
by the provider's own teardown) before the next starts. Per cluster:

- ``time_to_ready_s``: from the first node's start to the system's readiness check passing
  (the provider's ``Cluster.time_to_ready_s``; under docker the sandboxes start before that
  and are reported apart as ``sandboxes_s``);
- memory per node, twice: right after readiness and after ``--load-s`` seconds of the
  system's default put/get workload (8 clients, 256-byte values): the resident set of the
  node's server process (``VmRSS`` of ``/proc/<pid>/status``, the same measure under both
  providers) and, under docker, the container's memory limit (``NodeLaunch.memory_limit_bytes``).

Bounded: at most 20 repeats, at most 300 s of load each. Needs root (netns) and a Docker
engine with the system's image (``harness/setup/docker/jvm-images.sh``) for docker.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROVIDERS = ("docker", "netns")


def rss_bytes(pid: int | None) -> int | None:
    """VmRSS of ``pid`` in bytes (None when it is gone or has none)."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _memory(cluster: Any, enforced: bool) -> dict[str, dict[str, int | None]]:
    """Per node: its server's RSS, and the memory limit when the provider enforces one."""
    return {n.name: {"rss_bytes": rss_bytes(n.pid()),
                     "limit_bytes": n.launch.memory_limit_bytes if enforced else None}
            for n in cluster.nodes}


def _load(system_name: str, cluster: Any, directory: Path, seconds: float) -> dict[str, Any]:
    from harness.recorder.history import read_history
    from harness.workload.runner import run_workload
    from harness.workload.spec import parse_workload

    w = parse_workload({"name": "startup-load", "system": system_name, "nodes": len(cluster.nodes),
                        "duration_s": seconds, "value_size": 256, "keys": {"count": 1000, "prefix": "mem"},
                        "mix": {"put": 1, "get": 1}, "load": {"mode": "closed", "concurrency": 8, "workers": 1,
                                                              "op_timeout_s": 5}}, "<cluster_startup>")
    r = run_workload(w, cluster, directory, time.monotonic_ns(), show_progress=False)
    ok = sum(1 for o in read_history(r.history_path) if o.type == "ok" and not o.extra.get("phase"))
    return {"seconds": seconds, "ok_ops": ok}


def _provider(name: str, run_id: str) -> Any:
    if name == "docker":
        from harness.providers.docker import DockerProvider

        return DockerProvider(run_id).with_pull(False)
    from harness.providers.netns import NetnsProvider

    return NetnsProvider(run_id)


def start_once(system_name: str, provider_name: str, nodes: int, load_s: float) -> dict[str, Any]:
    from harness.registry import system_plugin

    system = system_plugin(system_name).make_system()
    run_id = f"bench-start-{system_name}-{provider_name}-{os.getpid()}-{time.time_ns() % 10**9}"
    p = _provider(provider_name, run_id)
    with tempfile.TemporaryDirectory(prefix="gbench-startup-bench-") as tmp:
        try:
            t0 = time.monotonic()
            cluster = p.start(system, nodes, Path(tmp))
            total = time.monotonic() - t0
            row: dict[str, Any] = {"time_to_ready_s": round(cluster.time_to_ready_s or 0.0, 3),
                                   "start_total_s": round(total, 3),
                                   "sandboxes_s": round(getattr(p, "sandboxes_s", None) or 0.0, 3),
                                   "phases": (cluster.ready.details or {}).get("phases") if cluster.ready else None,
                                   "memory_ready": _memory(cluster, provider_name == "docker")}
            if load_s > 0:
                row["load"] = _load(system_name, cluster, Path(tmp) / "load", load_s)
                row["memory_after_load"] = _memory(cluster, provider_name == "docker")
            if provider_name == "docker":
                facts = p.facts()
                row["images"], row["node_runtime"] = facts.get("images"), facts.get("node_runtime")
            else:
                row["java"] = str(getattr(system, "java", None))
            return row
        finally:
            p.teardown()


def _spread(values: list[float]) -> dict[str, float] | None:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """min/median/max of the ready times and of the nodes' RSS (MiB) over every run."""
    def rss(key: str) -> list[float]:
        return [round(m["rss_bytes"] / 2**20, 1) for r in runs for m in (r.get(key) or {}).values()
                if m.get("rss_bytes") is not None]
    limits = sorted({m["limit_bytes"] for r in runs for m in r["memory_ready"].values()
                     if m.get("limit_bytes") is not None})
    return {"time_to_ready_s": _spread([r["time_to_ready_s"] for r in runs]),
            "rss_mib_ready": _spread(rss("memory_ready")), "rss_mib_after_load": _spread(rss("memory_after_load")),
            "memory_limit_mib": [round(x / 2**20, 1) for x in limits] or None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.benchmarks.cluster_startup",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--system", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--providers", default=",".join(PROVIDERS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--load-s", type=float, default=20.0)
    args = ap.parse_args(argv)
    providers = [p for p in args.providers.split(",") if p]
    if not providers or any(p not in PROVIDERS for p in providers):
        ap.error(f"--providers: a comma-separated subset of {','.join(PROVIDERS)}")
    if not 1 <= args.repeats <= 20:
        ap.error("--repeats: between 1 and 20")
    if not 0 <= args.load_s <= 300:
        ap.error("--load-s: between 0 and 300")
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    doc: dict[str, Any] = {"schema_version": 1, "measured_utc": dt.datetime.now(dt.timezone.utc).isoformat(),
                           "command": "python -m harness.benchmarks.cluster_startup " + " ".join(argv or sys.argv[1:]),
                           "host": {"cpu_count": os.cpu_count(), "kernel": platform.release(),
                                    "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                                           / 2**30, 1)},
                           "system": args.system, "nodes": args.nodes, "providers": {}}
    for prov in providers:
        runs = []
        for i in range(args.repeats):
            runs.append(start_once(args.system, prov, args.nodes, args.load_s))
            print(f"[cluster_startup] {args.system} on {prov} #{i + 1}: ready in {runs[-1]['time_to_ready_s']} s",
                  file=sys.stderr, flush=True)
        doc["providers"][prov] = {"runs": runs, "summary": summarize(runs)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.rename(out)
    print(json.dumps({p: d["summary"] for p, d in doc["providers"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
