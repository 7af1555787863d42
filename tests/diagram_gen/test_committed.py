"""The diagrams in results/diagrams/ against the runs, without depending on what the user last ran.

- The claims and ``--check``: built from a results tree holding only the committed reference
  runs (results/reference-runs.txt), rendered into a temp dir: a user's ``make bench`` (new
  runs in results/) changes nothing here.
- results/diagrams/ itself (the committed diagrams, or the ones the user's ``make bench``
  regenerated): a byte-identical render of the runs its own sidecars name (``inputs.runs``),
  every provenance file exists, and every number a diagram prints outside axis ticks is in
  its sidecar.

The ``committed_*`` functions are also run by the end-to-end test after a fresh bench
(test_bench_then_diagrams.py).
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from diagram_gen.build import build_all, check, stale_problems
from diagram_gen.model import KIND_TYPES
from diagram_gen.reference import link_runs, read_run_list

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"
OUT = RESULTS / "diagrams"
SPECS = REPO / "diagram_gen" / "specs"
GUARANTEES = sorted(p.name for p in SPECS.iterdir() if p.is_dir())
#: a number standing alone (not part of an identifier, a version, a key or a value like 10003:64)
NUMBER = re.compile(r"(?<![\w.:→-])(\d+(?:\.\d+)?)(?![\w.:]*\d)")
WITH_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(ms|s|ops/s|%|GiB|MiB)(?![\w/])")


def _texts(svg: Path) -> list[str]:
    """Every text of the SVG except axis tick labels (matplotlib groups them as xtick_N/ytick_N)."""
    out: list[str] = []

    def walk(el: ET.Element, in_tick: bool) -> None:
        tick = in_tick or el.get("id", "").startswith(("xtick", "ytick"))
        if el.tag.endswith("}text") and not tick:
            out.append("".join(el.itertext()))
        for c in el:
            walk(c, tick)

    walk(ET.parse(svg).getroot(), False)
    return out


def _sidecars(out: Path) -> dict[str, dict]:
    return {f"{g}/{k}": json.loads((out / g / f"{k}.json").read_text()) for g in GUARANTEES for k in KIND_TYPES}


# -- checks of results/diagrams (also run after a fresh bench) -----------------------------------------
def committed_inputs(out: Path = OUT) -> list[str]:
    """The runs the diagrams in ``out`` were built from: every sidecar names the same list."""
    named = {key: tuple(s["inputs"]["runs"]) for key, s in _sidecars(out).items()}
    assert len(set(named.values())) == 1, f"the sidecars name different runs: {named}"
    runs = list(next(iter(named.values())))
    assert runs, "the sidecars name no run"
    return runs


def committed_selection(out: Path = OUT) -> tuple[bool, frozenset[str] | None]:
    """How the diagrams in ``out`` chose runs: ``newest`` selection (the bench job's
    regeneration) and the fresh runs it was limited to; every sidecar says the same."""
    named = {key: (s["inputs"].get("selection", "pinned"), tuple(s["inputs"].get("fresh", ["(any)"])))
             for key, s in _sidecars(out).items()}
    assert len(set(named.values())) == 1, f"the sidecars name different selections: {named}"
    selection, fresh = next(iter(named.values()))
    return selection == "newest", None if fresh == ("(any)",) else frozenset(fresh)


def committed_render_is_faithful(out: Path = OUT, results: Path = RESULTS) -> None:
    """A render of exactly the runs the sidecars name (taken from ``results``), with the run
    selection they name, gives the bytes in ``out`` (every file, gallery and reports included:
    nothing missing, nothing left over)."""
    runs = committed_inputs(out)
    newest, fresh = committed_selection(out)
    missing = [r for r in runs if not (results / r).is_dir()]
    assert not missing, f"runs the sidecars name are not in {results}: {missing}"
    tmp = Path(tempfile.mkdtemp(prefix="gbench-faithful-"))
    try:
        tree = link_runs(results, runs, tmp / "results")
        report = build_all(SPECS, tree, tmp / "out", REPO, newest=newest, fresh=fresh)
        assert not report.damaged, report.damaged
        problems = stale_problems(tmp / "out", out, REPO)
        assert problems == [], "\n".join(str(p) for p in problems)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def committed_provenance_exists(out: Path = OUT) -> None:
    for key, side in _sidecars(out).items():
        provs = [f["provenance"] for f in side["figures"] if f.get("provenance")]
        assert provs, key
        for p in provs:
            assert p["file"].startswith("results/") and (REPO / p["file"]).exists(), (key, p)


def committed_numbers_are_in_sidecars(out: Path = OUT) -> None:
    for g in GUARANTEES:
        for kind in KIND_TYPES:
            svg = out / g / f"{kind}.svg"
            blob = (out / g / f"{kind}.json").read_text()
            spec = (SPECS / g / f"{kind}.yaml").read_text()
            texts = _texts(svg)
            assert len(texts) > 10, kind
            for t in texts:
                for m in WITH_UNIT.finditer(t):  # a quantity: only from a measurement or a citation
                    assert m.group(1) in blob, f"{kind}: {m.group(0)!r} in {t!r} is not in the sidecar"
                for m in NUMBER.finditer(t):    # any other number: the sidecar or the spec's own text
                    assert m.group(1) in blob or m.group(1) in spec, f"{kind}: {m.group(1)!r} in {t!r}"


# -- the reference runs -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return link_runs(RESULTS, read_run_list(), tmp_path_factory.mktemp("reference") / "results")


def test_reference_runs_are_all_in_results() -> None:
    runs = read_run_list()
    assert len(runs) >= 4 and runs == sorted(runs)
    assert [r for r in runs if not (RESULTS / r / "manifest.json").is_file()] == []


def test_check_passes_on_the_reference_runs(reference_tree: Path, tmp_path: Path) -> None:
    """Every claim as the specs expect, every figure measured, no damaged run: judged on the
    reference runs only (a fresh run of the user's is not what the repository claims)."""
    problems = check(SPECS, reference_tree, tmp_path / "no-committed-output", REPO)
    assert problems == [], "\n".join(str(p) for p in problems)


def test_reference_build_names_only_the_reference_runs(reference_tree: Path, tmp_path: Path) -> None:
    report = build_all(SPECS, reference_tree, tmp_path / "out", REPO)
    assert committed_inputs(tmp_path / "out") == read_run_list()
    side = _sidecars(tmp_path / "out")
    used = {p["run_id"] for s in side.values() for f in s["figures"] if (p := f.get("provenance"))}
    assert used - {"benchmarks"} <= set(read_run_list())
    assert report.cited and all(e["this_host"] for e in report.cited)


def test_after_a_new_run_the_regenerated_diagrams_are_still_faithful(tmp_path: Path) -> None:
    """What make bench does (a newer etcd run in results/, the diagrams regenerated from all
    runs), then what make test checks: faithful to the runs the sidecars name, which now
    include the new run; the reference checks above do not see it."""
    newest = "20261201T223607Z-etcd"
    user_run = "20991231T000000Z-etcd"
    tree = link_runs(RESULTS, read_run_list(), tmp_path / "results")
    shutil.copytree(RESULTS / newest, tree / user_run)
    manifest = json.loads((tree / user_run / "manifest.json").read_text())
    manifest["run_id"] = user_run
    (tree / user_run / "manifest.json").write_text(json.dumps(manifest))
    report = build_all(SPECS, tree, tmp_path / "out", REPO)
    assert report.damaged == {}
    assert committed_inputs(tmp_path / "out") == sorted([*read_run_list(), user_run])
    perf = _sidecars(tmp_path / "out")["linearizability/performance"]
    assert next(f for f in perf["figures"] if f["key"] == "put_p50")["provenance"]["run_id"] == user_run
    committed_render_is_faithful(tmp_path / "out", tree)


# -- results/diagrams as it stands ------------------------------------------------------------------
def test_diagrams_are_a_faithful_render_of_the_runs_their_sidecars_name() -> None:
    committed_render_is_faithful()


def test_six_diagrams_per_guarantee_with_sidecars_naming_results_files() -> None:
    for guarantee in GUARANTEES:
        for kind in KIND_TYPES:
            for ext in ("svg", "png", "json"):
                assert (OUT / guarantee / f"{kind}.{ext}").is_file(), f"{guarantee}/{kind}.{ext}"
    committed_provenance_exists()


def test_every_number_shown_is_in_the_sidecar() -> None:
    committed_numbers_are_in_sidecars()
