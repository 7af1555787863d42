"""Final reads: after the load stops and every fault is repaired, read every key from every
node, linearizable and serializable, as ordinary ``get`` ops marked ``extra.final``.

They show what each replica ended up with: a write acknowledged to a client but absent from
every final read is lost; one that shows up although its client saw a failure is late.
Each (node, read consistency) pair is one logical process reading the keys in order; a read
that does not succeed is retried (up to ``attempts`` times, 0.5 s apart), and every attempt
is recorded.
"""
from __future__ import annotations

import asyncio
import time
from typing import Sequence

from harness.providers.base import Cluster
from harness.recorder.history import Op

#: Final-read process ids: FINAL_PROCESS_BASE + 10 * node index + (0 linearizable, 1 serializable).
FINAL_PROCESS_BASE = 9_000_000_000_000
CONSISTENCIES = ("linearizable", "serializable")


def final_process(node_index: int, consistency: str) -> int:
    return FINAL_PROCESS_BASE + 10 * node_index + CONSISTENCIES.index(consistency)


async def _reads(cluster: Cluster, keys: Sequence[str], origin_ns: int, value_size: int, timeout_s: float,
                 attempts: int) -> list[Op]:
    from harness.systems.etcd.client import EtcdClient

    ops: list[Op] = []

    async def one(idx: int, node: str, consistency: str) -> None:
        client = EtcdClient(cluster.client_endpoint(node), value_size, timeout_s)
        process = final_process(idx, consistency)
        try:
            for key in keys:
                for attempt in range(attempts):
                    t0 = time.monotonic_ns()
                    out = await client.invoke("get", key, None, consistency)
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
            await client.close()

    await asyncio.gather(*(one(i, n.name, c) for i, n in enumerate(cluster.nodes, 1) for c in CONSISTENCIES))
    return ops


def final_reads(cluster: Cluster, keys: Sequence[str], origin_ns: int, *, value_size: int = 256,
                timeout_s: float = 5.0, attempts: int = 3) -> list[Op]:
    """Read every key from every node at both consistencies; returns the ops (``i`` = 0,
    numbered when merged), ordered by invoke time."""
    ops = asyncio.run(_reads(cluster, keys, origin_ns, value_size, timeout_s, attempts))
    return sorted(ops, key=lambda o: o.invoke_ns)
