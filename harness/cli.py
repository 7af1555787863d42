"""``gbench``: the command line. The only place that turns typed errors into one line + exit code.

    gbench run WORKLOAD.yaml [--provider auto|netns|docker|external] [--endpoints h:p,...] [--nodes 5] [--duration S]
    gbench scenario SCENARIO.yaml [--provider auto|netns|docker]
    gbench bench [--suite workloads/suites/etcd.yaml ...] [--nodes N]
    gbench compare ETCD_RUN CASSANDRA_RUN
    gbench ls
    gbench show RUN|latest
    gbench check FILE... [--format auto|jepsen-register|jepsen-kv|history] [--counterexample]
    gbench cleanup [--force]
    gbench diagrams [--results DIR] [--specs DIR] [--out DIR] [--check]

Environment: GBENCH_RESULTS_DIR (results root), GBENCH_DATA_DIR (node data dirs),
GBENCH_STATE_DIR (crash-cleanup ledgers), GBENCH_ETCD_BIN (etcd binary), GBENCH_DOCKER_PULL=1 (docker
provider: pull official images), TESTCONTAINERS_RYUK_DISABLED (docker provider: no Ryuk reaper).
Exit codes: 0 ok, 1 failure, 2 bad input, 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from harness.errors import ConfigError, EnvironmentProblem, GbenchError
from harness.results.store import REPO_ROOT

#: What ``gbench bench`` (and so ``make bench``) runs, one cluster after the other, then compares.
DEFAULT_SUITES = (REPO_ROOT / "workloads" / "suites" / "etcd.yaml", REPO_ROOT / "workloads" / "suites" / "cassandra.yaml")


def _session_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from harness.session import SessionOptions

    return SessionOptions(provider=args.provider,
                          endpoints=tuple(e for e in (args.endpoints or "").split(",") if e),
                          peer_links=getattr(args, "peer_links", "direct"),
                          results_root=Path(args.results) if args.results else None,
                          show_progress=not args.quiet)


def cmd_run(args: argparse.Namespace) -> int:
    from harness.session import run_suite
    from harness.workload.spec import load_workload
    from harness.workload.suite import Suite

    w = load_workload(args.workload)
    overrides = {}
    if args.nodes is not None:
        overrides["nodes"] = args.nodes
    if args.duration is not None:
        overrides["duration_s"] = args.duration
    if overrides:
        w = w.with_overrides(**overrides)
    suite = Suite(name=w.name, source=w.source, sha256=w.sha256, system=w.system, nodes=w.nodes,
                  workloads=(w,), etcd_benchmark=args.etcd_benchmark)
    run_suite(suite, _session_options(args))
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    from harness.scenario.spec import load_scenario
    from harness.session import run_suite
    from harness.workload.suite import Suite

    sc = load_scenario(args.scenario)  # validated here too, so a bad file fails before anything else
    if args.nodes is not None and args.nodes != sc.nodes:
        raise ConfigError("--nodes", "nodes", f"scenario {sc.source} is written for {sc.nodes} nodes (its "
                                              "partition shapes name them); edit the file instead")
    suite = Suite(name=sc.name, source=sc.source, sha256=sc.sha256, system=sc.system, nodes=sc.nodes,
                  workloads=(), scenarios=(sc.source,), description=sc.description)
    run_suite(suite, _session_options(args))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Every suite on its own fresh cluster, one after the other, then the comparison of the
    etcd and Cassandra runs. Every suite file is validated before the first cluster starts; a
    suite that cannot run here (no Java, say) is reported and the others still run."""
    from dataclasses import replace

    from harness.results.comparison import format_comparison, write_comparison
    from harness.session import run_suite
    from harness.workload.suite import load_suite

    suites = [load_suite(s) for s in (args.suite or DEFAULT_SUITES)]
    if args.nodes is not None:
        suites = [replace(s, nodes=args.nodes, workloads=tuple(w.with_overrides(nodes=args.nodes) for w in s.workloads))
                  for s in suites]
    runs: dict[str, Path | None] = {}
    failed: list[str] = []
    for suite in suites:
        try:
            runs[suite.system] = run_suite(suite, _session_options(args))
        except EnvironmentProblem as e:
            print(f"gbench: {suite.name} not run: {e}", file=sys.stderr)
            runs.setdefault(suite.system, None)
            failed.append(suite.name)
        except GbenchError as e:
            print(f"gbench: {suite.name} failed: {e}", file=sys.stderr)
            runs.setdefault(suite.system, None)
            failed.append(suite.name)
    if {"etcd", "cassandra"} <= set(runs) and any(runs.values()):
        out = write_comparison(runs, Path(args.results) if args.results else None)
        from harness.results.comparison import comparison_rows
        print(f"[gbench] comparison: {out}", file=sys.stderr)
        print(format_comparison(comparison_rows(runs)))
    if failed:
        print(f"gbench: not complete: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.results.comparison import comparison_rows, format_comparison, write_comparison
    from harness.results.store import find_run

    root = Path(args.results) if args.results else None
    runs: dict[str, Path | None] = {"etcd": find_run(args.etcd_run, root), "cassandra": find_run(args.cassandra_run, root)}
    out = write_comparison(runs, root)
    print(f"[gbench] comparison: {out}", file=sys.stderr)
    print(format_comparison(comparison_rows(runs)))
    return 0


def cmd_compare_scenarios(args: argparse.Namespace) -> int:
    from harness.results.scenario_comparison import publish_scenario_comparison
    from harness.results.store import find_run

    root = Path(args.results) if args.results else None
    runs = [find_run(r, root) for r in args.runs]  # raises, naming the run, when none matches
    out = publish_scenario_comparison(runs, args.scenario, root)
    print(f"[gbench] scenario comparison: {out}", file=sys.stderr)
    print((out / "scenario-comparison.md").read_text())
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from harness.results.store import list_runs

    runs = list_runs(Path(args.results) if args.results else None)
    if not runs:
        print("no runs")
        return 0
    for r in runs:
        print(f"{r['run_id']:45s} {r['state']:24s} {r.get('system') or '':6s} "
              f"{str(r.get('nodes') or ''):>3s} nodes  {r.get('started') or ''}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import json

    from harness.recorder.summary import format_table, read_summary
    from harness.results.store import find_run

    path = find_run(args.run, Path(args.results) if args.results else None)
    m = json.loads((path / "manifest.json").read_text())
    if m.get("kind") == "comparison":
        from harness.results.comparison import format_comparison

        print(f"comparison {m['run_id']} of {m.get('source_runs')}")
        print(format_comparison(json.loads((path / "comparison.json").read_text())["rows"]))
        return 0
    host = m.get("host", {})
    fs = host.get("fsync_latency", {})
    print(f"run {m['run_id']}  ({m.get('started_utc')} .. {m.get('ended_utc')})")
    print(f"cluster: {m.get('cluster', {}).get('nodes')}-node {m.get('cluster', {}).get('system')} "
          f"{m.get('software', {}).get(m.get('cluster', {}).get('system') or 'etcd', {}).get('version', '')} on {m.get('cluster', {}).get('provider')}, "
          f"ready in {m.get('cluster', {}).get('time_to_ready_s')} s")
    print(f"host: {host.get('cpu_model')} x{host.get('logical_cores')}, fsync p50 {fs.get('p50_ms')} ms "
          f"p99 {fs.get('p99_ms')} ms on {host.get('data_dir_filesystem', host.get('filesystem'))}")
    print(format_table(read_summary(path)))
    s = json.loads((path / "summary.json").read_text())
    for c in s.get("comparisons", []):
        print(f"vs etcd-benchmark ({c.get('workload')}): {c.get('summary')}")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    from harness.providers.ledger import cleanup_all

    report = cleanup_all(only_dead_owners=not args.force)
    print(report if isinstance(report, str) else _fmt_report(report))
    from harness.providers.docker import cleanup_docker

    docker_report = cleanup_docker(None, force=args.force)  # by label; nothing when no engine answers
    if docker_report.removed or docker_report.errors or docker_report.skipped_live:
        print(docker_report)
    return 0 if docker_report.ok else 1


def _fmt_report(report: object) -> str:
    if isinstance(report, dict):
        lines = [f"{k}: {v}" for k, v in report.items()]
        return "\n".join(lines) or "nothing to clean up"
    if isinstance(report, list):
        return "\n".join(str(x) for x in report) or "nothing to clean up"
    return str(report)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gbench", description="Measure what distributed databases guarantee.")
    sub = p.add_subparsers(dest="cmd", required=True)

    def cluster_args(sp: argparse.ArgumentParser) -> None:
        g = sp.add_argument_group("cluster")
        g.add_argument("--provider", default="auto", choices=["auto", "netns", "docker", "external"],
                       help="where nodes run (default: auto = docker when an engine answers and the images are "
                            "there, else netns when root; external = an existing cluster)")
        g.add_argument("--endpoints", help="external provider: comma-separated host:port list")
        g.add_argument("--peer-links", default="direct", choices=["direct", "toxiproxy"],
                       help="how members reach each other: direct (partitions = iptables in the nodes' "
                            "namespaces) or toxiproxy (docker provider: one proxy per directed link; "
                            "partitions = Toxiproxy toxics)")
        g.add_argument("--nodes", type=int, help="override the node count")
        sp.add_argument("--results", help="results root (default: ./results or $GBENCH_RESULTS_DIR)")
        sp.add_argument("--quiet", action="store_true", help="no live progress line")

    r = sub.add_parser("run", help="run one workload file on a fresh cluster")
    r.add_argument("workload")
    r.add_argument("--duration", type=float, help="override duration_s")
    r.add_argument("--etcd-benchmark", action="store_true", help="also run etcd's benchmark tool with the same settings")
    cluster_args(r)
    r.set_defaults(fn=cmd_run)

    sc = sub.add_parser("scenario", help="run one fault scenario (workloads + nemesis timeline) on a fresh cluster")
    sc.add_argument("scenario")
    cluster_args(sc)
    sc.set_defaults(fn=cmd_scenario)

    b = sub.add_parser("bench", help="the default measurement suite (what make bench runs)")
    b.add_argument("--suite", action="append", help="a suite file (repeatable; default: the etcd and Cassandra "
                   "suites, then their comparison)")
    cluster_args(b)
    b.set_defaults(fn=cmd_bench)

    cp = sub.add_parser("compare", help="the etcd-vs-Cassandra table (spec Diagram 3) from two runs")
    cp.add_argument("etcd_run")
    cp.add_argument("cassandra_run")
    cp.add_argument("--results")
    cp.set_defaults(fn=cmd_compare)

    cs = sub.add_parser("compare-scenarios", help="one scenario's failure summaries from several runs, side by side "
                                                  "(e.g. netns + iptables, docker + iptables, docker + Toxiproxy)")
    cs.add_argument("scenario")
    cs.add_argument("runs", nargs="+")
    cs.add_argument("--results")
    cs.set_defaults(fn=cmd_compare_scenarios)

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument("--results")
    ls.set_defaults(fn=cmd_ls)

    sh = sub.add_parser("show", help="summary table of a run")
    sh.add_argument("run", nargs="?", default="latest")
    sh.add_argument("--results")
    sh.set_defaults(fn=cmd_show)

    dg = sub.add_parser("diagrams", help="regenerate the guarantee diagrams from results/ (--check: verify them)")
    dg.set_defaults(fn=_diagrams)
    _add_diagram_arguments(dg)

    c = sub.add_parser("cleanup", help="remove what crashed runs left (processes, namespaces, bridge, rules, dirs; "
                                       "docker containers and networks by label)")
    c.add_argument("--force", action="store_true", help="also clean runs whose harness process is still alive")
    c.set_defaults(fn=cmd_cleanup)

    try:
        from harness.checkers.check_command import add_check_arguments, run_check  # noqa: F401

        ck = sub.add_parser("check", help="judge history files (linearizability)")
        add_check_arguments(ck)
        ck.set_defaults(fn=lambda a: _check(a))
    except ImportError:  # pragma: no cover - checkers always ship; guard keeps the CLI usable mid-refactor
        pass
    return p


def _add_diagram_arguments(p: argparse.ArgumentParser) -> None:
    from diagram_gen.cli import add_arguments

    add_arguments(p)


def _diagrams(args: argparse.Namespace) -> int:
    from diagram_gen.cli import run

    return run(args)


def _check(args: argparse.Namespace) -> int:
    from harness.checkers.check_command import run_check

    return run_check(args.files, fmt=args.format, show_counterexample=args.counterexample)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except ConfigError as e:
        print(f"gbench: error: {e}", file=sys.stderr)
        return 2
    except GbenchError as e:
        print(f"gbench: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gbench: interrupted; everything the run created was removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
