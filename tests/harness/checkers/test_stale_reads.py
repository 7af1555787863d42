"""Stale reads: how stale (ms, versions), concurrency, deletes, grouping by read consistency."""
from __future__ import annotations

from typing import Any

from harness.checkers.formats import load_history
from harness.checkers.stale_reads import check_stale_reads


def test_stale_read_across_partition_heal(hb: Any) -> None:
    # n3 is cut off from 20 to 70 ms; a serializable read on it misses b, acked at 40 ms.
    hb.put(1, "k", "a", 0, 10).nemesis("partition", 20, 21).put(2, "k", "b", 30, 40) \
        .get(3, "k", "a", 50, 60, rc="serializable").nemesis("heal", 70, 71) \
        .get(3, "k", "b", 80, 90, rc="serializable").get(4, "k", "b", 95, 99, rc="linearizable")
    r = check_stale_reads(hb.history())
    assert r.verdict is True  # stale serializable reads are what that level allows
    (s,) = r.evidence["stale_reads"]
    assert (s["key"], s["returned"], s["versions"], s["stale_ms"], s["superseded_ms"]) == ("k", "a", 1, 10.0, 10.0)
    assert s["newest_missed_value"] == "b" and s["read"]["invoke_ms"] == 50.0
    by = r.evidence["by_read_consistency"]
    assert by["serializable"] == {"reads": 2, "stale": 1, "max_stale_ms": 10.0, "max_versions": 1}
    assert by["linearizable"]["stale"] == 0


def test_stale_linearizable_read_fails_the_verdict(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 30, 40).get(3, "k", "a", 50, 60, rc="linearizable")
    assert check_stale_reads(hb.history()).verdict is False


def test_versions_and_both_staleness_bounds(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(1, "k", "b", 20, 30).put(1, "k", "c", 40, 50).put(1, "k", "d", 60, 70) \
        .get(2, "k", "a", 100, 110)
    (s,) = check_stale_reads(hb.history()).evidence["stale_reads"]
    assert s["versions"] == 3 and s["stale_ms"] == 30.0 and s["superseded_ms"] == 70.0


def test_writes_concurrent_with_the_returned_write_are_not_counted(hb: Any) -> None:
    # b overlaps a: it may have taken effect first, so reading a after both is fine.
    hb.put(1, "k", "a", 0, 50).put(2, "k", "b", 10, 40).get(3, "k", "a", 100, 110)
    r = check_stale_reads(hb.history())
    assert r.verdict is True and r.evidence["stale_reads"] == []
    # ... unless both report revisions that order them.
    hb2 = type(hb)()
    hb2.put(1, "k", "a", 0, 50, revision=5).put(2, "k", "b", 10, 40, revision=6).get(3, "k", "a", 100, 110)
    (s,) = check_stale_reads(hb2.history()).evidence["stale_reads"]
    assert s["versions"] == 1


def test_write_acked_after_read_began_is_not_missed(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 60).get(3, "k", "a", 50, 70)
    assert check_stale_reads(hb.history()).evidence["stale_reads"] == []


def test_absent_after_write_is_stale_unless_a_delete_explains_it(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(2, "k", None, 20, 30)
    (s,) = check_stale_reads(hb.history()).evidence["stale_reads"]
    assert s["returned"] is None and s["versions"] == 1
    hb.delete(3, "k", 15, 18)
    assert check_stale_reads(hb.history()).evidence["stale_reads"] == []


def test_read_of_indeterminate_write_is_never_called_stale(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10, type="info").put(2, "k", "b", 20, 30).get(3, "k", "a", 40, 50)
    assert check_stale_reads(hb.history()).evidence["stale_reads"] == []


def test_missed_delete_counts_as_a_version(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).delete(2, "k", 20, 30).get(3, "k", "a", 40, 50)
    (s,) = check_stale_reads(hb.history()).evidence["stale_reads"]
    assert s["versions"] == 1 and s["newest_missed"]["f"] == "delete"


def test_repeated_values_make_the_verdict_unknown(tmp_path: Any) -> None:
    p = tmp_path / "r.log"
    p.write_text("INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n"
                 "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n"
                 "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t1\n")
    r = check_stale_reads(load_history(p))
    assert r.verdict == "unknown" and "not unique" in r.evidence["skipped_keys"]["None"]
