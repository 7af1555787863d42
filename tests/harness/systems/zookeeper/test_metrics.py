"""What one workload did to ZooKeeper's counters, from two mntr answers captured on a follower
(before and after about 17,000 reads and 5 writes through it) and the leader's."""
from __future__ import annotations

from pathlib import Path

from harness.systems.zookeeper.fourlw import parse_mntr
from harness.systems.zookeeper.metrics import delta_document, summaries

DATA = Path(__file__).parent / "data"


def mntr(name: str) -> dict:
    return parse_mntr((DATA / name).read_text())


def test_the_workloads_own_averages_come_from_count_and_sum_deltas() -> None:
    before = {"members": {"n1": {"mntr": mntr("follower-mntr-before.txt")}}}
    after = {"members": {"n1": {"mntr": mntr("follower-mntr-after.txt")}}}
    doc = delta_document(before, after, "n5")
    assert doc["leader"] == "n5" and doc["errors"] == {}
    n1 = doc["members"]["n1"]
    assert n1["server_state"] == "follower"
    assert n1["summaries"]["readlatency"] == {"count": 16986, "sum": 2457, "avg": 2457 / 16986}
    assert n1["summaries"]["updatelatency"] == {"count": 5, "sum": 56, "avg": 56 / 5}
    assert n1["delta"]["zk_packets_received"] == 16999 - 7
    # not cumulative: recorded as they stood after, never subtracted
    assert not any(k.startswith(("zk_avg_", "zk_p99_", "zk_max_")) for k in n1["delta"])
    assert n1["latency_after"]["zk_p99_readlatency"] == 2
    assert all(v != 0 for v in n1["delta"].values())


def test_a_member_without_both_snapshots_is_an_error_not_a_zero() -> None:
    before = {"members": {"n1": {"mntr": mntr("follower-mntr-before.txt")}, "n2": {"error": "OSError: refused"}}}
    after = {"members": {"n1": {"mntr": mntr("follower-mntr-after.txt")}, "n2": {"mntr": mntr("leader-mntr-after.txt")},
                         "n3": {"error": "timeout"}}}
    doc = delta_document(before, after, None)
    assert sorted(doc["members"]) == ["n1"]
    assert doc["errors"] == {"n2": "OSError: refused", "n3": "timeout"}


def test_summaries_skip_empty_ones() -> None:
    assert summaries({"zk_cnt_a": 0, "zk_sum_a": 0, "zk_cnt_b": 2, "zk_sum_b": 3, "zk_packets_sent": 9}) == \
        {"b": {"count": 2, "sum": 3, "avg": 1.5}}
