"""Box layout helpers, the HDR x transform, and the four box/perf renderers (architecture,
side_by_side, performance_profile, decision_tree): exact coordinates and values on tiny
inputs, "not measured" rendering, byte-identical saves. No results/ are read except the
committed spec files (the diagrams are built from hand-made ResolvedDiagrams)."""
from __future__ import annotations

import importlib
import math
import re
from pathlib import Path

import pytest

from diagram_gen.model import (Cited, Measured, NotMeasured, Provenance, ResolvedDiagram, Series)
from diagram_gen.render import boxes
from diagram_gen.render.boxes import (Box, TreeNode, anchor, claim_holds, column_layout, facing_sides, fill,
                                      row_layout, tree_layout)
from diagram_gen.render.common import save
from diagram_gen.render.performance_profile import (PERCENTILE_LABELS, hdr_x, spectrum_points, sweep_points, tool_table_rows, xy_points,
                                                    x_ticks)
from diagram_gen.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "diagram_gen" / "specs" / "linearizability"
KINDS = ("implementation", "comparison", "performance", "decision")
PROV = Provenance("20260101T000000Z-test", "results/20260101T000000Z-test/summary.json", "rows[test]")


def _spec(kind: str):
    return load_spec(SPECS / f"{kind}.yaml", REPO)


def all_not_measured(kind: str) -> ResolvedDiagram:
    """Every binding of the committed spec unresolved (citations stay citations)."""
    spec = _spec(kind)
    figs = {}
    for k, b in spec.figures.items():
        figs[k] = Cited(k, b["cited"], b["source"]) if "cited" in b else NotMeasured(k, "test: nothing", b)
    series = {k: NotMeasured(k, "test: nothing", b) for k, b in spec.series.items()}
    return ResolvedDiagram(spec=spec, figures=figs, series=series, footer=[])


def svg_texts(path: Path) -> str:
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text(encoding="utf-8")))


# -- box layout ----------------------------------------------------------------------------------
def test_anchor_points_are_side_midpoints():
    b = Box(10.0, 20.0, 8.0, 4.0)
    assert anchor(b, "left") == (10.0, 22.0)
    assert anchor(b, "right") == (18.0, 22.0)
    assert anchor(b, "top") == (14.0, 24.0)
    assert anchor(b, "bottom") == (14.0, 20.0)
    assert anchor(b, "center") == (14.0, 22.0)
    with pytest.raises(ValueError):
        anchor(b, "north")


def test_facing_sides():
    a, b = Box(0, 0, 10, 5), Box(20, 0, 10, 5)
    assert facing_sides(a, b) == ("right", "left")
    assert facing_sides(b, a) == ("left", "right")
    assert facing_sides(Box(0, 10, 10, 5), Box(2, 0, 10, 5)) == ("bottom", "top")
    assert facing_sides(Box(2, 0, 10, 5), Box(0, 10, 10, 5)) == ("top", "bottom")


def test_row_layout_exact():
    assert row_layout(3, 0.0, 100.0, 5.0, 10.0, 5.0) == [Box(0.0, 5.0, 30.0, 10.0), Box(35.0, 5.0, 30.0, 10.0),
                                                         Box(70.0, 5.0, 30.0, 10.0)]
    assert row_layout(1, 2.0, 12.0, 0.0, 1.0, 3.0) == [Box(2.0, 0.0, 10.0, 1.0)]
    assert row_layout(0, 0.0, 1.0, 0.0, 1.0, 0.0) == []


def test_column_layout_exact():
    assert column_layout(2, 1.0, 4.0, 30.0, 10.0, 2.0) == [Box(1.0, 21.0, 4.0, 9.0), Box(1.0, 10.0, 4.0, 9.0)]


def test_tree_layout_exact():
    root = TreeNode("r", (TreeNode("a", (TreeNode("a1"), TreeNode("a2"))), TreeNode("b")))
    pos = tree_layout(root, 0.0, 90.0, 50.0, 10.0)
    assert pos == {"a1": (15.0, 30.0), "a2": (45.0, 30.0), "a": (30.0, 40.0), "b": (75.0, 40.0),
                   "r": (52.5, 50.0)}
    with pytest.raises(ValueError):
        tree_layout(TreeNode("x", (TreeNode("y"), TreeNode("y"))), 0, 1, 1, 1)


