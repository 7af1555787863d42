"""A load-generating worker process: a few logical clients on one asyncio loop.

Several workers run side by side so that one Python core is not the bottleneck. Each
keeps its own history part file and its own HDR histograms; the parent merges them.
Workers ignore SIGINT (the parent owns Ctrl-C and tells them to stop through an Event),
stop issuing at the deadline by themselves, and give every in-flight operation at most
its timeout: the loop is bounded in time and in count (``max_ops``).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.api import Client, Outcome, Request
from harness.recorder.histograms import IntervalHistograms
from harness.recorder.history import HistoryWriter, Op
from harness.workload.generator import OpGenerator, open_loop_schedule
from harness.workload.spec import Workload


@dataclass(frozen=True)
class ClientAssignment:
    process: int  # logical process id, unique in the run
    index: int  # 0..concurrency-1, for open-loop staggering
    node: str
    endpoint: str


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: int
    workload: Workload
    clients: tuple[ClientAssignment, ...]
    time_origin_ns: int  # CLOCK_MONOTONIC origin of the run (history times are relative to it)
    warmup_ns: int  # from the common start: warm-up length (not in histograms)
    duration_ns: int  # after the warm-up: measured length; issuing stops at its end
    history_path: Path
    result_path: Path
    max_ops: int | None = None  # this worker's share of the workload's cap
    phase: str = "measure"  # recorded in extra for ops after measure_start ("preload" for preload)
    preload_keys: tuple[str, ...] = ()  # preload mode: write each of these once, then stop
    process_stride: int = 0  # added to a process id after an indeterminate op (Jepsen's rule)
    endpoints: tuple[str, ...] = ()  # every node's endpoint (token-aware clients route over all)
    #: (node, endpoint) a session's reads rotate over (``clients.session.reads: round-robin``): every
    #: node clients are pinned to, in pin order; empty otherwise
    read_targets: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WorkerFailed:
    """What a worker puts on ``WorkerSync.ready`` instead of its id when it cannot start (its
    clients could not connect): the parent raises one ClusterError naming it."""

    worker_id: int
    reason: str


@dataclass
class WorkerSync:
    """Start barrier: each worker reports ready (imports done, channels made), then waits for
    ``go``; the parent writes the common start time into ``start_ns`` before setting it."""

    ready: Any  # multiprocessing Queue: worker ids, or a WorkerFailed
    go: Any  # multiprocessing Event
    start_ns: Any  # multiprocessing Value('q')
    stop: Any  # multiprocessing Event: Ctrl-C or abort
    progress: Any  # multiprocessing Queue: (worker_id, counts, final)


def worker_main(cfg: WorkerConfig, sync: WorkerSync) -> None:
    """Process entry point (multiprocessing 'spawn')."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_run(cfg, sync))


class _Shared:
    def __init__(self, cfg: WorkerConfig, load_start_ns: int) -> None:
        self.cfg = cfg
        self.load_start_ns = load_start_ns
        self.measure_start_ns = load_start_ns + cfg.warmup_ns
        self.end_ns = self.measure_start_ns + cfg.duration_ns
        self.hist = IntervalHistograms()
        self.writer = HistoryWriter(cfg.history_path)
        self.counts = {"ok": 0, "fail": 0, "info": 0}
        self.errors: dict[str, int] = {}
        self.issued = 0
        self.seq = 0
        self.sched_lag_max_ns = 0


async def _run(cfg: WorkerConfig, sync: WorkerSync) -> None:
    from harness.registry import system_plugin  # imported in the child only

    w = cfg.workload
    plugin = system_plugin(w.system)
    stop_event, progress = sync.stop, sync.progress
    # One gRPC channel per node per worker, shared by the worker's clients pinned to that node
    # (separate HTTP/2 streams): measured here, 32 streams on one channel cost ~110 us of
    # client CPU per put against ~175 us with a channel per client and fewer streams each.
    if plugin.routes_per_request(w):  # one driver session for the worker: it picks a replica per request
        shared = plugin.make_client(w, cfg.clients[0].endpoint, cfg.endpoints)
        channels = {e: shared for e in {a.endpoint for a in cfg.clients}}
    else:
        wanted = {a.endpoint for a in cfg.clients} | {e for _, e in cfg.read_targets}
        channels = {e: plugin.make_client(w, e, cfg.endpoints) for e in sorted(wanted)}
    opened = list({id(c): c for c in channels.values()}.values())
    try:
        for c in opened:
            await c.open()
    except Exception as e:  # noqa: BLE001 - the parent reports it in one line (no child traceback)
        sync.ready.put(WorkerFailed(cfg.worker_id, f"{type(e).__name__}: {e}"[:400]))
        for c in opened:
            with contextlib.suppress(Exception):
                await c.close()
        return
    clients = [channels[a.endpoint] for a in cfg.clients]
    sync.ready.put(cfg.worker_id)
    while not sync.go.wait(0.1):
        if stop_event.is_set():
            for c in opened:
                await c.close()
            return
    sh = _Shared(cfg, int(sync.start_ns.value))
    cpu0, wall0 = os.times(), time.monotonic()
    reporter = asyncio.create_task(_report_progress(sh, progress))
    try:
        if cfg.preload_keys:
            await _preload(cfg, sh, clients)
        else:
            readers = [(node, channels[e]) for node, e in cfg.read_targets]
            await asyncio.gather(*(_client_loop(cfg, sh, a, c, stop_event, readers)
                                   for a, c in zip(cfg.clients, clients)))
    finally:
        reporter.cancel()
        for c in opened:
            await c.close()
        sh.writer.close()
        cpu1, wall1 = os.times(), time.monotonic()
        busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        result = {
            "worker_id": cfg.worker_id, "pid": os.getpid(), "ops": sh.writer.count, "counts": sh.counts,
            "errors": sh.errors, "cpu_s": busy, "wall_s": wall1 - wall0,
            "cpu_utilisation": busy / max(wall1 - wall0, 1e-9),
            "schedule_lag_max_ms": sh.sched_lag_max_ns / 1e6,
            "histograms": sh.hist.encode(),
        }
        tmp = cfg.result_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        tmp.rename(cfg.result_path)
        progress.put((cfg.worker_id, dict(sh.counts), True))


