"""Issue 14's implementation diagrams: one statistic of a series column (shaping.series_stats),
several filters on one path segment (sources.get_path), and the architecture renderer's lanes,
``stats``, member labels and election title. Exact values on tiny hand-made inputs; no results/
are read."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from diagram_gen.model import Measured, NotMeasured, Provenance, ResolvedDiagram, Series
from diagram_gen.render.boxes import Box
from diagram_gen.render.common import save
from diagram_gen.shaping.series_stats import column_stat, column_values
from diagram_gen.sources import get_path
from diagram_gen.spec import parse_spec

PROV = Provenance("20260101T000000Z-test", "results/20260101T000000Z-test/x.json", "rows")

# one standby polled four times (the second before the window, the last inside it)
POLLS = [
    {"node": "n1", "is_leader": True, "start_s": 0.5, "replay_delay_s": None},
    {"node": "n2", "is_leader": False, "start_s": -0.5, "replay_delay_s": 2.25},
    {"node": "n2", "is_leader": False, "start_s": 0.5, "replay_delay_s": 0.004},
    {"node": "n2", "is_leader": False, "start_s": 1.5, "replay_delay_s": 0.01},
    {"node": "n2", "is_leader": False, "start_s": 2.5, "replay_delay_s": 0.006},
    {"node": "n3", "is_leader": False, "start_s": 0.5, "replay_delay_s": "not measured: down"},
]


# -- series_stats ------------------------------------------------------------------------------------
def test_column_values_where_and_window():
    assert column_values(POLLS, "replay_delay_s") == [2.25, 0.004, 0.01, 0.006]
    assert column_values(POLLS, "replay_delay_s", {"is_leader": False}, ("start_s", 0.0, 2.0)) == [0.004, 0.01]
    assert column_values(POLLS, "replay_delay_s", None, ("start_s", None, 0.0)) == [2.25]
    assert column_values(POLLS, "replay_delay_s", None, ("start_s", 1.5, None)) == [0.01, 0.006]


@pytest.mark.parametrize("stat,expected", [("count", 3), ("min", 0.004), ("max", 0.01), ("median", 0.006),
                                           ("mean", (0.004 + 0.01 + 0.006) / 3)])
def test_column_stat_exact(stat, expected):
    assert column_stat(POLLS, "replay_delay_s", stat, {"node": "n2"}, ("start_s", 0.0, None)) == expected


def test_column_stat_of_nothing():
    assert column_stat(POLLS, "replay_delay_s", "max", {"node": "n3"}) is None
    assert column_stat(POLLS, "replay_delay_s", "count", {"node": "n3"}) == 0
    assert column_stat([{"v": True}, {"v": 2}], "v", "count") == 1          # booleans are not numbers
    with pytest.raises(ValueError, match="unknown statistic 'p99'"):
        column_stat(POLLS, "replay_delay_s", "p99")


# -- get_path: several filters on one segment -----------------------------------------------------------
ROWS = {"rows": [{"level": "on", "rf": 1, "delay_ms": 0, "visible": 6},
                 {"level": "on", "rf": 2, "delay_ms": 0, "visible": 30},
                 {"level": "on", "rf": 1, "delay_ms": 1, "visible": 29}]}


def test_get_path_filters_together():
    assert get_path(ROWS, "rows[level=on][rf=1][delay_ms=0].visible") == (6, None)
    assert get_path(ROWS, "rows[rf=2].visible") == (30, None)
    v, err = get_path(ROWS, "rows[level=on][rf=1].visible")
    assert v is None and err == "2 elements match [level=on][rf=1] at rows (need exactly 1)"
    v, err = get_path(ROWS, "rows[level=on][rf].visible")
    assert v is None and err == "malformed filter [rf] (expected [field=value])"


# -- architecture: lanes, stats, panel labels ------------------------------------------------------------
def _spec(layout: dict, figures: dict):
    return parse_spec({"id": "G-TEST", "guarantee": "eventual", "kind": "implementation", "type": "architecture",
                       "title": "t", "purpose": "p", "figures": figures, "series": {"polls": {
                           "from": "members", "scenario": "s"}}, "layout": layout}, "specs/eventual/implementation.yaml")


STATS_LAYOUT = {
    "derived": ["lag_max", "lag_med", "lag_n", "lag_open", "lag_unknown"],
    "stats": {
        "lag_max": {"series": "polls", "column": "replay_delay_s", "stat": "max", "unit": "ms",
                    "where": {"is_leader": False}, "window": {"column": "start_s", "from": 0, "to": "kill_at"}},
        "lag_med": {"series": "polls", "column": "replay_delay_s", "stat": "median",
                    "window": {"column": "start_s", "from": 0, "to": "kill_at"}},
        "lag_n": {"series": "polls", "column": "replay_delay_s", "stat": "count", "window": {"column": "start_s",
                                                                                             "from": "kill_at"}},
        "lag_open": {"series": "polls", "column": "replay_delay_s", "stat": "max"},
        "lag_unknown": {"series": "polls", "column": "replay_delay_s", "stat": "max",
                        "window": {"column": "start_s", "to": "gone"}},
    },
}
STATS_FIGURES = {"kill_at": {"from": "manifest", "path": "x"}, "gone": {"from": "manifest", "path": "y"}}


def _resolved(layout: dict, figures: dict, kill_at: Measured) -> ResolvedDiagram:
    spec = _spec(layout, figures)
    figs = {"kill_at": kill_at, "gone": NotMeasured("gone", "test", {})}
    return ResolvedDiagram(spec=spec, figures=figs, series={"polls": Series("polls", tuple(POLLS), PROV)}, footer=[])


def test_derive_stats_exact():
    from diagram_gen.render.architecture import derive_stats
    d = _resolved(STATS_LAYOUT, STATS_FIGURES, Measured("kill_at", 2000.0, "ms", PROV))   # 2 s, in ms
    derive_stats(d)
    assert (d.value("lag_max"), d.figure("lag_max").unit) == (10.0, "ms")
    assert (d.value("lag_med"), d.figure("lag_med").unit) == (0.007, "s")
    assert (d.value("lag_n"), d.figure("lag_n").unit) == (1, None)
    assert d.value("lag_open") == 2.25
    assert isinstance(d.figure("lag_unknown"), NotMeasured)
    assert d.derived["lag_max"].derived == ("max of replay_delay_s over rows[is_leader=False] with start_s in "
                                            "[0 = 0.0, kill_at = 2.0] (s -> ms)")
    assert d.derived["lag_max"].provenance.run_id == PROV.run_id


def test_derive_stats_window_bound_in_another_dimension_is_not_measured():
    from diagram_gen.render.architecture import derive_stats
    d = _resolved(STATS_LAYOUT, STATS_FIGURES, Measured("kill_at", 2.0, "B", PROV))
    derive_stats(d)
    assert isinstance(d.figure("lag_max"), NotMeasured) and isinstance(d.figure("lag_n"), NotMeasured)
    assert d.value("lag_open") == 2.25


def test_lane_boxes_exact():
    from diagram_gen.render.architecture import lane_boxes
    assert lane_boxes([2, 3], 0.0, 30.0, (40.0, 10.0), 8.0, 3.0) == [
        [Box(0.0, 40.0, 13.5, 8.0), Box(16.5, 40.0, 13.5, 8.0)],
        [Box(0.0, 10.0, 8.0, 8.0), Box(11.0, 10.0, 8.0, 8.0), Box(22.0, 10.0, 8.0, 8.0)]]
    with pytest.raises(ValueError, match="3 lanes but room for 2"):
        lane_boxes([1, 1, 1], 0.0, 30.0, (40.0, 10.0), 8.0, 3.0)


def test_architecture_draws_lanes_and_panel_labels(tmp_path: Path):
    from diagram_gen.render.architecture import render
    layout = dict(STATS_LAYOUT)
    layout.update({
        "legend": "legend {lag_n}",
        "lanes": [{"title": "Stream lane {lag_max}", "steps": [{"id": "a", "title": "① First", "lines": ["max {lag_max}"]},
                                                               {"id": "b", "title": "② Second", "lines": ["x"]}]},
                  {"title": "Repair lane", "steps": [{"id": "c", "title": "① Hints", "lines": ["{gone}"]}]}],
        "end_to_end": {"title": "End to end {lag_open}", "lines": ["e2e"]},
        "cluster": {"title": "Panel", "members": ["primary", "standbys"], "lines": ["n {nodes}"],
                    "election_title": "Redis min-replicas", "election": ["e"]},
    })
    figures = dict(STATS_FIGURES, nodes={"from": "manifest", "path": "z"})
    d = _resolved(layout, figures, Measured("kill_at", 2.0, "s", PROV))
    d.figures["nodes"] = Measured("nodes", 3, None, PROV)
    save(render(d), tmp_path / "a.svg", tmp_path / "a.png")
    text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", (tmp_path / "a.svg").read_text(encoding="utf-8")))
    for want in ("Stream lane 10.0 ms", "max 10.0 ms", "Repair lane", "① Hints", "not measured", "legend 1",
                 "End to end 2.25 s", "primary", "standbys", "Redis min-replicas"):
        assert want in text, want
    assert "Leader election" not in text and "followers" not in text
