"""What one workload did to ZooKeeper's own figures, from two ``mntr`` snapshots per member.

ZooKeeper's ``mntr`` counters are cumulative since the server started (packets, commits,
proposals, the ``*_count``/``*_sum`` of its summaries), so a workload's share is the
difference ``after - before``; its ``min``/``max``/``avg`` latency figures are also since the
start (or ``srst``) and cannot be split by workload, so they are recorded as they stood after
the workload (``latency_after``); each summary's ``zk_cnt_``/``zk_sum_`` deltas give the
workload's own average (``summaries``). Pure shaping: no I/O.

Output (``zookeeper_mntr.json`` per workload)::

    {"leader": "n3", "members": {"n1": {"server_state": "follower",
        "delta": {"zk_packets_received": 5012, ...},
        "latency_after": {"zk_avg_latency": 0.41, "zk_max_latency": 17, ...},
        "summaries": {"readlatency": {"count": 2000, "sum": 400, "avg": 0.2}, ...}}, ...},
     "errors": {"n4": "mntr failed: ..."}}
"""
from __future__ import annotations

from typing import Any

from harness.systems.zookeeper.fourlw import latency_figures


def _numbers(m: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


#: Figures of a summary that are not cumulative: not differences, recorded as they stood after.
_NOT_CUMULATIVE = ("zk_avg_", "zk_min_", "zk_max_", "zk_p50_", "zk_p95_", "zk_p99_", "zk_p999_")


def summaries(delta: dict[str, float]) -> dict[str, dict[str, float]]:
    """For every summary ``zk_cnt_<name>``/``zk_sum_<name>`` with a non-zero count in a delta:
    ``{name: {"count": n, "sum": s, "avg": s / n}}``: the workload's own average (ZooKeeper's
    summaries are in ms unless the name says otherwise)."""
    out: dict[str, dict[str, float]] = {}
    for k, n in delta.items():
        if not k.startswith("zk_cnt_") or not n:
            continue
        name = k[len("zk_cnt_"):]
        s = delta.get(f"zk_sum_{name}", 0)
        out[name] = {"count": n, "sum": s, "avg": s / n}
    return out


def delta_document(before: dict[str, Any], after: dict[str, Any], leader: str | None) -> dict[str, Any]:
    """Per member: the counters' deltas, the latency figures after, the summaries' averages."""
    members: dict[str, Any] = {}
    errors: dict[str, str] = {}
    b_all, a_all = before.get("members", {}), after.get("members", {})
    for node in sorted(set(b_all) | set(a_all)):
        b, a = b_all.get(node, {}), a_all.get(node, {})
        if "mntr" not in a or "mntr" not in b:
            errors[node] = a.get("error") or b.get("error") or "no mntr snapshot"
            continue
        bn, an = _numbers(b["mntr"]), _numbers(a["mntr"])
        delta = {k: an[k] - bn[k] for k in sorted(an) if k in bn and not k.startswith(_NOT_CUMULATIVE)}
        members[node] = {"server_state": a["mntr"].get("zk_server_state"),
                         "delta": {k: v for k, v in delta.items() if v},
                         "latency_after": latency_figures(a["mntr"]),
                         "summaries": summaries(delta)}
    return {"leader": leader, "members": members, "errors": errors}