def test_step_boxes_form_a_u():
    from diagram_gen.render.architecture import step_boxes
    bx = step_boxes(5, 0.0, 50.0, 40.0, 10.0, 8.0, 10.0)
    # 3 on top left to right, 2 on the bottom right to left under the last two columns
    assert [(b.x, b.y) for b in bx] == [(0.0, 40.0), (20.0, 40.0), (40.0, 40.0), (40.0, 10.0), (20.0, 10.0)]
    assert all(b.w == 10.0 and b.h == 8.0 for b in bx)


def test_text_metrics():
    # 9 pt DejaVu: 9/72 in * 0.56 em * 10 units/in = 0.7 units per character
    assert boxes.chars_per_line(7.0, 9.0) == 10
    assert boxes.line_height(72.0 / 1.3) == pytest.approx(10.0)
    assert boxes.wrap_text("aa bb cc", 5) == ["aa bb", "cc"]
    assert boxes.wrap_text("x\n\ny", 10) == ["x", "", "y"]


def _diag(figs: dict, series: dict | None = None, kind: str = "implementation") -> ResolvedDiagram:
    return ResolvedDiagram(spec=_spec(kind), figures=figs, series=series or {}, footer=["f"])


def test_fill_substitutes_and_flags_not_measured():
    d = _diag({"a": Measured("a", 52.419, "ms", PROV), "b": NotMeasured("b", "x", {}),
               "c": Cited("c", "etcd default", "https://x"), "q": Measured("q", 1.0, "ms", PROV, qualifier="≤"),
               "t": Measured("t", True, None, PROV), "s": Measured("s", "not measured: no such thing", None, PROV),
               "n": Measured("n", 3, "count", PROV)})
    assert fill("p99 {a}", d) == ("p99 52.4 ms", False)
    assert fill("{a} / {b}", d) == ("52.4 ms / not measured", True)
    assert fill("{c}", d) == ("etcd default (cited)", False)
    assert fill("{q}", d) == ("≤ 1.00 ms", False)
    assert fill("{t}", d) == ("yes", False)
    assert fill("{s}", d) == ("not measured", True)
    assert fill("{n} lost", d) == ("3 lost", False)
    assert boxes.figure_reason(d, "s") == "no such thing"
    assert boxes.placeholders("x {a} y {b}") == ["a", "b"]
    with pytest.raises(KeyError):
        fill("{nope}", d)


@pytest.mark.parametrize("value,holds_if,expected", [
    (0.0, {"eq": 0}, True), (0.4, {"eq": 0}, False), (101.6, {"le": 5}, False), (3, {"le": 5}, True),
    (15.3, {"between": [12, 18]}, True), (18.01, {"between": [12, 18]}, False), (None, {"eq": 0}, None),
    ("not measured: x", {"eq": 0}, None), (True, {"eq": True}, True), (True, {"ge": 1}, None),
])
def test_claim_holds(value, holds_if, expected):
    assert claim_holds(value, holds_if) is expected


@pytest.mark.parametrize("etcd_p50", [1.0, 16.8, 27.2, 300.0])
def test_claim_badges_on_comparison_spec(etcd_p50):
    """Absolute latencies are cited whatever this host measured; behaviour is judged."""
    d = _diag({}, kind="comparison")
    d.figures.update(all_not_measured("comparison").figures)
    d.figures["cass_write_p50"] = Measured("cass_write_p50", 101.613, "ms", PROV)
    d.figures["etcd_write_p50"] = Measured("etcd_write_p50", etcd_p50, "ms", PROV)
    d.figures["etcd_min_writes"] = Measured("etcd_min_writes", 0.0, "%", PROV)       # asserted eq 0 -> confirmed
    d.figures["cass_min_writes"] = Measured("cass_min_writes", 40.1, "%", PROV)      # spec: all available -> corrected
    badge, v = boxes.claim_badge(d, "lin-cmp-etcd-write-p50")
    assert (badge, v.passes, v.cited_text, v.spec_host, v.this_host) == (
        "cited", True, "etcd write p50 15ms", "16 cores @ 2.4GHz, NVMe SSD", "host not recorded")
    d.derived[f"footer.{PROV.run_id}.host"] = Measured("h", "2 logical cores, X, disk /dev/vda (rotational)", None, PROV)
    assert boxes.claim_badge(d, "lin-cmp-cassandra-write-p50")[1].this_host == "2 logical cores, X, disk /dev/vda (rotational)"
    assert boxes.claim_badge(d, "lin-cmp-cassandra-write-p50")[0] == "cited"
    assert boxes.claim_badge(d, "lin-cmp-etcd-minority")[0] == "confirmed"
    assert boxes.claim_badge(d, "lin-cmp-all-available")[0] == "corrected"
    assert boxes.claim_badge(d, "lin-cmp-latency-penalty")[0] == "not measured"
    with pytest.raises(KeyError):
        boxes.claim_badge(d, "no-such-claim")


