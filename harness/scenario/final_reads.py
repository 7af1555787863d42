"""Final reads: after the load stops and every fault is repaired, read every key from every
node at the system's trusted and its cheapest read level (``registry.final_read_levels``;
etcd: linearizable and serializable; Cassandra: SERIAL, a Paxos read, and ONE), as ordinary
``get`` ops marked ``extra.final``.

They show what each replica ended up with: a write acknowledged to a client but absent from
every final read is lost; one that shows up although its client saw a failure is late.
Each (node, read consistency) pair is one logical process reading the keys in order; a read
that does not succeed is retried (up to ``attempts`` times, 0.5 s apart), and every attempt
is recorded. A node whose client cannot connect (``attempts`` tries, 2 s apart) gets one
``fail`` read per key with ``error: connect_failed: ...``; the other nodes' reads go on.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any, Sequence

from harness import interrupt, registry
from harness.api import Client, Request
from harness.providers.base import Cluster
from harness.recorder.history import Op
from harness.workload.spec import Workload

#: Final-read process ids: FINAL_PROCESS_BASE + 10 * node index + the level's index in the
#: system's ``registry.final_read_levels`` (0 trusted, 1 cheapest).
FINAL_PROCESS_BASE = 9_000_000_000_000


def final_process(node_index: int, level_index: int) -> int:
    return FINAL_PROCESS_BASE + 10 * node_index + level_index


#: Seconds between attempts to connect a final-read client.
CONNECT_RETRY_S = 2.0


async def _open(client: Client, attempts: int) -> str | None:
    """Open ``client``, retrying; None when open, else the last error (never raises: one node
    that does not answer must not lose the run's other final reads)."""
    last = "not attempted"
    for attempt in range(max(1, attempts)):
        try:
            await client.open()
            return None
        except Exception as e:  # noqa: BLE001 - each driver raises its own connect errors
            last = f"{type(e).__name__}: {e}"
            if attempt + 1 < attempts:
                await asyncio.sleep(CONNECT_RETRY_S)
    return last


async def _reads(cluster: Cluster, keys: Sequence[str], origin_ns: int, value_size: int, timeout_s: float,
                 attempts: int, workload: Workload | None) -> list[Op]:
    from dataclasses import replace

    from harness.workload.spec import LoadSpec

    system = cluster.system.name
    plugin = registry.system_plugin(system)
    ops: list[Op] = []

    async def one(idx: int, node: str, level_index: int, consistency: str) -> None:
        base = workload or Workload(name="final-reads", duration_s=1, system=system)
        w = replace(base, value_size=value_size, read_consistency=consistency,
                    load=LoadSpec(concurrency=1, op_timeout_s=timeout_s))
        client = plugin.make_client(w, cluster.client_endpoint(node), cluster.client_endpoints)
        process = final_process(idx, level_index)
        try:
            problem = await _open(client, attempts)
            if problem is not None:
                # the node never took a connection (a restarted JVM can take a while): each key
                # is a failed read of that node (nothing was read), and the other nodes' reads go on
                now = time.monotonic_ns() - origin_ns
                ops.extend(Op(i=0, process=process, f="get", key=key, value=None, invoke_ns=now, complete_ns=now,
                              type="fail", node=node, read_consistency=consistency, value_size=value_size,
                              error=f"connect_failed: {problem}"[:400],
                              extra={"final": True, "attempt": 0, "connect_failed": True}) for key in keys)
                return
            for key in keys:
                for attempt in range(attempts):
                    t0 = time.monotonic_ns()
                    out = await client.invoke(Request("get", key, None, consistency))
                    t1 = time.monotonic_ns()
                    ops.append(Op(i=0, process=process, f="get", key=key, value=None, invoke_ns=t0 - origin_ns,
                                  complete_ns=t1 - origin_ns, type=out.type, node=node,  # type: ignore[arg-type]
                                  read_consistency=consistency, value_size=value_size, result=out.result,
                                  error=out.error, revision=out.revision,
                                  extra={"final": True, "attempt": attempt + 1}))
                    if out.type == "ok":
                        break
                    if out.type == "info":
                        # Jepsen's rule: after an indeterminate op a process never issues another.
                        process += 1_000_000
                    await asyncio.sleep(0.5)
        finally:
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - closing a client that never opened
                pass

    await asyncio.gather(*(one(i, n.name, j, c) for i, n in enumerate(cluster.nodes, 1)
                           for j, c in enumerate(registry.final_read_levels(system))))
    return ops


def final_reads(cluster: Cluster, keys: Sequence[str], origin_ns: int, *, value_size: int = 256,
                timeout_s: float = 5.0, attempts: int = 3, workload: Workload | None = None) -> list[Op]:
    """Read every key from every node at the system's final-read levels; returns the ops (``i`` = 0, numbered
    when merged), ordered by invoke time. ``workload``: where the system's client settings
    come from (Cassandra: keyspace / replication factor)."""
    ops = _run_interruptible(_reads(cluster, keys, origin_ns, value_size, timeout_s, attempts, workload))
    return sorted(ops, key=lambda o: o.invoke_ns)


def _run_interruptible(coro: Any) -> Any:
    """Run the reads' event loop in a thread of its own, the main thread waiting in short
    joins, so Ctrl-C / SIGTERM is raised there and never inside the loop's or gRPC's
    callbacks: raised in those, the KeyboardInterrupt can be swallowed and a call's completion
    lost (seen here: a run interrupted during its final reads printed the signal and then
    waited forever on the event loop, no timer left). After a signal the reads are cancelled,
    their clients get a share of the exit budget (``harness.interrupt``) to close, and the
    loop's thread and executor (a Cassandra driver still connecting) are not waited for."""
    loop = asyncio.new_event_loop()
    out: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            out["ops"] = loop.run_until_complete(coro)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            out["error"] = e
        finally:
            # After a signal the loop stays open: gRPC's poller may still hand it completions
            # ("Event loop is closed" otherwise, for every one), and the process is ending.
            if not interrupt.requested():
                with contextlib.suppress(Exception):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

    t = threading.Thread(target=run, name="gbench-final-reads", daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(0.2)
    except KeyboardInterrupt:
        with contextlib.suppress(RuntimeError):  # (the loop may have closed meanwhile)
            loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
        t.join(interrupt.share(2.0))
        raise
    if "error" in out:
        raise out["error"]
    return out["ops"]
