from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ArgumentError, DamagedFile
from harness.results.percentiles import nearest_rank, summarize
from harness.results.store import (COMPLETE, CRASHED, DAMAGED, IN_PROGRESS, INCOMPLETE, OWNER_FILE, RunDirectory,
                                   find_run, list_runs, new_run_id, read_json, read_run)
from tests.harness.results.fake_runs import comparison_run, measurement_run, scenario_comparison_run, write


def test_run_id_format() -> None:
    t = dt.datetime(2026, 11, 24, 6, 15, 0, tzinfo=dt.timezone.utc)
    assert new_run_id("bench suite/1", t) == "20261124T061500Z-bench-suite-1"


def test_run_is_invisible_until_complete(tmp_path: Path) -> None:
    rd = RunDirectory.create("bench", tmp_path)
    fake = measurement_run(tmp_path / "src", rd.run_id)
    for f in ("manifest.json", "summary.json"):
        rd.write_json(f, json.loads((fake / f).read_text()))
    assert [(r.run_id, r.state, r.why) for r in list_runs(tmp_path)] == [(rd.run_id, IN_PROGRESS,
                                                                          f"by pid {os.getpid()}")]
    with pytest.raises(ArgumentError, match="matches no published run.*not published: .tmp-"):
        find_run(rd.run_id, tmp_path)
    final = rd.complete()
    assert final == tmp_path / rd.run_id and (final / "manifest.json").exists()
    assert sorted(p.name for p in final.iterdir()) == ["manifest.json", "summary.json"]  # no owner file
    assert [r.state for r in list_runs(tmp_path)] == [COMPLETE]
    assert find_run("latest", tmp_path) == final


def test_a_run_whose_process_died_is_crashed_not_in_progress(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os, psutil; p = psutil.Process(); "
                           "print(p.pid, p.create_time())"], capture_output=True, text=True, check=True)
    pid, started = gone.stdout.split()
    write(tmp_path / ".tmp-20260101T000000Z-killed" / OWNER_FILE, {"pid": int(pid), "create_time": float(started)})
    write(tmp_path / ".tmp-20260101T000100Z-reused" / OWNER_FILE, {"pid": os.getpid(), "create_time": 12.0})
    write(tmp_path / ".tmp-20260101T000200Z-garbled" / OWNER_FILE, ["pid"])
    assert [(e.run_id, e.state, e.why) for e in list_runs(tmp_path)] == [
        ("20260101T000000Z-killed", CRASHED, f"pid {pid} is gone (killed before it could mark the run incomplete)"),
        ("20260101T000100Z-reused", CRASHED,  # same pid, another start time: another process
         f"pid {os.getpid()} is gone (killed before it could mark the run incomplete)"),
        ("20260101T000200Z-garbled", IN_PROGRESS, f"or crashed: {OWNER_FILE} unreadable (TypeError)"),
    ]


def test_abandoned_run_is_marked_incomplete_with_why(tmp_path: Path) -> None:
    rd = RunDirectory.create("bench", tmp_path)
    where = rd.abandon("interrupted (Ctrl-C / SIGTERM)\nmore detail")
    assert where is not None and where.name.endswith(".incomplete")
    assert [p.name for p in where.iterdir()] == ["INCOMPLETE"]
    assert (where / "INCOMPLETE").read_text() == "interrupted (Ctrl-C / SIGTERM)\nmore detail\n"
    [entry] = list_runs(tmp_path)
    assert (entry.run_id, entry.state, entry.why) == (rd.run_id, INCOMPLETE, "interrupted (Ctrl-C / SIGTERM)")


