"""Parsing and subtracting etcd's Prometheus histograms (pure; exact values)."""
from __future__ import annotations

from harness.systems.etcd.metrics import delta_document, parse_histograms, subtract

TEXT = """\
# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 7
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 9
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 10
etcd_disk_wal_fsync_duration_seconds_sum 0.0125
etcd_disk_wal_fsync_duration_seconds_count 10
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="0.0001"} 1
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="+Inf"} 3
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="0.0001"} 2
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="+Inf"} 2
etcd_network_peer_round_trip_time_seconds_sum{To="a"} 0.5
etcd_network_peer_round_trip_time_seconds_sum{To="b"} 0.25
etcd_network_peer_round_trip_time_seconds_count{To="a"} 3
etcd_network_peer_round_trip_time_seconds_count{To="b"} 2
etcd_disk_wal_fsync_duration_seconds_other 99
"""


def test_parse_sums_labels_and_orders_buckets() -> None:
    h = parse_histograms(TEXT)
    assert h["etcd_disk_wal_fsync_duration_seconds"] == {
        "buckets": [[0.001, 7], [0.002, 9], ["+Inf", 10]], "count": 10, "sum": 0.0125}
    assert h["etcd_network_peer_round_trip_time_seconds"] == {
        "buckets": [[0.0001, 3], ["+Inf", 5]], "count": 5, "sum": 0.75}
    assert "etcd_disk_backend_commit_duration_seconds" not in h  # absent, not zero


def test_subtract_and_document() -> None:
    before = {"buckets": [[0.001, 2], [0.002, 3], ["+Inf", 4]], "count": 4, "sum": 0.005}
    after = parse_histograms(TEXT)["etcd_disk_wal_fsync_duration_seconds"]
    assert subtract(after, before) == {"buckets": [[0.001, 5], [0.002, 6], ["+Inf", 6]], "count": 6, "sum": 0.0075}
    doc = delta_document({"n1": {"etcd_disk_wal_fsync_duration_seconds": before}, "n2": None},
                         {"n1": {"etcd_disk_wal_fsync_duration_seconds": after}, "n2": {}}, leader="n1")
    assert doc["leader"] == "n1" and doc["unreachable"] == ["n2"]
    assert doc["nodes"]["n1"]["etcd_disk_wal_fsync_duration_seconds"]["count"] == 6
