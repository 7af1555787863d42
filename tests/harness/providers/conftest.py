"""Fixtures shared by the netns and docker provider tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """This test's own state (ledgers), data and run dirs, so cleanup sees only its runs."""
    d = {"state": tmp_path / "state", "data": tmp_path / "data", "run": tmp_path / "run"}
    monkeypatch.setenv("GBENCH_STATE_DIR", str(d["state"]))
    monkeypatch.setenv("GBENCH_DATA_DIR", str(d["data"]))
    return d