# -- HDR spectrum shaping ---------------------------------------------------------------------------
@pytest.mark.parametrize("pct,x", [(0, 1.0), (50, 2.0), (90, 10.0), (99, 100.0), (99.9, 1000.0),
                                   (99.99, 10000.0), (99.999, 100000.0), (75, 4.0)])
def test_hdr_x_exact(pct, x):
    assert hdr_x(pct) == x


def test_hdr_x_at_100_is_infinite():
    assert hdr_x(100) == math.inf


def test_spectrum_points_drop_the_100th_percentile_and_sort():
    rows = [{"percentile": 90.0, "value_ms": 3.0}, {"percentile": 0.0, "value_ms": 1.0},
            {"percentile": 50.0, "value_ms": 2.0}, {"percentile": 100.0, "value_ms": 9.0},
            {"percentile": 99.0, "value_ms": None}]
    assert spectrum_points(rows) == ([1.0, 2.0, 10.0], [1.0, 2.0, 3.0])
    assert spectrum_points([]) == ([], [])


def test_x_ticks_stop_at_the_data():
    assert x_ticks(150.0) == ([2.0, 10.0, 100.0, 1000.0], ["50%", "90%", "99%", "99.9%"])
    assert x_ticks(5.0) == ([2.0, 10.0], ["50%", "90%"])


def test_xy_points_keep_numeric_rows_sorted_first_of_a_repeated_x():
    rows = [{"delay_ms": 5, "p_visible": 1.0}, {"delay_ms": 0, "p_visible": 0.25}, {"delay_ms": 5, "p_visible": 0.5},
            {"delay_ms": 1, "p_visible": "not measured: no trial"}, {"delay_ms": True, "p_visible": 1.0},
            {"delay_ms": 2}]
    assert xy_points(rows, "delay_ms", "p_visible") == ([0.0, 5.0], [0.25, 1.0])
    assert xy_points([], "delay_ms", "p_visible") == ([], [])


def test_sweep_points_and_tool_table_rows():
    rows = [{"concurrency": 32, "throughput_ops_s": 1820.0}, {"concurrency": 1, "throughput_ops_s": 348.0},
            {"concurrency": 32, "throughput_ops_s": 5.0}, {"concurrency": None, "throughput_ops_s": 1.0}]
    assert sweep_points(rows) == ([1, 32], [348.0, 1820.0])
    tool = [{"workload": "w1", "p50_ms": 1.0}, {"workload": "w2", "p50_ms": 2.0}]
    harness = [{"workload": "w2", "p50_ms": 4.0}]
    assert tool_table_rows(tool, harness, "workload") == [(tool[0], None), (tool[1], harness[0])]


# -- derived figures -------------------------------------------------------------------------------
def _rows_series(key: str, rows: list[dict]) -> Series:
    return Series(key, tuple(rows), PROV)


@pytest.mark.parametrize("n,quorum,tolerance", [(5, 3, 2), (4, 3, 1), (3, 2, 1), (1, 1, 0)])
def test_architecture_derives_quorum_and_tolerance(n, quorum, tolerance):
    from diagram_gen.render.architecture import derive_cluster
    d = all_not_measured("implementation")
    d.series["cluster_rows"] = _rows_series("cluster_rows", [{"nodes": n}])
    derive_cluster(d)
    assert d.value("quorum") == quorum and d.value("tolerance") == tolerance
    assert "floor" in d.derived["quorum"].derived


def test_architecture_quorum_not_measured_without_rows():
    from diagram_gen.render.architecture import derive_cluster
    d = all_not_measured("implementation")
    derive_cluster(d)
    assert d.text("quorum") == "not measured" and d.text("tolerance") == "not measured"


