"""Renderers timeline (G-LIN-CONCEPT) and failure_scenario (G-LIN-FAILURE): expected labels in
the SVG, "not measured" where data is missing, byte-identical output, and a render of the
committed runs through the real spec and resolver."""
from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest

from harness.registry import level_class
from diagram_gen.model import Measured, NotMeasured, Provenance, ResolvedDiagram, Series
from diagram_gen.render import failure_scenario, timeline
from diagram_gen.render.common import save
from diagram_gen.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "diagram_gen" / "specs" / "linearizability"
PROV = Provenance("20990101T000000Z-test", "results/test/file.json", "test")


def row(i, process, node, f, key, value=None, invoke=0.0, complete=0.0, type="ok", result=None, rc=None,
        error=None):
    return {"i": i, "process": process, "node": node, "f": f, "key": key, "value": value,
            "read_consistency": rc if f == "get" else None, "invoke_s": invoke, "complete_s": complete,
            "latency_ms": (complete - invoke) * 1e3, "type": type, "result": result, "error": error,
            "revision": None, **({"level_class": level_class(rc, "etcd")} if f == "get" else {})}


NEMESIS = (
    {"process": "nemesis", "f": "partition", "type": "ok", "at_s": 1.0, "in_effect_s": 1.05,
     "value": {"groups": [["n1", "n4"], ["n2", "n3", "n5"]], "labels": ["minority", "majority"]}},
    {"process": "nemesis", "f": "heal", "type": "ok", "at_s": 9.0, "in_effect_s": 9.1,
     "value": {"groups": [["n1", "n4"], ["n2", "n3", "n5"]]}},
)
OPS = (
    row(1, 1, "n2", "put", "k", "1:1", 1.10, 1.11),
    row(2, 2, "n3", "put", "k", "2:1", 1.20, 1.21),
    row(3, 3, "n5", "get", "k", None, 1.22, 1.23, result="2:1", rc="linearizable"),
    row(4, 1000000001, "n1", "get", "k", None, 1.25, 1.251, result="1:1", rc="serializable"),
    row(5, 4, "n4", "get", "j", None, 1.0, 3.0, type="info", error="timeout", rc="linearizable"),
    row(6, 1, "n2", "put", "k", "1:2", 1.3, 3.3, type="info", error="timeout"),
    row(7, 3, "n5", "put", "k", "3:1", 4.0, 4.01),
    row(8, 3, "n5", "get", "k", None, 4.5, 4.51, result="3:1", rc="linearizable"),
    row(9, 3, "n5", "get", "k", None, 9.5, 9.51, result="1:2", rc="linearizable"),
    row(10, 1000000002, "n4", "get", "k", None, 9.6, 9.61, result="1:2", rc="serializable"),
    row(11, 2, "n3", "cas", "k", ["x", "y"], 5.0, 5.01, type="fail", error="cas_mismatch"),
)


def resolved(kind: str, measured: dict, series: dict) -> ResolvedDiagram:
    """The real spec file, with figures/series replaced: keys in ``measured`` are Measured,
    every other figure NotMeasured; ``series`` maps key -> rows or None (NotMeasured)."""
    spec = load_spec(SPECS / f"{kind}.yaml", REPO)
    figs = {}
    for k in spec.figures:
        if k in measured:
            v, unit = measured[k]
            figs[k] = Measured(k, v, unit, PROV)
        else:
            figs[k] = NotMeasured(k, "not in this test", {})
    ser = {}
    for k in spec.series:
        rows = series.get(k)
        ser[k] = Series(k, tuple(rows), PROV) if rows is not None else NotMeasured(k, "not in this test", {})
    return ResolvedDiagram(spec=spec, figures=figs, series=ser, footer=["run 20990101T000000Z-test (hand-made)"])


