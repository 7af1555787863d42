"""One measurement session: validate -> start cluster -> run workloads (and peer tools) ->
summary + manifest -> publish the run directory atomically -> tear everything down.

This is the only place that owns a cluster's lifetime. Whatever happens (an error, Ctrl-C,
SIGTERM), the provider's teardown runs and the run directory is either published complete
or kept as ``<run_id>.incomplete``. SIGINT and SIGTERM are owned by a ``harness.interrupt.
Interruption`` for the whole run: after one, nothing but the teardown runs (no final reads,
checkers or summary), within the system's exit budget, and ``INCOMPLETE`` says
``interrupted by SIGINT at <moment>``.
"""
from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import registry
from harness.api import Facts, Metrics, Primary, System, SystemForWorkloads, SystemPlugin
from harness.errors import ClusterError, ConfigError, EnvironmentProblem
from harness.interrupt import Interruption, ListsWhatIsLeft
from harness.providers.base import BridgedProvider, Cluster, ClusterProvider, ProviderFacts
from harness.recorder.history import read_history
from harness.recorder.summary import format_table, rows_from_history, write_summary
from harness.results.batch import from_environment as batch_from_environment
from harness.results.store import MANIFEST_SCHEMA_VERSION, REPO_ROOT, RunDirectory, git_commit
from harness.workload.runner import WorkloadResult, run_workload
from harness.workload.spec import Workload
from harness.workload.suite import Suite


@dataclass
class SessionOptions:
    provider: str = "auto"  # auto | netns | docker | external
    endpoints: tuple[str, ...] = ()
    #: direct | toxiproxy: how members reach each other (toxiproxy: docker provider only)
    peer_links: str = "direct"
    results_root: Path | None = None
    show_progress: bool = True
    compress_history_over_bytes: int = 256 * 1024
    log: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr, flush=True))


def make_system(name: str) -> System:
    """The system under test, with its binaries found (EnvironmentProblem before any cluster)."""
    return registry.system_plugin(name, "(suite)", "system").make_system()


def choose_provider(system: Any) -> str:
    """``--provider auto``: docker when an engine answers and the system's images are there
    (or may be pulled), else netns when root, else one message naming both reasons."""
    from harness.providers.docker import docker_unavailable_reason

    why_not_docker = docker_unavailable_reason(system) if system is not None else "no system given"
    if why_not_docker is None:
        return "docker"
    if os.geteuid() == 0:
        return "netns"
    raise EnvironmentProblem(f"no provider can start a cluster here: docker: {why_not_docker}; netns: not running "
                             "as root (namespaces need CAP_NET_ADMIN). "
                             "Start Docker (and run harness/setup/docker/images.sh), run as root, or use "
                             "--provider external --endpoints host:port,...")


def make_provider(opts: SessionOptions, run_id: str, system: Any = None) -> ClusterProvider:
    name = opts.provider
    if name == "auto" and opts.endpoints:
        name = "external"
    if opts.peer_links == "toxiproxy" and name == "external":
        raise EnvironmentProblem("--peer-links toxiproxy needs a provider that starts the nodes (docker or netns), "
                                 "not external")
    if name == "auto":  # per suite: etcd may run on docker while Cassandra stays on netns
        name = choose_provider(system)
        opts.log(f"[gbench] provider: {name} (auto; override with --provider)")
    if name == "docker":
        from harness.providers.docker import DockerOptions, DockerProvider

        return DockerProvider(run_id, DockerOptions(peer_links=opts.peer_links))  # type: ignore[return-value]
    if name == "netns":
        from harness.providers.netns import NetnsProvider

        return NetnsProvider(run_id).with_peer_links(opts.peer_links)  # type: ignore[return-value]
    if name == "external":
        from harness.providers.external import ExternalProvider

        return ExternalProvider(opts.endpoints)  # type: ignore[return-value]
    raise ConfigError("--provider", "provider", f"unknown provider {name!r} (known: auto, netns, docker, external)")


def preflight(suite: Suite, system: Any) -> list[Any]:
    """Everything that can be checked before a cluster starts; returns the loaded scenarios."""
    from harness.workload.preflight import check_suite

    return check_suite(suite, system)