@pytest.mark.parametrize("content, reason", [
    (None, "missing"),
    (b"\xff\xfe{}", "not UTF-8 (byte 0)"),
    (b'{"rows": [1,', "not valid JSON: Expecting value at line 1 column 13"),
    (b"[]", "must be an object at the top, got a list"),
    (b'"x"', "must be an object at the top, got a string"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON: nested too deeply"),
])
def test_read_json_names_file_and_reason(tmp_path: Path, content: bytes | None, reason: str) -> None:
    p = tmp_path / "summary.json"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(DamagedFile) as ei:
        read_json(p)
    assert (ei.value.file, ei.value.reason) == (str(p), reason)
    assert str(ei.value) == f"{p}: {reason}"


def test_read_run_accepts_every_kind(tmp_path: Path) -> None:
    m = read_run(measurement_run(tmp_path, "20260101T000000Z-etcd", "etcd"))
    assert (m.kind, m.system, m.run_id, m.results_file) == ("measurement", "etcd", "20260101T000000Z-etcd",
                                                            "summary.json")
    c = read_run(comparison_run(tmp_path, "20260101T000100Z-comparison", "a", "b"))
    assert (c.kind, c.system, c.results_file) == ("comparison", None, "comparison.json")
    s = read_run(scenario_comparison_run(tmp_path, "20260101T000200Z-sc-compared", "sc", ["a", "b"]))
    assert (s.kind, s.system, s.manifest["scenario"]) == ("scenario-comparison", None, "sc")


def _damage(run: Path, file: str, change: object) -> None:
    doc = json.loads((run / file).read_text())
    for dotted, value in change.items():  # type: ignore[attr-defined]
        *parents, key = dotted.split(".")
        cur = doc
        for p in parents:
            cur = cur[p]
        if value is _DELETE:
            del cur[key]
        else:
            cur[key] = value
    write(run / file, doc)


_DELETE = object()


@pytest.mark.parametrize("file, change, reason", [
    ("manifest.json", {"scenario": "etcd-leader-in-minority"}, "field 'scenario' must be an object, got a string"),
    ("manifest.json", {"cluster.system": _DELETE}, "field 'cluster.system' is missing"),
    ("manifest.json", {"cluster.nodes": True}, "field 'cluster.nodes' must be an integer, got true/false"),
    ("manifest.json", {"cluster": None}, "field 'cluster' must be an object, got null"),
    ("manifest.json", {"run_id": _DELETE}, "field 'run_id' is missing"),
    ("manifest.json", {"kind": "benchmark"}, "field 'kind': unknown kind of run 'benchmark' "
                                             "(known: measurement, comparison, scenario-comparison)"),
    ("summary.json", {"rows": {}}, "field 'rows' must be a list, got an object"),
    ("summary.json", {"rows": [1]}, "rows[0] must be an object, got an integer"),
    ("summary.json", {"comparisons": "none"}, "field 'comparisons' must be a list, got a string"),
])
def test_read_run_refuses_a_damaged_measurement(tmp_path: Path, file: str, change: dict, reason: str) -> None:
    run = measurement_run(tmp_path, "20260101T000000Z-etcd")
    _damage(run, file, change)
    with pytest.raises(DamagedFile) as ei:
        read_run(run)
    assert (ei.value.file, ei.value.reason) == (str(run / file), reason)


def test_read_run_refuses_a_comparison_row_without_its_fields(tmp_path: Path) -> None:
    run = comparison_run(tmp_path, "20260101T000100Z-comparison", "a", "b")
    write(run / "comparison.json", {"rows": [{"metric": "m", "system": "etcd"}]})
    with pytest.raises(DamagedFile, match=r"comparison.json: rows\[0\] lacks unit, value$"):
        read_run(run)


def test_list_runs_lists_every_run_and_says_what_is_damaged(tmp_path: Path) -> None:
    measurement_run(tmp_path, "20260101T000000Z-etcd")
    scenario_comparison_run(tmp_path, "20260101T000100Z-sc-compared", "sc", ["20260101T000000Z-etcd"])
    write(measurement_run(tmp_path, "20260101T000200Z-listed") / "manifest.json", [1, 2])
    (tmp_path / "20260101T000300Z-no-manifest").mkdir()
    (measurement_run(tmp_path, "20260101T000400Z-no-summary") / "summary.json").unlink()
    (tmp_path / "20260101T000500Z-x.incomplete").mkdir()
    (tmp_path / ".tmp-20260101T000600Z-y").mkdir()
    for not_a_run in ("diagrams", "benchmarks", "notes"):
        (tmp_path / not_a_run).mkdir()
    (tmp_path / "README.md").write_text("not a run")
    (tmp_path / "20260101T000500Z-x.incomplete" / "INCOMPLETE").write_text("RuntimeError: boom\n")
    (tmp_path / "20260101T000550Z-z.incomplete").mkdir()
    got = [(e.run_id, e.state, e.why) for e in list_runs(tmp_path)]
    assert got == [
        ("20260101T000000Z-etcd", COMPLETE, ""),
        ("20260101T000100Z-sc-compared", COMPLETE, ""),
        ("20260101T000200Z-listed", DAMAGED,
         f"{tmp_path}/20260101T000200Z-listed/manifest.json: must be an object at the top, got a list"),
        ("20260101T000300Z-no-manifest", DAMAGED, f"{tmp_path}/20260101T000300Z-no-manifest/manifest.json: missing"),
        ("20260101T000400Z-no-summary", DAMAGED, f"{tmp_path}/20260101T000400Z-no-summary/summary.json: missing"),
        ("20260101T000500Z-x", INCOMPLETE, "RuntimeError: boom"),
        ("20260101T000550Z-z", INCOMPLETE, "no reason recorded (INCOMPLETE: No such file or directory)"),
        ("20260101T000600Z-y", IN_PROGRESS, "or crashed: no owner recorded"),
    ]
    complete = [e for e in list_runs(tmp_path) if e.state == COMPLETE]
    assert [e.run.kind for e in complete if e.run] == ["measurement", "scenario-comparison"]


def test_find_run_by_id_prefix_latest_and_path(tmp_path: Path) -> None:
    root = tmp_path / "results"
    a = measurement_run(root, "20260101T000000Z-etcd")
    b = measurement_run(root, "20260102T000000Z-cassandra", "cassandra")
    elsewhere = measurement_run(tmp_path / "copies", "my-copy")
    assert find_run("20260101T000000Z-etcd", root) == a
    assert find_run("20260102", root) == b
    assert find_run("latest", root) == b
    assert find_run(str(elsewhere), root) == elsewhere  # a run outside the results root, by path
    assert find_run(str(a), root) == a


def test_latest_is_the_newest_run_even_when_damaged(tmp_path: Path) -> None:
    measurement_run(tmp_path, "20260101T000000Z-etcd")
    newest = measurement_run(tmp_path, "20260102T000000Z-etcd")
    (newest / "summary.json").write_text("{")
    assert find_run("latest", tmp_path) == newest  # never silently the older run
    with pytest.raises(DamagedFile, match="summary.json: not valid JSON"):
        read_run(find_run("latest", tmp_path))


_EMPTY = "empty run reference (give a run id, a unique prefix of one, 'latest' or a run directory)"


@pytest.mark.parametrize("ref, reason", [
    ("", _EMPTY),
    ("  ", _EMPTY),
    ("/", "'/' is a directory but not a run (no manifest.json in it)"),
    ("2026", "'2026' is ambiguous: 20260101T000000Z-etcd, 20260102T000000Z-etcd"),
    ("nope", "'nope' matches no published run in {root}"),
    ("no/such/dir", "'no/such/dir' is not a run directory (no such directory)"),
    ("20260103", "'20260103' matches no published run in {root}; not published: 20260103T000000Z-x.incomplete "
                 "(incomplete)"),
    ("{root}/20260103T000000Z-x.incomplete", "'{root}/20260103T000000Z-x.incomplete' is not a published run "
                                             "(incomplete)"),
    ("{root}/20260101T000000Z-etcd/manifest.json", "'{root}/20260101T000000Z-etcd/manifest.json' is not a run "
                                                   "directory (it is a file)"),
    ("{root}/..", "'{root}/..' is a directory but not a run (no manifest.json in it)"),
])
def test_a_reference_that_names_no_run_is_refused(tmp_path: Path, ref: str, reason: str) -> None:
    root = tmp_path / "results"
    measurement_run(root, "20260101T000000Z-etcd")
    measurement_run(root, "20260102T000000Z-etcd")
    write(root / "20260103T000000Z-x.incomplete" / "manifest.json", {})
    with pytest.raises(ArgumentError) as ei:
        find_run(ref.format(root=root), root, "ETCD_RUN")
    assert str(ei.value) == "ETCD_RUN: " + reason.format(root=root)
    assert ei.value.file == "ETCD_RUN"


def test_latest_without_runs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=f"^RUN: 'latest' names no run: there is no published run in {tmp_path}$"):
        find_run("latest", tmp_path)


