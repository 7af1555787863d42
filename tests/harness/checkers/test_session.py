"""The seven session-guarantee checkers on crafted histories: each violation kind with its
exact evidence, each look-alike that is not one, indeterminate writes, skipped orders, and
``gbench check --model``. Times in ms; ``s:n`` is session s's n-th write."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.check_command import run_check
from harness.checkers.model import CheckResult
from harness.checkers.session import (check_causal, check_consistent_prefix, check_monotonic_reads,
                                      check_monotonic_writes, check_pram, check_read_your_writes,
                                      check_writes_follow_reads)
from harness.errors import ArgumentError

READ_CHECKERS = [check_read_your_writes, check_monotonic_reads, check_causal, check_consistent_prefix]


def brief(r: CheckResult) -> list[tuple[Any, ...]]:
    """(kind, session, key, the violating op's index, what it returned, the write it missed)."""
    out = []
    for v in r.evidence["violations"]:
        op = v.get("write") or v.get("read")
        missed = v.get("missed") or v.get("earlier_write") or v.get("returned_by_read")
        out.append((v["kind"], v["session"], v["key"], op["index"], v.get("returned", op.get("value")),
                    missed["value"]))
    return out


def counts(r: CheckResult, unit: str = "reads") -> tuple[Any, ...]:
    e = r.evidence
    return r.verdict, e[f"{unit}_judged"], e[f"violating_{unit}"], e[f"violations_per_10k_{unit}"]


# --- read-your-writes -------------------------------------------------------------------

def test_ryw_a_read_that_misses_its_sessions_write(hb: Any) -> None:
    # 1 writes a then b; its read after both returns a; 2's stale read of the same key is not 1's concern
    (hb.put(1, "x", "1:1", 0, 10).put(1, "x", "1:2", 20, 30).get(1, "x", "1:1", 40, 50)
       .get(2, "x", None, 40, 50).get(1, "x", "1:2", 60, 70))
    r = check_read_your_writes(hb.history())
    assert counts(r) == (False, 3, 1, 3333.333)
    assert brief(r) == [("own-write", 1, "x", 2, "1:1", "1:2")]
    v = r.evidence["violations"][0]
    assert (v["read"]["invoke_ms"], v["read"]["complete_ms"], v["missed"]["complete_ms"]) == (40.0, 50.0, 30.0)
    assert v["returned_write"]["index"] == 0


def test_ryw_look_alikes(hb: Any) -> None:
    # an indeterminate write (may never land), a failed one, another session's write, another key
    (hb.put(1, "x", "1:1", 0, 10, type="info").get(1, "x", None, 20, 30)
       .put(1, "y", "1:2", 40, 50, type="fail").get(1, "y", None, 60, 70)
       .put(2, "z", "2:1", 0, 10).get(1, "z", None, 80, 90).put(1, "w", "1:3", 100, 110).get(1, "v", None, 120, 130))
    assert counts(check_read_your_writes(hb.history())) == (True, 4, 0, 0.0)


def test_ryw_with_revisions_another_sessions_older_write_is_a_miss(hb: Any) -> None:
    # 2's write committed before 1's (revision 3 < 5) although it was acknowledged later
    (hb.put(1, "x", "1:1", 0, 10, revision=5).put(2, "x", "2:1", 0, 40, revision=3)
       .get(1, "x", "2:1", 50, 60).put(2, "x", "2:2", 70, 80, revision=7).get(1, "x", "2:2", 90, 100))
    r = check_read_your_writes(hb.history())
    assert counts(r) == (False, 2, 1, 5000.0) and brief(r) == [("own-write", 1, "x", 2, "2:1", "1:1")]
    assert r.evidence["violations"][0]["missed"]["revision"] == 5
    assert r.evidence["key_orders"] == {"revision": 1}


def test_nothing_judged_is_unknown_and_says_why(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 10).put(2, "x", "2:1", 0, 10).get(1, "x", "2:1", 20, 30)
    for check in READ_CHECKERS:
        r = check(hb.history())
        assert r.verdict == "unknown" and r.evidence["error"] == "no read could be judged (see skipped)"
        assert r.evidence["skipped"]["reads"] == {
            "key skipped: several writer sessions and no revision on every acknowledged write": 1}
        assert r.evidence["violations_per_10k_reads"] is None


# --- monotonic reads --------------------------------------------------------------------

def test_mr_a_session_reads_back_in_time(hb: Any) -> None:
    (hb.put(1, "x", "1:1", 0, 10).put(1, "x", "1:2", 20, 30)
       .get(2, "x", "1:2", 40, 50).get(2, "x", "1:1", 60, 70).get(2, "x", None, 80, 90))
    r = check_monotonic_reads(hb.history())
    assert counts(r) == (False, 3, 2, 6666.667)
    assert brief(r) == [("read-before", 2, "x", 3, "1:1", "1:2"), ("read-before", 2, "x", 4, None, "1:2")]
    assert r.evidence["violations"][0]["earlier_read"]["index"] == 2


def test_mr_look_alikes(hb: Any) -> None:
    # 2 reads a write still in flight, then it again, then a newer one; 3 reads older values than 2
    # did (another session); 2's read of another key is not compared with x
    (hb.put(1, "x", "1:1", 0, 100).get(2, "x", "1:1", 10, 20).get(2, "x", "1:1", 30, 40)
       .put(1, "x", "1:2", 110, 120).get(2, "x", "1:2", 130, 140).get(3, "x", None, 150, 160)
       .get(2, "y", None, 170, 180))
    assert counts(check_monotonic_reads(hb.history())) == (True, 5, 0, 0.0)


def test_mr_a_concurrent_write_ordered_later_is_newer_not_older(hb: Any) -> None:
    # 1:1 was invoked first but committed after 2:1: reading 2:1 then 1:1 moves forward
    (hb.put(1, "x", "1:1", 0, 100, revision=8).put(2, "x", "2:1", 10, 20, revision=4)
       .get(3, "x", "2:1", 30, 40).get(3, "x", "1:1", 110, 120))
    assert counts(check_monotonic_reads(hb.history())) == (True, 2, 0, 0.0)
    hb.get(3, "x", "2:1", 130, 140)
    assert brief(check_monotonic_reads(hb.history())) == [("read-before", 3, "x", 4, "2:1", "1:1")]


def test_mr_an_indeterminate_write_that_was_read_is_required_afterwards(hb: Any) -> None:
    # 1:1 timed out but 2 read it: it had landed, so reading absent afterwards goes back
    hb.put(1, "x", "1:1", 0, 10, type="info").get(2, "x", "1:1", 20, 30).get(2, "x", None, 40, 50)
    assert brief(check_monotonic_reads(hb.history())) == [("read-before", 2, "x", 2, None, "1:1")]
    # ... but on its own (nobody read it) it is never required
    assert check_read_your_writes(hb.history()).verdict is True


# --- monotonic writes, writes-follow-reads ----------------------------------------------

def test_mw_the_system_ordered_a_sessions_writes_backwards(hb: Any) -> None:
    (hb.put(1, "x", "1:1", 0, 10, revision=10).put(1, "x", "1:2", 20, 30, revision=9)
       .put(1, "x", "1:3", 40, 50, revision=11).put(1, "y", "1:4", 60, 70, revision=1))
    r = check_monotonic_writes(hb.history())
    assert counts(r, "writes") == (False, 2, 1, 5000.0)
    assert brief(r) == [("write-then-write", 1, "x", 1, "1:2", "1:1")]
    v = r.evidence["violations"][0]
    assert (v["write"]["revision"], v["earlier_write"]["revision"]) == (9, 10)


def test_mw_holds_and_what_it_cannot_judge(hb: Any) -> None:
    # in order on x; another session's older revision is not this session's order; y: no revisions
    (hb.put(1, "x", "1:1", 0, 10, revision=2).put(2, "x", "2:1", 0, 40, revision=1)
       .put(1, "x", "1:2", 50, 60, revision=3).put(3, "y", "3:1", 0, 10).put(3, "y", "3:2", 20, 30))
    assert counts(check_monotonic_writes(hb.history()), "writes") == (True, 1, 0, 0.0)
    hb.ops[:] = hb.ops[3:]
    r = check_monotonic_writes(hb.history())
    assert r.verdict == "unknown" and r.evidence["error"].startswith("no session wrote a key (monotonic-writes: twice")


def test_mw_a_write_its_client_gave_up_on_may_land_after_the_next(hb: Any) -> None:
    # 1:1 timed out and was committed after 1:2 (a late write): not required to come first
    hb.put(1, "x", "1:1", 0, 10, type="info", revision=8).put(1, "x", "1:2", 20, 30, revision=7)
    r = check_monotonic_writes(hb.history())
    assert r.verdict == "unknown" and r.evidence["writes_judged"] == 0
    hb.put(1, "x", "1:3", 40, 50, revision=6)
    assert brief(check_monotonic_writes(hb.history())) == [("write-then-write", 1, "x", 2, "1:3", "1:2")]


def test_wfr_a_write_ordered_before_what_its_session_had_read(hb: Any) -> None:
    (hb.put(2, "x", "2:1", 0, 10, revision=5).get(1, "x", "2:1", 20, 30)
       .put(1, "x", "1:1", 40, 50, revision=4).put(1, "x", "1:2", 60, 70, revision=6))
    r = check_writes_follow_reads(hb.history())
    assert counts(r, "writes") == (False, 2, 1, 5000.0)
    assert brief(r) == [("read-then-write", 1, "x", 2, "1:1", "2:1")]
    assert r.evidence["violations"][0]["read"]["index"] == 1
    # the same history keeps monotonic writes: 1's own writes are in order
    assert counts(check_monotonic_writes(hb.history()), "writes") == (True, 1, 0, 0.0)


def test_wfr_look_alikes(hb: Any) -> None:
    # 1 read absent (nothing to follow) and then wrote; 3 wrote without reading x first
    (hb.put(2, "x", "2:1", 0, 10, revision=5).get(1, "x", None, 0, 5).put(1, "x", "1:1", 20, 30, revision=3)
       .put(3, "x", "3:1", 40, 50, revision=2).get(4, "x", "2:1", 60, 70).put(4, "x", "4:1", 80, 90, revision=6))
    assert counts(check_writes_follow_reads(hb.history()), "writes") == (True, 1, 0, 0.0)


# --- PRAM -------------------------------------------------------------------------------

def test_pram_is_the_three_together(hb: Any) -> None:
    # 2 reads back in time (monotonic reads); 1's own reads and writes are fine
    (hb.put(1, "x", "1:1", 0, 10, revision=1).put(1, "x", "1:2", 20, 30, revision=2)
       .get(1, "x", "1:2", 40, 50).get(2, "x", "1:2", 40, 50).get(2, "x", "1:1", 60, 70))
    r = check_pram(hb.history())
    assert r.verdict is False and counts(r) == (False, 3, 1, 3333.333)
    assert (r.evidence["writes_judged"], r.evidence["violating_writes"]) == (1, 0)
    assert {n: p["verdict"] for n, p in r.evidence["parts"].items()} == {
        "read-your-writes": True, "monotonic-reads": False, "monotonic-writes": True}
    assert brief(CheckResult("mr", False, r.evidence["parts"]["monotonic-reads"])) == [
        ("read-before", 2, "x", 4, "1:1", "1:2")]


def test_pram_without_a_recorded_order_is_undecided_unless_violated(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 10).put(1, "x", "1:2", 20, 30).get(2, "x", "1:2", 40, 50)
    r = check_pram(hb.history())
    assert r.verdict == "unknown" and r.evidence["error"].startswith("monotonic-writes: no session wrote a key")
    hb.get(2, "x", "1:1", 60, 70)
    assert check_pram(hb.history()).verdict is False


# --- causal and consistent prefix ---------------------------------------------------------

def _chain(hb: Any) -> Any:
    """1 writes x then y; 2 reads y, then writes z; 3 reads z: 1's write of x happens-before
    everything 3 does next."""
    return (hb.put(1, "x", "1:1", 0, 10).put(1, "y", "1:2", 20, 30).get(2, "y", "1:2", 40, 50)
              .put(2, "z", "2:1", 60, 70).get(3, "z", "2:1", 80, 90))


def test_causal_a_transitive_predecessor_missed(hb: Any) -> None:
    h = _chain(hb).get(3, "x", None, 100, 110).history()
    r = check_causal(h)
    assert counts(r) == (False, 3, 1, 3333.333)
    assert brief(r) == [("transitive", 3, "x", 5, None, "1:1")]
    assert r.evidence["violations"][0]["learned_via"]["index"] == 4  # 3's read of z
    assert r.evidence["by_kind"] == {"transitive": 1}
    # 3 never read a write of 1: no gap in one writer's order; no session guarantee is broken
    for check in (check_consistent_prefix, check_read_your_writes, check_monotonic_reads):
        assert check(h).verdict is True


def test_causal_and_consistent_prefix_a_gap_in_one_writers_order(hb: Any) -> None:
    h = _chain(hb).get(2, "x", None, 100, 110).history()
    for check in (check_causal, check_consistent_prefix):
        r = check(h)
        assert counts(r) == (False, 3, 1, 3333.333)
        v = r.evidence["violations"][0]
        assert (v["session"], v["key"], v["read"]["index"], v["missed"]["value"]) == (2, "x", 5, "1:1")
    assert brief(check_causal(h))[0][0] == "observed-writer"
    assert brief(check_consistent_prefix(h))[0][0] == "gap"
    assert check_consistent_prefix(h).evidence["violations"][0]["observed"]["index"] == 2  # 2's read of y


def test_causal_and_consistent_prefix_look_alikes(hb: Any) -> None:
    # 2 reads x before it learns of 1's writes (not yet in its past); 4 reads x concurrently with
    # 1's write; 5 learns of 1:2 but 1:1 timed out (never required)
    (hb.put(1, "x", "1:1", 0, 10).get(2, "x", None, 0, 5).put(1, "y", "1:2", 20, 30).get(2, "y", "1:2", 40, 50)
       .get(4, "x", None, 2, 8)
       .put(6, "p", "6:1", 0, 10, type="info").put(6, "q", "6:2", 20, 30).get(5, "q", "6:2", 40, 50)
       .get(5, "p", None, 60, 70))
    for check in (check_causal, check_consistent_prefix):
        assert counts(check(hb.history())) == (True, 5, 0, 0.0)


def test_going_back_on_one_key_is_monotonic_reads_not_a_gap(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 10).put(1, "x", "1:2", 20, 30).get(2, "x", "1:2", 40, 50).get(2, "x", "1:1", 60, 70)
    h = hb.history()
    assert check_consistent_prefix(h).verdict is True
    assert brief(check_causal(h)) == [("read-before", 2, "x", 3, "1:1", "1:2")]
    # skipping 1:2 on another key is a gap: 2 saw 1:3 but not 1:2
    hb.ops.clear()
    (hb.put(1, "x", "1:1", 0, 10).put(1, "y", "1:2", 20, 30).put(1, "x", "1:3", 40, 50)
       .get(2, "x", "1:3", 60, 70).get(2, "y", None, 80, 90))
    assert brief(check_consistent_prefix(hb.history())) == [("gap", 2, "y", 4, None, "1:2")]


def test_one_read_can_show_a_gap(hb: Any) -> None:
    # 1's writes were committed out of order (revision 5, then 3): reading 1:2 as the latest
    # value of x shows 1:2 without 1:1, which 1 wrote first
    hb.put(1, "x", "1:1", 0, 10, revision=5).put(1, "x", "1:2", 20, 30, revision=3).get(2, "x", "1:2", 40, 50)
    h = hb.history()
    assert brief(check_consistent_prefix(h)) == [("gap", 2, "x", 2, "1:2", "1:1")]
    assert brief(check_causal(h)) == [("observed-writer", 2, "x", 2, "1:2", "1:1")]
    assert check_causal(h).evidence["violations"][0]["learned_via"]["index"] == 2  # the read itself
    assert check_monotonic_writes(h).verdict is False and check_monotonic_reads(h).verdict is True


def test_causal_covers_own_writes(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 10).get(1, "x", None, 20, 30)
    assert brief(check_causal(hb.history())) == [("own-write", 1, "x", 1, None, "1:1")]


def test_sessions_span_processes(hb: Any) -> None:
    # session s moves from process 1 to process 2 (a client reconnecting): still one session
    hb.put(1, "x", "s:1", 0, 10, session="s").get(2, "x", None, 20, 30, session="s")
    assert brief(check_read_your_writes(hb.history())) == [("own-write", "s", "x", 1, None, "s:1")]


def test_max_examples_lists_few_counts_all(hb: Any) -> None:
    hb.put(1, "x", "1:1", 0, 10)
    for i in range(5):
        hb.get(1, "x", None, 20 + 10 * i, 25 + 10 * i)
    r = check_read_your_writes(hb.history(), max_examples=2)
    assert counts(r) == (False, 5, 5, 10000.0) and len(r.evidence["violations"]) == 2


def test_histories_outside_the_contract_are_never_guessed(references: list[Any]) -> None:
    """Jepsen's logs write the same values again (registers) or append (kv): nothing is judged."""
    from harness.checkers.formats import load_history

    for ref in references:
        h = load_history(ref.path, ref.format)
        for check in (*READ_CHECKERS, check_monotonic_writes, check_writes_follow_reads, check_pram):
            r = check(h)
            assert r.verdict == "unknown", (ref.name, r.checker)
        reasons = set(r.evidence["skipped"]["keys"])
        assert reasons <= {"a value is written twice", "has append operations",
                           "several writer sessions and no revision on every acknowledged write"}, ref.name


# --- gbench check --model ---------------------------------------------------------------

def test_gbench_check_session_models(hb: Any, tmp_path: Path, capsys: Any) -> None:
    from harness import cli

    path = _chain(hb).get(3, "x", None, 100, 110).write(tmp_path / "h.jsonl")
    out = io.StringIO()
    assert run_check([str(path)], model="causal", show_counterexample=True, out=out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{path} causal-violated ")
    assert lines[1:] == [
        "  1 of 3 reads judged violate it (3333.333 per 10,000 reads)",
        "  transitive: session 3, key 'x':",
        "    read: op 5 process 3: get -> None ok [100.0 .. 110.0 ms]",
        "    returned write: none (the initial, absent value)",
        "    missed: op 0 process 1: put '1:1' ok [0.0 .. 10.0 ms]",
        "    learned via: op 4 process 3: get -> '2:1' ok [80.0 .. 90.0 ms]"]
    words = {}
    for model in ("ryw", "monotonic-reads", "consistent-prefix", "monotonic-writes", "wfr", "pram"):
        out = io.StringIO()
        code = run_check([str(path)], model=model, out=out, err=io.StringIO())
        words[model] = (code, out.getvalue().split()[1])
    assert words == {"ryw": (0, "read-your-writes"), "monotonic-reads": (0, "monotonic-reads"),
                     "consistent-prefix": (0, "consistent-prefix"), "monotonic-writes": (3, "unknown"),
                     "wfr": (3, "unknown"), "pram": (3, "unknown")}
    assert cli.main(["check", str(path), "--model", "ryw", "--bound", "3v"]) == 2
    assert capsys.readouterr().err == "gbench: error: --bound: --model ryw takes no bound\n"
    with pytest.raises(ArgumentError, match="'read-your-writes' is not a registered checker"):
        run_check([str(path)], model="read-your-writes")
