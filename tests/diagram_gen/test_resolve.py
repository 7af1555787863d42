"""The binding resolver, kind by kind, against the tiny fixture results tree (tests/diagram_gen)."""
from __future__ import annotations

from pathlib import Path

import pytest

from diagram_gen.model import Cited, Measured, NotMeasured, Provenance, Series, format_figure
from diagram_gen.resolve import Resolver, resolve
from diagram_gen.spec import load_spec
from tests.diagram_gen import RUN_A, RUN_B, RUN_C, make_results, write_specs

FSYNC = "etcd_disk_wal_fsync_duration_seconds"


@pytest.fixture
def r(tmp_path: Path) -> Resolver:
    return Resolver(make_results(tmp_path), tmp_path)


def m(r: Resolver, b: dict) -> Measured:
    f = r.scalar("k", b)
    assert isinstance(f, Measured), getattr(f, "reason", f)
    return f


def nm(r: Resolver, b: dict) -> str:
    f = r.scalar("k", b)
    assert isinstance(f, NotMeasured), f
    return f.reason


def test_runs_newest_first_skipping_in_progress_and_non_runs(r: Resolver) -> None:
    assert r.runs == [RUN_C, RUN_B, RUN_A]


# -- summary -------------------------------------------------------------------------------------
def test_summary_shorthand_takes_the_newest_run_where_it_resolves(r: Resolver) -> None:
    f = m(r, {"from": "etcd/put/256B", "where": {"workload": "etcd-put-256B"}, "stat": "p99", "unit": "ms"})
    assert (f.value, f.unit, format_figure(f)) == (20.0, "ms", "20.0 ms")
    assert f.provenance == Provenance(RUN_B, f"results/{RUN_B}/summary.json",
                                      "rows[system=etcd,op=put,value_size=256,tool=harness,outcome=ok,"
                                      "workload=etcd-put-256B].p99_ms")


def test_summary_run_pinning(r: Resolver) -> None:
    f = m(r, {"from": "etcd/put/256B", "where": {"workload": "etcd-put-256B"}, "stat": "p99", "unit": "ms",
              "run": RUN_A})
    assert (f.value, f.provenance.run_id) == (12.5, RUN_A)


def test_summary_long_form_and_tool_override(r: Resolver) -> None:
    f = m(r, {"from": "summary", "where": {"workload": "etcd-put-256B", "tool": "etcd-benchmark", "op": "put",
                                           "outcome": "ok"}, "stat": "throughput_ops_s"})
    assert (f.value, f.unit, f.provenance.run_id) == (900.0, "ops/s", RUN_A)
    f = m(r, {"from": "etcd/put/256B", "where": {"tool": "etcd-benchmark"}, "stat": "p50", "unit": "s"})
    assert (f.value, f.unit) == (0.004, "s")
    assert f.provenance.query.endswith(".p50_ms (ms -> s)")


def test_summary_ambiguous_shorthand_is_not_measured_naming_the_candidates(r: Resolver) -> None:
    reason = nm(r, {"from": "etcd/put/256B", "stat": "p99", "run": RUN_A})
    assert f"results/{RUN_A}/summary.json: 2 rows match rows[system=etcd,op=put,value_size=256,tool=harness," \
           "outcome=ok] (workloads etcd-mixed, etcd-put-256B): narrow it with where: {workload: ...}" in reason


def test_summary_no_matching_row_names_what_was_looked_for(r: Resolver) -> None:
    reason = nm(r, {"from": "etcd/put/1MiB", "stat": "p99", "unit": "ms"})
    assert reason == ("summary from=etcd/put/1MiB, stat=p99: in none of 3 runs (newest with the file: "
                      f"results/{RUN_B}/summary.json: no row rows[system=etcd,op=put,value_size=1048576,tool=harness,"
                      "outcome=ok])")