def svg_text(fig, tmp_path: Path, name: str) -> str:
    """Save, then return every text element of the SVG joined by spaces, whitespace collapsed
    (a wrapped line is several elements; text stays text: svg.fonttype = none)."""
    save(fig, tmp_path / f"{name}.svg", tmp_path / f"{name}.png")
    svg = (tmp_path / f"{name}.svg").read_text(encoding="utf-8")
    parts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)<", svg)]
    return " ".join(" ".join(parts).split())


def concept(measured=None, series=None) -> ResolvedDiagram:
    m = {"fault_at": (1.05, "s"), "heal_started": (9.0, "s"), "leader_at_fault": ("n1", None),
         "ser_stale": (1, None), "ser_served": (2, None)}
    m.update(measured or {})
    s = {"ops": OPS, "nemesis": NEMESIS} if series is None else series
    return resolved("concept", m, s)


def failure(measured=None, series=None) -> ResolvedDiagram:
    m = {"fault_at": (1.05, "s"), "heal_started": (9.0, "s"), "heal_at": (9.1, "s"), "elected_after": (0.5, "s"),
         "elected_not_before": (0.2, "s"), "stepped_down_after": (0.8, "s"), "majority_first_write": (1.5, "s"),
         "full_service_after": (0.6, "s"), "majority_write_gap": (1.55, "s"), "late_writes": (1, None),
         "minority_writes_ok": (0, None), "new_leader": ("n2", None), "leader_at_fault": ("n1", None)}
    m.update(measured or {})
    s = {"ops": OPS, "nemesis": NEMESIS} if series is None else series
    return resolved("failure", m, s)


# -- concept ---------------------------------------------------------------------------------------

def test_concept_shows_the_window_and_its_numbers(tmp_path):
    d = concept()
    svg = svg_text(timeline.render(d), tmp_path, "c")
    # the window: write 2:1 acknowledged at 1.21, linearizable read of it, stale serializable read at 1.25
    assert d.value("window_key") == "k"
    assert d.value("write_label") == "put 2:1"
    assert d.value("stale_gap") == 40.0 and d.text("stale_gap") == "40.0 ms"
    assert d.value("stale_versions") == 1
    assert d.value("witness_with_stale") == "none exists (not linearizable)"
    assert d.value("lanes_drawn") == 5   # processes 2, 3, 1000000001, 4 (the info read on j), 1 (put 1:2)
    for label in ("IMPOSSIBLE with linearizability", "40.0 ms", "get(s) → 1:1", "put 2:1", "get → 2:1",
                  "client 1000000001 · n1 (minority)", "client 2 · n3 (majority)", "MAJORITY side",
                  "linearization point", "ms after put 2:1 was acknowledged"):
        assert label in svg, label
    # every derived value is traced to the series
    assert d.derived["stale_gap"].provenance.run_id == PROV.run_id
    assert "ops" in d.derived["stale_gap"].provenance.query or d.derived["stale_gap"].derived


def test_concept_not_measured_series(tmp_path):
    d = concept(series={"ops": None, "nemesis": NEMESIS})
    svg = svg_text(timeline.render(d), tmp_path, "nm")
    assert "not measured" in svg
    assert "the operation history (series ops) is not measured" in svg
    assert "IMPOSSIBLE" not in svg
    # box lines with unbound values print "not measured", never a default
    assert "serializable reads served: 2; stale: 1 (not measured)" in svg


def test_concept_not_measured_figure(tmp_path):
    d = concept()
    d.figures["fault_at"] = NotMeasured("fault_at", "test", {})
    svg = svg_text(timeline.render(d), tmp_path, "nmf")
    assert "the partition window (figures fault_at, heal_started) is not measured" in svg


def test_concept_no_qualifying_read(tmp_path):
    ops = tuple(r for r in OPS if r["i"] != 4)   # no stale read left
    svg = svg_text(timeline.render(concept(series={"ops": ops, "nemesis": NEMESIS})), tmp_path, "none")
    assert "no stale weak read on a minority member during the partition" in svg


