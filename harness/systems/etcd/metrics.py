"""etcd's own latency histograms (``/metrics``, Prometheus text format), before and after a
workload, so the implementation diagram can show where a write's time goes as etcd itself
measured it: WAL fsync, backend (bbolt) commit, and the peer round trip.

Why before *and* after: the counters are cumulative since the member started (cluster
start-up, earlier workloads), so one scrape mixes workloads. The delta of two scrapes is
the workload's own histogram. Labels (e.g. the ``To`` member of a peer round trip) are
summed: the diagram wants one distribution per member.

A quantile of a Prometheus histogram is only known to lie inside one bucket; consumers
report the bucket's upper bound with a "≤" (``diagram_gen`` does), never an interpolation
presented as a measurement.

Example::

    before = snapshot(cluster)            # {"n1": {"etcd_disk_wal_fsync_duration_seconds": {...}}, ...}
    ... run the workload ...
    doc = delta_document(before, snapshot(cluster), leader="n2")
    (workload_dir / "etcd_metrics.json").write_text(json.dumps(doc))
"""
from __future__ import annotations

import math
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from harness.providers.base import Cluster

SCHEMA_VERSION = 1
#: The histograms the write path diagram needs (etcd 3.4-3.6 names).
HISTOGRAMS = (
    "etcd_disk_wal_fsync_duration_seconds",
    "etcd_disk_backend_commit_duration_seconds",
    "etcd_network_peer_round_trip_time_seconds",
)
SCRAPE_TIMEOUT_S = 5.0
METHOD = ("GET http://<member client URL>/metrics on every member just before the workload's first "
          "operation (before its warm-up) and just after its last; histogram = after - before, "
          "buckets cumulative (le, count) as Prometheus exposes them, labels summed per member")

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')
_LE = re.compile(r'le="(?P<le>[^"]+)"')

Histogram = dict[str, Any]  # {"buckets": [[le, cumulative], ...], "count": n, "sum": s}


def parse_histograms(text: str, names: tuple[str, ...] = HISTOGRAMS) -> dict[str, Histogram]:
    """Histograms named ``names`` from Prometheus text, labels other than ``le`` summed."""
    acc: dict[str, dict[str, Any]] = {n: {"buckets": {}, "count": 0.0, "sum": 0.0} for n in names}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        name, value = m.group("name"), float(m.group("value"))
        for base in names:
            if name == base + "_bucket":
                le_m = _LE.search(m.group("labels") or "")
                if le_m:
                    le = le_m.group("le")
                    acc[base]["buckets"][le] = acc[base]["buckets"].get(le, 0.0) + value
            elif name == base + "_count":
                acc[base]["count"] += value
            elif name == base + "_sum":
                acc[base]["sum"] += value
    out: dict[str, Histogram] = {}
    for base, h in acc.items():
        if not h["buckets"]:
            continue
        order = sorted(h["buckets"], key=lambda le: math.inf if le == "+Inf" else float(le))
        out[base] = {"buckets": [[_le_value(le), _int(h["buckets"][le])] for le in order],
                     "count": _int(h["count"]), "sum": round(h["sum"], 9)}
    return out


def _le_value(le: str) -> float | str:
    return "+Inf" if le == "+Inf" else float(le)


def _int(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def subtract(after: Histogram, before: Histogram | None) -> Histogram:
    """after - before, bucket by bucket (both cumulative); a missing before is all zeros."""
    if not before:
        return after
    prev = {str(le): c for le, c in before["buckets"]}
    return {"buckets": [[le, _int(c - prev.get(str(le), 0))] for le, c in after["buckets"]],
            "count": _int(after["count"] - before["count"]), "sum": round(after["sum"] - before["sum"], 9)}


def scrape(endpoint: str, timeout_s: float = SCRAPE_TIMEOUT_S) -> str:
    """The raw /metrics text of one member (``endpoint`` is host:port of its client URL)."""
    handler = urllib.request.ProxyHandler({})  # never through a proxy from the environment
    opener = urllib.request.build_opener(handler)
    with opener.open(f"http://{endpoint}/metrics", timeout=timeout_s) as r:
        return r.read().decode("utf-8", "replace")


def snapshot(cluster: Cluster) -> dict[str, dict[str, Histogram] | None]:
    """Every member's histograms; a member that does not answer maps to None (recorded, not hidden)."""
    nodes = list(cluster.nodes)

    def one(node: Any) -> dict[str, Histogram] | None:
        try:
            return parse_histograms(scrape(f"{node.host}:{cluster.system.client_port}"))
        except OSError:
            return None

    with ThreadPoolExecutor(max_workers=len(nodes) or 1) as ex:
        got = list(ex.map(one, nodes))
    return {n.name: h for n, h in zip(nodes, got)}


def delta_document(before: Mapping[str, Mapping[str, Histogram] | None],
                   after: Mapping[str, Mapping[str, Histogram] | None], leader: str | None) -> dict[str, Any]:
    """The ``etcd_metrics.json`` document: per member, after - before for each histogram."""
    nodes: dict[str, Any] = {}
    missing: list[str] = []
    for name in sorted(after):
        a, b = after[name], before.get(name)
        if a is None or b is None:
            missing.append(name)
            continue
        nodes[name] = {metric: subtract(h, b.get(metric)) for metric, h in sorted(a.items())}
    return {"schema_version": SCHEMA_VERSION, "method": METHOD, "leader": leader,
            "nodes": nodes, "unreachable": missing}
