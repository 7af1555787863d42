"""The checker benchmark's output contract (no timing assertions; Porcupine not built here)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.benchmarks.checker_speed import format_report, run


def test_writes_one_row_per_reference_file(tmp_path: Path, references: list[Any]) -> None:
    out = tmp_path / "bench" / "checker-speed.json"
    doc = run(out, repeat=1, porcupine=False)
    assert json.loads(out.read_text()) == doc
    assert doc["schema_version"] == 1 and doc["porcupine"]["available"] is False
    assert [r["file"] for r in doc["rows"]] == [r.name for r in references]
    for row in doc["rows"]:
        assert set(row) == {"file", "format", "verdict", "expected", "seconds"}
        assert row["verdict"] == row["expected"] and row["seconds"] > 0
    assert doc["totals"]["jepsen-etcd"]["files"] == sum(r.format == "jepsen-register" for r in references)
    assert "total kv" in format_report(doc)
