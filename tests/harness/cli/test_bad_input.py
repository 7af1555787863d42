"""Bad input through the real CLI: one clear line naming file, field and reason, exit 2,
and no cluster started."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"), GBENCH_STATE_DIR=str(tmp_path / "state"))
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("body, field, reason", [
    ("name: x\nduration_s: 1\nnodes: 0\n", "nodes", "must be >= 1"),
    ("name: x\nduration_s: 1\nload: {mode: open, rate_ops_s: -1}\n", "load.rate_ops_s", "must be > 0"),
    ("name: x\nduration_s: 1\nvalue_size: 2000000\n", "value_size", "request limit"),
    ("name: x\nduration_s: 1\nread_consistency: bounded\n", "read_consistency", "unknown read consistency"),
    ("name: x\nduration_s: 1\nturbo: true\n", "turbo", "unknown field"),
    ("name: x\n  duration_s: 1\n", "(syntax)", "malformed YAML"),
    # impossible replication settings (issue 14): refused before any cluster starts
    ("name: x\nduration_s: 1\nsystem: postgres\nnodes: 3\npostgres: {synchronous_commit: remote_apply}\n",
     "postgres.synchronous_commit", "remote_apply waits for synchronous standbys and synchronous_standbys is 0"),
    ("name: x\nduration_s: 1\nsystem: postgres\nnodes: 3\npostgres: {synchronous_standbys: 3}\n",
     "postgres.synchronous_standbys", "every commit would wait forever"),
    ("name: x\nduration_s: 1\nsystem: redis\nnodes: 6\nredis: {wait_replicas: 3}\n",
     "redis.wait_replicas", "3"),
])
def test_bad_workload_is_one_clear_error(tmp_path: Path, body: str, field: str, reason: str) -> None:
    wl = tmp_path / "bad.yaml"
    wl.write_text(body)
    r = run(tmp_path, "run", str(wl))
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert str(wl) in lines[0] and f"field '{field}'" in lines[0] and reason in lines[0]
    assert not (tmp_path / "results").exists(), "no run may start on bad input"


def test_not_root_names_the_alternative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        r = run(tmp_path, "run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--duration", "1")
        assert r.returncode != 0 and "external" in r.stderr
        return
    # As root: the interpreter lives under /root (mode 0700), so a child dropped to `nobody`
    # cannot even start. Run the CLI in-process with the euid a normal user has instead.
    from harness import cli

    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("GBENCH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    # and no Docker engine (where one answers, `auto` would rightly pick docker without root)
    import harness.providers.docker as docker_provider
    monkeypatch.setattr(docker_provider, "docker_unavailable_reason", lambda system: "no Docker engine answers (test)")
    rc = cli.main(["run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--duration", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "not running as root" in err and "--provider external" in err, err
    assert not any((tmp_path / "results").glob("*/manifest.json")), "no run may start without root"


# ---------------------------------------------------------------------------------------------
# In-process: harness.cli.main on results trees built in tmp_path (no cluster, no subprocess).
# ---------------------------------------------------------------------------------------------

from harness import cli  # noqa: E402
from harness.errors import ArgumentError, ConfigError, DamagedFile, EnvironmentProblem, GbenchError  # noqa: E402
from tests.harness.results.fake_runs import (comparison_run, measurement_run, scenario_comparison_run,  # noqa: E402
                                             write)

COMPARED = REPO / "results" / "20261201T220103Z-etcd-leader-in-minority-compared"  # committed; crashed ls/show


def gbench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``gbench ARGS`` run in this process."""
    try:
        rc = cli.main(list(args))
    except SystemExit as e:  # argparse: usage errors (2) and --version (0)
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err: str) -> str:
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty results root, also $GBENCH_RESULTS_DIR; no run may start a cluster."""
    r = tmp_path / "results"
    r.mkdir()
    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(r))
    monkeypatch.setenv("GBENCH_STATE_DIR", str(tmp_path / "state"))

    def no_cluster(*a: object, **k: object) -> None:
        raise AssertionError("a cluster would have started")

    import harness.session
    monkeypatch.setattr(harness.session, "run_suite", no_cluster)
    return r


def test_ls_lists_every_run_with_its_state_and_why(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    measurement_run(root, "20260101T000000Z-etcd")
    shutil.copytree(COMPARED, root / COMPARED.name)
    write(measurement_run(root, "20260101T000200Z-listed") / "manifest.json", ["a", "list"])
    bad_field = measurement_run(root, "20260101T000300Z-str-scenario")
    m = json.loads((bad_field / "manifest.json").read_text())
    write(bad_field / "manifest.json", {**m, "scenario": "etcd-leader-in-minority"})
    (root / "20260101T000400Z-bare").mkdir()
    (measurement_run(root, "20260101T000500Z-nosum") / "summary.json").write_text('{"rows": [')
    (root / "20260101T000600Z-stopped.incomplete").mkdir()
    (root / "20260101T000600Z-stopped.incomplete" / "INCOMPLETE").write_text("interrupted (Ctrl-C / SIGTERM)\n")
    (root / ".tmp-20260101T000700Z-busy").mkdir()
    rc, out, err = gbench(capsys, "ls")
    assert (rc, err) == (0, "")
    w = len(COMPARED.name)
    assert out.splitlines() == [
        f"{'20260101T000000Z-etcd':{w}}  complete     5-node etcd on netns, 0 summary rows, started 2026-01-01T00:00:00",
        f"{'20260101T000200Z-listed':{w}}  damaged      {root}/20260101T000200Z-listed/manifest.json: must be an "
        "object at the top, got a list",
        f"{'20260101T000300Z-str-scenario':{w}}  damaged      {root}/20260101T000300Z-str-scenario/manifest.json: "
        "field 'scenario' must be an object, got a string",
        f"{'20260101T000400Z-bare':{w}}  damaged      {root}/20260101T000400Z-bare/manifest.json: missing",
        f"{'20260101T000500Z-nosum':{w}}  damaged      {root}/20260101T000500Z-nosum/summary.json: not valid JSON: "
        "Expecting value at line 1 column 11",
        f"{'20260101T000600Z-stopped':{w}}  incomplete   interrupted (Ctrl-C / SIGTERM)",
        f"{'20260101T000700Z-busy':{w}}  in progress  or crashed: no owner recorded",
        f"{COMPARED.name}  complete     scenario etcd-leader-in-minority compared across 4 runs",
    ]


def test_ls_of_an_empty_root(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gbench(capsys, "ls") == (0, f"no runs in {root}\n", "")


def test_show_reads_the_committed_scenario_comparison_run(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The committed ``…-compared`` run (manifest ``scenario`` is a string) made ls/show crash."""
    shutil.copytree(COMPARED, root / COMPARED.name)
    md = (COMPARED / "scenario-comparison.md").read_text()
    assert gbench(capsys, "show", "latest") == (0, md + "\n", "")
    assert gbench(capsys, "show", COMPARED.name[:20]) == (0, md + "\n", "")


