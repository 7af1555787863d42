"""``gbench``: the command line. The only place that turns typed errors into one line + exit code.

    gbench run WORKLOAD.yaml [--provider auto|netns|docker|external] [--endpoints h:p,...] [--nodes 5] [--duration S]
    gbench scenario SCENARIO.yaml [--provider auto|netns|docker]
    gbench bench [--suite workloads/suites/<system>.yaml ...] [--nodes N]
    gbench compare RUN RUN [RUN...] [--results DIR]
    gbench compare-scenarios SCENARIO RUN... [--results DIR]
    gbench ls [--results DIR]
    gbench history [--results DIR ...] [--out FILE.csv]
    gbench changes [--results DIR ...] [--out DIR] [--threshold-cv X]
    gbench show RUN|latest [--results DIR]
    gbench check FILE... [--model linearizable|sequential|bounded-staleness|causal|...] [--bound B] [--format auto|jepsen-register|jepsen-kv|history]
                 [--counterexample]
    gbench cleanup [--force]
    gbench compose SYSTEM [--nodes 5] [--out DIR] [--subnet CIDR] [--image REF]
    gbench diagrams [--results DIR] [--specs DIR] [--out DIR] [--check] [--newest] [--moves DIR]
    gbench diagrams-refresh --batch ID [--from DIR] [--into DIR] [--specs DIR] [--moves DIR]

Environment: GBENCH_RESULTS_DIR (results root), GBENCH_DATA_DIR (node data dirs),
GBENCH_STATE_DIR (crash-cleanup ledgers), GBENCH_ETCD_BIN (etcd binary), GBENCH_DOCKER_PULL=1 (docker
provider: pull official images), TESTCONTAINERS_RYUK_DISABLED (docker provider: no Ryuk reaper).
A RUN is a run id, a unique prefix of one, 'latest' (the newest published run) or the path of a
run directory (one holding a manifest.json).

Exit codes: 0 ok; 1 a failed run or check, or a run whose files are missing or damaged (the
message names the file and why); 2 bad input: a malformed file, an option out of bounds, or a
reference to something that is not there (a RUN that names no run, a SCENARIO the run does not
hold, a --results that is not a directory); 130 interrupted (Ctrl-C, SIGTERM). ``gbench check``
also exits 3 when a history could not be decided (harness/checkers/check_command.py);
``gbench changes`` exits 10 when it reports a change (0: none).
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path
from typing import Sequence

from harness.errors import ArgumentError, ConfigError, DamagedFile, EnvironmentProblem, GbenchError
from harness.results.store import REPO_ROOT, Run, find_run, read_run, results_root

def default_suites() -> list[Path]:
    """What ``gbench bench`` (and so ``make bench``) runs, one cluster after the other, then
    compares: every registered system's ``default_suite``, in registry order."""
    from harness.registry import system_names, system_plugin

    return [REPO_ROOT / suite for name in system_names() if (suite := system_plugin(name).default_suite)]


def _peer_tools() -> list[tuple[str, str]]:
    """(system, peer tool suite field) of every registered system's peer tools: each is a
    ``gbench run`` flag (``--<suite field>``, underscores as dashes)."""
    from harness.registry import system_names, system_plugin

    return [(name, tool.suite_field) for name in system_names() for tool in system_plugin(name).peer_tools]


def duration_s(text: str) -> float:
    """``--duration``: finite seconds, 0 < S <= the longest a workload may ask for
    (workload.spec.MAX_SECONDS); argparse names the option."""
    from harness.workload.spec import MAX_SECONDS

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(v) and 0 < v <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds with 0 < S <= {MAX_SECONDS:g}, "
                                         f"got {text!r}")
    return v


def node_count(text: str) -> int:
    """``--nodes``: an integer from 1 to the most nodes one host runs (workload.spec.MAX_NODES)."""
    from harness.workload.spec import MAX_NODES

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of nodes") from None
    if not 1 <= v <= MAX_NODES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_NODES} nodes, got {v}")
    return v


def package_version() -> str:
    """The installed distribution's version, else pyproject.toml's (a source checkout)."""
    import importlib.metadata
    import tomllib

    try:
        return importlib.metadata.version("guarantees-bench")
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = REPO_ROOT / "pyproject.toml"
    try:
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as e:
        return f"unknown (not installed, and {pyproject} gives none: {type(e).__name__}: {e})"


