"""Run one workload against a running cluster with several worker processes.

Flow: assign clients to nodes and workers -> (optional preload) -> spawn workers -> start
barrier -> warm-up + measured window -> workers stop by themselves -> merge their history
parts and histograms -> write ``history.jsonl``, ``hlog/*.hlog`` and summary rows.
The parent samples the workers' and the nodes' CPU every second (the harness self-check)
and shows progress. Ctrl-C / SIGTERM (``harness.interrupt``): it sets ``stop``, gives the
workers a short grace (a share of the exit budget), SIGKILLs what is left and re-raises; a
run that was interrupted keeps no merged history (the run is torn down and marked
incomplete). Worker processes are tracked, so a teardown kills them even if this thread is
stuck.
"""
from __future__ import annotations

import heapq
import json
import multiprocessing as mp
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import psutil

from harness import interrupt
from harness.api import Prepare
from harness.errors import ClusterError
from harness.providers.base import Cluster
from harness.recorder.histograms import IntervalHistograms
from harness.recorder.history import Op, read_history
from harness.workload.spec import Workload
from harness.workload.worker import ClientAssignment, WorkerConfig, WorkerFailed, WorkerSync, worker_main

#: A worker using more than this share of one core is the bottleneck, not the system.
SATURATION_CPU = 0.90
#: In open loop, achieving less than this share of the target rate means the target was not met.
RATE_SHORTFALL = 0.95
#: After Ctrl-C / SIGTERM: seconds the workers get to stop by themselves before SIGKILL
#: (shortened to a share of the exit budget left; ``harness.interrupt``).
WORKER_STOP_GRACE_S = 2.0


@dataclass
class WorkloadResult:
    workload: Workload
    directory: Path
    history_path: Path
    histograms: IntervalHistograms
    measured_s: float
    worker_reports: list[dict[str, Any]]
    cpu: dict[str, Any]
    self_check: dict[str, Any]
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


def resolve_targets(w: Workload, cluster: Cluster, leader: str | None) -> list[str]:
    """Node names clients are pinned to (round-robin over these)."""
    names = [n.name for n in cluster.nodes]
    if isinstance(w.pin, tuple):
        return list(w.pin)
    if w.pin == "leader":
        if leader is None:
            raise ClusterError("clients.pin: leader requested but no leader is known")
        return [leader]
    if w.pin == "followers":
        return [n for n in names if n != leader]
    return names


def session_read_targets(w: Workload, assignments: Sequence[Sequence[ClientAssignment]]
                         ) -> tuple[tuple[str, str], ...]:
    """(node, endpoint) a session's reads rotate over with ``clients.session.reads: round-robin``
    or ``token-wait``:
    each node clients are pinned to, once, in client order; empty for any other routing."""
    if w.session_reads not in ("round-robin", "token-wait"):
        return ()
    seen: dict[str, str] = {}
    for a in sorted((a for per in assignments for a in per), key=lambda a: a.index):
        seen.setdefault(a.node, a.endpoint)
    return tuple(seen.items())


def assign_clients(w: Workload, targets: Sequence[str], cluster: Cluster, workers: int,
                   first_process: int = 0, endpoint_map: Mapping[str, str] | None = None) -> list[list[ClientAssignment]]:
    """Client i -> node targets[i % len], worker i % workers (so every worker spans nodes).
    ``endpoint_map``: node -> the address the load uses for it (a fault proxy), else the node's own."""
    per: list[list[ClientAssignment]] = [[] for _ in range(workers)]
    for i in range(w.load.concurrency):
        node = targets[i % len(targets)]
        endpoint = (endpoint_map or {}).get(node) or cluster.client_endpoint(node)
        per[i % workers].append(ClientAssignment(first_process + i, i, node, endpoint))
    return per


class _CpuSampler:
    """Per-second CPU of worker processes and node processes (psutil; share of one core)."""

    def __init__(self, worker_pids: list[int], node_pids: dict[str, int]) -> None:
        self.procs: dict[str, psutil.Process] = {}
        for pid in worker_pids:
            self._add(f"worker-{pid}", pid)
        for name, pid in node_pids.items():
            self._add(f"node-{name}", pid)
        self.samples: dict[str, list[float]] = {k: [] for k in self.procs}
        self.host: list[float] = []
        psutil.cpu_percent(None)

    def _add(self, label: str, pid: int) -> None:
        try:
            p = psutil.Process(pid)
            p.cpu_percent(None)
            self.procs[label] = p
        except psutil.Error:
            pass

    def sample(self) -> None:
        for k, p in self.procs.items():
            try:
                self.samples[k].append(p.cpu_percent(None) / 100.0)
            except psutil.Error:
                pass
        self.host.append(psutil.cpu_percent(None) / 100.0 * (psutil.cpu_count() or 1))

    def report(self) -> dict[str, Any]:
        def stats(xs: list[float]) -> dict[str, float | None]:
            xs = xs[1:] or xs  # the first interval includes start-up
            return {"mean_cores": round(sum(xs) / len(xs), 3) if xs else None,
                    "max_cores": round(max(xs), 3) if xs else None}
        return {"per_process": {k: stats(v) for k, v in self.samples.items()},
                "host_busy_cores": stats(self.host), "host_cores": psutil.cpu_count()}


