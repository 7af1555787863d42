"""members.jsonl as read back: the term under ``term``, files from before issue 11 (``raft_term``) by the stated rule."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import DamagedFile
from harness.scenario.members import read_polls


def _write(path: Path, *members: dict) -> Path:
    path.write_text("".join(json.dumps({"start_ns": i, "end_ns": i + 1, "members": m}) + "\n"
                            for i, m in enumerate(members)))
    return path


def test_a_current_file_is_read_as_written(tmp_path: Path) -> None:
    m = {"n1": {"leader": "n1", "term": 4, "is_leader": True, "zxid": 7}, "n2": None}
    assert read_polls(_write(tmp_path / "members.jsonl", m)) == [{"start_ns": 0, "end_ns": 1, "members": m}]


def test_raft_term_of_a_file_from_before_issue_11_is_read_as_term(tmp_path: Path) -> None:
    old = {"n1": {"leader": "n2", "raft_term": 3, "raft_index": 812, "is_leader": False}, "n4": None}
    zk_first_runs = {"n1": {"state": "leading", "epoch": 2, "leader": "n1", "raft_term": 2, "is_leader": True}}
    polls = read_polls(_write(tmp_path / "members.jsonl", old, zk_first_runs))
    assert [p["members"] for p in polls] == [
        {"n1": {"leader": "n2", "term": 3, "raft_index": 812, "is_leader": False}, "n4": None},
        {"n1": {"state": "leading", "epoch": 2, "leader": "n1", "term": 2, "is_leader": True}}]


def test_a_member_with_two_different_terms_is_a_damaged_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "members.jsonl", {"n1": {"term": 1}}, {"n1": {"term": 3, "raft_term": 2}})
    with pytest.raises(DamagedFile) as e:
        read_polls(f)
    assert str(e.value).endswith("line 2: a member's term 3 and its raft_term 2 disagree")
    assert str(f) in str(e.value)


def test_no_file_is_no_polls(tmp_path: Path) -> None:
    assert read_polls(tmp_path / "members.jsonl") == []
