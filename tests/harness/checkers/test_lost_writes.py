"""Lost writes: the exact rule (final value older than an acked write; absent without delete)."""
from __future__ import annotations

from typing import Any

from harness.checkers.lost_writes import check_lost_writes


def test_final_value_older_than_a_later_acked_write(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).get(9, "k", "a", 100, 110, final=True)
    r = check_lost_writes(hb.history())
    assert r.verdict is False
    (lost,) = r.evidence["lost"]
    assert lost["write"]["value"] == "b" and lost["final_value"] == "a"
    assert lost["explained_by"]["value"] == "a" and lost["final_read"]["invoke_ms"] == 100.0


def test_latest_write_visible_is_fine(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).get(9, "k", "b", 100, 110, final=True)
    r = check_lost_writes(hb.history())
    assert r.verdict is True and r.evidence["keys_checked"] == 1


def test_concurrent_writes_either_may_win(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 50).put(2, "k", "b", 10, 40).get(9, "k", "a", 100, 110, final=True)
    assert check_lost_writes(hb.history()).verdict is True


def test_absent_at_the_end_without_delete(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).get(9, "k", None, 100, 110, final=True)
    r = check_lost_writes(hb.history())
    assert r.verdict is False and [x["write"]["value"] for x in r.evidence["lost"]] == ["a", "b"]
    assert r.evidence["lost"][0]["explained_by"] == "initial state"


def test_absent_explained_by_a_delete(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).delete(2, "k", 20, 30).get(9, "k", None, 100, 110, final=True)
    assert check_lost_writes(hb.history()).verdict is True
    hb.put(3, "k", "c", 40, 50)  # acked after the delete: now lost
    r = check_lost_writes(hb.history())
    assert r.verdict is False and [x["write"]["value"] for x in r.evidence["lost"]] == ["c"]


def test_indeterminate_delete_or_source_proves_nothing(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).delete(2, "k", 20, 30, type="info").get(9, "k", None, 100, 110, final=True)
    assert check_lost_writes(hb.history()).verdict is True
    hb.put(1, "j", "a", 0, 10, type="info").put(2, "j", "b", 20, 30).get(9, "j", "a", 100, 110, final=True)
    assert check_lost_writes(hb.history()).verdict is True


def test_acked_cas_and_delete_can_be_lost(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).cas(2, "k", "a", "b", 20, 30).get(9, "k", "a", 100, 110, final=True)
    r = check_lost_writes(hb.history())
    assert r.verdict is False and r.evidence["lost"][0]["write"]["f"] == "cas"
    hb.delete(3, "j", 0, 1).put(1, "j", "x", 2, 3).delete(2, "j", 20, 30).get(9, "j", "x", 100, 110, final=True)
    lost = check_lost_writes(hb.history()).evidence["lost"]
    assert any(x["key"] == "j" and x["write"]["f"] == "delete" for x in lost)


def test_writes_after_the_final_read_began_are_ignored(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(9, "k", "a", 100, 110, final=True).put(2, "k", "b", 105, 120)
    assert check_lost_writes(hb.history()).verdict is True


def test_explicit_final_state(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).put(1, "j", "x", 0, 10)
    assert check_lost_writes(hb.history(), final_state={"k": "b", "j": "x"}).verdict is True
    r = check_lost_writes(hb.history(), final_state={"k": "a", "j": None})
    assert r.verdict is False and sorted(x["write"]["value"] for x in r.evidence["lost"]) == ["b", "x"]


def test_no_final_state_is_unknown(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(2, "k", "a", 20, 30)
    r = check_lost_writes(hb.history())
    assert r.verdict == "unknown" and r.evidence["keys_without_final_value"] == ["k"]


def test_serializable_final_reads_are_not_trusted(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).put(2, "k", "b", 20, 30).get(9, "k", "a", 100, 110, final=True, rc="serializable")
    assert check_lost_writes(hb.history()).verdict == "unknown"


def test_final_value_never_written_is_listed_not_lost(hb: Any) -> None:
    hb.put(1, "k", "a", 0, 10).get(9, "k", "zzz", 100, 110, final=True)
    r = check_lost_writes(hb.history())
    assert r.verdict is True and r.evidence["unexplained_final_values"][0]["final_value"] == "zzz"