# -- dotted-path kinds ---------------------------------------------------------------------------
def test_manifest_newest(r: Resolver) -> None:
    f = m(r, {"from": "manifest", "path": "host.fsync_latency.p99_ms", "unit": "ms"})
    assert (f.value, f.unit, f.provenance) == (3.5, "ms", Provenance(RUN_B, f"results/{RUN_B}/manifest.json",
                                                                    "host.fsync_latency.p99_ms"))
    assert m(r, {"from": "manifest", "path": "cluster.nodes"}).value == 5
    assert m(r, {"from": "manifest", "path": "software.etcd.version"}).value == "3.6.16"


def test_failure_summary_seconds_to_milliseconds(r: Resolver) -> None:
    b = {"from": "failure_summary", "scenario": "s1", "path": "partition.election.elected_after_s"}
    s = m(r, {**b, "unit": "s"})
    ms = m(r, {**b, "unit": "ms"})
    assert (s.value, s.unit, format_figure(s)) == (1.25, "s", "1.25 s")
    assert (ms.value, ms.unit, format_figure(ms)) == (1250.0, "ms", "1250 ms")
    assert ms.provenance == Provenance(RUN_A, f"results/{RUN_A}/scenarios/s1/failure_summary.json",
                                       "partition.election.elected_after_s (s -> ms)")
    assert m(r, {**b}).unit == "s"  # unit read off the field name when not given


def test_failure_summary_list_index_filter_len_share_and_scale(r: Resolver) -> None:
    base = {"from": "failure_summary", "scenario": "s1"}
    assert m(r, {**base, "path": "leader_changes[leader=n3].t_s"}).value == 11.25
    assert m(r, {**base, "path": "leader_changes.0.leader"}).value == "n1"
    assert m(r, {**base, "path": "partition.minority.len()"}).value == 2
    assert m(r, {**base, "path": "partition.minority_behaviour.writes.served"}).value is False
    pct = m(r, {**base, "path": "partition.minority_behaviour.staleness.weak.serializable.stale_share", "unit": "%"})
    assert (pct.value, pct.unit) == (25.0, "%")
    sc = m(r, {**base, "path": "late_writes.count", "scale": 10, "unit": "tenths"})
    assert (sc.value, sc.unit, sc.provenance.query) == (20, "tenths", "late_writes.count x 10")


def test_null_list_and_bad_unit_are_not_measured(r: Resolver) -> None:
    base = {"from": "failure_summary", "scenario": "s1"}
    assert "partition.minority_behaviour.writes.first_ok_after_fault_s is null" in nm(
        r, {**base, "path": "partition.minority_behaviour.writes.first_ok_after_fault_s"})
    assert "partition.minority is a list of 2 items, not a scalar" in nm(r, {**base, "path": "partition.minority"})
    assert "cannot express a value in s as MiB" in nm(
        r, {**base, "path": "partition.election.elected_after_s", "unit": "MiB"})
    assert "0 elements match [leader=n9]" in nm(r, {**base, "path": "leader_changes[leader=n9].t_s"})


def test_several_filters_on_one_segment_must_all_hold() -> None:
    from diagram_gen.sources import get_path

    rows = {"rows": [{"w": "on", "rf": 1, "delay_ms": 0, "p": 0.2}, {"w": "on", "rf": 1, "delay_ms": 1, "p": 1.0},
                     {"w": "on", "rf": 2, "delay_ms": 0, "p": 0.9}, {"w": "off", "rf": 1, "delay_ms": 0, "p": 0.0}]}
    assert get_path(rows, "rows[w=on][rf=1][delay_ms=0].p") == (0.2, None)
    assert get_path(rows, "rows[rf=2][w=on].p") == (0.9, None)
    assert get_path(rows, "rows[w=on][rf=1].p") == (None, "2 elements match [w=on][rf=1] at rows (need exactly 1)")
    assert get_path(rows, "rows[w=on][rf=3].p") == (None, "0 elements match [w=on][rf=3] at rows (need exactly 1)")
    assert get_path(rows, "rows[w=on][rf].p") == (None, "malformed filter [rf] (expected [field=value])")
    assert get_path({"rows": {"w": "on"}}, "rows[w=on][rf=1]") == (None, "filter [w=on][rf=1] needs a list at rows")
    assert get_path(rows, "rows[w=off].p") == (0.0, None)  # one filter: as before