def test_nearest_rank_exact() -> None:
    xs = list(range(1, 11))
    assert [nearest_rank(xs, p) for p in (10, 50, 90, 99, 100)] == [1, 5, 9, 10, 10]
    assert nearest_rank([], 50) is None
    s = summarize([5, 1, 3])
    assert (s["p50"], s["p99"], s["max"], s["count"]) == (3, 5, 5, 3)


# Property: whatever a run's JSON files hold, `gbench ls` and `gbench show` give a line and an
# exit status, never a traceback; and a run read_run accepts is one show can print.
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                     max_leaves=8)


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(doc: object, path: tuple, value: object, delete: bool) -> object:
    if not path:
        return value
    parent = doc
    for k in path[:-1]:
        parent = parent[k]  # type: ignore[index]
    if delete:
        del parent[path[-1]]  # type: ignore[index, union-attr]
    else:
        parent[path[-1]] = value  # type: ignore[index]
    return doc


_FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"  # as in tests/harness/test_input_properties.py


@settings(max_examples=5000 if _FUZZ else 300, deadline=None, derandomize=not _FUZZ, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["measurement", "comparison", "scenario-comparison"]),
       file=st.sampled_from(["manifest", "results"]), data=st.data())
def test_no_traceback_whatever_the_run_files_hold(kind: str, file: str, data: st.DataObject) -> None:
    import contextlib
    import io
    import tempfile

    from harness import cli

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        rid = "20260101T000000Z-x"
        run = {"measurement": lambda: measurement_run(root, rid, rows=[{"tool": "harness", "op": "put"}]),
               "comparison": lambda: comparison_run(root, rid, "a", "b"),
               "scenario-comparison": lambda: scenario_comparison_run(root, rid, "sc", ["a"])}[kind]()
        target = run / ("manifest.json" if file == "manifest" else
                        {"measurement": "summary.json", "comparison": "comparison.json",
                         "scenario-comparison": "scenario-comparison.json"}[kind])
        if data.draw(st.booleans(), label="raw bytes"):
            raw = target.read_bytes()
            target.write_bytes(raw[: data.draw(st.integers(0, len(raw)), label="cut")] +
                               data.draw(st.binary(max_size=3), label="tail"))
        else:
            doc = json.loads(target.read_text())
            path = data.draw(st.sampled_from(_paths(doc)), label="path")
            delete = bool(path) and data.draw(st.booleans(), label="delete")
            write(target, _mutate(doc, path, data.draw(_json, label="value"), delete))
        accepted = True
        try:
            read_run(run)
        except DamagedFile:
            accepted = False
        for argv in (["ls", "--results", d], ["show", str(run)]):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = cli.main(argv)
            if argv[0] == "ls" or accepted:
                assert rc == 0, err.getvalue()
            else:
                assert rc == 1 and err.getvalue().startswith(f"gbench: error: {run}/"), err.getvalue()