def test_show_a_measurement_and_a_comparison(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    measurement_run(root, "20260101T000000Z-etcd", rows=[{"tool": "harness", "op": "put", "p50_ms": 1.5}])
    rc, out, err = gbench(capsys, "show", "20260101T000000Z-etcd")
    assert (rc, err) == (0, "")
    assert out.splitlines()[:3] == [
        "run 20260101T000000Z-etcd  (2026-01-01T00:00:00+00:00 .. 2026-01-01T00:10:00+00:00)",
        "cluster: 5-node etcd 1.0 on netns, ready in 1.5 s",
        "host: X, 2 logical cores, fsync p50 0.2 ms p99 0.3 ms on ext4"]
    assert "1.5" in out.splitlines()[4]
    comparison_run(root, "20260102T000000Z-comparison", "e", "c")
    rc, out, err = gbench(capsys, "show")  # default: latest
    assert (rc, err) == (0, "")
    assert out.splitlines()[0] == "comparison 20260102T000000Z-comparison of {'etcd': 'e', 'cassandra': 'c'}"
    assert out.splitlines()[2].split() == ["write_latency_p50_256B", "ms", "16.9", "30.0"]


def test_show_says_not_measured_for_what_the_manifest_lacks(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = measurement_run(root, "20260101T000000Z-etcd")
    m = json.loads((run / "manifest.json").read_text())
    del m["ended_utc"], m["cluster"]["time_to_ready_s"]
    write(run / "manifest.json", {**m, "host": {"fsync_latency": None}})
    rc, out, err = gbench(capsys, "show")
    assert (rc, err) == (0, "")
    assert out.splitlines()[:3] == [
        "run 20260101T000000Z-etcd  (2026-01-01T00:00:00+00:00 .. no end time recorded)",
        "cluster: 5-node etcd 1.0 on netns, ready in not measured",
        "host: not measured, not measured, fsync p50 not measured p99 not measured on an unrecorded filesystem"]


def test_show_a_run_outside_the_results_root_by_path(root: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    run = measurement_run(tmp_path / "elsewhere", "a-copy")
    rc, out, err = gbench(capsys, "show", str(run))
    assert (rc, err) == (0, "") and out.startswith("run a-copy  (")


def _list_manifest(r: Path) -> tuple[Path, str]:
    return write(r / "manifest.json", [1]), "must be an object at the top, got a list"


@pytest.mark.parametrize("make, damage", [
    (measurement_run, lambda r: _list_manifest(r)),
    (measurement_run, lambda r: (write(r / "manifest.json", {}), "field 'run_id' is missing")),
    (measurement_run, lambda r: ((r / "manifest.json").write_text("{,") and r / "manifest.json",
                                 "not valid JSON: Expecting property name enclosed in double quotes at line 1 "
                                 "column 2")),
    (measurement_run, lambda r: ((r / "manifest.json").unlink() or r / "manifest.json", "missing")),
    (measurement_run, lambda r: ((r / "summary.json").unlink() or r / "summary.json", "missing")),
    (measurement_run, lambda r: (write(r / "summary.json", []), "must be an object at the top, got a list")),
    (measurement_run, lambda r: (write(r / "summary.json", {"rows": None}), "field 'rows' must be a list, got null")),
    (lambda root, rid: comparison_run(root, rid, "e", "c"),
     lambda r: ((r / "comparison.json").unlink() or r / "comparison.json", "missing")),
    (lambda root, rid: comparison_run(root, rid, "e", "c"),
     lambda r: (write(r / "comparison.json", {"rows": [{"metric": "m"}]}), "rows[0] lacks system, unit, value")),
    (lambda root, rid: scenario_comparison_run(root, rid, "sc", ["a"]),
     lambda r: ((r / "scenario-comparison.md").write_bytes(b"\xff") and r / "scenario-comparison.md",
                "cannot be read: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte")),
])
def test_show_a_damaged_run_names_the_file_and_reason(root: Path, capsys: pytest.CaptureFixture[str],
                                                      make: object, damage: object) -> None:
    run = make(root, "20260101T000000Z-x")  # type: ignore[operator]
    file, reason = damage(run)  # type: ignore[operator]
    for ref in ("latest", "20260101T000000Z-x"):
        rc, out, err = gbench(capsys, "show", ref)
        assert (rc, out) == (1, "")
        assert one_line(err) == f"gbench: error: {file}: {reason}"


def test_show_refuses_what_is_not_a_run(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    measurement_run(root, "20260101T000000Z-etcd")
    measurement_run(root, "20260102T000000Z-etcd")
    (tmp_path / "etc").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    cases = {
        "": "RUN: empty run reference (give a run id, a unique prefix of one, 'latest' or a run directory)",
        "/": "RUN: '/' is a directory but not a run (no manifest.json in it)",
        "../../etc": "RUN: '../../etc' is a directory but not a run (no manifest.json in it)",
        "../../nowhere": "RUN: '../../nowhere' is not a run directory (no such directory)",
        str(root): f"RUN: '{root}' is a directory but not a run (no manifest.json in it)",
        "nope": f"RUN: 'nope' matches no published run in {root}",
        "2026": "RUN: '2026' is ambiguous: 20260101T000000Z-etcd, 20260102T000000Z-etcd",
    }
    for ref, msg in cases.items():
        rc, out, err = gbench(capsys, "show", ref)
        assert (rc, out, one_line(err)) == (2, "", f"gbench: error: {msg}"), ref


@pytest.mark.parametrize("argv", [["ls"], ["show", "latest"], ["compare", "a", "b"],
                                  ["compare-scenarios", "sc", "a"]])
def test_results_must_be_a_directory(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     argv: list[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for given, reason in ((a_file, f"{a_file} is a file, not a results directory"),
                          (tmp_path / "missing", f"{tmp_path / 'missing'}: no such directory"),
                          ("", "empty path")):
        rc, out, err = gbench(capsys, *argv, "--results", str(given))
        assert (rc, out, one_line(err)) == (2, "", f"gbench: error: --results: {reason}"), given


def test_results_from_the_environment_must_be_a_directory(root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GBENCH_RESULTS_DIR", str(tmp_path / "gone"))
    rc, out, err = gbench(capsys, "ls")
    assert (rc, one_line(err)) == (2, f"gbench: error: GBENCH_RESULTS_DIR: {tmp_path / 'gone'}: no such directory")


@pytest.mark.parametrize("argv", [["run", str(REPO / "workloads" / "etcd-put-256B.yaml")],
                                  ["scenario", str(REPO / "workloads" / "scenarios" / "etcd-leader-in-minority.yaml")],
                                  ["bench"]])
def test_results_under_a_file_is_refused_before_any_cluster(root: Path, tmp_path: Path, argv: list[str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    rc, out, err = gbench(capsys, *argv, "--results", str(a_file / "sub"))
    assert (rc, one_line(err)) == (2, f"gbench: error: --results: {a_file / 'sub'} cannot be created: {a_file} is "
                                      "a file")
    rc, out, err = gbench(capsys, *argv, "--results", str(a_file))
    assert (rc, one_line(err)) == (2, f"gbench: error: --results: {a_file} is a file, not a results directory")


def test_compare_scenarios_with_a_scenario_the_run_lacks(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    measurement_run(root, "20260101T000000Z-etcd", scenarios={"etcd-leader-in-minority": {}})
    measurement_run(root, "20260102T000000Z-etcd")
    rc, out, err = gbench(capsys, "compare-scenarios", "etcd-partition", "20260101T000000Z-etcd")
    assert (rc, one_line(err)) == (2, "gbench: error: SCENARIO: run 20260101T000000Z-etcd has no scenario "
                                      "'etcd-partition' (it has: etcd-leader-in-minority)")
    rc, out, err = gbench(capsys, "compare-scenarios", "etcd-leader-in-minority", "20260101T", "20260102T")
    assert (rc, one_line(err)) == (2, "gbench: error: SCENARIO: run 20260102T000000Z-etcd has no scenario "
                                      "'etcd-leader-in-minority' (it has: none)")
    assert sorted(p.name for p in root.iterdir()) == ["20260101T000000Z-etcd", "20260102T000000Z-etcd"]


@pytest.mark.parametrize("name", ["../x", "/etc", ".hidden", "a/b", "", "a..b", "x" * 65])
def test_compare_scenarios_refuses_a_name_that_is_a_path(root: Path, capsys: pytest.CaptureFixture[str],
                                                         name: str) -> None:
    measurement_run(root, "20260101T000000Z-etcd")
    rc, out, err = gbench(capsys, "compare-scenarios", name, "latest")
    assert (rc, one_line(err)) == (2, f"gbench: error: SCENARIO: {name!r} is not a scenario name (a scenario's name "
                                      r"matches ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ without '..')")


def test_compare_scenarios_with_a_damaged_failure_summary(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = measurement_run(root, "20260101T000000Z-etcd", scenarios={"sc": {}})
    fs = run / "scenarios" / "sc" / "failure_summary.json"
    fs.write_text("nul")
    rc, out, err = gbench(capsys, "compare-scenarios", "sc", "latest")
    assert (rc, one_line(err)) == (1, f"gbench: error: {fs}: not valid JSON: Expecting value at line 1 column 1")
    fs.unlink()
    rc, out, err = gbench(capsys, "compare-scenarios", "sc", "latest")
    assert (rc, one_line(err)) == (1, f"gbench: error: {fs}: missing")


def _two_systems(root: Path) -> None:
    measurement_run(root, "20260101T000000Z-etcd", "etcd",
                    rows=[{"tool": "harness", "workload": "etcd-put-256B", "op": "put", "outcome": "ok",
                           "p50_ms": 16.9}])
    measurement_run(root, "20260101T010000Z-cassandra", "cassandra", provider="docker",
                    rows=[{"tool": "harness", "workload": "cassandra-put-256B", "op": "put", "outcome": "ok",
                           "p50_ms": 30.0}])
    comparison_run(root, "20260101T020000Z-comparison", "e", "c")


_USAGE = ": give one run per system (the runs' manifest.json cluster.system). Usage: gbench compare RUN RUN [RUN...]"


@pytest.mark.parametrize("runs, msg", [
    (["20260101T000000Z", "20260101T000000Z"], "RUN: 20260101T000000Z-etcd is given 2 times" + _USAGE),
    (["20260101T000000Z", "20260101T010000Z", "20251231T000000Z"],
     "RUN: 20260101T000000Z-etcd and 20251231T000000Z-etcd are both etcd runs" + _USAGE),
    (["20260101T000000Z"], "RUN: got 1 run; give two or more, one per system. Usage: gbench compare RUN RUN [RUN...]"),
    (["20260101T000000Z", "latest"], "RUN: 20260101T020000Z-comparison is a comparison run, not a measurement run"),
    (["nope", "latest"], "RUN: 'nope' matches no published run in {root}"),
])
def test_compare_refuses_bad_runs(root: Path, capsys: pytest.CaptureFixture[str], runs: list[str], msg: str) -> None:
    _two_systems(root)
    measurement_run(root, "20251231T000000Z-etcd", "etcd", rows=[])
    rc, out, err = gbench(capsys, "compare", *runs)
    assert (rc, out, one_line(err)) == (2, "", "gbench: error: " + msg.format(root=root))
    assert len(list(root.iterdir())) == 4, "nothing published"


def test_compare_etcd_then_cassandra_still_works(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_systems(root)
    rc, out, err = gbench(capsys, "compare", "20260101T000000Z-etcd", "20260101T010000Z-cassandra")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["metric", "unit", "etcd", "cassandra"]
    assert out.splitlines()[1].split() == ["write_latency_p50_256B", "ms", "16.9", "30.0"]
    [new] = [p for p in root.iterdir() if p.name.endswith("-comparison") and not p.name.startswith("20260101")]
    assert json.loads((new / "manifest.json").read_text())["source_runs"] == {
        "etcd": "20260101T000000Z-etcd", "cassandra": "20260101T010000Z-cassandra"}


def test_compare_of_a_damaged_run_names_the_file(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_systems(root)
    summary = root / "20260101T010000Z-cassandra" / "summary.json"
    summary.write_text("")
    rc, out, err = gbench(capsys, "compare", "20260101T000000Z", "20260101T010000Z")
    assert (rc, one_line(err)) == (1, f"gbench: error: {summary}: not valid JSON: Expecting value at line 1 "
                                      "column 1")
    summary.write_text('{"rows": []}')
    fs = write(root / "20260101T000000Z-etcd" / "scenarios" / "etcd-leader-in-minority" / "failure_summary.json",
               {})
    fs.write_text("{")
    rc, out, err = gbench(capsys, "compare", "20260101T000000Z", "20260101T010000Z")
    assert (rc, one_line(err)) == (1, f"gbench: error: {fs}: not valid JSON: Expecting property name enclosed in "
                                      "double quotes at line 1 column 2")
    fs.unlink()
    manifest = write(root / "20260101T000000Z-etcd" / "manifest.json", {"run_id": "x", "cluster": "etcd"})
    rc, out, err = gbench(capsys, "compare", "20260101T000000Z", "20260101T010000Z")
    assert (rc, one_line(err)) == (1, f"gbench: error: {manifest}: field 'started_utc' is missing")
    assert len(list(root.iterdir())) == 3, "nothing published"


@pytest.mark.parametrize("argv, unrecognized", [
    (["run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--node", "3"], "--node 3"),
    (["run", str(REPO / "workloads" / "etcd-put-256B.yaml"), "--dur", "3"], "--dur 3"),
    (["bench", "--suit", "x.yaml"], "--suit x.yaml"),
    (["ls", "--res", "/tmp"], "--res /tmp"),
    (["show", "latest", "--result", "/tmp"], "--result /tmp"),
    (["cleanup", "--forc"], "--forc"),
])
def test_no_prefix_matching_of_options(root: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                       unrecognized: str) -> None:
    """``--node 3`` once became ``--nodes 3`` and started a real cluster."""
    rc, out, err = gbench(capsys, *argv)
    assert rc == 2 and err.splitlines()[-1] == f"gbench: error: unrecognized arguments: {unrecognized}", err


def test_version(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata
    import tomllib

    expected = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert gbench(capsys, "--version") == (0, f"gbench {expected}\n", "")

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert gbench(capsys, "--version") == (0, f"gbench {expected}\n", "")  # from pyproject.toml


_WL = str(REPO / "workloads" / "etcd-put-256B.yaml")
_SC = str(REPO / "workloads" / "scenarios" / "etcd-leader-in-minority.yaml")
_CASS_SC = str(REPO / "workloads" / "scenarios" / "cassandra-partition-2-3.yaml")
_DURATION = "must be a finite number of seconds with 0 < S <= 86400, got"


@pytest.mark.parametrize("argv, message", [
    *[(["run", _WL, f"--duration={v}"], f"argument --duration: {_DURATION} {v!r}")  # '=': '-inf' is no option
      for v in ("nan", "inf", "-inf", "1e12", "-1", "0", "86400.5")],
    (["run", _WL, "--duration", "ten"], "argument --duration: 'ten' is not a number of seconds"),
    *[([cmd, *extra, "--nodes", v], f"argument --nodes: must be between 1 and 15 nodes, got {v}")
      for cmd, extra in (("run", [_WL]), ("scenario", [_SC]), ("bench", [])) for v in ("0", "-3", "1000", "16")],
    (["run", _WL, "--nodes", "2.5"], "argument --nodes: '2.5' is not a whole number of nodes"),
])
def test_numbers_out_of_bounds_are_refused_at_parse_time(root: Path, capsys: pytest.CaptureFixture[str],
                                                         argv: list[str], message: str) -> None:
    rc, out, err = gbench(capsys, *argv)
    assert rc == 2 and err.splitlines()[-1] == f"gbench {argv[0]}: error: {message}", err


def test_run_overrides_a_workload_cannot_take_blame_the_option(root: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    wl = tmp_path / "pinned.yaml"
    wl.write_text("name: pinned\nduration_s: 5\nclients: {pin: [n4, n5]}\n")
    rc, out, err = gbench(capsys, "run", str(wl), "--nodes", "3", "--duration", "2")
    line = one_line(err)
    assert rc == 2 and line.startswith(f"gbench: error: --nodes 3 --duration 2: does not suit {wl}: "), line
    assert "n4" in line


def test_scenario_nodes_that_differ_from_the_file_blame_the_option(root: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = gbench(capsys, "scenario", _SC, "--nodes", "3")
    assert (rc, one_line(err)) == (2, f"gbench: error: --nodes: 3: scenario {_SC} is written for 5 nodes (its "
                                      "partition shapes name them); edit the file instead")


def test_bench_nodes_a_suite_cannot_use_blame_the_option(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = gbench(capsys, "bench", "--nodes", "3")
    etcd_suite = REPO / "workloads" / "suites" / "etcd.yaml"
    scenario = REPO / "workloads" / "suites" / ".." / "scenarios" / "etcd-leader-in-minority.yaml"
    assert (rc, one_line(err)) == (2, f"gbench: error: --nodes: 3 does not suit suite {etcd_suite}: its scenario "
                                      f"{scenario} is written for 5 nodes (its partitions name them)")
    assert list(root.iterdir()) == []


def test_bench_nodes_the_visibility_probe_cannot_use_blame_the_option(root: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rf1.yaml").write_text("name: rf1\nsystem: cassandra\nduration_s: 1\ncassandra: {replication_factor: 1}\n")
    suite = tmp_path / "vis.yaml"  # the workload fits 2 nodes; the probe's replication factor 3 does not
    suite.write_text("name: vis\nsystem: cassandra\nnodes: 5\nworkloads: [rf1.yaml]\n"
                     "visibility: {pairs: [[ONE, ONE]], delays_ms: [0], trials: 5, conditions: [normal]}\n")
    rc, out, err = gbench(capsys, "bench", "--suite", str(suite), "--nodes", "2")
    line = one_line(err)
    assert rc == 2 and line.startswith(f"gbench: error: --nodes: 2 does not suit suite {suite}: visibility: "
                                       "field 'replication_factor': "), line
    assert list(root.iterdir()) == []


class _FakeSystem:
    """What the pre-flight checks need of a system: its request limit."""

    def __init__(self, name: str, max_value_bytes: int) -> None:
        self.name, self.max_value_bytes = name, max_value_bytes


def _suite(path: Path, system: str, nodes: int, workloads: list[str], scenarios: list[str] | None = None) -> str:
    path.write_text(f"name: {path.stem}\nsystem: {system}\nnodes: {nodes}\nworkloads: {json.dumps(workloads)}\n"
                    + (f"scenarios: {json.dumps(scenarios)}\n" if scenarios else ""))
    return str(path)


@pytest.mark.parametrize("second, blamed, reason", [
    ("broken-scenario", "{tmp}/broken.yaml", "malformed YAML"),
    ("scenario-nodes", "{tmp}/second.yaml", f"field 'scenarios[0]': {_SC} needs 5 nodes but the suite's cluster "
                                            "has 3"),
    ("scenario-system", "{tmp}/second.yaml", f"field 'scenarios[0]': {_CASS_SC} is a scenario for 'cassandra', the "
                                             "suite's system is 'etcd'"),
    ("value-size", str(REPO / "workloads" / "etcd-put-1MiB.yaml"), "exceeds etcd's request limit of 1000 bytes"),
    ("not-runnable-here", "{tmp}/broken.yaml", "malformed YAML"),
])
def test_bench_checks_every_suite_before_the_first_cluster(root: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str],
                                                           second: str, blamed: str, reason: str) -> None:
    import harness.session

    (tmp_path / "broken.yaml").write_text("name: x\n  nodes: 5\n")
    first = _suite(tmp_path / "first.yaml", "etcd", 5, [str(REPO / "workloads" / "etcd-put-256B.yaml")])
    second_suite = {
        "broken-scenario": lambda p: _suite(p, "etcd", 5, [_WL], [str(tmp_path / "broken.yaml")]),
        "scenario-nodes": lambda p: _suite(p, "etcd", 3, [_WL], [_SC]),
        "scenario-system": lambda p: _suite(p, "etcd", 5, [_WL], [_CASS_SC]),
        "value-size": lambda p: _suite(p, "etcd", 5, [blamed]),
        "not-runnable-here": lambda p: _suite(p, "cassandra", 5, [str(REPO / "workloads" / "cassandra-put-256B.yaml")],
                                              [str(tmp_path / "broken.yaml")]),
    }[second](tmp_path / "second.yaml")

    def make_system(name: str) -> _FakeSystem:
        if name == "cassandra":
            raise EnvironmentProblem("no Java here (test)")
        return _FakeSystem(name, 1000 if second == "value-size" else 10**6)

    monkeypatch.setattr(harness.session, "make_system", make_system)
    rc, out, err = gbench(capsys, "bench", "--suite", first, "--suite", second_suite)
    line = one_line(err)
    assert rc == 2 and line.startswith(f"gbench: error: {blamed.format(tmp=tmp_path)}: field ") and reason in line, line
    assert list(root.iterdir()) == []


def test_bench_runs_the_suites_only_after_all_are_checked(root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import harness.session

    events: list[str] = []

    def make_system(name: str) -> _FakeSystem:
        events.append(f"check {name}")
        if name == "cassandra":
            raise EnvironmentProblem("no Java here (test)")
        return _FakeSystem(name, 10**6)

    def run_suite(suite: object, opts: object) -> None:
        events.append(f"run {suite.name}")  # type: ignore[attr-defined]

    monkeypatch.setattr(harness.session, "make_system", make_system)
    monkeypatch.setattr(harness.session, "run_suite", run_suite)
    a = _suite(tmp_path / "a.yaml", "etcd", 5, [_WL])
    b = _suite(tmp_path / "b.yaml", "cassandra", 5, [str(REPO / "workloads" / "cassandra-put-256B.yaml")])
    c = _suite(tmp_path / "c.yaml", "etcd", 5, [_WL])
    rc, out, err = gbench(capsys, "bench", "--suite", a, "--suite", b, "--suite", c)
    assert events == ["check etcd", "check cassandra", "check etcd", "run a", "run c"]
    assert rc == 1 and err.splitlines() == ["gbench: b not run: no Java here (test)", "gbench: not complete: b"]


@pytest.mark.parametrize("error, status", [
    (ConfigError("w.yaml", "nodes", "must be >= 1"), 2),
    (ArgumentError("--nodes", "3 does not suit"), 2),
    (DamagedFile("r/summary.json", "missing"), 1),
    (GbenchError("the run failed"), 1),
    (PermissionError(13, "Permission denied", "/x"), 1),
    (KeyboardInterrupt(), 130),
])
def test_exit_status_by_kind_of_error(root: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str], error: BaseException, status: int) -> None:
    import harness.results.store

    def fail(*a: object, **k: object) -> None:
        raise error

    monkeypatch.setattr(harness.results.store, "list_runs", fail)
    rc, out, err = gbench(capsys, "ls")
    assert rc == status
    assert one_line(err) == ("gbench: interrupted" if status == 130 else f"gbench: error: {error}")


def test_ctrl_c_during_a_run_exits_130(root: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import harness.session

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt()

    monkeypatch.setattr(harness.session, "run_suite", interrupted)
    rc, out, err = gbench(capsys, "run", _WL, "--quiet")
    assert (rc, one_line(err)) == (130, "gbench: interrupted; everything the run created was removed")