def test_scenario_file_and_run_file(r: Resolver) -> None:
    f = m(r, {"from": "scenario_file", "scenario": "s1", "file": "availability.json", "path": "windows.0.duration_s"})
    assert (f.value, f.unit, f.provenance.file) == (30.0, "s", f"results/{RUN_A}/scenarios/s1/availability.json")
    g = m(r, {"from": "run_file", "file": "summary.json", "path": "rows.0.p50_ms", "run": RUN_B})
    assert (g.value, g.unit) == (6.0, "ms")


def test_missing_scenario_reason(r: Resolver) -> None:
    assert nm(r, {"from": "failure_summary", "scenario": "nope", "path": "late_writes.count"}) == (
        "failure_summary scenario=nope, path=late_writes.count: in none of 3 runs (newest: "
        f"results/{RUN_C}/scenarios/nope/failure_summary.json: no such file)")


def test_pinned_run_that_does_not_exist(r: Resolver) -> None:
    assert nm(r, {"from": "manifest", "path": "cluster.nodes", "run": "20990101T000000Z-x"}) == (
        "manifest path=cluster.nodes: run 20990101T000000Z-x: no such run in the results directory")


def test_no_runs_at_all(tmp_path: Path) -> None:
    r = Resolver(tmp_path / "results", tmp_path)
    assert r.scalar("k", {"from": "manifest", "path": "cluster.nodes"}).reason == (  # type: ignore[union-attr]
        "manifest path=cluster.nodes: no runs in the results directory")


# -- comparison, system_metrics, benchmark, cited ----------------------------------------------------
def test_comparison_row_with_its_origin(r: Resolver) -> None:
    f = m(r, {"from": "comparison", "where": {"metric": "write_p99", "system": "etcd"}})
    assert (f.value, f.unit, f.provenance.run_id) == (20.0, "ms", RUN_C)
    assert f.provenance.query == f"rows[metric=write_p99,system=etcd].value (from {RUN_B}/summary.json put p99)"
    assert "not measured: the suite kills no node" in nm(r, {"from": "comparison", "where": {"metric": "kill"}})


@pytest.mark.parametrize("stat,node,text,value", [
    ("p50", "leader", "≤ 1.00 ms", 1.0),
    ("p90", "leader", "≤ 2.00 ms", 2.0),
    ("p99", "leader", "≤ 4.00 ms", 4.0),
    ("p99", "n1", "≥ 8.00 ms", 8.0),     # in the +Inf bucket: only a lower bound
    ("p50", "all", "≤ 1.00 ms", 1.0),    # 60 of 120 in the first bucket
    ("p99", "all", "≥ 8.00 ms", 8.0),
    ("mean", "leader", "1.50 ms", 1.5),
])
def test_system_metrics_bucket_upper_bounds(r: Resolver, stat: str, node: str, text: str, value: float) -> None:
    f = m(r, {"from": "system_metrics", "file": "etcd_metrics.json", "workload": "etcd-put-256B", "metric": FSYNC, "stat": stat, "node": node,
              "unit": "ms"})
    assert (format_figure(f), f.value, f.unit) == (text, value, "ms")
    assert f.provenance.file == f"results/{RUN_A}/workloads/etcd-put-256B/etcd_metrics.json"


def test_system_metrics_count_query_and_missing_metric(r: Resolver) -> None:
    f = m(r, {"from": "system_metrics", "file": "etcd_metrics.json", "workload": "etcd-put-256B", "metric": FSYNC, "stat": "p99"})
    assert (f.qualifier, f.value, f.unit) == ("≤", 0.004, "s")
    assert f.provenance.query == f"nodes[n2(leader)].{FSYNC}: upper bound of the bucket holding p99 (rank 0.99 x 100)"
    assert m(r, {"from": "system_metrics", "file": "etcd_metrics.json", "workload": "etcd-put-256B", "metric": FSYNC, "stat": "count",
                 "node": "all"}).value == 120
    assert "node n2 has no metric etcd_network_peer_round_trip_time_seconds" in nm(
        r, {"from": "system_metrics", "file": "etcd_metrics.json", "workload": "etcd-put-256B", "metric": "etcd_network_peer_round_trip_time_seconds",
            "stat": "p50"})