def test_concept_byte_identical(tmp_path):
    for k in ("a", "b"):
        save(timeline.render(concept()), tmp_path / f"{k}.svg", tmp_path / f"{k}.png")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


# -- failure ---------------------------------------------------------------------------------------

def test_failure_shows_panels_markers_and_late_writes(tmp_path):
    d = failure()
    svg = svg_text(failure_scenario.render(d), tmp_path, "f")
    assert d.value("ops_drawn") == 11
    assert d.value("late_writes_drawn") == 1
    assert d.value("late_write_1_delay") == pytest.approx(6.2)
    assert d.value("minority_list") == "n1, n4" and d.value("majority_list") == "n2, n3, n5"
    for label in ("writes (put, cas)", "linearizable reads (default)", "serializable reads (--consistency=s)",
                  "latency from intended start", "new leader n2 elected between +0.200 s and +0.500 s",
                  "full service after the heal: +0.600 s", "Minority (n1, n4)", "Majority (n2, n3, n5)",
                  "1: put 1:2 on k via n2: first seen 6.20 s after the client gave up",
                  "late write: gave up", "Spec claims checked against this measurement"):
        assert label in svg, label
    assert svg.startswith("A B C D E F ")


def test_failure_not_measured(tmp_path):
    d = failure(measured={}, series={"ops": None, "nemesis": None})
    for k in ("fault_at", "heal_at", "heal_started", "elected_after", "elected_not_before"):
        d.figures[k] = NotMeasured(k, "test", {})
    svg = svg_text(failure_scenario.render(d), tmp_path, "fnm")
    assert svg.count("not measured") >= 10
    assert "A, B, C, D, E, F: not measured" in svg
    assert "Minority (not measured)" in svg


def test_failure_partial_markers(tmp_path):
    d = failure()
    d.figures["full_service_after"] = NotMeasured("full_service_after", "test", {})
    svg = svg_text(failure_scenario.render(d), tmp_path, "fp")
    assert "F: not measured" in svg
    assert "full service after the heal: +not measured" in svg


def test_marker_positions_and_spread():
    d = failure()
    pos = failure_scenario.marker_positions(d, d.spec.layout["markers"])
    got = [(k, round(a, 6), round(b, 6)) for k, _, a, b in pos]
    assert got == [("A", 1.05, 1.05), ("B", 1.25, 1.55), ("C", 1.85, 1.85), ("D", 2.55, 2.55),
                   ("E", 9.1, 9.1), ("F", 9.6, 9.6)]
    assert failure_scenario.spread([1.0, 1.1, 5.0], 0.5) == [1.0, 1.5, 5.0]


def test_failure_byte_identical(tmp_path):
    for k in ("a", "b"):
        save(failure_scenario.render(failure()), tmp_path / f"{k}.svg", tmp_path / f"{k}.png")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


# -- the committed reference runs through the real resolver -----------------------------------------

def _resolve(kind: str, pin: str | None = None) -> ResolvedDiagram:
    """The spec resolved against the reference runs only (results/reference-runs.txt): the
    user's own runs in results/ change nothing here."""
    import tempfile

    from diagram_gen.reference import link_runs, read_run_list
    from diagram_gen.resolve import resolve

    spec = load_spec(SPECS / f"{kind}.yaml", REPO)
    if pin:
        spec = replace(spec, figures={k: ({**b, "run": pin} if "from" in b else b) for k, b in spec.figures.items()},
                       series={k: {**b, "run": pin} for k, b in spec.series.items()})
    with tempfile.TemporaryDirectory(prefix="gbench-reference-") as tmp:
        return resolve(spec, link_runs(REPO / "results", read_run_list(), Path(tmp) / "results"), REPO)


