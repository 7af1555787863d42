"""Run a scenario on a running cluster: workloads + fault timeline + member polls + final reads.

Flow (threads beside the main one)::

    member poller ----------------------------------------------------------------> stop
    workload A (run_workload, own worker processes)  |load start ... end|
    workload B (run_workload, own worker processes)  |load start ... end|
    timeline           waits for every load start -> t0; at t0+at: nemesis.invoke(...)
    then: repair everything (nemesis.teardown) -> wait for one leader -> final reads
          -> merge histories -> failure_summary.json

Output in ``directory``:

- ``scenario.json``: the resolved scenario; ``timeline.json``: load start (``t0``, ns after
  the run's origin) and, per event, when it was due and what record it produced;
- ``workloads/<name>/history.jsonl`` (and hlogs, workers.json) per workload;
- ``nemesis.jsonl``: fault records (history ops with process ``"nemesis"``), appended as
  they happen, so a crash keeps them;
- ``members.jsonl``: every member's leader and term, polled every ``poll_interval_s``;
- ``final_reads.jsonl``; ``history.jsonl``: everything above merged in invocation order
  (``i`` renumbered 0..n-1; the per-workload files keep the workers' numbering);
- ``failure_summary.json`` (``harness.scenario.failure_summary``).

Whatever happens (an exception, Ctrl-C), the nemesis is torn down in a ``finally``: no rule
stays, no node stays paused or killed.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import interrupt
from harness.api import MemberStatus
from harness.errors import ClusterError, ConfigError, GbenchError
from harness.nemesis import NemesisContext, standard_nemesis
from harness.nemesis.core import ComposedNemesis, FaultRecord
from harness.providers.base import Cluster
from harness.recorder.history import Op, read_history
from harness.scenario.final_reads import final_reads
from harness.scenario.members import MemberPoller, wait_converged
from harness.scenario.spec import CLIENT_LINK_FAULTS, PROCESS_BLOCK, Scenario, check_environment
from harness.workload.runner import WorkloadResult, run_workload

#: How long the timeline waits for the workloads' load to start (worker spawn, preload).
LOAD_START_TIMEOUT_S = 300.0


@dataclass
class ScenarioResult:
    scenario: Scenario
    directory: Path
    history_path: Path
    workload_results: list[WorkloadResult]
    nemesis_records: list[FaultRecord]
    load_start_ns: int | None
    """Scenario time zero (the timeline's ``at: 0``), ns after the run's time origin."""
    members_path: Path
    final_read_count: int
    converged: dict[str, Any] = field(default_factory=dict)
    summary_path: Path | None = None
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


class _Timeline(threading.Thread):
    """Waits for the load to start, then invokes each event at its time."""

    def __init__(self, scenario: Scenario, nemesis: ComposedNemesis, ctx: NemesisContext, directory: Path,
                 workload_threads: list[threading.Thread], abort: threading.Event, log: Callable[[str], None]) -> None:
        super().__init__(name="gbench-timeline", daemon=True)
        self.scenario, self.nemesis, self.ctx, self.directory = scenario, nemesis, ctx, directory
        self.workload_threads, self.abort, self.log = workload_threads, abort, log
        self.t0_ns: int | None = None
        self.t0_epoch_s: float | None = None
        self.records: list[FaultRecord] = []
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        #: the event being applied or last applied (what the run is doing: ``moment``)
        self.current: Any = None
        self._lock = threading.Lock()

    def _load_started(self) -> bool:
        return all((self.directory / "workloads" / w.name / "parts" / "measure.w0.jsonl").exists()
                   for w in self.scenario.workloads)

    def moment(self) -> str:
        """Where the scenario is, for ``harness.interrupt``: load workers starting, warm-up,
        load, or nemesis (the event applied last)."""
        if self.t0_ns is None:
            return "load workers starting"
        ev = self.current
        if ev is not None:
            return f"nemesis ({ev.fault} at {ev.at_s:g}s)"
        warmup_s = max((w.warmup_s for w in self.scenario.workloads), default=0.0)
        return "warm-up" if self.ctx.now_ns() < self.t0_ns + warmup_s * 1e9 else "load"

    def add(self, rec: FaultRecord) -> None:
        with self._lock:
            self.records.append(rec)
            with open(self.directory / "nemesis.jsonl", "a", encoding="utf-8") as fh:
                fh.write(rec.to_op(len(self.records) - 1).to_json() + "\n")

    def run(self) -> None:
        try:
            deadline = time.monotonic() + LOAD_START_TIMEOUT_S
            while not self._load_started():
                if self.abort.is_set() or time.monotonic() > deadline or \
                        not any(t.is_alive() for t in self.workload_threads):
                    self.log("[scenario] the load never started; no fault injected")
                    return
                time.sleep(0.01)
            self.t0_ns = self.ctx.now_ns()
            self.t0_epoch_s = time.time()
            self.log(f"[scenario] load started at {self.t0_ns / 1e9:.3f}s; timeline: "
                     + ", ".join(f"{e.fault}@{e.at_s:g}s" for e in self.scenario.timeline))
            for ev in self.scenario.timeline:
                due = self.t0_ns + int(ev.at_s * 1e9)
                while not self.abort.is_set() and self.ctx.now_ns() < due:
                    self.abort.wait(min(0.05, max(0.0, (due - self.ctx.now_ns()) / 1e9)))
                if self.abort.is_set():
                    return
                self.current = ev
                rec = self.nemesis.invoke(ev.fault, dict(ev.params))
                rec.extra.update({"event": ev.index, "scheduled_at_s": ev.at_s,
                                  "started_at_s": round((rec.invoke_ns - self.t0_ns) / 1e9, 6)})
                if ev.note:
                    rec.extra["note"] = ev.note
                self.add(rec)
                self.events.append({"index": ev.index, "at_s": ev.at_s, "fault": ev.fault, "due_ns": due,
                                    "record": len(self.records) - 1, "type": rec.type, "error": rec.error})
                if rec.type == "fail":
                    self.log(f"[scenario] WARNING: {ev.fault} at {ev.at_s:g}s was not applied: {rec.error} "
                             f"{rec.extra.get('reason', rec.extra.get('reasons', ''))}")
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


def _run_workloads(scenario: Scenario, cluster: Cluster, directory: Path, origin: int, leader: str | None,
                   stop: Any, results: dict[str, WorkloadResult], errors: dict[str, BaseException],
                   endpoint_map: dict[str, str] | None = None) -> list[threading.Thread]:
    threads = []
    for k, w in enumerate(scenario.workloads):
        def target(w: Any = w, k: int = k) -> None:
            try:
                results[w.name] = run_workload(w, cluster, directory / "workloads" / w.name, origin, leader=leader,
                                               stop=stop, show_progress=False, process_offset=k * PROCESS_BLOCK,
                                               endpoint_map=endpoint_map)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors[w.name] = e
        t = threading.Thread(target=target, name=f"gbench-workload-{w.name}", daemon=True)
        t.start()
        threads.append(t)
    return threads


def merge_histories(paths: list[Path], extra_ops: list[Op], out: Path) -> int:
    """All ops of ``paths`` plus ``extra_ops`` in invocation order, ``i`` renumbered."""
    ops: list[Op] = list(extra_ops)
    for p in paths:
        if p.exists():
            ops += list(read_history(p))
    ops.sort(key=lambda o: (o.invoke_ns, 0 if o.is_nemesis else 1))
    with open(out, "w", encoding="utf-8") as fh:
        for n, op in enumerate(ops):
            d = json.loads(op.to_json())
            d["i"] = n
            fh.write(json.dumps(d, separators=(",", ":")) + "\n")
    return len(ops)


def run_scenario(scenario: Scenario, cluster: Cluster, directory: Path, time_origin_ns: int, *,
                 run_id: str | None = None, log: Callable[[str], None] | None = None, summarize: bool = True,
                 nemesis: ComposedNemesis | None = None) -> ScenarioResult:
    """Run ``scenario`` on ``cluster``; blocks until done (about ``end`` + final reads).

    Raises what the workloads or the timeline raised (after repairing every fault). Ctrl-C /
    SIGTERM (``harness.interrupt``) stops the load and re-raises at once, within a share of the
    exit budget: no repair, final reads, outputs or summary (the run is torn down and marked
    incomplete). ``interrupted`` says a workload's results are partial (not every worker
    reported).
    """
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    check_environment(scenario, cluster.provider)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scenario.json").write_text(json.dumps(scenario.to_dict(), indent=2))
    for name in ("nemesis.jsonl", "members.jsonl"):
        (directory / name).write_text("")
    run_id = run_id or getattr(cluster.provider, "run_id", None) or directory.name
    nem = nemesis or standard_nemesis(cluster.system.name)
    ctx = NemesisContext(cluster, run_id, time_origin_ns, rng=random.Random(scenario.seed), log=log)
    nem.setup(ctx)
    poller = MemberPoller(cluster, directory / "members.jsonl", time_origin_ns, scenario.poll_interval_s)
    abort = threading.Event()
    stop = mp.get_context("spawn").Event()
    results: dict[str, WorkloadResult] = {}
    errors: dict[str, BaseException] = {}
    timeline: _Timeline | None = None
    interrupted = False
    signalled = False
    notes: list[str] = []
    converged: dict[str, Any] = {}
    finals: list[Op] = []
    try:
        poller.start()
        leader = ctx.leader()
        log(f"[scenario] {scenario.name}: {len(scenario.workloads)} workload(s) for {scenario.end_s:g}s, "
            f"{len(scenario.timeline)} event(s); leader {leader}")
        endpoint_map = None
        if scenario.faults_used() & CLIENT_LINK_FAULTS:  # the load talks to the nodes through Toxiproxy
            endpoint_map = nem.member_for("client-down").start()  # type: ignore[union-attr]
            log(f"[scenario] client links through Toxiproxy: {endpoint_map}")
        threads = _run_workloads(scenario, cluster, directory, time_origin_ns, leader, stop, results, errors,
                                 endpoint_map)
        timeline = _Timeline(scenario, nem, ctx, directory, threads, abort, log)
        timeline.start()
        interrupt.set_moment(timeline.moment)
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
            if errors:
                stop.set()
                abort.set()
        while timeline.is_alive():  # events are due by t0 + end at the latest
            timeline.join(0.2)  # (short joins: a signal is handled between them)
        interrupt.set_moment("repair")
        for rec in nem.teardown():
            rec.extra["final_cleanup"] = True
            timeline.add(rec)
        if errors:
            name, e = next(iter(errors.items()))
            if isinstance(e, ConfigError):  # bad input found late: still exit 2, one line
                raise e
            if isinstance(e, GbenchError):  # the system or host failed: one line, exit 1, no traceback
                raise ClusterError(f"workload {name} failed: {e}") from e
            raise RuntimeError(f"workload {name} failed: {type(e).__name__}: {e}") from e  # a harness bug
        if timeline.error is not None:
            raise timeline.error
        if any(r.interrupted for r in results.values()):
            interrupted = True
        if not interrupted:
            converged = wait_converged(cluster, timeout_s=30.0)
            if not isinstance(cluster.system, MemberStatus):  # no member view: wait for every node to serve
                t_ready = time.monotonic()
                try:
                    cluster.system.wait_ready(cluster, timeout_s=180.0)
                    converged = {"converged": True, "after_s": round(time.monotonic() - t_ready, 3), "leader": None,
                                 "members": {}, "note": "no leader: every node ready again (system.wait_ready)"}
                except Exception as e:  # noqa: BLE001 - recorded, the scenario's figures still stand
                    converged = {"converged": False, "after_s": round(time.monotonic() - t_ready, 3), "leader": None,
                                 "members": {}, "note": f"not every node ready again: {e}"}
            if not converged["converged"]:
                notes.append(f"members did not agree on one leader within 30s after the repair: "
                             f"{converged['members']}")
            log(f"[scenario] repaired; one leader ({converged.get('leader')}) after {converged['after_s']}s")
            if scenario.final_reads:
                interrupt.set_moment("final reads")
                keys = scenario.keys()
                vsize = max(w.value_size for w in scenario.workloads)
                log(f"[scenario] final reads started: {len(keys)} keys on {len(cluster.nodes)} nodes")
                finals = final_reads(cluster, keys, time_origin_ns, value_size=vsize, workload=scenario.workloads[0])
                log(f"[scenario] final reads: {len(finals)} reads of {len(keys)} keys on {len(cluster.nodes)} nodes")
    except KeyboardInterrupt:
        signalled = True
        # Ctrl-C / SIGTERM: only the teardown matters now. No repair (the provider kills every
        # node and deletes the namespaces, and with them every rule and qdisc the nemesis made;
        # restarting a killed node would only cost time), no outputs beyond what is already on
        # disk (nemesis.jsonl, members.jsonl, the workers' parts), no summary.
        stop.set()
        abort.set()
        _stop_host_side_faults(nem, interrupt.never_raises(log))
        deadline = time.monotonic() + interrupt.share(3.0)
        for t in [*(_threads_of(timeline)), *([timeline] if timeline else [])]:
            t.join(max(0.0, deadline - time.monotonic()))
        poller.stop(timeout_s=max(0.0, deadline - time.monotonic()))
        raise
    finally:
        if not signalled:
            abort.set()
            stop.set()
            try:
                for rec in nem.teardown():  # idempotent: a no-op when everything was repaired above
                    rec.extra["final_cleanup"] = True
                    if timeline is not None:
                        timeline.add(rec)
            finally:
                poller.stop()
                # Written even when failing, so a partial run still shows what happened.
                try:
                    _write_outputs(directory, scenario, timeline, finals, results,
                                   timeline.records if timeline else [], directory / "history.jsonl", cluster)
                except Exception as e:  # noqa: BLE001 - never mask the original error
                    log(f"[scenario] WARNING: could not write the scenario's outputs: {e}")
    history = directory / "history.jsonl"
    recs = timeline.records if timeline else []
    result = ScenarioResult(scenario, directory, history, list(results.values()), recs,
                            timeline.t0_ns if timeline else None, directory / "members.jsonl", len(finals),
                            converged, interrupted=interrupted, notes=notes)
    if summarize and not interrupted:
        from harness.scenario.failure_summary import write_failure_summary
        interrupt.set_moment("failure summary")
        result.summary_path = write_failure_summary(directory)
        log(f"[scenario] failure summary: {result.summary_path}")
    return result


def _threads_of(timeline: "_Timeline | None") -> list[threading.Thread]:
    return list(timeline.workload_threads) if timeline is not None else []


def _stop_host_side_faults(nem: ComposedNemesis, log: Callable[[str], None]) -> None:
    """After a signal: stop what the nemesis runs on the host outside the provider's ledger
    (the client-link Toxiproxy server); everything else goes with the nodes' namespaces."""
    member = nem.member_for("client-down")
    if member is not None:
        try:
            member.teardown()
        except Exception as e:  # noqa: BLE001 - the teardown goes on
            log(f"[scenario] WARNING: could not stop the client-link proxies: {e}")


