"""build_all / check / the CLI on fixture results, with a stand-in renderer registered for every type.

The stand-in prints every bound figure as ``key: text`` (so "not measured" must reach the SVG),
derives one value from the ``ops`` series and draws the footer, like a real renderer must.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagram_gen import render as registry
from diagram_gen.build import build_all, check
from diagram_gen.model import DIAGRAM_TYPES, KIND_TYPES, ResolvedDiagram
from diagram_gen.provenance import missing_files
from tests.diagram_gen import RUN_A, RUN_B, make_results, spec_text, write_specs


def dummy_render(d: ResolvedDiagram):  # type: ignore[no-untyped-def]
    from diagram_gen.render.common import draw_footer, new_figure

    fig = new_figure(d, 6.0, 3.0)
    for i, k in enumerate(sorted(d.spec.figures)):
        fig.text(0.02, 0.8 - 0.12 * i, f"{k}: {d.text(k)}")
    ops = d.rows("ops") if "ops" in d.series else ()
    d.derive("n_ops", len(ops) if ops else None, None, series="ops", how="row count")
    draw_footer(fig, d)
    return fig


def broken_render(d: ResolvedDiagram):  # type: ignore[no-untyped-def]
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def stand_in_renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    for t in DIAGRAM_TYPES:
        monkeypatch.setitem(registry.RENDERERS, t, dummy_render)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(repo root, results, specs) with six valid specs for guarantee 'lin'."""
    return tmp_path, make_results(tmp_path), write_specs(tmp_path)


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def override(specs: Path, kind: str, text: str) -> None:
    (specs / "lin" / f"{kind}.yaml").write_text(text)


def problems_of(tree: tuple[Path, Path, Path], out: Path | None = None) -> list[str]:
    root, res, specs = tree
    return [str(p) for p in check(specs, res, out or root / "no-out", root)]