def test_committed_failure_run(tmp_path):
    d = _resolve("failure")
    svg = svg_text(failure_scenario.render(d), tmp_path, "real-f")
    assert d.series["ops"].provenance.run_id == "20261201T185401Z-bench"
    assert d.value("late_writes_drawn") == d.value("late_writes") == 4
    assert d.value("ops_drawn") == 14000
    for label in ("+24.7 s (slowest member n1)", "no write acknowledged for 2.03 s",
                  "first seen 52.7 s after the client gave up, overwrote the newer acknowledged 10002:377",
                  "1116 stale (93.3 %)", "20261201T192252Z netns+iptables: leader 1.63 s gap 1.42 s back 0.811 s late 1"):
        assert label in svg, label


def test_committed_concept_bench_run(tmp_path):
    d = _resolve("concept", pin="20261201T185401Z-bench")
    svg = svg_text(timeline.render(d), tmp_path, "real-c")
    assert (d.value("window_key"), d.value("write_label"), d.value("stale_value")) == ("reg2", "put 10001:73", "1:65")
    assert d.text("stale_gap") == "22.2 ms"
    assert d.value("stale_versions") == 7
    assert "invoked 22.2 ms after the" in svg or "22.2 ms" in svg
    assert "1116" in svg


# -- the sequential concept (no fault; witness: sequential) and the isolated-node sides ---------------

SEQ_SPECS = REPO / "diagram_gen" / "specs" / "sequential"


def plain_get(i, process, node, key, result, invoke, complete):
    """A ZooKeeper plain read: its plugin declares the level session class."""
    return {**row(i, process, node, "get", key, None, invoke, complete, result=result), "read_consistency": "plain",
            "level_class": "session"}


SEQ_OPS = (row(1, 1, "n2", "put", "k", "1:1", 1.0, 1.1), row(2, 2, "n3", "put", "k", "2:1", 2.0, 2.1),
           plain_get(3, 3, "n4", "k", "1:1", 2.2, 2.3), plain_get(4, 4, "n1", "k", "2:1", 2.4, 2.5))
MEMBERS = tuple({"poll": 0, "node": n, "start_s": 0.0, "is_leader": n == "n5"} for n in ("n1", "n2", "n3", "n4", "n5"))


def seq_concept(series=None) -> ResolvedDiagram:
    spec = load_spec(SEQ_SPECS / "concept.yaml", REPO)
    figs = {k: Measured(k, "n5", None, PROV) if k == "leader" else NotMeasured(k, "not in this test", {})
            for k in spec.figures}
    rows = {"ops": SEQ_OPS, "members": MEMBERS} if series is None else series
    ser = {k: Series(k, tuple(rows[k]), PROV) if rows.get(k) is not None else NotMeasured(k, "test", {})
           for k in spec.series}
    return ResolvedDiagram(spec=spec, figures=figs, series=ser, footer=["run 20990101T000000Z-test (hand-made)"])


def test_sequential_concept_needs_no_fault_and_judges_the_window_both_ways(tmp_path):
    d = seq_concept()
    svg = svg_text(timeline.render(d), tmp_path, "seq")
    assert (d.value("window_key"), d.value("write_label"), d.value("returned_label")) == ("k", "put 2:1", "put 1:1")
    assert d.value("stale_gap") == 100.0 and d.value("stale_node") == "n4"
    assert d.value("window_ops_checked") == 3
    assert d.value("window_linearizable") == "no order respects real time"
    assert d.value("window_sequential") == "a sequential order exists"
    assert d.value("sequential_order") == "1. put 1:1 → 2. get → 1:1 → 3. put 2:1"
    assert "lin_read_node" not in d.figures and "lin_read_node" not in d.derived
    for label in ("NOT linearizable", "client 3 · n4 (follower)", "client 1 · n2 (follower)",
                  "place in a sequential order", "leader n5", "ms after put 2:1 was acknowledged"):
        assert label in svg, label
    for absent in ("linearization point", "(none)", "NONE side", "MAJORITY side"):
        assert absent not in svg, absent


