"""etcd's benchmark tool: the command line we build and the report we parse (exact values)."""
from __future__ import annotations

from harness.systems.etcd.benchmark_tool import (BenchmarkReport, EtcdBenchmarkResult, EtcdBenchmarkRun, parse_report,
                                                 to_summary_rows)

REPORT = """
Summary:
  Total:	2.011034 secs.
  Slowest:	0.0443 secs.
  Fastest:	0.001105 secs.
  Average:	0.01 secs.
  Stddev:	0.005 secs.
  Requests/sec:	4972.7154

Response time histogram:
  0.0011 [1]	|
  0.0054 [2341]	|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎

Latency distribution:
  10% in 0.005 secs.
  50% in 0.0094 secs.
  90% in 0.0153 secs.
  99% in 0.0242 secs.
  99.9% in 0.0393 secs.

Error distribution:
  [3]	context deadline exceeded
  [1]	etcdserver: request timed out
"""


def test_parse_report_reads_every_figure_as_printed() -> None:
    r = parse_report(REPORT)
    assert (r.total_s, r.slowest_s, r.fastest_s, r.average_s) == (2.011034, 0.0443, 0.001105, 0.01)
    assert r.requests_per_s == 4972.7154
    assert r.percentiles_s == {"10": 0.005, "50": 0.0094, "90": 0.0153, "99": 0.0242, "99.9": 0.0393}
    assert r.errors == {"context deadline exceeded": 3, "etcdserver: request timed out": 1}


def test_parse_report_of_nothing_is_all_unmeasured() -> None:
    r = parse_report("Error: context deadline exceeded\n")
    assert r == BenchmarkReport()


def test_argv_put_and_range() -> None:
    put = EtcdBenchmarkRun(op="put", endpoints=["198.18.0.11:2379", "198.18.0.12:2379"], clients=8, conns=8,
                           total=1000, key_size=7, val_size=256, key_space_size=100)
    assert put.argv("/b") == ["/b", "--endpoints=198.18.0.11:2379,198.18.0.12:2379", "--conns=8", "--clients=8",
                              "--precise", "put", "--total=1000", "--key-size=7", "--val-size=256",
                              "--key-space-size=100"]
    rng = EtcdBenchmarkRun(op="range", endpoints=["h:1"], clients=2, conns=2, total=10, key_size=3, val_size=9,
                           key_space_size=5, consistency="s", key="k00", target_leader=True)
    assert rng.argv("/b")[-4:] == ["range", "k00", "--total=10", "--consistency=s"]
    assert "--target-leader" in rng.argv("/b")


def test_rows_ok_and_fail_in_summary_columns() -> None:
    spec = EtcdBenchmarkRun(op="put", endpoints=["h:1"], clients=1, conns=1, total=1000, key_size=3, val_size=256,
                            key_space_size=10)
    res = EtcdBenchmarkResult(spec, spec.argv("/b"), 0, REPORT, 2.1, parse_report(REPORT))
    ok, fail = to_summary_rows(res, {"run_id": "r", "value_size": 256})
    assert ok["tool"] == "etcd-benchmark" and ok["op"] == "put" and ok["outcome"] == "ok"
    assert ok["count"] == 996 and ok["throughput_ops_s"] == 4972.7
    assert (ok["p50_ms"], ok["p90_ms"], ok["p99_ms"], ok["p999_ms"], ok["max_ms"]) == (9.4, 15.3, 24.2, 39.3, 44.3)
    assert fail["outcome"] == "fail" and fail["count"] == 4 and fail["p50_ms"] is None