def run_suite(suite: Suite, opts: SessionOptions) -> Path:
    """Run every workload of ``suite`` on one cluster; returns the published run directory."""
    system = make_system(suite.system)
    scenarios = preflight(suite, system)
    batch = batch_from_environment(os.environ)  # GBENCH_BATCH_*: bad input refused before anything starts
    plugin = registry.system_plugin(suite.system)
    if isinstance(plugin, SystemForWorkloads):  # a start-up setting some workload needs
        system = plugin.make_system_for(list(suite.workloads) + [w for sc in scenarios for w in sc.workloads])
    run = RunDirectory.plan(suite.name, opts.results_root)
    provider = make_provider(opts, run.run_id, system)
    provider.check_environment()  # not root, no namespaces...: one message, nothing created
    if scenarios:
        from harness.scenario.spec import check_environment as check_scenario_environment

        for sc in scenarios:
            check_scenario_environment(sc, provider)
    intr = Interruption(plugin.exit_budget_s, log=opts.log).install()
    intr.set_moment("run directory")
    started = dt.datetime.now(dt.timezone.utc)
    time_origin_ns = time.monotonic_ns()
    epoch_at_origin = time.time()
    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION, "run_id": run.run_id,
        "started_utc": started.isoformat(), "time_origin_monotonic_ns": time_origin_ns,
        "time_origin_epoch_s": epoch_at_origin, "scenario": suite.to_dict(), "harness": git_commit(),
        "argv": sys.argv, **({"batch": batch} if batch else {}),
    }
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {"workloads": [], "comparisons": [], "scenarios": []}
    cluster: Cluster | None = None
    marking = threading.Lock()

    def mark(reason: str, with_summary: bool) -> None:
        """The manifest (and the summary so far), then ``<run_id>.incomplete`` with INCOMPLETE;
        once, whichever thread comes first (the main one, or the stuck-teardown watchdog)."""
        with marking:
            if not run.path.exists():
                return
            try:
                manifest["ended_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
                manifest["incomplete_reason"] = reason
                if rows and with_summary:
                    write_summary(run.path, rows, extra)
                run.write_json("manifest.json", manifest)
            except OSError:
                pass
            where = run.abandon(reason)
            if where:
                intr.log(f"[gbench] partial output kept (marked incomplete) in {where}")

    def stuck() -> None:  # the main thread never reached the teardown after the signal
        _tear_down(provider, intr)
        mark(intr.reason, with_summary=False)
        intr.log(f"[gbench] {intr.reason}: everything removed {intr.elapsed():.1f} s after the signal "
                 f"(by the watchdog; budget {intr.budget_s:g} s)")

    intr.on_stuck(stuck)
    try:
        run.open()
        opts.log(f"[gbench] run {run.run_id}: {suite.nodes}-node {suite.system} on provider {provider.name}")
        intr.set_moment("host facts (before the cluster)")
        manifest["host"] = _host_facts(provider, run, opts)
        manifest["software"] = _software(plugin, system)
        intr.set_moment("cluster start")
        cluster = provider.start(system, suite.nodes, run.path)
        manifest["cluster"] = {
            "system": suite.system, "provider": provider.name, "nodes": len(cluster.nodes),
            "time_to_ready_s": cluster.time_to_ready_s, "leader_at_start": cluster.ready.leader if cluster.ready else None,
            "endpoints": cluster.client_endpoints, "config": system.config_dict() if isinstance(system, Facts) else {},
            "provider_facts": provider.facts() if isinstance(provider, ProviderFacts) else {},
        }
        opts.log(f"[gbench] cluster ready in {cluster.time_to_ready_s:.2f}s (leader {manifest['cluster']['leader_at_start']})")
        for w in suite.workloads:
            intr.set_moment(f"workload {w.name} (before the load)")
            result = _run_one(w, cluster, run, time_origin_ns, opts, provider.name)
            intr.set_moment(f"workload {w.name} (after the load)")
            wrows = _rows_for(result, run.run_id, provider.name, len(cluster.nodes))
            rows += wrows
            extra["workloads"].append(_workload_entry(result, run.path))
            if result.interrupted:
                raise ClusterError(f"workload {w.name}: results are partial ({'; '.join(result.notes)})")
            intr.set_moment(f"checks of {w.name}")
            extra.setdefault("verdicts", []).extend(_run_checks(result, opts))
            for tool in plugin.peer_tools:
                if tool.suite_field not in suite.peer_tools:
                    continue
                intr.set_moment(f"peer tool {tool.name} ({w.name})")
                comp = tool.run(w, cluster, run.path, run.run_id, rows, wrows, opts.log)
                if comp:
                    extra["comparisons"].append({"tool": tool.name, **comp})
        if suite.visibility is not None:
            from harness.workload.visibility import run_visibility

            intr.set_moment("visibility")
            vrows = run_visibility(cluster, suite.visibility, run.path / "visibility", time_origin_ns,
                                   run_id=run.run_id, log=opts.log)
            extra["visibility"] = {"file": "visibility/visibility.json", "rows": vrows}
        if suite.convergence is not None:
            from harness.workload.convergence_probe import run_convergence

            intr.set_moment("convergence")
            crows = run_convergence(cluster, suite.convergence, run.path / "convergence", time_origin_ns,
                                    run_id=run.run_id, log=opts.log)
            extra["convergence"] = {"file": "convergence/convergence.json", "rows": crows}
        for sc in scenarios:
            intr.set_moment(f"scenario {sc.name} (before the load)")
            entry, srows = _run_scenario(sc, cluster, run, time_origin_ns, opts, provider.name)
            rows += srows
            extra["scenarios"].append(entry)
        intr.set_moment("summary")
        manifest["ended_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
        write_summary(run.path, rows, extra)
        run.write_json("manifest.json", manifest)
        intr.set_moment("teardown")
        provider.teardown()
        _finalise_files(run.path, opts)
        final = run.complete()
        opts.log(f"[gbench] run complete: {final}")
        opts.log(format_table(rows))
        intr.uninstall()
        return final
    except BaseException as e:
        signalled = intr.requested()
        reason = intr.reason if signalled else f"{type(e).__name__}: {e}"
        intr.log(f"[gbench] {reason}; tearing down" if signalled else f"[gbench] run failed: {reason}; tearing down")
        _tear_down(provider, intr)
        mark(reason, with_summary=not signalled)  # after a signal: nothing but the teardown and the mark
        if signalled:
            intr.log(f"[gbench] {reason}: everything removed {intr.elapsed():.1f} s after the signal "
                     f"(budget {intr.budget_s:g} s)")
            intr.exit_watchdog()  # the handlers stay: a further Ctrl-C only says nothing is left
        else:
            intr.uninstall()
        raise


def _tear_down(provider: ClusterProvider, intr: Interruption) -> None:
    """Kill the helper processes (load workers, nodetool), then the provider's teardown; a
    signal meanwhile prints what is still being removed (``harness.interrupt``)."""
    describe = provider.still_removing if isinstance(provider, ListsWhatIsLeft) else None
    intr.teardown_started()
    with intr.removing(describe):
        intr.set_moment("teardown")
        intr.kill_tracked()
        provider.teardown()


def _run_one(w: Workload, cluster: Cluster, run: RunDirectory, origin: int, opts: SessionOptions,
             provider: str) -> WorkloadResult:
    opts.log(f"[gbench] workload {w.name}: {w.load.mode} loop, {w.load.concurrency} clients, "
             f"{w.value_size} B values, {w.warmup_s:g}s warm-up + {w.duration_s:g}s")
    sysdef = cluster.system
    leader = sysdef.leader(cluster) if isinstance(sysdef, Primary) else None
    metrics_before = sysdef.metrics_snapshot(cluster) if isinstance(sysdef, Metrics) else None
    result = run_workload(w, cluster, run.path / "workloads" / w.name, origin, leader=leader,
                          show_progress=opts.show_progress)
    if metrics_before is not None:
        assert isinstance(sysdef, Metrics)
        # the system's own latency histograms for this workload (etcd: WAL fsync, backend
        # commit, peer round trip), written beside the workload's history
        doc = sysdef.metrics_delta(metrics_before, sysdef.metrics_snapshot(cluster), leader)
        run.write_json(f"workloads/{w.name}/{sysdef.metrics_file}", doc)
    if result.self_check.get("saturated"):
        for p in result.self_check["problems"]:
            opts.log(f"[gbench] WARNING ({w.name}): {p}")
    return result


def _run_scenario(sc: Any, cluster: Cluster, run: RunDirectory, origin: int, opts: SessionOptions,
                  provider: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A fault scenario on the suite's cluster: its failure summary and its workloads' rows
    (a ``scenario`` note on each row: these latencies were measured under faults)."""
    from harness.scenario.runner import run_scenario

    opts.log(f"[gbench] scenario {sc.name}: {', '.join(f'{e.fault}@{e.at_s:g}s' for e in sc.timeline)}, "
             f"end {sc.end_s:g}s")
    directory = run.path / "scenarios" / sc.name
    result = run_scenario(sc, cluster, directory, origin, run_id=run.run_id, log=opts.log)
    if result.interrupted:
        raise ClusterError(f"scenario {sc.name}: a workload's results are partial (not every load worker reported)")
    rows: list[dict[str, Any]] = []
    for wr in result.workload_results:
        for r in _rows_for(wr, run.run_id, provider, len(cluster.nodes)):
            r["workload"] = f"{sc.name}/{r['workload']}"
            r["notes"] = "; ".join(x for x in (f"under fault scenario {sc.name}", r.get("notes")) if x)
            rows.append(r)
    entry = {"name": sc.name, "source": sc.source, "sha256": sc.sha256,
             "directory": str(directory.relative_to(run.path)),
             "failure_summary": str(result.summary_path.relative_to(run.path)) if result.summary_path else None,
             "notes": result.notes}
    return entry, rows


def _run_checks(result: WorkloadResult, opts: SessionOptions) -> list[dict[str, Any]]:
    """The checkers a workload names (``checks:``), on its measured history; the verdict and
    a trimmed counterexample go into summary.json, so a claim like "LWT is linearizable" or
    "ONE/ONE is not" is a judged history, not documentation."""
    import time as _time

    from harness.checkers import check_linearizability, check_stale_reads, load_history
    from harness.checkers.model import check_safe
    from harness.scenario.failure_summary import trim_evidence

    w = result.workload
    if not w.checks:
        return []
    from harness.checkers.registry import get_checker

    checkers = {"linearizability": check_linearizability, "stale-reads": check_stale_reads}
    history = load_history(str(result.history_path))
    out = []
    for name in w.checks:
        t0 = _time.monotonic()
        r = check_safe(checkers[name] if name in checkers else get_checker(name), history)
        entry = {"workload": w.name, "checker": name, "verdict": r.verdict, "check_s": round(_time.monotonic() - t0, 3),
                 "read_consistency": w.read_consistency, "write_consistency": w.write_consistency,
                 **({"session_reads": w.session_reads} if w.session_reads is not None else {}),
                 "ops": len(history.ops), "evidence": trim_evidence(r.evidence)}
        opts.log(f"[gbench] {name} of {w.name}: {r.verdict} ({entry['check_s']}s, {len(history.ops)} ops)")
        out.append(entry)
    return out


def _rows_for(result: WorkloadResult, run_id: str, provider: str, nodes: int) -> list[dict[str, Any]]:
    w = result.workload
    return rows_from_history(
        read_history(result.history_path), run_id=run_id, system=w.system, provider=provider, nodes=nodes,
        concurrency=w.load.concurrency, measured_s=result.measured_s, workload=w.name, load_mode=w.load.mode,
        target_rate=w.load.rate_ops_s, saturated=bool(result.self_check.get("saturated")),
        notes="; ".join(result.self_check.get("problems", []) + result.notes))


def _workload_entry(result: WorkloadResult, run_path: Path) -> dict[str, Any]:
    d = result.directory
    return {"name": result.workload.name, "spec": result.workload.to_dict(),
            "directory": str(d.relative_to(run_path)), "measured_s": result.measured_s,
            "self_check": result.self_check, "interrupted": result.interrupted, "notes": result.notes,
            "histogram_counts": {f"{op}/{oc}": result.histograms.total_count((op, oc))
                                 for op, oc in result.histograms.series()}}


def _host_facts(provider: ClusterProvider, run: RunDirectory, opts: SessionOptions) -> dict[str, Any]:
    from harness.results.hostfacts import collect_host_facts, measure_fsync_latency

    data_root = provider.data_root if isinstance(provider, BridgedProvider) else REPO_ROOT / ".cache" / "data"
    Path(data_root).mkdir(parents=True, exist_ok=True)
    facts = collect_host_facts(Path(data_root))
    opts.log("[gbench] measuring the host's fsync latency on the data directory's filesystem")
    facts["fsync_latency"] = measure_fsync_latency(Path(data_root))
    return facts


def _software(plugin: SystemPlugin, system: System) -> dict[str, Any]:
    """The manifest's ``software``: the system's own facts, then each of its peer tools that
    is installed (whether or not this suite runs it, as before)."""
    sw = plugin.software_facts(system)
    for tool in plugin.peer_tools:
        facts = tool.facts()
        if facts is not None:
            sw[tool.name] = facts
    return sw


def _finalise_files(run_path: Path, opts: SessionOptions) -> None:
    """Compress large histories, final reads and node logs so a committed reference run stays small."""
    for p in (list(run_path.rglob("history.jsonl")) + list(run_path.rglob("final_reads.jsonl"))
              + list(run_path.rglob("*.log"))):
        if p.stat().st_size > opts.compress_history_over_bytes:
            with open(p, "rb") as src, gzip.open(p.with_name(p.name + ".gz"), "wb", compresslevel=9) as dst:
                shutil.copyfileobj(src, dst)
            p.unlink()