def test_sequential_concept_without_a_stale_read_or_history(tmp_path):
    svg = svg_text(timeline.render(seq_concept({"ops": SEQ_OPS[:2] + SEQ_OPS[3:], "members": MEMBERS})),
                   tmp_path, "none")
    assert "no stale session read in the history" in svg
    svg = svg_text(timeline.render(seq_concept({"ops": None, "members": MEMBERS})), tmp_path, "nm")
    assert "the operation history (series ops) is not measured" in svg


def test_failure_isolated_node_sides_are_drawn_and_listed(tmp_path):
    nem = ({"process": "nemesis", "f": "partition", "type": "ok", "at_s": 1.0, "in_effect_s": 1.05,
            "value": {"groups": [["n1"], ["n2", "n3", "n4", "n5"]], "labels": ["isolated", "rest"]}},)
    d = failure(series={"ops": OPS, "nemesis": nem})
    svg = svg_text(failure_scenario.render(d), tmp_path, "iso")
    assert (d.value("isolated_list"), d.value("rest_list")) == ("n1", "n2, n3, n4, n5")
    assert "minority_list" not in d.derived
    assert "client on the isolated member" in svg and "client on another member" in svg
    assert "client on a minority member" not in svg


def test_failure_rings_stale_reads_when_asked(tmp_path):
    d = failure()
    d = replace(d, spec=replace(d.spec, layout={**d.spec.layout, "stale_reads": True}))
    svg = svg_text(failure_scenario.render(d), tmp_path, "stale")
    # row 4 (serializable, 1.25 s) returned 1:1 after 2:1 was acknowledged at 1.21 s: the only stale
    # read; rows 9 and 10 returned 1:2, whose write was never acknowledged: not stale
    assert d.value("stale_reads_drawn") == 1
    assert "stale: missed an acknowledged write" in svg
    plain = failure()
    failure_scenario.render(plain)
    assert "stale_reads_drawn" not in plain.derived


# -- the staleness concepts: witness none, lanes without sides, fault marks, final reads, lags ------

def _spec(layout: dict, figures: dict, series: dict):
    from diagram_gen.spec import parse_spec
    data = {"id": "G-TEST-CONCEPT", "guarantee": "eventual", "kind": "concept", "type": "timeline",
            "title": "t", "purpose": "p", "figures": figures, "series": series, "layout": layout}
    return parse_spec(data, "test.yaml")


def _weak(i, process, node, key, result, invoke, complete, final=False):
    r = {**row(i, process, node, "get", key, None, invoke, complete, result=result), "read_consistency": "replica",
         "level_class": "weak"}
    return {**r, "extra": {"final": True}} if final else r


DIV_NEM = (
    {"process": "nemesis", "f": "partition", "type": "ok", "at_s": 5.0, "in_effect_s": 5.05,
     "value": {"groups": [["n1"], ["n2", "n3"]], "labels": ["isolated", "rest"]}},
    {"process": "nemesis", "f": "promote", "type": "ok", "at_s": 7.0, "in_effect_s": 7.3, "value": {}},
    {"process": "nemesis", "f": "heal", "type": "ok", "at_s": 13.0, "in_effect_s": 13.1, "value": {}},
)
DIV_OPS = (row(1, 1, "n2", "put", "k", "1:1", 6.0, 6.1),
           row(2, 2, "n3", "get", "k", None, 7.0, 7.1, result="1:1", rc="linearizable"),
           row(3, 3, "n2", "get", "k", None, 14.0, 14.1, result=None, rc="linearizable"),
           _weak(4, 91, "n1", "k", None, 20.0, 20.01, final=True), _weak(5, 92, "n2", "k", None, 20.1, 20.11, final=True),
           _weak(6, 93, "n3", "k", None, 20.2, 20.21, final=True))