def test_benchmark_and_cited(r: Resolver) -> None:
    f = m(r, {"from": "benchmark", "file": "checker-speed.json", "path": "totals.ops_per_s"})
    assert (f.value, f.provenance) == (12345.5, Provenance("benchmarks", "results/benchmarks/checker-speed.json",
                                                           "totals.ops_per_s"))
    c = r.scalar("t", {"cited": "default 1000 ms", "source": "https://x"})
    assert c == Cited("t", "default 1000 ms", "https://x")
    assert format_figure(c) == "default 1000 ms (cited)"


# -- series --------------------------------------------------------------------------------------
def test_history_of_a_scenario_relative_to_its_load_start(r: Resolver) -> None:
    s = r.series("ops", {"from": "history", "scenario": "s1"})
    assert isinstance(s, Series)
    assert [(o["invoke_s"], o["complete_s"], o["latency_ms"]) for o in s.rows] == [(0.5, 0.6, 200.0), (11.0, None, None)]
    assert s.provenance.file == f"results/{RUN_A}/scenarios/s1/history.jsonl.gz"
    assert "timeline.json load_start_ns=10000000000" in s.provenance.query


def _history_with_reads(tmp_path: Path, system: str, levels: list[str | None]) -> Resolver:
    import gzip
    import json

    res = make_results(tmp_path)
    run = res / RUN_A
    man = json.loads((run / "manifest.json").read_text())
    man["cluster"]["system"] = system
    (run / "manifest.json").write_text(json.dumps(man))
    rows = [{"i": k, "process": k, "node": "n1", "f": "get", "key": "k", "read_consistency": lv, "type": "ok",
             "invoke_ns": 10_500_000_000 + k, "complete_ns": 10_600_000_000, "intended_ns": None}
            for k, lv in enumerate(levels)]
    with gzip.open(run / "scenarios" / "s1" / "history.jsonl.gz", "wt") as fh:
        fh.write("".join(json.dumps(x) + "\n" for x in rows))
    return Resolver(res, tmp_path)


def test_history_reads_carry_the_class_the_runs_system_gives_their_level(tmp_path: Path) -> None:
    r = _history_with_reads(tmp_path, "cassandra", ["ONE", "QUORUM", "SERIAL", None])
    s = r.series("ops", {"from": "history", "scenario": "s1"})
    assert isinstance(s, Series)
    # Cassandra's ONE and QUORUM are weak, SERIAL strong, no level = its default read (QUORUM)
    assert [o["level_class"] for o in s.rows] == ["weak", "weak", "strong", "weak"]
    assert "reads' level_class from the cassandra plugin" in s.provenance.query


def test_a_read_level_the_runs_system_does_not_have_is_not_measured(tmp_path: Path) -> None:
    r = _history_with_reads(tmp_path, "etcd", ["linearizable", "ONE"])
    s = r.series("ops", {"from": "history", "scenario": "s1"})
    assert not isinstance(s, Series)
    assert "unknown level 'ONE' for etcd (known: linearizable, serializable)" in s.reason


def test_history_of_a_workload_relative_to_its_first_invoke(r: Resolver) -> None:
    s = r.series("ops", {"from": "history", "workload": "etcd-put-256B"})
    assert isinstance(s, Series)
    assert [(o["i"], o["invoke_s"], o["complete_s"], o["latency_ms"]) for o in s.rows] == [
        (0, 1.0, 1.01, 10.0), (1, 0.0, 0.02, 20.0), (2, 2.0, None, None)]


