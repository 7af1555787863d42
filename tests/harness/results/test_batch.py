"""The batch field: read from GBENCH_BATCH_* (refused when malformed, naming the variable) and
read back from a manifest (refused when the wrong shape, naming the file)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ArgumentError, DamagedFile
from harness.results.batch import from_environment, of_manifest


def test_from_environment() -> None:
    assert from_environment({}) is None and from_environment({"GBENCH_BATCH_ID": ""}) is None
    assert from_environment({"GBENCH_BATCH_ID": "1234567.nightly", "GBENCH_BATCH_INDEX": "2",
                             "GBENCH_BATCH_OF": "3"}) == {"id": "1234567.nightly", "index": 2, "of": 3}


@pytest.mark.parametrize("env, message", [
    ({"GBENCH_BATCH_INDEX": "1"}, "GBENCH_BATCH_INDEX: is set but GBENCH_BATCH_ID is not; set both or neither"),
    ({"GBENCH_BATCH_ID": "a b", "GBENCH_BATCH_INDEX": "1", "GBENCH_BATCH_OF": "1"},
     "GBENCH_BATCH_ID: must be 1 to 100 letters, digits, '.', '_' or '-', got 'a b'"),
    ({"GBENCH_BATCH_ID": "n", "GBENCH_BATCH_OF": "3"},
     "GBENCH_BATCH_INDEX: must be set when GBENCH_BATCH_ID is (a whole number >= 1)"),
    ({"GBENCH_BATCH_ID": "n", "GBENCH_BATCH_INDEX": "x", "GBENCH_BATCH_OF": "3"},
     "GBENCH_BATCH_INDEX: must be a whole number >= 1, got 'x'"),
    ({"GBENCH_BATCH_ID": "n", "GBENCH_BATCH_INDEX": "1", "GBENCH_BATCH_OF": "0"},
     "GBENCH_BATCH_OF: must be a whole number >= 1, got 0"),
    ({"GBENCH_BATCH_ID": "n", "GBENCH_BATCH_INDEX": "4", "GBENCH_BATCH_OF": "3"},
     "GBENCH_BATCH_INDEX: 4 is past GBENCH_BATCH_OF=3"),
])
def test_from_environment_refuses(env: dict[str, str], message: str) -> None:
    with pytest.raises(ArgumentError) as e:
        from_environment(env)
    assert str(e.value) == message


def test_of_manifest(tmp_path: Path) -> None:
    m = tmp_path / "manifest.json"
    assert of_manifest({}, m) is None
    assert of_manifest({"batch": {"id": "n-1", "index": 1, "of": 3}}, m) == "n-1"
    for bad in ("n-1", {"id": "n-1", "index": "1", "of": 3}, {"id": 5, "index": 1, "of": 1}, {"id": "n", "of": 1}):
        with pytest.raises(DamagedFile, match=f"^{m}: field 'batch' must be"):
            of_manifest({"batch": bad}, m)


def test_gbench_run_refuses_a_bad_batch_before_anything_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main
    from harness.results.store import REPO_ROOT

    for var, value in (("GBENCH_BATCH_ID", "n"), ("GBENCH_BATCH_INDEX", "2"), ("GBENCH_BATCH_OF", "1"),
                       ("GBENCH_DATA_DIR", str(tmp_path / "data")), ("GBENCH_STATE_DIR", str(tmp_path / "state"))):
        monkeypatch.setenv(var, value)
    results = tmp_path / "results"
    assert main(["run", str(REPO_ROOT / "workloads" / "etcd-put-256B.yaml"), "--results", str(results)]) == 2
    assert capsys.readouterr().err == "gbench: error: GBENCH_BATCH_INDEX: 2 is past GBENCH_BATCH_OF=1\n"
    assert not results.exists() or not any(results.iterdir())
