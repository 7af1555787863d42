"""The start-up benchmark's pure parts: the spread of a figure, and keeping what earlier
invocations measured when the output is written again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.benchmarks.zookeeper_startup import _spread, earlier_invocations


def test_spread() -> None:
    assert _spread([6.9, 5.8, 6.3]) == {"min": 5.8, "median": 6.3, "max": 6.9}


def test_earlier_invocations_are_kept_newest_last(tmp_path: Path) -> None:
    out = tmp_path / "zk.json"
    assert earlier_invocations(out) == []
    first = {"measured_utc": "t1", "command": "c1", "git": {"commit": "a"}, "summary": {"x": 1},
             "runs": [{"load_average_1m_before": 16.2}, {"load_average_1m_before": 19.5}]}
    out.write_text(json.dumps(first))
    one = earlier_invocations(out)
    assert one == [{"measured_utc": "t1", "command": "c1", "git": {"commit": "a"},
                    "load_average_1m_before": [16.2, 19.5], "summary": {"x": 1}}]
    second = {"measured_utc": "t2", "command": "c2", "git": {"commit": "b"}, "summary": {"x": 2},
              "runs": [{"load_average_1m_before": 7.2}], "earlier_invocations": one}
    out.write_text(json.dumps(second))
    assert [e["measured_utc"] for e in earlier_invocations(out)] == ["t1", "t2"]


def test_an_unreadable_output_is_an_error_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "zk.json"
    out.write_text('{"measured_utc": "t1"')
    with pytest.raises(SystemExit, match="zk.json: cannot read the earlier invocations"):
        earlier_invocations(out)
    out.write_text('{"measured_utc": "t1"}')
    with pytest.raises(SystemExit, match="KeyError"):
        earlier_invocations(out)
