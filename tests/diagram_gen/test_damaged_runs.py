"""A damaged run is an error, never a silent fallback to an older run.

Each case damages one file of a copy of the newest etcd reference run (the others are
symlinked), resolves every diagram spec and checks: the damage is recorded naming the file
and the reason, and no figure or series comes from another run than with the intact copy (a
figure of the damaged run is either still read from it, from an intact file, or "not
measured"). Full builds check the problem list and that ``gbench diagrams`` and ``--check``
exit 1.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from diagram_gen.build import build_all, spec_files
from diagram_gen.model import Cited, Measured, Series
from diagram_gen.reference import link_runs, read_run_list
from diagram_gen.resolve import Resolver, resolve_with
from diagram_gen.spec import load_spec
from harness.cli import main as gbench

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"
SPECS = REPO / "diagram_gen" / "specs"
DAMAGED = "20261201T223607Z-etcd"          # the newest etcd run: run_of: etcd reads it first
SCENARIO = f"scenarios/etcd-leader-in-minority"


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write(text: str) -> Callable[[Path], None]:
    return lambda p: p.write_text(text)


def _drop_key(key: str) -> Callable[[Path], None]:
    def f(p: Path) -> None:
        doc = json.loads(p.read_text())
        del doc[key]
        p.write_text(json.dumps(doc))
    return f


def _bad_jsonl_line(p: Path) -> None:
    with gzip.open(p, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    lines[3] = "[1, 2]"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


#: (file in the run, how it is damaged, what the reason says)
CASES = {
    "failure_summary truncated": (f"{SCENARIO}/failure_summary.json", _truncate, "not valid JSON"),
    "history gzip truncated": (f"{SCENARIO}/history.jsonl.gz", _truncate, "truncated gzip stream"),
    "history line not an object": (f"{SCENARIO}/history.jsonl.gz", _bad_jsonl_line, "line 4: must be an object"),
    "summary truncated": ("summary.json", _truncate, "not valid JSON"),
    "summary a list": ("summary.json", _write("[]"), "must be an object at the top, got a list"),
    "summary without rows": ("summary.json", _drop_key("rows"), "field 'rows' is missing"),
    "manifest truncated": ("manifest.json", _truncate, "not valid JSON"),
    "manifest missing": ("manifest.json", lambda p: p.unlink(), "missing"),
    "manifest without host": ("manifest.json", _drop_key("host"), "field 'host' is missing"),
    "timeline without load start": (f"{SCENARIO}/timeline.json", _drop_key("load_start_ns"),
                                    "field 'load_start_ns' is missing"),
    "hlog garbage": ("workloads/etcd-put-256B/hlog/put.ok.hlog", _write("0.0,1.0,2.0,bm90IGEgaGlzdG9ncmFt\n"),
                     "unreadable HdrHistogram log"),
}


def _tree(root: Path, damage: tuple[str, Callable[[Path], None], str] | None) -> Path:
    runs = read_run_list()
    tree = link_runs(RESULTS, [r for r in runs if r != DAMAGED], root / "results")
    shutil.copytree(RESULTS / DAMAGED, tree / DAMAGED)
    if damage:
        damage[1](tree / DAMAGED / damage[0])
    return tree


def _resolve_all(tree: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """Every spec resolved against ``tree`` as a build does (one Resolver, runs checked first):
    (diagram.figure/series key -> the run its value came from, None when not measured;
    the damaged files)."""
    resolver = Resolver(tree, REPO)
    resolver.check_runs()
    out: dict[str, str | None] = {}
    for path in spec_files(SPECS):
        d = resolve_with(resolver, load_spec(path, REPO))
        for sec, values in (("figures", d.figures), ("series", d.series)):
            for k, v in values.items():
                if not isinstance(v, Cited):
                    # keyed by guarantee too: every guarantee has a concept.yaml
                    out[f"{path.parent.name}/{path.stem}.{sec}.{k}"] = (
                        v.provenance.run_id if isinstance(v, (Measured, Series)) else None)
    return out, dict(resolver.damaged)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    runs, damaged = _resolve_all(_tree(tmp_path_factory.mktemp("clean"), None))
    assert damaged == {} and None not in runs.values()
    return runs


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_file_is_named_and_no_figure_moves_to_another_run(case: str, clean: dict[str, str | None],
                                                                   tmp_path: Path) -> None:
    file, _, reason = CASES[case]
    after, damaged_files = _resolve_all(_tree(tmp_path, CASES[case]))
    damaged = {f: r for f, r in damaged_files.items() if f.endswith(f"{DAMAGED}/{file}")}
    assert damaged and reason in next(iter(damaged.values())), damaged_files
    moved = {k: (clean[k], after[k]) for k in clean if after.get(k) not in (clean[k], None)}
    assert moved == {}, f"figures taken from another run than in the clean build: {moved}"
    lost = [k for k in clean if clean[k] == DAMAGED and after.get(k) is None]
    assert lost, "the damage should cost some figure of the damaged run"


def test_scenario_runs_never_drop_a_damaged_run_and_the_build_lists_it(tmp_path: Path) -> None:
    """The failure diagram's table of every run: a damaged run makes it not measured, not
    shorter; the build's problems name the file."""
    file = CASES["failure_summary truncated"][0]
    report = build_all(SPECS, _tree(tmp_path, CASES["failure_summary truncated"]), tmp_path / "out", REPO)
    failure = next(r for r in report.diagrams if (r.guarantee, r.kind) == ("linearizability", "failure"))
    runs = next(s for s in failure.sidecar["series"] if s["key"] == "runs")
    assert runs["status"] == "not measured" and f"run {DAMAGED} is damaged" in runs["reason"]
    assert [p for p in report.problems if p.field == "(file)"] == [p for p in report.problems
                                                                   if p.file.endswith(f"{DAMAGED}/{file}")
                                                                   and p.field == "(file)"]
    assert any(p.field == "(file)" and "damaged: not valid JSON" in p.reason for p in report.problems)


@pytest.mark.parametrize("check", [False, True])
def test_gbench_diagrams_exits_1_listing_the_damaged_file(check: bool, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path, CASES["summary a list"])
    rc = gbench(["diagrams", "--results", str(tree), "--out", str(tmp_path / "out"), *(["--check"] if check else [])])
    err = capsys.readouterr()
    assert rc == 1
    text = err.out + err.err
    assert f"{DAMAGED}/summary.json: (file): damaged: must be an object at the top, got a list" in text
    assert "Traceback" not in text