async def _report_progress(sh: _Shared, progress: Any) -> None:
    while True:
        await asyncio.sleep(1.0)
        progress.put((sh.cfg.worker_id, dict(sh.counts), False))


def _budget_left(sh: _Shared) -> bool:
    m = sh.cfg.max_ops
    return m is None or sh.issued < m


async def _one(sh: _Shared, client: Client, process: int, node: str, f: str, key: str, value: Any,
               intended_ns: int | None, session: int | None = None, after: int | None = None) -> tuple[Op, Outcome]:
    cfg, w = sh.cfg, sh.cfg.workload
    sh.issued += 1
    invoke = time.monotonic_ns()
    outcome = await client.invoke(Request(f, key, value, w.read_consistency, after=after))
    complete = time.monotonic_ns()
    sh.seq += 1
    phase = cfg.phase if invoke >= sh.measure_start_ns else "warmup"
    op = Op(
        i=cfg.worker_id * 1_000_000_000 + sh.seq, process=process, f=f, key=key, value=value,
        invoke_ns=invoke - cfg.time_origin_ns, complete_ns=complete - cfg.time_origin_ns,
        type=outcome.type, node=node,
        read_consistency=w.read_consistency if f == "get" else None,
        write_consistency=w.write_consistency if f != "get" else None, value_size=w.value_size,
        intended_ns=None if intended_ns is None else intended_ns - cfg.time_origin_ns,
        result=outcome.result, error=outcome.error, revision=outcome.revision,
        extra={**({"phase": phase} if phase != "measure" else {}),
               **({"session": session} if session is not None else {}),
               **({"after": after} if after is not None else {})},
    )
    sh.writer.append(op)
    sh.counts[outcome.type] += 1
    if outcome.error:
        sh.errors[outcome.error] = sh.errors.get(outcome.error, 0) + 1
    if phase == "measure":
        start = intended_ns if intended_ns is not None else invoke
        sh.hist.record((f, outcome.type), complete - sh.measure_start_ns, complete - start)
    return op, outcome


async def _client_loop(cfg: WorkerConfig, sh: _Shared, a: ClientAssignment, client: Client, stop_event: Any,
                       readers: Sequence[tuple[str, Client]] = ()) -> None:
    """One client's loop. With sessions (``clients.session``) every op records the session (the
    client's first process id); ``readers`` (round-robin session reads): the (node, client) its
    successive reads go through, starting at its own index so sessions start spread out."""
    w = cfg.workload
    gen = OpGenerator(w, a.process)
    from harness.registry import system_plugin

    node = None if system_plugin(w.system).routes_per_request(w) else a.node  # token-aware: the driver chose the node
    process = a.process
    session = a.process if w.session_reads is not None else None
    waits = w.session_reads == "token-wait"
    position: int | None = None  # token-wait: the highest position the session has seen
    reads = 0
    open_loop = w.load.mode == "open"
    if open_loop:
        offset_s, interval_s = open_loop_schedule(float(w.load.rate_ops_s or 1), w.load.concurrency, a.index)
        # The schedule starts with the warm-up so the rate is steady when measuring starts.
        start_ns = int(sh.load_start_ns + offset_s * 1e9)
        k = 0
    else:
        delay = sh.load_start_ns - time.monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
    while not stop_event.is_set() and _budget_left(sh):
        intended = None
        if open_loop:
            intended = int(start_ns + k * interval_s * 1e9)
            k += 1
            if intended >= sh.end_ns:
                break
            delay = intended - time.monotonic_ns()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
            else:
                sh.sched_lag_max_ns = max(sh.sched_lag_max_ns, -delay)
        elif time.monotonic_ns() >= sh.end_ns:
            break
        planned = gen.next()
        via, via_node = client, node
        if readers and planned.f == "get":
            via_node, via = readers[(a.index + reads) % len(readers)]
            reads += 1
        op, outcome = await _one(sh, via, process, via_node, planned.f, planned.key, planned.value, intended,
                                 session, position if waits and planned.f == "get" else None)
        if waits and outcome.type == "ok" and outcome.position is not None:
            position = outcome.position if position is None else max(position, outcome.position)
        if op.type == "ok":
            if op.f == "get":
                gen.last_seen[op.key] = op.result
            elif op.f == "put":
                gen.last_seen[op.key] = op.value
            elif op.f == "cas":
                gen.last_seen[op.key] = op.value[1]
            elif op.f == "delete":
                gen.last_seen[op.key] = None
        elif op.type == "info" and cfg.process_stride:
            # Jepsen's rule: a process with an operation of unknown fate never issues another
            # one; the client carries on as a fresh process.
            process += cfg.process_stride
            gen.process = process


async def _preload(cfg: WorkerConfig, sh: _Shared, clients: list[Any]) -> None:
    """Write each assigned key once (token ``pre:<key>``), spread over this worker's clients."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for k in cfg.preload_keys:
        queue.put_nowait(k)

    async def drain(a: ClientAssignment, c: Any) -> None:
        while not queue.empty() and time.monotonic_ns() < sh.end_ns:
            key = queue.get_nowait()
            await _one(sh, c, a.process, a.node, "put", key, f"pre:{key}", None)

    await asyncio.gather(*(drain(a, c) for a, c in zip(cfg.clients, clients)))