def test_comparison_ratio_is_derived_exactly():
    from diagram_gen.render.side_by_side import derive_ratio
    d = all_not_measured("comparison")
    d.series["etcd_put_rows"] = _rows_series("etcd_put_rows", [{"p50_ms": 15.293}])
    d.series["cass_put_rows"] = _rows_series("cass_put_rows", [{"p50_ms": 101.613}])
    derive_ratio(d, d.spec.layout["ratio"])
    assert d.value("write_p50_ratio") == 15.293 / 101.613
    assert d.text("write_p50_ratio") == "0.151 x"


def test_table_geometry_shares_the_table_among_the_columns():
    from diagram_gen.render.side_by_side import LABEL_WIDTH, TABLE_END, table_geometry
    assert (LABEL_WIDTH, TABLE_END) == (36.0, 85.0)  # the defaults every committed comparison uses
    assert table_geometry(2, 1.5, 36.0, 85.0) == ([37.5, 61.25], 23.75)
    assert table_geometry(6, 1.5, 23.0, 93.0) == ([24.5, 35.916666666666664, 47.33333333333333, 58.75,
                                                   70.16666666666666, 81.58333333333333], 11.416666666666666)
    assert table_geometry(0, 1.5, 36.0, 85.0) == ([37.5], 47.5)


def test_aggregates_take_the_extreme_of_a_column_over_the_rows():
    from diagram_gen.render.side_by_side import column_extreme, derive_aggregates
    rows = [{"after_heal_ms": 421.713, "writes": {"ok": 60}}, {"after_heal_ms": 0.003, "writes": {"ok": 58}},
            {"converged": "not measured: no write was acknowledged", "writes": {"ok": 0}},
            {"after_heal_ms": True}]
    assert column_extreme(rows, "after_heal_ms", "max") == (421.713, 2)
    assert column_extreme(rows, "after_heal_ms", "min") == (0.003, 2)
    assert column_extreme(rows, "writes.ok", "min") == (0, 3)
    assert column_extreme(rows, "converged", "max") == (None, 0)
    d = all_not_measured("comparison")
    d.series["conv"] = _rows_series("conv", rows)
    derive_aggregates(d, [{"key": "heal_max", "series": "conv", "column": "after_heal_ms", "how": "max", "unit": "ms"},
                          {"key": "none", "series": "conv", "column": "converged", "how": "max"},
                          {"key": "unmeasured", "series": "etcd_put_rows", "column": "p50_ms", "how": "min"}])
    assert (d.value("heal_max"), d.text("heal_max")) == (421.713, "422 ms")
    assert d.derived["heal_max"].derived == "max of after_heal_ms over 2 of 4 rows"
    assert d.figure("none").reason == "no row of conv has a number in converged"  # type: ignore[union-attr]
    assert d.text("unmeasured") == "not measured"
    with pytest.raises(ValueError, match="how is one of max, min, got 'mean'"):
        derive_aggregates(d, [{"key": "x", "series": "conv", "column": "after_heal_ms", "how": "mean"}])


def _host(run: str, text: str) -> Measured:
    return Measured(f"footer.{run}.host", text, None, Provenance(run, f"results/{run}/manifest.json", "host"))


@pytest.mark.parametrize("hosts,measured", [
    (("2 logical cores, X, disk /dev/vda", "2 logical cores, X, disk /dev/vda"), True),
    (("2 logical cores, X, disk /dev/vda", "16 logical cores, Y, disk /dev/nvme0n1"), False),
    (("2 logical cores, X, disk /dev/vda", None), False),
])
def test_comparison_ratio_only_between_runs_on_one_host(hosts, measured):
    from diagram_gen.render.side_by_side import derive_ratio
    d = all_not_measured("comparison")
    runs = ("20260101T000000Z-etcd", "20260101T000001Z-cassandra")
    for key, run, p50, host in zip(("etcd_put_rows", "cass_put_rows"), runs, (15.0, 100.0), hosts):
        d.series[key] = Series(key, ({"p50_ms": p50},), Provenance(run, f"results/{run}/summary.json", "rows"))
        if host:
            d.derived[f"footer.{run}.host"] = _host(run, host)
    derive_ratio(d, d.spec.layout["ratio"])
    if measured:
        assert d.value("write_p50_ratio") == 0.15
    else:
        f = d.figure("write_p50_ratio")
        assert isinstance(f, NotMeasured) and "not measured on one recorded host" in f.reason