def _print_progress(name: str, elapsed: float, total: float, counts: dict[int, dict[str, int]],
                    last_total: int, stream: Any) -> int:
    tot = {k: sum(c.get(k, 0) for c in counts.values()) for k in ("ok", "fail", "info")}
    n = sum(tot.values())
    stream.write(f"\r  {name}: {elapsed:5.1f}/{total:.0f}s  {n - last_total:6d} ops/s  "
                 f"ok={tot['ok']} fail={tot['fail']} info={tot['info']}   ")
    stream.flush()
    return n


def run_workers(w: Workload, cluster: Cluster, directory: Path, time_origin_ns: int,
                assignments: list[list[ClientAssignment]], *, warmup_s: float, duration_s: float,
                phase: str = "measure", preload_keys: Sequence[str] = (), max_ops: int | None = None,
                stop: Any = None, show_progress: bool = True,
                label: str = "") -> tuple[list[dict[str, Any]], dict[str, Any], bool, float | None]:
    """Spawn one worker per assignment list, run them to completion.

    Returns (worker reports, CPU samples, interrupted, wall-clock time of the load start):
    the last one stamps the .hlog files, whose intervals count from the measurement start."""
    ctx = mp.get_context("spawn")
    stop = stop or ctx.Event()
    sync = WorkerSync(ready=ctx.Queue(), go=ctx.Event(), start_ns=ctx.Value("q", 0), stop=stop,
                      progress=ctx.Queue())
    parts = directory / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    n_workers = len(assignments)
    read_targets = session_read_targets(w, assignments)
    keys_split = [tuple(preload_keys[i::n_workers]) for i in range(n_workers)]
    procs = []
    for wid, clients in enumerate(assignments):
        cfg = WorkerConfig(
            worker_id=wid, workload=w, clients=tuple(clients), time_origin_ns=time_origin_ns,
            warmup_ns=int(warmup_s * 1e9), duration_ns=int(duration_s * 1e9),
            history_path=parts / f"{phase}.w{wid}.jsonl", result_path=parts / f"{phase}.w{wid}.json",
            max_ops=None if max_ops is None else -(-max_ops // n_workers), phase=phase,
            preload_keys=keys_split[wid], process_stride=w.load.concurrency * 1000,
            endpoints=tuple(cluster.client_endpoints), read_targets=read_targets,
        )
        p = ctx.Process(target=worker_main, args=(cfg, sync), name=f"gbench-worker-{wid}", daemon=True)
        procs.append(p)
        p.start()
        interrupt.track(p)
    in_main = threading.current_thread() is threading.main_thread()  # the main thread owns the run's moment
    if in_main:
        interrupt.set_moment(f"{phase} (load workers starting)" if phase != "measure" else "load workers starting")
    interrupted = False
    load_start_epoch_s: float | None = None
    try:
        ready: set[int] = set()
        deadline = time.monotonic() + 60
        while len(ready) < n_workers:
            _raise_if_interrupted()
            try:  # read first: a worker that could not connect says why, then exits
                got = sync.ready.get(timeout=0.2)
            except Exception:
                got = None
            if isinstance(got, WorkerFailed):
                raise ClusterError(f"load worker {got.worker_id} could not start: {got.reason}")
            if got is not None:
                ready.add(got)
            elif time.monotonic() > deadline or any(not p.is_alive() for p in procs):
                raise ClusterError(f"load workers did not start (ready: {sorted(ready)} of {n_workers})")
        node_pids = {n.name: pid for n in cluster.nodes if (pid := n.pid()) is not None}
        sampler = _CpuSampler([p.pid for p in procs if p.pid], node_pids)
        now_mono, now_epoch = time.monotonic_ns(), time.time()
        sync.start_ns.value = now_mono + 50_000_000
        load_start_epoch_s = now_epoch + 0.05
        sync.go.set()
        if in_main:
            go = time.monotonic() + 0.05
            interrupt.set_moment(lambda: phase if phase != "measure" else
                                 ("warm-up" if time.monotonic() < go + warmup_s else "load"))
        total = warmup_s + duration_s
        hard_deadline = time.monotonic() + total + w.load.op_timeout_s + 30
        counts: dict[int, dict[str, int]] = {}
        last_tick, last_total = time.monotonic(), 0
        t0 = time.monotonic()
        while any(p.is_alive() for p in procs):
            _raise_if_interrupted()
            try:
                wid, c, _final = sync.progress.get(timeout=0.2)
                counts[wid] = c
            except Exception:
                pass
            now = time.monotonic()
            if now - last_tick >= 1.0:
                last_tick = now
                sampler.sample()
                if show_progress:
                    last_total = _print_progress(label or w.name, min(now - t0, total), total, counts,
                                                 last_total, sys.stderr)
            if now > hard_deadline:
                stop.set()
                for p in procs:
                    p.join(2)
                    if p.is_alive():
                        p.terminate()
                break
    except KeyboardInterrupt:
        # Ctrl-C / SIGTERM: the run only tears down now. The workers get a moment to stop by
        # themselves (part of the exit budget), then SIGKILL; their results are not wanted.
        stop.set()
        _stop_workers(procs, interrupt.share(WORKER_STOP_GRACE_S))
        raise
    finally:
        _stop_workers(procs, 5.0)  # (``stop`` may be shared with other workloads: not set here)
        for p in procs:
            interrupt.untrack(p)
        if show_progress:
            sys.stderr.write("\n")
    _raise_if_interrupted()  # the workers may all have ended before the loop saw the signal
    reports = []
    for wid in range(n_workers):
        rp = parts / f"{phase}.w{wid}.json"
        if rp.exists():
            reports.append(json.loads(rp.read_text()))
    return (reports, sampler.report() if "sampler" in locals() else {}, interrupted or stop.is_set(),
            load_start_epoch_s)


def _raise_if_interrupted() -> None:
    """In a thread beside the main one (a scenario's workloads) the signal only sets a flag."""
    if interrupt.requested():
        raise interrupt.RunInterrupted(*interrupt.signal_and_moment())


def _stop_workers(procs: Sequence[Any], grace_s: float) -> None:
    """Wait up to ``grace_s`` in all for the workers to exit by themselves, then SIGKILL and
    reap what is left (they hold no resource of the cluster: they are clients)."""
    deadline = time.monotonic() + grace_s
    for p in procs:
        if p.pid is not None:
            p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.pid is not None and p.is_alive():
            p.kill()
            p.join(2)


def merge_history_parts(parts: Sequence[Path], out: Path) -> int:
    """Merge worker part files into one history ordered by invoke time (streaming k-way merge)."""
    iters = [read_history(p) for p in parts if p.exists()]
    n = 0
    with open(out, "a", encoding="utf-8") as fh:
        for op in heapq.merge(*iters, key=lambda o: o.invoke_ns):
            fh.write(op.to_json())
            fh.write("\n")
            n += 1
    return n


def self_check(w: Workload, reports: list[dict[str, Any]], cpu: dict[str, Any], measured_ok_and_failed: int,
               measured_s: float) -> dict[str, Any]:
    """Was the harness (not the system) the bottleneck? Flags, never silently reports."""
    problems: list[str] = []
    util = {r["worker_id"]: round(r["cpu_utilisation"], 3) for r in reports}
    hot = [wid for wid, u in util.items() if u >= SATURATION_CPU]
    if hot:
        problems.append(f"worker(s) {hot} used >= {SATURATION_CPU:.0%} of a core: the load generator "
                        "may be the bottleneck")
    achieved = measured_ok_and_failed / measured_s if measured_s > 0 else 0.0
    if w.load.mode == "open" and w.load.rate_ops_s:
        if achieved < RATE_SHORTFALL * w.load.rate_ops_s:
            problems.append(f"open loop achieved {achieved:.0f} ops/s of the {w.load.rate_ops_s:.0f} ops/s target")
    host = (cpu.get("host_busy_cores") or {}).get("mean_cores")
    cores = cpu.get("host_cores")
    if host is not None and cores and host >= 0.95 * cores:
        problems.append(f"host CPU saturated ({host:.2f} of {cores} cores busy): harness and cluster "
                        "compete for CPU; figures are host-bound")
    lag = max((r.get("schedule_lag_max_ms") or 0.0) for r in reports) if reports else 0.0
    return {"saturated": bool(problems), "problems": problems, "worker_cpu_utilisation": util,
            "achieved_ops_s": round(achieved, 1), "schedule_lag_max_ms": round(lag, 3)}


def run_workload(w: Workload, cluster: Cluster, directory: Path, time_origin_ns: int, *,
                 leader: str | None = None, stop: Any = None, show_progress: bool = True,
                 on_event: Callable[[str], None] | None = None, process_offset: int = 0,
                 endpoint_map: Mapping[str, str] | None = None) -> WorkloadResult:
    """Preload (if asked), then the measured run. Writes history, hlogs, worker reports.

    ``process_offset``: first logical process id (workloads running side by side in one
    scenario use distinct ranges, so their process ids and write tokens never collide)."""
    directory.mkdir(parents=True, exist_ok=True)
    history_path = directory / "history.jsonl"
    history_path.write_text("")
    if isinstance(cluster.system, Prepare):  # e.g. Cassandra: the keyspace and table, before any worker connects
        cluster.system.prepare_workload(cluster, w)
    targets = resolve_targets(w, cluster, leader)
    n_workers = min(w.load.worker_count(), w.load.concurrency)
    notes: list[str] = []
    parts: list[Path] = []
    if w.preload:
        from harness.workload.generator import KeyChooser
        import random
        kc = KeyChooser(w.keys.count, "sequential", random.Random(0), prefix=w.keys.prefix)
        keys = [kc.key(i) for i in range(w.keys.count)]
        pre_assign = assign_clients(w, targets, cluster, n_workers, first_process=process_offset + 10_000_000,
                                    endpoint_map=endpoint_map)
        reps, _, intr, _ = run_workers(w, cluster, directory, time_origin_ns, pre_assign, warmup_s=0,
                                    duration_s=120, phase="preload", preload_keys=keys, stop=stop,
                                    show_progress=show_progress, label=f"{w.name} preload")
        parts += sorted((directory / "parts").glob("preload.w*.jsonl"))
        failed = sum(r["counts"]["fail"] + r["counts"]["info"] for r in reps)
        if failed:
            notes.append(f"preload: {failed} of {len(keys)} writes did not succeed")
        if intr:
            merge_history_parts(parts, history_path)
            return WorkloadResult(w, directory, history_path, IntervalHistograms(), 0.0, reps, {}, {},
                                  interrupted=True, notes=notes)
    assignments = assign_clients(w, targets, cluster, n_workers, first_process=process_offset,
                                 endpoint_map=endpoint_map)
    reports, cpu, interrupted, load_start_epoch_s = run_workers(
        w, cluster, directory, time_origin_ns, assignments, warmup_s=w.warmup_s, duration_s=w.duration_s,
        max_ops=w.max_ops, stop=stop, show_progress=show_progress)
    parts += sorted((directory / "parts").glob("measure.w*.jsonl"))
    merge_history_parts(parts, history_path)
    hist = IntervalHistograms()
    for r in reports:
        hist.merge_encoded(r.pop("histograms"))
    # A signal while merging (a scenario's workload runs in a thread: only a flag tells it):
    # write nothing more, the run directory is being abandoned (hlog's mkdir would recreate it).
    _raise_if_interrupted()
    if load_start_epoch_s is not None:
        hist.write_hlogs(directory / "hlog", start_epoch_s=load_start_epoch_s + w.warmup_s, tag_prefix=f"{w.name}: ")
    if len(reports) < n_workers:
        notes.append(f"only {len(reports)} of {n_workers} workers reported: results are partial")
        interrupted = True
    measured = _measured_seconds(history_path, w)
    completed = sum(1 for op in read_history(history_path)
                    if not op.extra.get("phase") and op.type in ("ok", "fail"))
    check = self_check(w, reports, cpu, completed, measured)
    _raise_if_interrupted()
    (directory / "workers.json").write_text(json.dumps({"workers": reports, "cpu": cpu, "self_check": check},
                                                       indent=2))
    for p in parts:
        p.unlink(missing_ok=True)
        p.with_suffix(".json").unlink(missing_ok=True)
    try:
        (directory / "parts").rmdir()
    except OSError:
        pass
    return WorkloadResult(w, directory, history_path, hist, measured, reports, cpu, check,
                          interrupted=interrupted, notes=notes)


def _measured_seconds(history_path: Path, w: Workload) -> float:
    """The measured window as configured, shortened if the run ended early (cap or Ctrl-C)."""
    first = last = None
    for op in read_history(history_path):
        if op.extra.get("phase"):
            continue
        start = op.intended_ns if op.intended_ns is not None else op.invoke_ns
        first = start if first is None else min(first, start)
        if op.complete_ns is not None:
            last = op.complete_ns if last is None else max(last, op.complete_ns)
    if first is None or last is None:
        return 0.0
    return min(w.duration_s, (last - first) / 1e9) if w.max_ops is None else (last - first) / 1e9


def is_measured(op: Op) -> bool:
    return not op.extra.get("phase") and op.process != "nemesis"