def _results_dir(args: argparse.Namespace, must_exist: bool) -> Path:
    """The results root a command reads (``must_exist``) or writes: ``--results``, else
    $GBENCH_RESULTS_DIR, else the repository's ``results/``. ArgumentError naming where it
    came from when it is a file, lies under a file, or (``must_exist``) does not exist."""
    given = getattr(args, "results", None)
    if given is not None:
        root, named = Path(given), "--results"
        if not given.strip():
            raise ArgumentError(named, "empty path")
    else:
        root = results_root()
        named = "GBENCH_RESULTS_DIR" if os.environ.get("GBENCH_RESULTS_DIR") else "results root"
    if root.is_dir():
        return root
    if root.exists():
        raise ArgumentError(named, f"{root} is a file, not a results directory")
    if must_exist:
        raise ArgumentError(named, f"{root}: no such directory")
    blocker = next((p for p in root.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ArgumentError(named, f"{root} cannot be created: {blocker} is a file")
    return root


def _session_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from harness.session import SessionOptions

    return SessionOptions(provider=args.provider,
                          endpoints=tuple(e for e in (args.endpoints or "").split(",") if e),
                          peer_links=getattr(args, "peer_links", "direct"),
                          results_root=_results_dir(args, must_exist=False),
                          show_progress=not args.quiet)


def cmd_run(args: argparse.Namespace) -> int:
    from harness.registry import system_plugin
    from harness.session import run_suite
    from harness.workload.spec import load_workload
    from harness.workload.suite import Suite

    opts = _session_options(args)
    w = load_workload(args.workload)
    overrides = {k: v for k, v in (("nodes", args.nodes), ("duration_s", args.duration)) if v is not None}
    if overrides:
        given = " ".join(f"{o} {v:g}" for o, v in (("--nodes", args.nodes), ("--duration", args.duration))
                         if v is not None)
        try:
            w = w.with_overrides(**overrides)
        except ConfigError as e:  # the command line's mistake, not the workload file's
            raise ArgumentError(given, f"does not suit {e}") from None
    # a peer tool's command-line flag is its suite field (_peer_tools); one of another system is refused
    asked = [field for _, field in _peer_tools() if getattr(args, field, False)]
    tools = tuple(t.suite_field for t in system_plugin(w.system).peer_tools if t.suite_field in asked)
    foreign = sorted(set(asked) - set(tools))
    if foreign:
        raise ArgumentError(", ".join("--" + f.replace("_", "-") for f in foreign),
                            f"is not a peer tool of {w.system} (the system of {w.source})")
    suite = Suite(name=w.name, source=w.source, sha256=w.sha256, system=w.system, nodes=w.nodes,
                  workloads=(w,), peer_tools=tools)
    run_suite(suite, opts)
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    from harness.scenario.spec import load_scenario
    from harness.session import run_suite
    from harness.workload.suite import Suite

    opts = _session_options(args)
    sc = load_scenario(args.scenario)  # validated here too, so a bad file fails before anything else
    if args.nodes is not None and args.nodes != sc.nodes:
        raise ArgumentError("--nodes", f"{args.nodes}: scenario {sc.source} is written for {sc.nodes} nodes (its "
                                       "partition shapes name them); edit the file instead")
    suite = Suite(name=sc.name, source=sc.source, sha256=sc.sha256, system=sc.system, nodes=sc.nodes,
                  workloads=(), scenarios=(sc.source,), description=sc.description)
    run_suite(suite, opts)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Every suite on its own fresh cluster, one after the other, then the comparison of the
    systems' runs (when suites of two or more systems ran). Every suite, its workloads and
    scenario files, its node count and its value sizes are checked before the first cluster
    starts (bad input: exit 2, nothing run); a suite that cannot run here (no Java, say) is
    reported and the others still run."""
    from harness.results.comparison import comparison_rows, format_comparison, write_comparison
    from harness.session import make_system, run_suite
    from harness.workload.preflight import check_suite, with_node_count
    from harness.workload.suite import Suite, load_suite

    opts = _session_options(args)
    suites = [load_suite(s) for s in (args.suite or default_suites())]
    if args.nodes is not None:
        suites = [with_node_count(s, args.nodes) for s in suites]
    checked: list[tuple[Suite, EnvironmentProblem | None]] = []
    for suite in suites:  # all checks first: a mistake in the last suite must not wait for the first
        try:
            system, problem = make_system(suite.system), None
        except EnvironmentProblem as e:
            system, problem = None, e  # cannot run here; its files are still checked
        check_suite(suite, system)
        checked.append((suite, problem))
    runs: dict[str, Path | None] = {}
    failed: list[str] = []
    for suite, problem in checked:
        try:
            if problem is not None:
                raise problem
            runs[suite.system] = run_suite(suite, opts)
        except EnvironmentProblem as e:
            print(f"gbench: {suite.name} not run: {e}", file=sys.stderr)
            runs.setdefault(suite.system, None)
            failed.append(suite.name)
        except GbenchError as e:
            print(f"gbench: {suite.name} failed: {e}", file=sys.stderr)
            runs.setdefault(suite.system, None)
            failed.append(suite.name)
    if len(runs) >= 2 and any(runs.values()):  # two or more systems ran: side by side
        out = write_comparison(runs, opts.results_root)
        print(f"[gbench] comparison: {out}", file=sys.stderr)
        print(format_comparison(comparison_rows(runs)))
    if failed:
        print(f"gbench: not complete: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _measurement_run(ref: str, root: Path, argument: str) -> Run:
    """The run ``ref`` names, read and checked; ArgumentError when it is a comparison, not a
    measurement of one system."""
    run = read_run(find_run(ref, root, argument))
    if run.kind != "measurement":
        raise ArgumentError(argument, f"{run.run_id} is a {run.kind} run, not a measurement run")
    return run


def cmd_compare(args: argparse.Namespace) -> int:
    """Systems side by side, one column per RUN (in the order given). Each run's system is read
    from its manifest (``cluster.system``); two runs of one system, or fewer than two runs, are
    refused (exit 2). What is compared: ``workloads/comparisons/metrics.yaml``."""
    from harness.results.comparison import comparison_rows, format_comparison, load_metrics, write_comparison

    if len(args.runs) < 2:
        raise ArgumentError("RUN", f"got {len(args.runs)} run; give two or more, one per system. "
                                   "Usage: gbench compare RUN RUN [RUN...]")
    root = _results_dir(args, must_exist=True)
    given = [_measurement_run(ref, root, "RUN") for ref in args.runs]
    by_system: dict[str, list[str]] = {}
    for run in given:
        by_system.setdefault(str(run.system), []).append(run.run_id)
    twice = {s: ids for s, ids in by_system.items() if len(ids) > 1}
    if twice:
        raise ArgumentError("RUN", "; ".join(f"{' and '.join(ids)} are {'both' if len(ids) == 2 else 'all'} {s} runs" if len(set(ids)) > 1 else
                                             f"{ids[0]} is given {len(ids)} times" for s, ids in twice.items())
                            + ": give one run per system (the runs' manifest.json cluster.system). "
                              "Usage: gbench compare RUN RUN [RUN...]")
    load_metrics()  # a malformed metrics file is bad input (exit 2) before anything is read or written
    runs: dict[str, Path | None] = {str(run.system): run.path for run in given}
    rows = comparison_rows(runs)
    out = write_comparison(runs, root)
    print(f"[gbench] comparison: {out}", file=sys.stderr)
    print(format_comparison(rows))
    return 0


def cmd_compare_scenarios(args: argparse.Namespace) -> int:
    """One scenario's failure summaries from several runs. A SCENARIO a run does not hold is
    bad input (exit 2, naming the run and the scenarios it has); a run that holds it but
    whose failure_summary.json is missing or damaged is a damaged run (exit 1)."""
    from harness.results.scenario_comparison import publish_scenario_comparison

    from harness.config_fields import NAME_PATTERN

    if not re.fullmatch(NAME_PATTERN, args.scenario) or ".." in args.scenario:  # it names a directory of the run
        raise ArgumentError("SCENARIO", f"{args.scenario!r} is not a scenario name (a scenario's name matches "
                                        f"{NAME_PATTERN} without '..')")
    root = _results_dir(args, must_exist=True)
    runs = [_measurement_run(r, root, "RUN") for r in args.runs]
    for run in runs:
        if args.scenario not in run.scenarios():
            raise ArgumentError("SCENARIO", f"run {run.run_id} has no scenario {args.scenario!r} (it has: "
                                            f"{', '.join(run.scenarios()) or 'none'})")
    out = publish_scenario_comparison([r.path for r in runs], args.scenario, root)
    print(f"[gbench] scenario comparison: {out}", file=sys.stderr)
    print((out / "scenario-comparison.md").read_text())
    return 0


def _describe(run: Run) -> str:
    """What a complete run is, in a few words, for ``gbench ls``."""
    from harness.results.store import dig

    m = run.manifest
    if run.kind == "comparison":
        return "comparison of " + ", ".join(f"{s} {r or '(none)'}" for s, r in m["source_runs"].items())
    if run.kind == "scenario-comparison":
        n = len(m["source_runs"])
        return f"scenario {m['scenario']} compared across {n} run{'' if n == 1 else 's'}"
    return (f"{m['cluster']['nodes']}-node {m['cluster']['system']} on {m['cluster']['provider']}, "
            f"{len(run.results['rows'])} summary rows, started {m['started_utc'][:19]}"
            + ("" if dig(m, "ended_utc") else ", no end time"))


def cmd_ls(args: argparse.Namespace) -> int:
    """Every run with its state: complete (what it is), incomplete (why it stopped), in
    progress (by which pid), crashed (its process gone), or damaged (which file and why)."""
    from harness.results.store import COMPLETE, list_runs

    root = _results_dir(args, must_exist=True)
    entries = list_runs(root)
    if not entries:
        print(f"no runs in {root}")
        return 0
    width = max(len(e.run_id) for e in entries)
    for e in entries:
        detail = _describe(e.run) if e.state == COMPLETE and e.run is not None else e.why
        print(f"{e.run_id:{width}s}  {e.state:11s}  {detail}".rstrip())
    return 0


def _results_roots(args: argparse.Namespace) -> list[Path]:
    """Every ``--results`` given (repeatable), each checked as ``_results_dir`` checks one;
    the default root when none is given."""
    return [_results_dir(argparse.Namespace(results=r), must_exist=True) for r in (args.results or [None])]


def cmd_history(args: argparse.Namespace) -> int:
    """Every complete measurement run under the results roots as one tidy table (one row per
    run, series and metric), per hardware fingerprint; ``--out`` writes it as CSV."""
    from harness.results.history import FINGERPRINT_FIELDS, load_history

    roots = _results_roots(args)
    out = Path(args.out) if args.out else None
    if out is not None and out.is_dir():
        raise ArgumentError("--out", f"{out} is a directory; name a CSV file")
    h = load_history(roots)
    df = h.frame
    print(f"{h.runs_read} runs, {len(df)} observations, {df.series.nunique()} series, "
          f"{df.fingerprint.nunique()} hardware fingerprints (runs on different fingerprints are never compared)")
    for fp, g in df.groupby("fingerprint", sort=False):
        facts = g.iloc[0]
        desc = ", ".join(f"{name} {facts[name]}" for name, _ in FINGERPRINT_FIELDS)
        print(f"  {fp}: {g.run_id.nunique()} runs, {g.series.nunique()} series ({desc})")
    for rid, path, why in h.excluded:
        print(f"  left out {rid}: {why}")
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(out, index=False)
        except OSError as e:
            raise ArgumentError("--out", f"cannot write {out}: {e.strerror or e}") from None
        print(f"wrote {out}")
    return 0


EXIT_CHANGE_DETECTED = 10


def threshold_cv(text: str) -> float:
    """``--threshold-cv``: a finite coefficient of variation > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def cmd_changes(args: argparse.Namespace) -> int:
    """Change points over the history of every results root (harness/results/changes.py):
    prints summary.md; ``--out DIR`` writes there changes.json, summary.md and the files of
    harness/results/changes_report.py (issue-<id>.md, issues.json, plots/, index.html). Exit 10
    when a change is reported, 0 when none."""
    from harness.results.changes import Settings, detect_changes
    from harness.results.changes_report import write_report_files
    from harness.results.changes_summary import summary_markdown
    from harness.results.history import load_history

    roots = _results_roots(args)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise ArgumentError("--out", f"{out} is a file; name a directory")
    h = load_history(roots)
    settings = Settings() if args.threshold_cv is None else Settings(threshold_cv=args.threshold_cv)
    report = detect_changes(h.frame, h.run_paths, h.runs_read, h.excluded, settings)
    summary = summary_markdown(report, plots=out is not None)
    print(summary, end="")
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
            written = write_report_files(report, h.frame, out, summary)
        except OSError as e:
            raise ArgumentError("--out", f"cannot write in {out}: {e.strerror or e}") from None
        print(f"wrote {len(written)} files in {out}: changes.json, summary.md, index.html, issues.json, "
              f"{len(report.changes)} issue-<id>.md, {2 * len({s.series for s, _ in report.changes})} plots")
    return EXIT_CHANGE_DETECTED if report.changes else 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.recorder.summary import format_table
    from harness.results.comparison import format_comparison
    from harness.results.store import dig

    run = read_run(find_run(args.run, _results_dir(args, must_exist=True)))
    m = run.manifest
    if run.kind == "comparison":
        print(f"comparison {run.run_id} of {m['source_runs']}")
        print(format_comparison(run.results["rows"]))
        return 0
    if run.kind == "scenario-comparison":
        md = run.path / "scenario-comparison.md"
        try:
            text = md.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise DamagedFile(str(md), f"cannot be read: {e}") from None
        print(text)
        return 0
    def measured(path: str, unit: str = "") -> str:
        v = dig(m, path)
        return "not measured" if v is None else f"{v}{unit}"

    c = m["cluster"]
    print(f"run {run.run_id}  ({m['started_utc']} .. {dig(m, 'ended_utc') or 'no end time recorded'})")
    print(f"cluster: {c['nodes']}-node {c['system']} {dig(m, 'software.' + c['system'] + '.version') or ''} on "
          f"{c['provider']}, ready in {measured('cluster.time_to_ready_s', ' s')}")
    print(f"host: {measured('host.cpu_model')}, {measured('host.logical_cores', ' logical cores')}, fsync p50 "
          f"{measured('host.fsync_latency.p50_ms', ' ms')} p99 {measured('host.fsync_latency.p99_ms', ' ms')} on "
          f"{dig(m, 'host.data_dir_filesystem') or dig(m, 'host.filesystem') or 'an unrecorded filesystem'}")
    print(format_table(run.results["rows"]))
    for comp in run.results.get("comparisons") or []:
        if isinstance(comp, dict):
            print(f"vs {_peer_tool_name(comp, str(c['system']))} ({comp.get('workload')}): {comp.get('summary')}")
    return 0


def _peer_tool_name(comp: dict, system: str) -> str:
    """The peer tool a summary.json comparison entry came from: its ``tool``. Entries written
    before they were named (before issue 11) come from the one peer tool their system had then
    (etcd's benchmark), so the name is the system's only peer tool; a system with none or with
    several cannot say, and the line says so."""
    if comp.get("tool"):
        return str(comp["tool"])
    from harness.registry import system_plugin

    tools = system_plugin(system, "manifest.json", "cluster.system").peer_tools
    return tools[0].name if len(tools) == 1 else "an unnamed peer tool"


def cmd_cleanup(args: argparse.Namespace) -> int:
    from harness.providers.ledger import cleanup_all

    report = cleanup_all(only_dead_owners=not args.force)
    print(report if isinstance(report, str) else _fmt_report(report))
    from harness.providers.docker import cleanup_docker

    docker_report = cleanup_docker(None, force=args.force)  # by label; nothing when no engine answers
    if docker_report.removed or docker_report.errors or docker_report.skipped_live:
        print(docker_report)
    return 0 if docker_report.ok else 1


def cmd_compose(args: argparse.Namespace) -> int:
    """``gbench compose SYSTEM``: a compose project of the system's cluster, configured as a
    harness run's (harness/providers/compose_file.py); prints how to start and drive it."""
    import hashlib

    from harness.providers.compose_file import free_subnet, write_project
    from harness.providers.docker import image_for
    from harness.providers.netns import validate_subnet
    from harness.session import make_system

    system = make_system(args.system)
    spec = image_for(system)
    out = Path(args.out or f".cache/compose/{args.system}")
    subnet = validate_subnet(args.subnet, "--subnet") if args.subnet else \
        free_subnet(int(hashlib.sha1(str(out.resolve()).encode()).hexdigest()[:8], 16))
    project = write_project(system, spec, args.nodes, out, subnet, image=args.image)
    f = project.file
    print(f"wrote {f} ({args.nodes} nodes of {args.system}, image {project.image}, network {project.subnet})\n"
          f"  up:    docker-compose -p gbench-{args.system} -f {f} up -d\n"
          f"  drive: gbench run WORKLOAD.yaml --provider external --endpoints {','.join(project.endpoints)}\n"
          f"  down:  docker-compose -p gbench-{args.system} -f {f} down -v; then remove {f.parent}")
    return 0


def _fmt_report(report: object) -> str:
    if isinstance(report, dict):
        lines = [f"{k}: {v}" for k, v in report.items()]
        return "\n".join(lines) or "nothing to clean up"
    if isinstance(report, list):
        return "\n".join(str(x) for x in report) or "nothing to clean up"
    return str(report)


def build_parser() -> argparse.ArgumentParser:
    from harness.workload.spec import MAX_NODES, MAX_SECONDS

    p = argparse.ArgumentParser(prog="gbench", description="Measure what distributed databases guarantee.",
                                allow_abbrev=False)
    p.add_argument("--version", action="version", version=f"gbench {package_version()}")
    subparsers = p.add_subparsers(dest="cmd", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        """A subcommand without prefix matching: ``--node 3`` is an error, not ``--nodes 3``."""
        return subparsers.add_parser(name, help=help, allow_abbrev=False)

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
        g.add_argument("--nodes", type=node_count, help=f"override the node count (1 to {MAX_NODES})")
        sp.add_argument("--results", help="results root (default: ./results or $GBENCH_RESULTS_DIR)")
        sp.add_argument("--quiet", action="store_true", help="no live progress line")

    def results_roots_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--results", action="append", help="a results root (repeatable; default: ./results or "
                                                           "$GBENCH_RESULTS_DIR)")

    r = command("run", help="run one workload file on a fresh cluster")
    r.add_argument("workload")
    r.add_argument("--duration", type=duration_s, help=f"override duration_s (seconds, 0 < S <= {MAX_SECONDS})")
    for system, field in _peer_tools():
        r.add_argument("--" + field.replace("_", "-"), dest=field, action="store_true",
                       help=f"{system} only: also run its peer tool {field} beside the workload, with the same settings")
    cluster_args(r)
    r.set_defaults(fn=cmd_run)

    sc = command("scenario", help="run one fault scenario (workloads + nemesis timeline) on a fresh cluster")
    sc.add_argument("scenario")
    cluster_args(sc)
    sc.set_defaults(fn=cmd_scenario)

    b = command("bench", help="the default measurement suite (what make bench runs)")
    b.add_argument("--suite", action="append", help="a suite file (repeatable; default: every registered system's "
                   "suite, " + ", ".join(str(p.relative_to(REPO_ROOT)) for p in default_suites())
                   + ", then their comparison)")
    cluster_args(b)
    b.set_defaults(fn=cmd_bench)

    cp = command("compare", help="systems side by side (spec Diagram 3): one run per system, two or more "
                                 "(metrics: workloads/comparisons/metrics.yaml)")
    cp.add_argument("runs", nargs="+", metavar="RUN")
    cp.add_argument("--results")
    cp.set_defaults(fn=cmd_compare)

    cs = command("compare-scenarios", help="one scenario's failure summaries from several runs, side by side "
                                                  "(e.g. netns + iptables, docker + iptables, docker + Toxiproxy)")
    cs.add_argument("scenario", metavar="SCENARIO")
    cs.add_argument("runs", nargs="+", metavar="RUN")
    cs.add_argument("--results")
    cs.set_defaults(fn=cmd_compare_scenarios)

    ls = command("ls", help="list runs: complete (what it is), incomplete (why), in progress, damaged (file: why)")
    ls.add_argument("--results")
    ls.set_defaults(fn=cmd_ls)

    hi = command("history", help="every measurement run as one tidy table (run, series, metric, value), "
                                 "series keyed by hardware fingerprint")
    results_roots_arg(hi)
    hi.add_argument("--out", help="write the table as CSV to this file")
    hi.set_defaults(fn=cmd_history)

    ch = command("changes", help="change points in every series of the history (Apache Otava, confirmed by "
                                 "Mann-Whitney U); exit 10 when a change is reported")
    results_roots_arg(ch)
    ch.add_argument("--out", help="write changes.json, summary.md, issue-<id>.md, issues.json, plots/ and "
                                   "index.html into this directory")
    ch.add_argument("--threshold-cv", type=threshold_cv, metavar="X",
                    help="a run whose per-second throughput varies more than this coefficient of variation is "
                         "unstable: drawn hollow, not used (default 0.25)")
    ch.set_defaults(fn=cmd_changes)

    sh = command("show", help="summary table of a run")
    sh.add_argument("run", nargs="?", default="latest", metavar="RUN",
                    help="a run id, a unique prefix of one, 'latest' (default) or a run directory")
    sh.add_argument("--results")
    sh.set_defaults(fn=cmd_show)

    dg = command("diagrams", help="regenerate the guarantee diagrams from results/ (--check: verify them)")
    dg.set_defaults(fn=_diagrams)
    _add_diagram_arguments(dg)

    dr = command("diagrams-refresh", help="the bench job's diagrams: built from the reference runs plus one batch "
                                          "of fresh runs (adopted into results/), newest runs first; --moves: "
                                          "which figures moved beyond their noise")
    dr.set_defaults(fn=_diagrams_refresh)
    _add_refresh_arguments(dr)

    cp = command("compose", help="write a docker compose project of a system's cluster, configured exactly as the "
                                 "harness runs it (then: docker-compose up, gbench run --provider external)")
    cp.add_argument("system", metavar="SYSTEM", help="a registered system's name")
    cp.add_argument("--nodes", type=node_count, default=5)
    cp.add_argument("--out", help="the project's directory (default: .cache/compose/SYSTEM); must not hold one")
    cp.add_argument("--subnet", help="the project network's /24 (default: a free one of 198.18.0.0/15)")
    cp.add_argument("--image", help="the image to run (default: the system plugin's local image)")
    cp.set_defaults(fn=cmd_compose)

    c = command("cleanup", help="remove what crashed runs left (processes, namespaces, bridge, rules, dirs; "
                                       "docker containers and networks by label)")
    c.add_argument("--force", action="store_true", help="also clean runs whose harness process is still alive")
    c.set_defaults(fn=cmd_cleanup)

    try:
        from harness.checkers.check_command import add_check_arguments, run_check  # noqa: F401

        ck = command("check", help="judge history files (--model: linearizable, the default, sequential, ...)")
        add_check_arguments(ck)
        ck.set_defaults(fn=lambda a: _check(a))
    except ImportError:  # pragma: no cover - checkers always ship; guard keeps the CLI usable mid-refactor
        pass
    return p


def _add_diagram_arguments(p: argparse.ArgumentParser) -> None:
    from diagram_gen.cli import add_arguments

    add_arguments(p)


def _add_refresh_arguments(p: argparse.ArgumentParser) -> None:
    from diagram_gen.refresh import add_arguments

    add_arguments(p)


def _diagrams_refresh(args: argparse.Namespace) -> int:
    from diagram_gen.refresh import run

    return run(args)


def _diagrams(args: argparse.Namespace) -> int:
    from diagram_gen.cli import run

    return run(args)


def _check(args: argparse.Namespace) -> int:
    from harness.checkers.check_command import run_check

    return run_check(args.files, fmt=args.format, show_counterexample=args.counterexample, model=args.model,
                     bound=args.bound)


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
    except BrokenPipeError:  # the reader (`gbench ls | head`) stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so exit's flush does not complain
        return 0
    except OSError as e:  # the host refused (disk full, permission denied): one line naming the file
        print(f"gbench: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        started_runs = args.fn in (cmd_run, cmd_scenario, cmd_bench)  # the session tore its run down
        print("gbench: interrupted" + ("; everything the run created was removed" if started_runs else ""),
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
