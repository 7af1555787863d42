"""How long a 5-node ZooKeeper cluster takes to become ready on this host, and how much memory
each server holds once it is: issue 11's acceptance figure. Writes what it measured.

    python -m harness.benchmarks.zookeeper_startup --out results/benchmarks/zookeeper-startup.json

Each start is a fresh cluster from the netns provider (new namespaces, empty data dirs,
``ZooKeeperSystem``'s defaults: 256 MiB heap, tickTime 1000 ms), torn down before the next.

* ``time_to_ready_s``: from the first server process's spawn (all 5 are spawned back to
  back) to ``ZooKeeperSystem.wait_ready`` passing: every server serving, one leader, the
  others following it, every AdminServer naming it (polled every 0.1 s, so it overstates by
  up to that much plus one probe round). ``start_total_s`` adds the provider's network and
  data-dir set-up.
* ``rss_bytes``: each server's resident set (``/proc/<pid>``, psutil) right after readiness,
  and again ``--settle-s`` later (the JVM keeps touching heap and loading classes for a while);
  ``uss_bytes``: the memory unique to the process (shared jar mappings left out).
* ``teardown_s``: the provider's teardown (SIGKILL of the JVMs, namespaces, bridge, data
  dirs), then a check that none of it is left.

An existing ``--out`` keeps its earlier invocations' summaries (``earlier_invocations``):
the figures move with the host's load, so none is silently replaced. Root needed (network
namespaces). Bounded: ``--starts`` clusters (1-10), each with the
system's readiness timeout. Set GBENCH_STATE_DIR/GBENCH_DATA_DIR to keep its ledgers and
data apart from other runs.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import psutil

REPO = Path(__file__).resolve().parents[2]
SCHEMA_VERSION = 1


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def _memory(pid: int) -> dict[str, int]:
    p = psutil.Process(pid)
    full = p.memory_full_info()
    return {"rss_bytes": full.rss, "uss_bytes": full.uss}


def _left_behind(provider: Any, pids: Sequence[int]) -> list[str]:
    """What the teardown left: live server pids, the run's namespaces, its bridge, its scratch dir."""
    left = [f"pid {p}" for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    left += [f"netns {n.netns}" for n in provider.nodes if n.netns in ns]
    if subprocess.run(["ip", "link", "show", provider.names.bridge], capture_output=True).returncode == 0:
        left.append(f"bridge {provider.names.bridge}")
    if provider.scratch_dir.exists():
        left.append(f"dir {provider.scratch_dir}")
    return left


def start_once(system: Any, nodes: int, data_root: Path, settle_s: float, index: int) -> dict[str, Any]:
    from harness.providers.netns import NetnsProvider

    run_id = f"bench-zookeeper-{os.getpid()}-{index}-{time.time_ns()}"
    provider = NetnsProvider(run_id).with_data_root(data_root)
    with tempfile.TemporaryDirectory(prefix="gbench-zk-bench-") as tmp:
        pids: list[int] = []
        try:
            load_before = os.getloadavg()[0]
            t0 = time.monotonic()
            cluster = provider.start(system, nodes, Path(tmp))
            total = time.monotonic() - t0
            pids = [p for n in cluster.nodes if (p := n.pid()) is not None]
            at_ready = {n.name: _memory(n.pid()) for n in cluster.nodes if n.pid()}
            time.sleep(settle_s)
            settled = {n.name: _memory(n.pid()) for n in cluster.nodes if n.pid()}
            ready = cluster.ready
        finally:
            t1 = time.monotonic()
            provider.teardown()
            teardown = time.monotonic() - t1
        left = _left_behind(provider, pids)
    return {"run_id": run_id, "time_to_ready_s": round(cluster.time_to_ready_s or 0.0, 3),
            "start_total_s": round(total, 3), "leader": ready.leader if ready else None,
            "epoch": ready.details.get("epoch") if ready else None,
            "load_average_1m_before": round(load_before, 2),
            "memory_at_ready": at_ready, "memory_settled": settled, "teardown_s": round(teardown, 3),
            "left_behind": left}


def earlier_invocations(out: Path) -> list[dict[str, Any]]:
    """The invocations an existing ``out`` already holds, newest last, each reduced to when,
    what, on which commit, under what host load and its summary: a new invocation replaces
    the runs, never the record that other figures were measured (the host's load moves them:
    see ``load_average_1m_before``). An ``out`` that cannot be read is an error, not skipped."""
    if not out.exists():
        return []
    try:
        prev = json.loads(out.read_text())
        return [*prev.get("earlier_invocations", []),
                {"measured_utc": prev["measured_utc"], "command": prev["command"], "git": prev["git"],
                 "load_average_1m_before": [r["load_average_1m_before"] for r in prev["runs"]],
                 "summary": prev["summary"]}]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"{out}: cannot read the earlier invocations ({type(e).__name__}: {e}); move it away first")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--settle-s", type=float, default=10.0)
    args = ap.parse_args(argv)
    if not 1 <= args.starts <= 10:
        raise SystemExit("--starts: between 1 and 10")
    if not 1 <= args.nodes <= 9:
        raise SystemExit("--nodes: between 1 and 9")
    if not 0 <= args.settle_s <= 120:
        raise SystemExit("--settle-s: between 0 and 120")
    if os.geteuid() != 0:
        raise SystemExit("the ZooKeeper start-up benchmark starts clusters in network namespaces: run it as root")
    import kazoo.version

    from harness.providers.netns import default_data_root
    from harness.results.hostfacts import collect_host_facts
    from harness.results.store import git_commit
    from harness.systems.zookeeper.system import ZooKeeperSystem

    system = ZooKeeperSystem.from_environment()
    data_root = default_data_root()
    data_root.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc).isoformat()
    runs = [start_once(system, args.nodes, data_root, args.settle_s, i) for i in range(args.starts)]
    mem = {phase: [m[key] for r in runs for m in r[phase].values()]
           for phase in ("memory_at_ready", "memory_settled") for key in ("rss_bytes",)}
    uss = [m["uss_bytes"] for r in runs for m in r["memory_settled"].values()]
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "what": f"{args.nodes}-node ZooKeeper (netns provider): seconds from the first server's spawn to ready, "
                "each server's memory at ready and --settle-s later, and the teardown; "
                "harness/benchmarks/zookeeper_startup.py",
        "command": "python -m harness.benchmarks.zookeeper_startup " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measured_utc": started, "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(),
        "git": git_commit(), "host": collect_host_facts(data_root),
        "software": {"zookeeper": system.distribution.version, "zookeeper_build": system.distribution.build,
                     "java": system.java.version, "kazoo": kazoo.version.__version__},
        "config": system.config_dict(), "nodes": args.nodes, "starts": args.starts, "settle_s": args.settle_s,
        "summary": {
            "time_to_ready_s": _spread([r["time_to_ready_s"] for r in runs]),
            "start_total_s": _spread([r["start_total_s"] for r in runs]),
            "rss_mib_per_node_at_ready": {k: round(v / 2**20, 1) for k, v in _spread(mem["memory_at_ready"]).items()},
            "rss_mib_per_node_settled": {k: round(v / 2**20, 1) for k, v in _spread(mem["memory_settled"]).items()},
            "uss_mib_per_node_settled": {k: round(v / 2**20, 1) for k, v in _spread(uss).items()},
            "teardown_s": _spread([r["teardown_s"] for r in runs]),
            "anything_left_behind": any(r["left_behind"] for r in runs),
        },
        "runs": runs,
    }
    out = Path(args.out)
    doc["earlier_invocations"] = earlier_invocations(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.rename(out)
    print(json.dumps(doc["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