def test_nemesis_members_hlog_summary_rows(r: Resolver) -> None:
    n = r.series("n", {"from": "nemesis", "scenario": "s1"})
    assert isinstance(n, Series) and [(x["f"], x["at_s"], x["in_effect_s"]) for x in n.rows] == [("partition", 10.0, 0.25 + 10.0)]
    mm = r.series("m", {"from": "members", "scenario": "s1"})
    assert isinstance(mm, Series)
    assert [(x["poll"], x["node"], x["start_s"], x["end_s"], x["is_leader"]) for x in mm.rows] == [
        (0, "n1", -1.0, -0.5, True), (0, "n2", -1.0, -0.5, False)]
    h = r.series("h", {"from": "hlog", "workload": "etcd-put-256B", "file": "put.ok.hlog"})
    assert isinstance(h, Series)
    assert h.rows[0] == {"percentile": 0.0, "value_ms": 1.000447, "count": 99, "inverse_tail": 1.0}
    assert h.rows[-1] == {"percentile": 100.0, "value_ms": 10.002431, "count": 100, "inverse_tail": None}
    assert len(h.rows) == 46
    sr = r.series("s", {"from": "summary_rows", "where": {"tool": "harness"}, "run": RUN_A})
    assert isinstance(sr, Series) and [x["workload"] for x in sr.rows] == ["etcd-put-256B", "etcd-mixed"]


def test_run_rows_from_a_runs_json_file(r: Resolver) -> None:
    b = {"from": "run_rows", "file": "visibility/visibility.json", "path": "rows", "where": {"write_consistency": "ONE"}}
    s = r.series("v", b)
    assert isinstance(s, Series) and [(x["delay_ms"], x["p_visible"]) for x in s.rows] == [(0, 0.5), (10, 1.0)]
    assert s.provenance == Provenance(RUN_B, f"results/{RUN_B}/visibility/visibility.json",
                                      "rows[write_consistency=ONE]")
    assert len(r.series("v", {k: v for k, v in b.items() if k != "where"}).rows) == 3  # type: ignore[union-attr]
    miss = r.series("v", {**b, "where": {"write_consistency": "ALL"}})
    assert isinstance(miss, NotMeasured) and "no row rows[write_consistency=ALL]" in miss.reason


def test_series_not_measured_reason(r: Resolver) -> None:
    s = r.series("x", {"from": "nemesis", "scenario": "s9"})
    assert isinstance(s, NotMeasured)
    assert s.reason == f"nemesis scenario=s9: in none of 3 runs (newest: results/{RUN_C}/scenarios/s9/nemesis.jsonl: no such file)"


# -- whole diagram + footer ------------------------------------------------------------------------
def test_resolve_a_spec_with_footer_values_traced(tmp_path: Path) -> None:
    res = make_results(tmp_path)
    specs = write_specs(tmp_path)
    spec = load_spec(specs / "lin" / "failure.yaml", tmp_path)
    d = resolve(spec, res, tmp_path)
    assert sorted(d.figures) == ["put_p99", "timeout"]
    assert d.text("put_p99") == "20.0 ms" and d.text("timeout").endswith("(cited)")
    assert isinstance(d.series["ops"], Series)
    assert d.footer == [
        f"run {RUN_A}, 2026-01-01 10:00 UTC: TestCPU x 4 logical cores; 8.00 GiB RAM; data dir ext4 on /dev/sda "
        "(non-rotational); fsync p50 0.500 ms / p99 2.25 ms (measured)",
        f"run {RUN_B}, 2026-01-02 10:00 UTC: TestCPU x 4 logical cores; 8.00 GiB RAM; data dir ext4 on /dev/sda "
        "(non-rotational); fsync p50 0.500 ms / p99 3.50 ms (measured)"]
    fp = d.derived[f"footer.{RUN_A}.fsync_p99"]
    assert (fp.value, fp.unit, fp.provenance.file, fp.provenance.query) == (
        2.25, "ms", f"results/{RUN_A}/manifest.json", "host.fsync_latency.p99_ms")
    assert d.derived[f"footer.{RUN_B}.memory"].value == 8.0