def test_divergence_concept_marks_faults_labels_final_reads_and_draws_no_witness(tmp_path):
    layout = {"window_rule": "divergence-then-convergence", "witness": "none", "lane_sides": False,
              "fault_marks": True, "read_labels": {"strong": "get(primary)", "weak": "get(replica)"},
              "derived": ["final_values", "stale_gap", "lin_read_value", "stale_value"],
              "callouts": {"stale": "after the heal: {stale_value}; finals {final_values}", "gap": "{stale_gap}"},
              "witness_note": "one key"}
    figs = {"fault_at": {"from": "failure_summary", "scenario": "s", "path": "partition.fault_at_s"},
            "heal_started": {"from": "failure_summary", "scenario": "s", "path": "partition.heal_started_at_s"}}
    spec = _spec(layout, figs, {"ops": {"from": "history", "scenario": "s"}, "nemesis": {"from": "nemesis", "scenario": "s"}})
    d = ResolvedDiagram(spec=spec, figures={"fault_at": Measured("fault_at", 5.05, "s", PROV),
                                            "heal_started": Measured("heal_started", 13.0, "s", PROV)},
                        series={"ops": Series("ops", DIV_OPS, PROV), "nemesis": Series("nemesis", DIV_NEM, PROV)},
                        footer=["run 20990101T000000Z-test (hand-made)"])
    svg = svg_text(timeline.render(d), tmp_path, "div")
    assert d.value("final_values") == "n1 absent, n2 absent, n3 absent"
    assert (d.value("stale_gap"), d.value("lin_read_value"), d.value("stale_versions")) == (7900.0, "1:1", 1)
    assert "witness_ops" not in d.derived and "witness_with_stale" not in d.derived
    for label in ("final read · n1", "final read · n3", "client 1 · n2", "promote", "heal",
                  "fault event in effect (nemesis)", "get(primary) → absent", "get(replica) → absent",
                  "after the heal: absent; finals n1 absent, n2 absent, n3 absent"):
        assert label in svg, label
    assert "partition" in svg  # the window starts at the fault
    for absent in ("linearization point", "(isolated)", "(rest)", "ISOLATED side"):
        assert absent not in svg, absent


LAG_OPS = (row(1, 1, "n2", "put", "r", "a1", 1.0, 1.1), row(2, 2, "n3", "put", "r", "a2", 2.0, 2.1),
           row(3, 1, "n2", "put", "r", "a3", 3.0, 3.1), _weak(4, 5, "n2", "r", "a1", 3.2, 3.3),
           _weak(5, 6, "n3", "r", "a3", 3.4, 3.5))


def test_stalest_read_concept_derives_the_whole_history_lag(tmp_path):
    layout = {"window_rule": "stalest-weak-read", "lag_summary": "weak",
              "derived": ["lag_reads", "lag_stale", "lag_max_versions", "lag_max_behind", "stale_superseded"],
              "boxes": [{"title": "lags", "lines": ["K = {lag_max_versions}, T = {lag_max_behind}; "
                                                    "{lag_stale} of {lag_reads}"]}]}
    spec = _spec(layout, {}, {"ops": {"from": "history", "workload": "w"}})
    d = ResolvedDiagram(spec=spec, figures={}, series={"ops": Series("ops", LAG_OPS, PROV)},
                        footer=["run 20990101T000000Z-test (hand-made)"])
    svg = svg_text(timeline.render(d), tmp_path, "lag")
    assert (d.value("lag_reads"), d.value("lag_stale"), d.value("lag_max_versions"), d.value("lag_max_behind")) == \
        (2, 1, 2, 1100.0)
    assert d.text("stale_superseded") == "1100 ms"
    assert d.value("stale_versions") == 2 and d.value("witness_ops") == 3
    assert "K = 2, T = 1100 ms; 1 of 2" in svg
    # not measured without the history
    d2 = ResolvedDiagram(spec=spec, figures={}, series={"ops": NotMeasured("ops", "test", {})}, footer=[])
    svg2 = svg_text(timeline.render(d2), tmp_path, "lag-nm")
    assert "K = not measured, T = not measured; not measured of not measured" in svg2