# -- building ------------------------------------------------------------------------------------
def test_build_writes_diagrams_sidecars_reports_and_gallery(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    out = root / "out"
    report = build_all(specs, res, out, root)
    assert report.problems == []
    expected = sorted([f"lin/{k}.{ext}" for k in KIND_TYPES for ext in ("svg", "png", "json")]
                      + ["contradictions.json", "contradictions.md", "index.html", "README.md"]
                      + [f"{g}/{page}" for g in ("lin", "eventual") for page in ("index.html", "README.md")])
    assert sorted(files(out)) == expected
    assert sorted(p.relative_to(out).as_posix() for p in report.written) == expected
    side = json.loads((out / "lin" / "failure.json").read_text())
    assert (side["diagram"], side["spec_file"], side["outputs"]) == (
        "G-LIN-FAILURE", "specs/lin/failure.yaml", {"png": "failure.png", "svg": "failure.svg"})
    figs = {f["key"]: f for f in side["figures"]}
    assert sorted(figs) == ["n_ops", "put_p99", "timeout"]
    assert figs["put_p99"] == {
        "key": "put_p99", "text": "20.0 ms", "value": 20.0, "unit": "ms", "qualifier": None, "status": "measured",
        "derived": None, "provenance": {"run_id": RUN_B, "file": f"results/{RUN_B}/summary.json",
                                        "query": "rows[system=etcd,op=put,value_size=256,tool=harness,outcome=ok,"
                                                 "workload=etcd-put-256B].p99_ms"}}
    assert (figs["n_ops"]["value"], figs["n_ops"]["derived"]) == (2, "row count")
    assert figs["timeout"]["status"] == "cited" and figs["timeout"]["text"].endswith("(cited)")
    assert side["series"] == [{"key": "ops", "status": "measured", "rows": 2, "provenance": {
        "run_id": RUN_A, "file": f"results/{RUN_A}/scenarios/s1/history.jsonl.gz",
        "query": "all lines; invoke_s/complete_s = (ns - timeline.json load_start_ns=10000000000) / 1e9; "
                 "latency_ms = complete - (intended or invoke); reads' level_class from the etcd plugin "
                 "(harness.registry.level_class)"}}]
    assert [ln.split(",")[0] for ln in side["footer"]["lines"]] == [f"run {RUN_A}", f"run {RUN_B}"]
    assert f"footer.{RUN_B}.fsync_p99" in {f["key"] for f in side["footer"]["figures"]}
    assert "spec_sha256" in side and len(side["spec_sha256"]) == 64
    assert missing_files(side, root) == []
    html = (out / "index.html").read_text()  # the gallery itself: tests/diagram_gen/test_gallery.py
    assert [html.index(f'src="lin/{k}.png"') for k in KIND_TYPES] == sorted(html.index(f'src="lin/{k}.png"')
                                                                            for k in KIND_TYPES)
    readme = (out / "lin" / "README.md").read_text()
    assert f"| put_p99 | 20.0 ms | measured | {RUN_B} | results/{RUN_B}/summary.json |" in readme
    assert "![Test 20.0 ms](failure.png)" in readme
    svg = (out / "lin" / "failure.svg").read_text()
    assert "put_p99: 20.0 ms" in svg and f"run {RUN_A}" in svg


def test_regeneration_is_byte_identical(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    build_all(specs, res, root / "o1", root)
    build_all(specs, res, root / "o2", root)
    first = files(root / "o1")
    assert first == files(root / "o2")
    build_all(specs, res, root / "o1", root)  # over the top of itself
    assert files(root / "o1") == first
    assert b"Date" not in first["lin/failure.svg"] and not any(n.endswith(".tmp") for n in first)


def test_not_measured_is_rendered_recorded_and_listed(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    override(specs, "failure", spec_text("failure", "failure_scenario", figures=(
        "  put_p99: {from: etcd/put/256B, where: {workload: etcd-put-256B}, stat: p99, unit: ms}\n"
        "  gone: {from: failure_summary, scenario: nope, path: late_writes.count}\n")))
    out = root / "out"
    report = build_all(specs, res, out, root)
    assert "gone: not measured" in (out / "lin" / "failure.svg").read_text()
    side = json.loads((out / "lin" / "failure.json").read_text())
    gone = {f["key"]: f for f in side["figures"]}["gone"]
    assert (gone["status"], gone["text"], gone["value"], gone["provenance"]) == ("not measured", "not measured", None, None)
    assert gone["reason"].startswith("failure_summary scenario=nope, path=late_writes.count: in none of 3 runs")
    assert [str(p) for p in report.problems] == [f"specs/lin/failure.yaml: figures.gone: not measured: {gone['reason']}"]
    assert f"<td>gone</td><td class=\"nm\">not measured: {gone['reason']}" in (out / "lin" / "index.html").read_text()
    assert f"| gone | **not measured: {gone['reason']}** |" in (out / "lin" / "README.md").read_text()


# -- check: clean, then one test per problem class ---------------------------------------------------
def test_check_clean_and_after_a_build(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    assert problems_of(tree) == []
    build_all(specs, res, root / "out", root)
    assert problems_of(tree, root / "out") == []


def test_check_lint_error(tree: tuple[Path, Path, Path]) -> None:
    override(tree[2], "concept", spec_text("concept", "timeline", title="p99 is 15ms"))
    assert problems_of(tree) == ["specs/lin/concept.yaml: title: number with a unit '15ms' outside a cited: text: "
                                 "bind it as a figure and write {figure_key} instead"]


def test_check_spec_error_costs_only_that_diagram(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    override(specs, "concept", spec_text("concept", "timeline") + "colour: red\n")
    report = build_all(specs, res, root / "out", root)
    assert [str(p) for p in report.problems] == [
        "specs/lin/concept.yaml: colour: unknown field (allowed: claims, figures, guarantee, id, key_insight, kind, "
        "layout, purpose, series, title, type)"]
    assert not (root / "out" / "lin" / "concept.svg").exists() and (root / "out" / "lin" / "failure.svg").exists()
    readme = (root / "out" / "lin" / "README.md").read_text()
    assert "**not built:** specs/lin/concept.yaml: colour: unknown field" in readme
    assert "![Test 20.0 ms](failure.png)" in readme  # placeholders in titles are filled in


def test_check_not_measured_series(tree: tuple[Path, Path, Path]) -> None:
    override(tree[2], "performance", spec_text("performance", "performance_profile",
                                               series="  ops: {from: nemesis, scenario: s9}\n"))
    got = problems_of(tree)
    assert got == [
        "specs/lin/performance.yaml: derived.n_ops: not measured: derived from unmeasured series ['ops']",
        f"specs/lin/performance.yaml: series.ops: not measured: nemesis scenario=s9: in none of 3 runs (newest: "
        f"results/20260103T100000Z-comparison/scenarios/s9/nemesis.jsonl: no such file)"]


@pytest.mark.parametrize("status,holds_if,expected", [
    ("asserted", "{eq: 0}", "specs/lin/failure.yaml: claims.0.c1: asserted claim 'c1' (the spec says so) is "
                            "contradicted: measured 20.0 ms; holds if = 0"),
    ("corrected", "{between: [19, 21]}", "specs/lin/failure.yaml: claims.0.c1: corrected claim 'c1' (the spec says so) "
                                         "is not contradicted by the measurement (holds: measured 20.0 ms; holds if "
                                         "between 19 and 21): the correction is unsupported"),
    ("asserted", "{lt: 25}", None),
    ("corrected", "{lt: 15}", None),
])
def test_check_claims(tree: tuple[Path, Path, Path], status: str, holds_if: str, expected: str | None) -> None:
    root, res, specs = tree
    override(specs, "failure", spec_text("failure", "failure_scenario", claims=(
        f"  - {{id: c1, text: \"the spec says so\", status: {status}, figure: put_p99, holds_if: {holds_if}}}\n")))
    assert problems_of(tree) == ([expected] if expected else [])
    report = build_all(specs, res, root / "out", root)
    contradicted = (status == "corrected") == (expected is None)
    doc = json.loads((root / "out" / "contradictions.json").read_text())
    assert [c["claim"] for c in doc["contradictions"]] == (["c1"] if contradicted else [])
    assert len(report.contradictions) == (1 if contradicted else 0)


def test_check_missing_and_broken_renderers(tree: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.RENDERERS, "decision_tree", "diagram_gen.render.no_such_renderer")
    monkeypatch.setitem(registry.RENDERERS, "timeline", broken_render)
    root, res, specs = tree
    report = build_all(specs, res, root / "out", root)
    assert [str(p) for p in report.problems] == [
        "specs/lin/concept.yaml: type: renderer timeline failed: RuntimeError: boom",
        "specs/lin/decision.yaml: type: renderer module diagram_gen.render.no_such_renderer does not exist",
    ]
    assert (root / "out" / "lin" / "failure.svg").exists()
    assert not (root / "out" / "lin" / "decision.svg").exists()


def test_check_missing_kind_and_duplicate_id(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    (specs / "lin" / "decision.yaml").unlink()
    override(specs, "failure", spec_text("failure", "failure_scenario", diagram_id="G-LIN-CONCEPT"))
    assert problems_of(tree) == [
        "specs/lin: decision: no decision.yaml: each guarantee has six diagrams",
        "specs/lin/failure.yaml: id: duplicate diagram id 'G-LIN-CONCEPT' (also in specs/lin/concept.yaml)"]


def test_check_declared_derived_key_not_derived(tree: tuple[Path, Path, Path]) -> None:
    override(tree[2], "failure", spec_text("failure", "failure_scenario", layout="  derived: [late]\n"))
    assert problems_of(tree) == ["specs/lin/failure.yaml: layout.derived.late: not measured: the renderer did not "
                                 "derive it"]


def test_check_stale_outputs(tree: tuple[Path, Path, Path]) -> None:
    root, res, specs = tree
    out = root / "out"
    build_all(specs, res, out, root)
    (out / "lin" / "failure.svg").write_bytes((out / "lin" / "failure.svg").read_bytes() + b" ")
    (out / "lin" / "decision.png").unlink()
    (out / "lin" / "old.svg").write_text("<svg/>")
    assert problems_of(tree, out) == [
        "out/lin/decision.png: (file): stale: missing; run gbench diagrams to regenerate",
        "out/lin/failure.svg: (file): stale: differs from a fresh render; run gbench diagrams",
        "out/lin/old.svg: (file): stale: not produced by a fresh build (left over); remove it"]


def test_check_sidecar_provenance_file_that_does_not_exist(tree: tuple[Path, Path, Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from diagram_gen.model import Measured, Provenance

    def fabricating_render(d: ResolvedDiagram):  # type: ignore[no-untyped-def]
        d.derived["made_up"] = Measured("made_up", 1, None, Provenance(RUN_A, f"results/{RUN_A}/nowhere.json", "x"))
        return dummy_render(d)

    monkeypatch.setitem(registry.RENDERERS, "failure_scenario", fabricating_render)
    assert problems_of(tree) == [f"specs/lin/failure.yaml: figures.made_up: provenance file "
                                 f"results/{RUN_A}/nowhere.json does not exist"]


def test_missing_provenance_files_are_found(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "there.json").write_text("{}")
    doc = {"figures": [{"key": "a", "provenance": {"file": "results/there.json"}},
                       {"key": "b", "provenance": {"file": "results/gone.json"}}, {"key": "c", "provenance": None}],
           "series": [{"key": "s", "provenance": {"file": "results/gone.jsonl"}}],
           "footer": {"figures": [{"key": "footer.r.x", "provenance": {"file": "results/r/manifest.json"}}]}}
    assert missing_files(doc, tmp_path) == [("figures.b", "results/gone.json"), ("series.s", "results/gone.jsonl"),
                                            ("footer.footer.r.x", "results/r/manifest.json")]


# -- the command line ------------------------------------------------------------------------------
def test_cli_check_exit_codes_and_lines(tree: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from diagram_gen.cli import main
    from harness.cli import main as gbench

    root, res, specs = tree
    args = ["--results", str(res), "--specs", str(specs), "--out", str(root / "out")]
    assert main(args) == 0
    assert "wrote " in capsys.readouterr().out
    assert main(args + ["--check"]) == 0
    override(specs, "concept", spec_text("concept", "timeline", title="p99 is 15ms"))
    assert gbench(["diagrams", *args, "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("specs/lin/concept.yaml: title: number with a unit '15ms' outside a cited: text: "
                             "bind it as a figure and write {figure_key} instead")
    assert any("concept.svg: (file): stale: differs from a fresh render" in ln for ln in lines)