def _write_outputs(directory: Path, scenario: Scenario, timeline: _Timeline | None, finals: list[Op],
                   results: dict[str, WorkloadResult], recs: list[FaultRecord], history: Path,
                   cluster: Cluster | None = None) -> None:
    if cluster is not None:  # where each node's own log is (the summary reads what the servers said)
        (directory / "nodes.json").write_text(json.dumps(
            {n.name: {"host": n.host, "log": str(getattr(n, "log_path", "") or "")} for n in cluster.nodes}, indent=1))
    with open(directory / "final_reads.jsonl", "w", encoding="utf-8") as fh:
        for op in finals:
            fh.write(op.to_json() + "\n")
    (directory / "timeline.json").write_text(json.dumps({
        "load_start_ns": timeline.t0_ns if timeline else None,
        "load_start_epoch_s": timeline.t0_epoch_s if timeline else None, "end_s": scenario.end_s,
        "events": timeline.events if timeline else [],
        "workload_load_start_ns": _load_starts(directory, scenario)}, indent=2))
    paths = [r.history_path for r in results.values()] or \
        [directory / "workloads" / w.name / "history.jsonl" for w in scenario.workloads]
    merge_histories(paths, [r.to_op(0) for r in recs] + finals, history)


def _load_starts(directory: Path, scenario: Scenario) -> dict[str, int | None]:
    """Per workload: the first op's invoke time (ns after the origin), from its history."""
    out: dict[str, int | None] = {}
    for w in scenario.workloads:
        p = directory / "workloads" / w.name / "history.jsonl"
        first = None
        if p.exists():
            for op in read_history(p):
                if not op.extra.get("phase") or op.extra.get("phase") == "warmup":
                    first = op.invoke_ns if first is None else min(first, op.invoke_ns)
        out[w.name] = first
    return out