def test_footer_of_a_comparison_names_its_source_runs(r: Resolver) -> None:
    lines, figs = r.footer([RUN_C])
    assert lines[0] == f"run {RUN_C}: compares etcd {RUN_B}"
    assert lines[1].startswith(f"run {RUN_B}, 2026-01-02 10:00 UTC: TestCPU x 4 logical cores")
    assert f"footer.{RUN_B}.logical_cores" in figs


def test_unit_read_off_a_field_name_followed_by_statistic_words() -> None:
    from diagram_gen.resolve import source_unit_of

    assert source_unit_of("superseded_ms_max") == "ms"
    assert source_unit_of("stale_ms_p50") == "ms"
    assert source_unit_of("elected_after_s") == "s"
    assert source_unit_of("versions_behind_max") is None  # a count, not a duration
    assert source_unit_of("max") is None


def test_scenario_runs_one_row_per_run_that_has_the_scenario(r: Resolver) -> None:
    s = r.series("k", {"from": "scenario_runs", "scenario": "s1",
                       "fields": {"elected": "partition.election.elected_after_s", "late": "late_writes.count",
                                  "absent": "partition.no_such_field"}})
    assert isinstance(s, Series), s
    assert s.rows == ({"run_id": RUN_A, "provider": "netns", "partitions_via": "iptables",
                       "file": f"results/{RUN_A}/scenarios/s1/failure_summary.json",
                       "elected": 1.25, "late": 2, "absent": None},)
    assert s.provenance.run_id == RUN_A and s.provenance.query.endswith("late = late_writes.count; "
                                                                        "absent = partition.no_such_field")
    none = r.series("k", {"from": "scenario_runs", "scenario": "nope", "fields": {"x": "a"}})
    assert isinstance(none, NotMeasured) and "no run has scenarios/nope/failure_summary.json" in none.reason


def test_run_compared_reads_the_run_the_newest_comparison_names(r: Resolver) -> None:
    f = m(r, {"from": "manifest", "path": "host.fsync_latency.p99_ms", "run_compared": "etcd"})
    assert (f.value, f.provenance.run_id) == (3.5, RUN_B)  # RUN_C compares etcd = RUN_B
    assert "no comparison run compares a 'cassandra' run" in nm(r, {"from": "manifest", "path": "host.cpu_model",
                                                                   "run_compared": "cassandra"})


def test_compares_narrows_comparison_runs_to_exactly_those_systems(tmp_path: Path) -> None:
    """A newer comparison of other systems (here etcd beside zookeeper, D) is not taken for
    the etcd-only comparison C when a binding says ``compares``; without it, it is."""
    from tests.diagram_gen import _w

    res = make_results(tmp_path)
    run_d = "20260104T100000Z-comparison"
    _w(res / run_d / "manifest.json", {"run_id": run_d, "kind": "comparison",
                                       "source_runs": {"etcd": RUN_A, "zookeeper": RUN_A}})
    _w(res / run_d / "comparison.json", {"rows": [{"metric": "write_p99", "system": "etcd", "value": 7.0,
                                                   "unit": "ms"}]})
    rr = Resolver(res, tmp_path)
    cell = {"from": "comparison", "where": {"metric": "write_p99", "system": "etcd"}}
    assert m(rr, cell).provenance.run_id == run_d
    pair = m(rr, {**cell, "compares": ["etcd", "zookeeper"]})
    assert (pair.value, pair.provenance.run_id) == (7.0, run_d)
    assert m(rr, {"from": "manifest", "path": "host.fsync_latency.p99_ms", "run_compared": "etcd"}
             ).provenance.run_id == RUN_A  # D is the newest comparison: it compares etcd = RUN_A
    assert m(rr, {"from": "manifest", "path": "host.fsync_latency.p99_ms", "run_compared": "etcd",
                  "compares": ["etcd", "zookeeper"]}).provenance.run_id == RUN_A
    assert "no comparison run compares a 'etcd' run" in nm(rr, {"from": "manifest", "path": "host.cpu_model",
                                                               "run_compared": "etcd",
                                                               "compares": ["etcd", "cassandra"]})
    assert "no comparison run of exactly etcd, cassandra" in nm(rr, {**cell, "compares": ["etcd", "cassandra"]})


