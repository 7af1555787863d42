"""Hinted-handoff lines of a Cassandra log, parsed exactly."""
from __future__ import annotations

from pathlib import Path

from harness.scenario.hints import hinted_handoff, parse_hint_lines

LOG = [
    "INFO  [main] 2026-12-01 19:04:26,647 Config.java:1371 - Node configuration:[hints_directory=/x]",
    "INFO  [HintsDispatcher:2] 2026-12-01 19:05:10,250 HintsDispatchExecutor.java:327 - Finished hinted handoff of "
    "file 5a3c-1733080000000-2.hints to endpoint /198.19.0.15:7000: 5a3c9f00-0000-4000-8000-000000000005",
    "INFO  [HintsDispatcher:3] 2026-12-01 19:05:11,000 HintsDispatchExecutor.java:330 - Finished hinted handoff of "
    "file 5a3c-1733080001000-2.hints to endpoint /198.19.0.15:7000: 5a3c9f00-0000-4000-8000-000000000005, partially",
]


def test_parse_hint_lines() -> None:
    ev = parse_hint_lines(LOG, "n1")
    assert [(e["file"], e["to"], e["partial"]) for e in ev] == [
        ("5a3c-1733080000000-2.hints", "198.19.0.15:7000", False), ("5a3c-1733080001000-2.hints", "198.19.0.15:7000", True)]
    assert ev[0]["epoch_s"] == 1796151910.25 and ev[0]["host_id"] == "5a3c9f00-0000-4000-8000-000000000005"
    assert parse_hint_lines(LOG, "n1", tz_offset_s=3600)[0]["epoch_s"] == 1796151910.25 - 3600


def test_hinted_handoff_relative_to_the_load_start(tmp_path: Path) -> None:
    (tmp_path / "n1.log").write_text("\n".join(LOG) + "\n")
    h = hinted_handoff({"n1": str(tmp_path / "n1.log"), "n2": str(tmp_path / "absent.log")}, 1796151900.0)
    assert h["replayed_files"] == 2 and [e["at_s"] for e in h["events"]] == [10.25, 11.0]
    assert hinted_handoff({}, None)["replayed_files"] == 0
