"""The same scenario run several ways, side by side (pure; fixture runs in tmp_path)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.results.scenario_comparison import compare_scenarios, publish_scenario_comparison, to_markdown


def _run(root: Path, name: str, provider: str, via: str | None, elected: float, late: int) -> Path:
    run = root / name
    s = run / "scenarios" / "sc"
    s.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"cluster": {"provider": provider, "time_to_ready_s": 1.5,
                                                               "provider_facts": {"peer_links": {"via": via or "direct"}}},
                                                   "harness": {"commit": "abc"}}))
    fs = {"schema_version": 2,
          "partition": {"election": {"elected_after_s": elected, "poll_interval_median_ms": 300.0},
                        "minority_behaviour": {"writes": {"attempted": 30, "ok": 0},
                                               "reads": {"weak": {"serializable": {"ok": 7}}}}},
          "linearizability": {"strong": {"linearizable": {"verdict": True}}},
          "sequential_consistency": {"weak": {"serializable": {"verdict": True}}}, "late_writes": {"count": late}}
    (s / "failure_summary.json").write_text(json.dumps(fs))
    extra = {"via": via} if via else {"rules": 24}
    (s / "nemesis.jsonl").write_text(json.dumps({"f": "partition", "extra": extra}) + "\n")
    return run


def test_rows_spread_and_markdown(tmp_path: Path) -> None:
    a = _run(tmp_path, "20260101T000000Z-a", "netns", None, 1.07, 4)
    b = _run(tmp_path, "20260101T000100Z-b", "docker", "toxiproxy", 1.38, 1)
    doc = compare_scenarios([a, b], "sc")
    assert [c["how"] for c in doc["runs"]] == ["netns + iptables", "docker + toxiproxy"]
    el = [r for r in doc["rows"] if r["metric"] == "election_after_s"]
    assert [r["value"] for r in el] == [1.07, 1.38]
    assert el[0]["file"] == "20260101T000000Z-a/scenarios/sc/failure_summary.json"
    assert doc["spread"]["election_after_s"] == 0.31 and doc["spread"]["late_writes"] == 3
    assert doc["spread"]["recovery_full_service_after_s"] is None  # not in the summaries
    md = to_markdown(doc)
    assert "| election_after_s (majority leader seen (poll upper bound)) | s | 1.07 | 1.38 | 0.31 |" in md
    assert "| linearizable_reads_linearizable (checker verdict, linearizable reads (strong)) | bool | yes | yes |" in md
    assert "| minority_serializable_reads_ok (serializable reads (weak) served by the minority) | ops | 7 | 7 | 0 |" in md
    assert [m["metric"] for m in doc["metrics"]][7:10] == ["minority_writes_ok", "minority_serializable_reads_ok",
                                                            "recovery_full_service_after_s"]
    assert "| serializable_reads_sequential (sequential-consistency verdict, serializable reads (weak)) | bool | yes | yes |" \
        in md
    assert "not measured" in md  # recovery: absent, printed as such, never a default
    out = publish_scenario_comparison([a, b], "sc", tmp_path)
    assert out.name.endswith("-sc-compared") and (out / "scenario-comparison.md").read_text() == md


def test_a_missing_or_damaged_failure_summary_names_the_file(tmp_path: Path) -> None:
    from harness.errors import DamagedFile

    a = _run(tmp_path, "20260101T000000Z-a", "netns", None, 1.07, 4)
    fs = a / "scenarios" / "sc" / "failure_summary.json"
    fs.write_text("[]")
    with pytest.raises(DamagedFile) as ei:
        compare_scenarios([a], "sc")
    assert str(ei.value) == f"{fs}: must be an object at the top, got a list"
    fs.write_text(json.dumps({"schema_version": 1, "linearizability": {"linearizable_reads": {"verdict": True}}}))
    with pytest.raises(DamagedFile) as ei:
        compare_scenarios([a], "sc")
    assert str(ei.value).startswith(f"{fs}: schema_version 1, this harness reads 2: regenerate it")
    fs.unlink()
    with pytest.raises(DamagedFile) as ei:
        compare_scenarios([a], "sc")
    assert str(ei.value) == f"{fs}: missing"


def test_a_process_fault_window_adds_what_the_others_served_and_the_systems_finding(tmp_path: Path) -> None:
    runs = []
    for name, ok, files in (("20260101T000000Z-a", 17, 14), ("20260101T000100Z-b", 20, 9)):
        run = _run(tmp_path, name, "netns", None, 1.0, 0)
        fs_path = run / "scenarios" / "sc" / "failure_summary.json"
        fs = json.loads(fs_path.read_text())
        fs["partition"]["minority_behaviour"]["writes_at"] = {"QUORUM": {"attempted": 226, "ok": ok},
                                                              "ONE": {"attempted": 231, "ok": 231}}
        fs["process_faults"] = {"windows": [
            {"fault": "kill", "others_served": {"write_ALL": {"attempted": 42, "ok": ok}},
             "hints_replayed_to_it": {"files": files, "first_after_restore_s": 0.405}},
            {"fault": "kill", "others_served": {"write_ONE": {"attempted": 1, "ok": 1}}}]}  # only the first counts
        fs_path.write_text(json.dumps(fs))
        runs.append(run)
    doc = compare_scenarios(runs, "sc")
    names = [m["metric"] for m in doc["metrics"]]
    assert names[names.index("recovery_slowest_node") + 1:][:4] == [
        "fault_write_ALL_attempted", "fault_write_ALL_ok", "hints_replayed_to_it_files",
        "hints_replayed_to_it_first_after_restore_s"]
    assert "fault_write_ONE_ok" not in names
    assert names[names.index("minority_writes_ok") + 1:][:4] == [
        "minority_ONE_writes_attempted", "minority_ONE_writes_ok", "minority_QUORUM_writes_attempted",
        "minority_QUORUM_writes_ok"]
    assert doc["spread"]["minority_QUORUM_writes_ok"] == 3
    assert doc["spread"]["fault_write_ALL_ok"] == 3 and doc["spread"]["hints_replayed_to_it_files"] == 5
    assert "| fault_write_ALL_ok (of which succeeded) | ops | 17 | 20 | 3 |" in to_markdown(doc)