# -- renderers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_renders_not_measured_everywhere(kind, tmp_path):
    d = all_not_measured(kind)
    mod = importlib.import_module(f"diagram_gen.render.{d.spec.type}")
    save(mod.render(d), tmp_path / "d.svg", tmp_path / "d.png")
    text = svg_texts(tmp_path / "d.svg")
    assert "not measured" in text
    # nothing measured: every number with a unit on the diagram comes from a citation
    cited = [f.text for f in d.figures.values() if isinstance(f, Cited)]
    for m in re.finditer(r"\d[\d.]*\s?(?:ms|ops/s|%|GiB)", text):
        if m.group(0) in PERCENTILE_LABELS:   # axis tick labels are allowed
            continue
        assert any(m.group(0) in c for c in cited), f"{m.group(0)!r} is neither measured nor cited"
    assert (tmp_path / "d.png").stat().st_size > 10_000


@pytest.mark.parametrize("kind", KINDS)
def test_renders_byte_identically_twice(kind, tmp_path):
    outs = []
    for i in range(2):
        d = all_not_measured(kind)
        mod = importlib.import_module(f"diagram_gen.render.{d.spec.type}")
        save(mod.render(d), tmp_path / f"{i}.svg", tmp_path / f"{i}.png")
        outs.append(((tmp_path / f"{i}.svg").read_bytes(), (tmp_path / f"{i}.png").read_bytes()))
    assert outs[0] == outs[1]


def test_architecture_shows_measured_figures_with_qualifier(tmp_path):
    from diagram_gen.render.architecture import render
    d = all_not_measured("implementation")
    d.figures["put_p99"] = Measured("put_p99", 52.419, "ms", PROV)
    d.figures["wal_fsync_p99"] = Measured("wal_fsync_p99", 8.0, "ms", PROV, qualifier="≤")
    d.figures["nodes"] = Measured("nodes", 5, None, PROV)
    d.series["cluster_rows"] = _rows_series("cluster_rows", [{"nodes": 5}])
    save(render(d), tmp_path / "a.svg", tmp_path / "a.png")
    text = svg_texts(tmp_path / "a.svg")
    assert "p99 52.4 ms" in text
    assert "≤ 8.00 ms" in text
    assert "quorum 3" in text and "tolerates 2" in text


def test_performance_plots_spectra_and_table_cells_are_derived(tmp_path):
    from diagram_gen.render.performance_profile import render
    d = all_not_measured("performance")
    spectrum = [{"percentile": p, "value_ms": v} for p, v in ((0.0, 1.0), (50.0, 2.0), (99.0, 9.0), (100.0, 12.0))]
    d.series["put_256"] = _rows_series("put_256", spectrum)
    d.series["tool_rows"] = _rows_series("tool_rows", [{"workload": "w", "op": "put", "value_size": 256,
                                                        "concurrency": 32, "throughput_ops_s": 2819.3,
                                                        "p50_ms": 10.085, "p99_ms": 31.84}])
    d.series["harness_rows"] = _rows_series("harness_rows", [{"workload": "w", "throughput_ops_s": 1820.0,
                                                              "p50_ms": 15.293, "p99_ms": 52.419}])
    save(render(d), tmp_path / "p.svg", tmp_path / "p.png")
    text = svg_texts(tmp_path / "p.svg")
    assert "2819 | 1820" in text and "10.1 | 15.3" in text and "31.8 | 52.4" in text
    assert d.derived["table.w.tool.p50_ms"].value == 10.085
    assert d.derived["table.w.harness.throughput_ops_s"].provenance.query.endswith("rows[workload=w].throughput_ops_s")


def test_decision_chain_shape():
    from diagram_gen.render.decision_tree import branch_leaves, chain_tree, column_spans
    chain = _spec("decision").layout["chain"]
    assert [branch_leaves(q["if_yes"]) for q in chain] == [1, 1, 2, 2, 1, 1]
    root = chain_tree(chain)
    assert root.id == "config" and [c.id for c in root.children] == ["config.if_yes", "coordination"]
    spans = column_spans([{"if_yes": {"answer": "x"}}, {"if_yes": {"question": "q", "if_yes": {"answer": "a"},
                                                                   "if_no": {"answer": "b"}}}], 0.0, 31.0, 1.0)
    assert spans == [(0.0, 10.0), (11.0, 20.0)]


