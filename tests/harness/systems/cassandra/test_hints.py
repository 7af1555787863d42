"""Hinted-handoff lines of a Cassandra log, parsed exactly, and the plugin's after-fault findings from them."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from harness.api import AfterFaultFindings, RestoredNodes
from harness.errors import DamagedFile
from harness.registry import system_plugin
from harness.systems.cassandra.hints import hinted_handoff, parse_hint_lines, replays_to

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
    with gzip.open(tmp_path / "n2.log.gz", "wt") as fh:  # the session compresses node logs
        fh.write(LOG[0] + "\n")
    h = hinted_handoff({"n1": tmp_path / "n1.log", "n2": tmp_path / "n2.log"}, 1796151900.0)
    assert h["replayed_files"] == 2 and [e["at_s"] for e in h["events"]] == [10.25, 11.0]
    assert hinted_handoff({}, None)["replayed_files"] == 0


def test_a_missing_log_is_an_error_not_an_empty_log(tmp_path: Path) -> None:
    with pytest.raises(DamagedFile) as e:
        hinted_handoff({"n2": tmp_path / "absent.log"}, None)
    assert str(e.value).startswith(f"{tmp_path}/absent.log: cannot be read: ")


def test_replays_to_a_restored_node() -> None:
    events = [dict(e, at_s=at) for e, at in zip(parse_hint_lines(LOG, "n1"), (10.25, 11.0))]
    assert replays_to(events, RestoredNodes(frozenset({"198.19.0.15"}), 10.0)) == {
        "files": 2, "first_after_restore_s": 0.25, "events": events}
    assert replays_to(events, RestoredNodes(frozenset({"198.19.0.15"}), None))["first_after_restore_s"] == \
        "not measured: no replay to this node after it was back"
    assert replays_to(events, RestoredNodes(frozenset({"198.19.0.11"}), 10.0))["files"] == 0


def test_only_cassandra_declares_after_fault_findings() -> None:
    assert [n for n in ("etcd", "cassandra", "zookeeper") if isinstance(system_plugin(n), AfterFaultFindings)] == \
        ["cassandra"]