# -- damaged runs: refused, named, never a fallback to an older run ------------------------------------
BINDING = {"from": "etcd/put/256B", "where": {"workload": "etcd-put-256B"}, "stat": "p99", "unit": "ms"}


def test_incomplete_runs_are_not_runs_and_a_run_without_manifest_is_damaged(tmp_path: Path) -> None:
    res = make_results(tmp_path)
    (res / f"20260104T100000Z-etcd.incomplete").mkdir()
    (res / "20260105T100000Z-etcd").mkdir()
    r = Resolver(res, tmp_path)
    assert r.runs == ["20260105T100000Z-etcd", RUN_C, RUN_B, RUN_A]
    assert list(r.check_runs()) == ["20260105T100000Z-etcd"]
    assert r.damaged == {"results/20260105T100000Z-etcd/manifest.json": "missing"}
    assert nm(r, BINDING).endswith("run 20260105T100000Z-etcd is damaged: results/20260105T100000Z-etcd/manifest.json: "
                                   "missing (refused: no figure is taken from an older run instead)")


@pytest.mark.parametrize("text,reason", [
    ('{"rows": [', "not valid JSON"),
    ("[]", "must be an object at the top, got a list"),
    ('{"rows": {}}', "field 'rows' must be a list, got an object"),
    ('{"rows": [3]}', "rows[0] must be an object, got an integer"),
])
def test_a_damaged_summary_in_the_newest_run_stops_the_walk(tmp_path: Path, text: str, reason: str) -> None:
    res = make_results(tmp_path)
    (res / RUN_B / "summary.json").write_text(text)
    r = Resolver(res, tmp_path)
    why = nm(r, BINDING)   # RUN_A has the row: the walk must not reach it
    assert f"run {RUN_B} is damaged: results/{RUN_B}/summary.json: {reason}" in why
    assert r.damaged == {f"results/{RUN_B}/summary.json": r.damaged[f"results/{RUN_B}/summary.json"]}
    assert reason in r.damaged[f"results/{RUN_B}/summary.json"]


def test_a_run_the_binding_does_not_apply_to_is_passed_over(r: Resolver) -> None:
    """RUN_B lacks the mixed workload's row: not damage, the walk moves on to RUN_A."""
    f = m(r, {"from": "etcd/put/256B", "where": {"workload": "etcd-mixed"}, "stat": "p99", "unit": "ms"})
    assert f.provenance.run_id == RUN_A and r.damaged == {}


@pytest.mark.parametrize("damage,reason", [
    (lambda p: p.write_bytes(p.read_bytes()[:20]), "truncated gzip stream"),
    (lambda p: p.write_bytes(b"not gzip at all"), "unreadable after line 0"),
])
def test_a_damaged_history_is_not_measured_naming_the_file(tmp_path: Path, damage, reason: str) -> None:  # type: ignore[no-untyped-def]
    res = make_results(tmp_path)
    damage(res / RUN_A / "scenarios" / "s1" / "history.jsonl.gz")
    r = Resolver(res, tmp_path)
    s = r.series("ops", {"from": "history", "scenario": "s1"})
    assert isinstance(s, NotMeasured)
    assert f"run {RUN_A} is damaged: results/{RUN_A}/scenarios/s1/history.jsonl.gz: {reason}" in s.reason
    assert list(r.damaged) == [f"results/{RUN_A}/scenarios/s1/history.jsonl.gz"]


def test_footer_names_the_host_of_each_run_and_of_a_comparison(r: Resolver) -> None:
    lines, figs = r.footer([RUN_C])
    host = "4 logical cores, TestCPU, disk /dev/sda (non-rotational)"
    assert figs[f"footer.{RUN_B}.host"].value == host
    c = figs[f"footer.{RUN_C}.host"]
    assert (c.value, c.provenance.run_id) == (host, RUN_B)
    assert c.provenance.query.endswith(f"(the host of every run {RUN_C} compares: etcd {RUN_B})")
