"""The session checkers' benchmark: its output contract and its generated history (no timing
assertions)."""
from __future__ import annotations

import json
from pathlib import Path

from harness.benchmarks.session_checker_speed import CHECKS, format_report, run, synthetic_history
from harness.checkers.formats import from_ops
from harness.checkers.session_history import derive


def test_the_generated_history_keeps_the_contract() -> None:
    ops = synthetic_history(3000, sessions=4)
    assert ops == synthetic_history(3000, sessions=4)  # seeded
    facts = derive(from_ops(ops))
    assert set(facts.key_orders()) == {"one-writer", "revision"} and not facts.overlapping
    # reads of timed-out writes that something overtook are all that is skipped
    assert set(facts.skipped_reads) <= {"returned an indeterminate write with no known place"}


def test_writes_one_row_per_size_and_step(tmp_path: Path) -> None:
    out = tmp_path / "bench" / "session-checker-speed.json"
    doc = run(out, sizes=(400, 800), repeat=1)
    assert json.loads(out.read_text()) == doc
    assert doc["schema_version"] == 1 and doc["size_ratio"] == 2.0
    assert [(r["ops"], r["step"]) for r in doc["rows"]] == [(n, s) for n in (400, 800) for s in ("parse", *CHECKS)]
    for row in doc["rows"]:
        assert row["seconds"] > 0 and row["us_per_op"] > 0
        if row["step"] != "parse":
            assert row["verdict"] in (True, False, "unknown") and 0 <= row["violating"] <= row["judged"]
    assert set(doc["growth"]) == {"parse", *CHECKS}
    assert "growth from the smallest to the largest size (2.0x the operations)" in format_report(doc)