def test_performance_notes_panel_without_claims(tmp_path):
    """A spec with no figures of the spec's own to cite (sequential) draws its ``notes`` in the
    right-hand panel, each line filled ("not measured" where a figure is)."""
    spec = load_spec(REPO / "diagram_gen" / "specs" / "sequential" / "performance.yaml", REPO)
    assert not spec.claims and spec.layout.get("notes")
    figs = {k: NotMeasured(k, "test", {}) for k in spec.figures}
    figs["zk_plain_p50"] = Measured("zk_plain_p50", 3.5, "ms", PROV)
    ser = {k: NotMeasured(k, "test", {}) for k in spec.series}
    d = ResolvedDiagram(spec=spec, figures=figs, series=ser, footer=["run 20990101T000000Z-test"])
    fig = importlib.import_module("diagram_gen.render.performance_profile").render(d)
    save(fig, tmp_path / "p.svg", tmp_path / "p.png")
    text = svg_texts(tmp_path / "p.svg")
    assert "What the sequential read saves, and risks" in text
    assert "p50 3.50 ms vs not measured" in text
    assert "The spec's figures beside this host's" not in text


def test_category_values_and_median_exact():
    from diagram_gen.render.performance_profile import category_values, median
    rows = [{"condition": "normal", "ms": 0.002}, {"condition": "cut", "ms": 421.713},
            {"condition": "cut", "ms": 0.003}, {"condition": "cut", "ms": 212.466},
            {"condition": "paused", "ms": "not measured: no write was acknowledged"},
            {"condition": "normal", "ms": True}]
    got = category_values(rows, "condition", "ms", ["normal", "paused", "cut", "loss"])
    assert got == [([0.002], True), ([], True), ([421.713, 0.003, 212.466], True), ([], False)]
    assert median([421.713, 0.003, 212.466]) == 212.466
    assert median([1.0, 4.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


def test_performance_bars_beside_curves(tmp_path):
    """``layout.bars``: a bar per series and category, a cross where rows have no value, the
    legend's labels filled; a series with no rows is listed as not measured."""
    from dataclasses import replace
    from diagram_gen.render.performance_profile import render
    spec = load_spec(REPO / "diagram_gen" / "specs" / "sequential" / "performance.yaml", REPO)
    lay = {"bars": {"title": "Convergence", "x": "condition", "y": "after_heal_ms", "y_scale": "symlog",
                    "missing_label": "no write acknowledged",
                    "categories": [{"value": "normal", "label": "no fault"}, {"value": "cut", "label": "cut off"}],
                    "lines": [{"series": "a", "label": "async", "color": "#2e7d32"},
                              {"series": "b", "label": "sync", "color": "#c62828"},
                              {"series": "c", "label": "gone", "color": "#1565c0"}]},
           "curves": {"title": "t-visibility", "x": "delay_ms", "y": "p_visible",
                      "lines": [{"series": "v", "label": "ONE"}]}}
    spec = replace(spec, layout=lay, figures={}, series={k: {"from": "run_rows"} for k in "abcv"})
    ser = {"a": _rows_series("a", [{"condition": "normal", "after_heal_ms": 0.002},
                                   {"condition": "cut", "after_heal_ms": 212.5}]),
           "b": _rows_series("b", [{"condition": "normal", "after_heal_ms": 0.001},
                                   {"condition": "cut", "after_heal_ms": "not measured: no write"}]),
           "c": NotMeasured("c", "test", {}),
           "v": _rows_series("v", [{"delay_ms": 0, "p_visible": 0.9}, {"delay_ms": 1, "p_visible": 1.0}])}
    d = ResolvedDiagram(spec=spec, figures={}, series=ser, footer=["run 20990101T000000Z-test"])
    save(render(d), tmp_path / "b.svg", tmp_path / "b.png")
    text = svg_texts(tmp_path / "b.svg")
    for label in ("Convergence", "no fault", "cut off", "async", "sync", "no write acknowledged", "one trial",
                  "not measured: gone", "t-visibility", "ONE"):
        assert label in text, label
