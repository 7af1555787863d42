"""``gbench diagrams`` input cases: one clear line and exit 2 for a bad path, never a
traceback; the results root from GBENCH_RESULTS_DIR when --results is not given."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main as gbench
from tests.diagram_gen import RUN_B, make_results, write_specs


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = gbench(["diagrams", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return rc, out.out, out.err


def test_results_missing_directory_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "--results", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert (rc, out) == (2, "")
    assert err == f"gbench: error: --results: {tmp_path / 'nope'}: no such directory\n"
    assert not (tmp_path / "out").exists()


def test_results_pointing_at_a_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "results.json"
    f.write_text("{}")
    rc, _, err = run(capsys, "--results", str(f), "--check")
    assert rc == 2 and err == f"gbench: error: --results: {f}: not a directory (a file)\n"


@pytest.mark.parametrize("under", ["", "sub/dir"])
def test_out_under_a_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], under: str) -> None:
    res = make_results(tmp_path)
    f = tmp_path / "a-file"
    f.write_text("x")
    out = f / under if under else f
    rc, _, err = run(capsys, "--results", str(res), "--specs", str(write_specs(tmp_path)), "--out", str(out))
    assert rc == 2
    what = "is a file" if not under else f"lies under a file ({f})"
    assert err == f"gbench: error: --out: {out}: {what}; give a directory\n"
    assert f.read_text() == "x"


def test_specs_missing_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "--results", str(make_results(tmp_path)), "--specs", str(tmp_path / "none"))
    assert rc == 2 and err == f"gbench: error: --specs: {tmp_path / 'none'}: no such directory\n"


def test_results_dir_from_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    res = make_results(tmp_path)
    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(res))
    rc, out, err = run(capsys, "--specs", str(write_specs(tmp_path)))
    assert rc == 0, err
    assert (res / "diagrams" / "lin" / "performance.svg").is_file()   # --out defaults to <results>/diagrams
    assert f"from {res.resolve()}" in err
    assert RUN_B in (res / "diagrams" / "lin" / "performance.json").read_text()


def test_missing_results_dir_from_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(tmp_path / "gone"))
    rc, _, err = run(capsys, "--check")
    assert rc == 2 and err == f"gbench: error: GBENCH_RESULTS_DIR: {tmp_path / 'gone'}: no such directory\n"
