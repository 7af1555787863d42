"""The bench job's regeneration from fresh runs (issue 12 item 5): ``newest`` run selection
(a pinned binding reads the newest run like the pinned one), each moved figure judged against
its series' noise (moves.py), the pull request description, and ``gbench diagrams-refresh``'s
bad input. Constructed runs and sidecars; exact expected values."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from diagram_gen.model import Measured, NotMeasured
from diagram_gen.moves import (BEYOND, GONE, MAX_ROWS, NEW, NOT_JUDGED, TEXT_CHANGED, WITHIN, FigureNoise, compare,
                               figure_noise, judge_move, moves_json, moves_markdown, read_sidecars)
from diagram_gen.resolve import Resolver
from harness.cli import main as gbench
from harness.errors import GbenchError
from harness.results.change_stats import Noise
from tests.harness.results.fake_runs import measurement_run, write

ROW = {"system": "etcd", "op": "put", "value_size": 256, "tool": "harness", "outcome": "ok", "workload": "w"}


def run(root: Path, run_id: str, name: str, p99: float, batch: str | None = None, provider: str = "netns") -> str:
    """A published run of suite ``name`` with one summary row (``fake_runs.measurement_run``)."""
    path = measurement_run(root, run_id, rows=[{**ROW, "p99_ms": p99}], provider=provider,
                           batch=None if batch is None else {"id": batch, "index": 1, "of": 3})
    manifest = json.loads((path / "manifest.json").read_text())
    write(path / "manifest.json", {**manifest, "scenario": {"name": name}})
    return run_id


BINDING = {"from": "summary", "where": ROW, "stat": "p99_ms"}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    run(root, "20260101T000000Z-etcd", "etcd", 10.0)
    run(root, "20260102T000000Z-etcd", "etcd", 11.0)
    run(root, "20260103T000000Z-other", "other", 99.0)  # another suite: never "like" the etcd runs
    run(root, "20260106T000000Z-etcd", "etcd", 50.0, provider="docker")  # the suite run another way: not alike
    for i, v in enumerate([10.0, 12.0, 11.0]):
        run(root, f"20260104T00000{i}Z-etcd", "etcd", v, batch="b1")
    for i, v in enumerate([9.0, 10.0, 11.0]):
        run(root, f"20260105T00000{i}Z-etcd", "etcd", v, batch="b2")
    return root


def test_a_pinned_binding_reads_the_newest_run_like_it_only_with_newest(results: Path) -> None:
    pinned = {**BINDING, "run": "20260101T000000Z-etcd"}
    f = Resolver(results, results.parent).scalar("p99", pinned)
    assert isinstance(f, Measured) and (f.value, f.provenance.run_id) == (10.0, "20260101T000000Z-etcd")
    newest = Resolver(results, results.parent, newest=True)
    f = newest.scalar("p99", pinned)
    assert isinstance(f, Measured) and (f.value, f.provenance.run_id) == (11.0, "20260105T000002Z-etcd")
    assert newest.candidate_runs(pinned) == ["20260105T000002Z-etcd", "20260105T000001Z-etcd", "20260105T000000Z-etcd",
                                             "20260104T000002Z-etcd", "20260104T000001Z-etcd", "20260104T000000Z-etcd",
                                             "20260102T000000Z-etcd", "20260101T000000Z-etcd"]
    assert newest.candidate_runs({**BINDING, "run": "20260106T000000Z-etcd"}) == ["20260106T000000Z-etcd"]
    # pinned to the other suite's run: only that run is like it
    assert newest.candidate_runs({**BINDING, "run": "20260103T000000Z-other"}) == ["20260103T000000Z-other"]
    # a pinned run that is not there stays pinned, and is reported missing
    f = newest.scalar("p99", {**BINDING, "run": "20990101T000000Z-etcd"})
    assert isinstance(f, NotMeasured) and "no such run" in f.reason


def test_values_in_runs_and_the_figures_noise(results: Path) -> None:
    newest = Resolver(results, results.parent, newest=True)
    values = newest.values_in_runs("p99", {**BINDING, "run": "20260101T000000Z-etcd"}, limit=100)
    assert [(b, v) for _, b, v in values] == [(None, 10.0), (None, 11.0), ("b1", 10.0), ("b1", 12.0), ("b1", 11.0),
                                              ("b2", 9.0), ("b2", 10.0), ("b2", 11.0)]
    # groups [10] [11] [10 12 11] [9 10 11]: squared deviations 2 + 2 over 2 + 2 df: sd 1
    fn = figure_noise([(b, v) for _, b, v in values])
    assert fn.noise == Noise(1.0, "repeats", 4) and (fn.runs, fn.groups) == (8, 4)
    assert fn.note == "run-to-run sd 1 from repeated runs (4 degrees of freedom), over 8 runs in 4 group(s)"
    pinned = {**BINDING, "run": "20260101T000000Z-etcd"}
    assert [b for _, b, _ in newest.values_in_runs("p99", pinned, limit=3)] == ["b2", "b2", "b2"]  # newest 3
    few = figure_noise([(None, 5.0)])
    assert few.noise is None and few.note == "1 run(s) with this figure: too few to measure its noise"


def fig(key: str, value: Any, run: str = "r1", status: str = "measured", unit: str | None = "ms") -> dict[str, Any]:
    if status != "measured":
        return {"key": key, "status": status, "text": "not measured", "value": None, "reason": "no row"}
    return {"key": key, "status": "measured", "value": value, "text": f"{value}", "unit": unit,
            "provenance": {"run_id": run, "file": f"results/{run}/summary.json", "query": "q"}}


def noise(sd: float | None) -> Any:
    return lambda diagram, key: FigureNoise(None if sd is None else Noise(sd, "repeats", 6),
                                            "not measured" if sd is None else f"sd {sd}")


@pytest.mark.parametrize("before, after, sd, status, pct, in_sd", [
    (10.0, 13.0, 1.0, BEYOND, 30.0, 3.0),     # 3 sds > 1.96 * sqrt(2)
    (10.0, 12.7, 1.0, WITHIN, 27.0, 2.7),     # 2.7 sds: not beyond
    (10.0, 8.0, 0.5, BEYOND, -20.0, 4.0),
    (10.0, 13.0, None, NOT_JUDGED, 30.0, None),
    (0, 3, 1.0, BEYOND, None, 3.0),           # a percent of 0 is not defined
])
def test_a_moved_number_is_judged_against_its_noise(before: float, after: float, sd: float | None, status: str,
                                                    pct: float | None, in_sd: float | None) -> None:
    m = judge_move("g/performance", fig("p99", before), fig("p99", after, run="r2"), noise(sd))
    assert m is not None and m.status == status and (m.run_before, m.run_after) == ("r1", "r2")
    assert (m.change_percent is None) == (pct is None) and (pct is None or m.change_percent == pytest.approx(pct))
    assert (m.shift_in_noise is None) == (in_sd is None) and (in_sd is None or m.shift_in_noise == pytest.approx(in_sd))


def test_what_is_not_a_move_and_the_other_kinds_of_move() -> None:
    same = fig("p99", 10.0)
    assert judge_move("d", same, fig("p99", 10.0), noise(1)) is None
    assert judge_move("d", same, fig("p99", 10.0, run="r2"), noise(1)) is None  # same value, another run
    assert judge_move("d", fig("x", 1, status="not measured"), fig("x", 1, status="not measured"), noise(1)) is None
    text = judge_move("d", fig("v", "linearizable", unit=None), fig("v", "not linearizable", run="r2", unit=None),
                      noise(1))
    assert text is not None and text.status == TEXT_CHANGED and text.noise_sd is None
    new = judge_move("d", None, fig("p99", 10.0), noise(1))
    assert new is not None and (new.status, new.before_text) == (NEW, "absent")
    new2 = judge_move("d", fig("p99", 0, status="not measured"), fig("p99", 10.0), noise(1))
    assert new2 is not None and (new2.status, new2.noise_note) == (NEW, "before: no row")
    gone = judge_move("d", fig("p99", 10.0), fig("p99", 0, status="not measured"), noise(1))
    assert gone is not None and (gone.status, gone.noise_note) == (GONE, "no row")


def sidecar(figures: list[dict[str, Any]], claims: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"figures": figures, "series": [], "claims": list(claims)}


def test_compare_and_the_pull_request_description() -> None:
    before = {"lin/performance": sidecar([fig("p50", 3.0), fig("p99", 10.0), fig("nodes", 3, unit=None)],
                                         [{"id": "c1", "verdict": "holds"}]),
              "lin/failure": sidecar([fig("lost", 0, unit=None)])}
    after = {"lin/performance": sidecar([fig("p50", 3.1, run="r9"), fig("p99", 14.0, run="r9"),
                                         fig("nodes", 3, unit=None)], [{"id": "c1", "verdict": "contradicted"}]),
             "lin/failure": sidecar([fig("lost", 0, unit=None)]),
             "seq/concept": sidecar([fig("n", 5, run="r9", unit=None)])}
    r = compare(before, after, noise(1.0))
    assert [(m.diagram, m.key, m.status) for m in r.moves] == [
        ("lin/performance", "p50", WITHIN), ("lin/performance", "p99", BEYOND), ("seq/concept", "n", NEW)]
    assert r.unchanged == 2 and r.diagrams == 3 and r.fresh_runs == ["r9"]
    assert r.claims == [{"diagram": "lin/performance", "claim": "c1", "before": "holds", "after": "contradicted",
                         "text": ""}]
    assert [(d.diagram, d.before, d.after, d.new) for d in r.runs] == [
        ("lin/failure", ["r1"], ["r1"], []), ("lin/performance", ["r1"], ["r1", "r9"], ["r9"]),
        ("seq/concept", [], ["r9"], ["r9"])]
    md = moves_markdown(r)
    assert md.startswith("# Diagrams regenerated from fresh runs\n\n3 diagrams; 2 now name runs they did not name "
                         "before (1 run(s): r9). 1 figure(s) moved beyond their series' noise, 1 within it, 0 moved "
                         "with the noise not measured; 0 text figure(s) changed, 1 newly measured, 0 no longer "
                         "measured, 1 claim verdict(s) changed; 2 measured figure(s) unchanged.\n")
    beyond = md.split("## Moved beyond noise (1)\n\n")[1].split("\n\n")[0].splitlines()
    assert beyond[2] == "| lin/performance | p99 | 10 ms | 14 ms | +40.0% | 4.0 | sd 1.0 | r1 → r9 |"
    assert "| lin/performance | c1 | holds | contradicted |" in md
    doc = moves_json(r)
    assert doc["counts"] == {BEYOND: 1, NEW: 1, WITHIN: 1} and doc["fresh_runs"] == ["r9"]


def test_the_description_stays_under_githubs_limit() -> None:
    after = {"g/k": sidecar([fig(f"f{i:03d}", 20.0 + i, run="r2") for i in range(150)])}
    before = {"g/k": sidecar([fig(f"f{i:03d}", 1.0) for i in range(150)])}
    md = moves_markdown(compare(before, after, noise(0.1)))
    assert f"… and {150 - MAX_ROWS} more figures (diagram-moves.json lists all)" in md and len(md) < 60_000


def test_read_sidecars(tmp_path: Path) -> None:
    assert read_sidecars(tmp_path / "none") == {}
    write(tmp_path / "lin" / "performance.json", sidecar([fig("p", 1)]))
    write(tmp_path / "contradictions.json", {"contradictions": []})  # not a diagram's sidecar
    assert list(read_sidecars(tmp_path)) == ["lin/performance"]
    (tmp_path / "lin" / "failure.json").write_text("{trunc")
    with pytest.raises(GbenchError, match=r"failure.json: cannot read the diagram's sidecar"):
        read_sidecars(tmp_path)


def test_diagrams_refresh_bad_input_exits_2_before_writing(results: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    into = tmp_path / "into"
    into.mkdir()
    (into / "reference-runs.txt").write_text("20260101T000000Z-etcd\n")
    assert gbench(["diagrams-refresh", "--batch", "nope", "--from", str(results), "--into", str(into)]) == 2
    assert "--batch: nope: no run of" in capsys.readouterr().err and sorted(p.name for p in into.iterdir()) == [
        "reference-runs.txt"]
    assert gbench(["diagrams-refresh", "--batch", "b1", "--from", str(results), "--into", str(tmp_path / "x")]) == 2
    assert gbench(["diagrams", "--check", "--newest", "--results", str(results)]) == 2
    assert math.isclose(1.96 * math.sqrt(2), 2.7718, abs_tol=1e-4)


def test_a_run_the_specs_text_names_stays_pinned_under_newest(results: Path) -> None:
    """The linearizability failure spec's claim speaks of "the reference run
    20261201T192252Z-etcd": its figure must keep reading that run, or the text would be false."""
    from diagram_gen.resolve import runs_named_in_text
    from diagram_gen.spec import load_spec

    repo = Path(__file__).resolve().parents[2]
    spec = load_spec(repo / "diagram_gen" / "specs" / "linearizability" / "failure.yaml", repo)
    assert runs_named_in_text(spec) == {"20261201T192252Z-etcd"}
    newest = Resolver(results, results.parent, newest=True)
    pinned = {**BINDING, "run": "20260101T000000Z-etcd"}
    newest.named_runs = frozenset({"20260101T000000Z-etcd"})
    assert newest.candidate_runs(pinned) == ["20260101T000000Z-etcd"]
    newest.named_runs = frozenset()
    assert newest.candidate_runs(pinned)[0] == "20260105T000002Z-etcd"


def test_limited_to_fresh_runs_nothing_moves_to_an_older_run(results: Path) -> None:
    """diagrams-refresh: only the batch's runs may replace a pinned run; the pinned run stays
    the fallback, never another run that was already there."""
    pinned = {**BINDING, "run": "20260101T000000Z-etcd"}
    batch = frozenset({"20260104T000000Z-etcd", "20260104T000001Z-etcd"})
    r = Resolver(results, results.parent, newest=True, fresh=batch)
    assert r.candidate_runs(pinned) == ["20260104T000001Z-etcd", "20260104T000000Z-etcd", "20260101T000000Z-etcd"]
    f = r.scalar("p99", pinned)
    assert isinstance(f, Measured) and (f.value, f.provenance.run_id) == (12.0, "20260104T000001Z-etcd")
    none_alike = Resolver(results, results.parent, newest=True, fresh=frozenset({"20260103T000000Z-other"}))
    assert none_alike.candidate_runs(pinned) == ["20260101T000000Z-etcd"]
