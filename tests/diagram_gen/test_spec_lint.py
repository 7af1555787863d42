"""Spec validation (one ConfigError naming file, field, reason) and the literal-number lint."""
from __future__ import annotations

from pathlib import Path

import pytest

from diagram_gen.lint import Problem, lint_data, lint_file, units_in
from diagram_gen.spec import load_spec
from harness.errors import ConfigError
from tests.diagram_gen import spec_text

FILE = "specs/lin/failure.yaml"


def write(tmp_path: Path, text: str, kind: str = "failure", guarantee: str = "lin") -> Path:
    p = tmp_path / "specs" / guarantee / f"{kind}.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def fails(tmp_path: Path, text: str, kind: str = "failure") -> ConfigError:
    with pytest.raises(ConfigError) as e:
        load_spec(write(tmp_path, text, kind), tmp_path)
    assert e.value.file == f"specs/lin/{kind}.yaml"
    return e.value


def test_load_cited_claim(tmp_path: Path) -> None:
    claims = "  - {id: c1, text: \"spec's p99\", status: cited, figure: put_p99, cited: timeout, spec_host: timeout}\n"
    s = load_spec(write(tmp_path, spec_text("failure", "failure_scenario", claims=claims)), tmp_path)
    c = s.claims[0]
    assert (c.status, c.figure, c.cited, c.spec_host, c.holds_if) == ("cited", "put_p99", "timeout", "timeout", None)


def test_load_valid_spec(tmp_path: Path) -> None:
    claims = ("  - {id: c1, text: \"writes never committed\", status: corrected, figure: late, holds_if: {eq: 0},"
              " spec_ref: \"G-LIN-FAILURE x\"}\n")
    text = spec_text("failure", "failure_scenario", claims=claims,
                     layout="  derived: [late]\n  note: \"{late} late writes, {put_p99}\"\n")
    s = load_spec(write(tmp_path, text), tmp_path)
    assert (s.id, s.guarantee, s.kind, s.type, s.source_file) == (
        "G-LIN-FAILURE", "lin", "failure", "failure_scenario", FILE)
    assert sorted(s.figures) == ["put_p99", "timeout"] and list(s.series) == ["ops"]
    assert s.claims[0].holds_if == {"eq": 0} and s.claims[0].spec_ref == "G-LIN-FAILURE x"
    assert s.layout["derived"] == ["late"]


@pytest.mark.parametrize("mutate,field,reason", [
    (lambda t: t + "colour: red\n", "colour", "unknown field"),
    (lambda t: t.replace("type: failure_scenario", "type: timeline"), "type",
     "a 'failure' diagram is a 'failure_scenario', not 'timeline'"),
    (lambda t: t.replace("type: failure_scenario", "type: pie"), "type", "one of timeline"),
    (lambda t: t.replace("guarantee: lin", "guarantee: other"), "guarantee", "but the file is in specs/lin/"),
    (lambda t: t.replace("from: etcd/put/256B", "from: summry"), "figures.put_p99.from", "unknown binding kind 'summry'"),
    (lambda t: t.replace("from: etcd/put/256B", "from: etcd/put/256X"), "figures.put_p99.from", "malformed shorthand"),
    (lambda t: t.replace(", stat: p99", ""), "figures.put_p99.stat", "required for a 'summary shorthand' binding"),
    (lambda t: t.replace("stat: p99", "stat: p99, colour: 1"), "figures.put_p99.colour", "unknown field"),
    (lambda t: t.replace(", source: \"https://etcd.io/docs/v3.5/tuning/\"", ""), "figures.timeout.source", "required"),
    (lambda t: t.replace("{from: history, scenario: s1}", "{from: history}"), "series.ops.scenario",
     "needs a scenario or a workload"),
    (lambda t: t.replace("{from: history, scenario: s1}", "{from: manifest, path: x}"), "series.ops.from",
     "a scalar binding: put it under 'figures'"),
    (lambda t: t.replace("{from: history, scenario: s1}", "{from: nemesis}"), "series.ops.scenario", "required"),
    (lambda t: t + "layout:\n  note: \"{nope}\"\n", "layout.note", "placeholder {nope} names no figure"),
    (lambda t: t.replace('title: "Test {put_p99}"', 'title: "Test {p99}"'), "title", "placeholder {p99} names no figure"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: asserted, figure: nope, holds_if: {eq: 0}}\n",
     "claims.0.figure", "'nope' names no figure"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: maybe, figure: put_p99, holds_if: {eq: 0}}\n",
     "claims.0.status", "asserted, corrected or cited, got 'maybe'"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: asserted, figure: put_p99}\n",
     "claims.0.holds_if", "required for an asserted claim"),
    # cited claims: the spec's figure and host, both citations; never a holds_if
    (lambda t: t + "claims:\n  - {id: c, text: t, status: cited, figure: put_p99, cited: timeout, spec_host: timeout,"
                   " holds_if: {le: 5}}\n", "claims.0.holds_if", "a cited claim is not judged"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: cited, figure: put_p99, spec_host: timeout}\n",
     "claims.0.cited", "required for a cited claim"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: cited, figure: put_p99, cited: timeout}\n",
     "claims.0.spec_host", "required for a cited claim"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: cited, figure: put_p99, cited: put_p99, spec_host: timeout}\n",
     "claims.0.cited", "'put_p99' names no figure bound as a citation"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: corrected, figure: put_p99, holds_if: {le: 5}, cited: timeout}\n",
     "claims.0.cited", "only a cited claim names cited"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: asserted, figure: put_p99, holds_if: {around: 3}}\n",
     "claims.0.holds_if.around", "unknown operator"),
    (lambda t: t + "claims:\n  - {id: c, text: t, status: asserted, figure: put_p99, holds_if: {between: [5, 1]}}\n",
     "claims.0.holds_if.between", "low <= high"),
    (lambda t: t.replace("figures:\n", "figures:\n  fifteen: 15\n"), "figures.fifteen",
     "numeric literal 15 where a measurement is expected"),
    (lambda t: t.replace("figures:\n", "figures:\n  p: {value: 15, unit: ms}\n"), "figures.p",
     "literal value: 15 where a measurement is expected"),
])
def test_invalid_specs_name_file_field_reason(tmp_path: Path, mutate, field: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    e = fails(tmp_path, mutate(spec_text("failure", "failure_scenario")))
    assert e.field == field
    assert reason in e.reason
    assert str(e).startswith(f"{FILE}: field '{field}': ")


@pytest.mark.parametrize("layout, reason", [
    ("", "required: the name of the rule that picks the window, one of divergence-then-convergence, "
         "stale-session-read, stale-session-read-in-minority, "
         "stale-weak-read-in-minority, stalest-weak-read, got None"),
    ("  window_rule: first stale read\n", "stalest-weak-read, got 'first stale read'"),
])
def test_a_timeline_names_a_registered_window_rule(tmp_path: Path, layout: str, reason: str) -> None:
    text = spec_text("concept", "timeline", layout=layout or "  window_rule: null\n")
    e = fails(tmp_path, text, "concept")
    assert e.field == "layout.window_rule" and reason in e.reason
    ok = load_spec(write(tmp_path, spec_text("concept", "timeline"), "concept"), tmp_path)
    assert ok.layout["window_rule"] == "stale-weak-read-in-minority"


@pytest.mark.parametrize("binding, field, reason", [
    ("{from: system_metrics, workload: w, metric: m, stat: p99}", "figures.x.file", "required"),
    ("{from: system_metrics, file: ../m.json, workload: w, metric: m, stat: p99}", "figures.x.file",
     "the metrics file's name in the workload's directory (e.g. <system>_metrics.json), got '../m.json'"),
    ("{from: system_metrics, file: m.json, workload: w, metric: m, stat: p42}", "figures.x.stat",
     "one of p50, p90, p99, p999, mean, count, sum, got 'p42'"),
    ("{from: etcd_metrics, file: m.json, workload: w, metric: m, stat: p99}", "figures.x.from",
     "unknown binding kind 'etcd_metrics'"),
])
def test_system_metrics_bindings_name_their_file(tmp_path: Path, binding: str, field: str, reason: str) -> None:
    e = fails(tmp_path, spec_text("failure", "failure_scenario", figures=f"  x: {binding}\n"))
    assert e.field == field and reason in e.reason


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    text = spec_text("failure", "failure_scenario").replace(
        "figures:\n", "figures:\n  put_p99: {from: manifest, path: host.fsync_latency.p99_ms}\n")
    e = fails(tmp_path, text)
    assert (e.field, e.reason) == ("put_p99", "duplicate key at line 9: each key may appear once")


def test_file_name_must_be_its_kind(tmp_path: Path) -> None:
    e = fails(tmp_path, spec_text("failure", "failure_scenario"), kind="concept")
    assert (e.field, e.reason) == ("kind", "'failure' but the file is named concept.yaml")


# -- the literal-number lint ---------------------------------------------------------------------
@pytest.mark.parametrize("text,found", [
    ("write p99 15ms", ["15ms"]), ("2 s timeout", ["2 s"]), ("10K/sec writes", ["10K/sec"]), ("99% of reads", ["99%"]),
    ("1 MiB values", ["1 MiB"]), ("3x faster", ["3x"]), ("election 150-300ms", ["300ms"]), ("~15 ms", ["~15 ms"]),
    ("1,000 ops/s", ["1,000 ops/s"]), ("after 1.6s.", ["1.6s"]),
    # not findings: counts without unit, identifiers with digits, placeholders
    ("5 nodes", []), ("p99 latency", []), ("etcd-put-256B", []), ("v3.5 docs", []), ("n3 and n5", []),
    ("{put_p99} at p99", []), ("etcd 3.6.16", []), ("32 clients on 2 sides", []),
])
def test_units_in(text: str, found: list[str]) -> None:
    assert units_in(text) == found


def test_lint_finds_units_and_literals_with_field_paths() -> None:
    data = {
        "title": "write p99 15ms", "purpose": "ok {x}", "key_insight": "elected in 2 s",
        "figures": {"x": {"from": "manifest", "path": "a", "label": "about 3 ms"}, "y": 15, "z": {"value": 7},
                    "c": {"cited": "default 1000 ms, 10x the RTT", "source": "https://x"}},
        "series": {"s": {"from": "history", "scenario": "s1", "label": "ops at 100 ops/s"}},
        "claims": [{"id": "c", "text": "p99 ~15ms", "status": "corrected", "figure": "x", "holds_if": {"lt": 15}}],
        "layout": {"steps": [{"lines": ["fine {x}", "fsync 10ms (NVMe)"]}], "latency_ms": 15, "x": 0.5,
                   "box": {"p99": 3}, "nodes 5": "ok"},
    }
    got = lint_data(data, "f.yaml")
    assert [(p.field, p.reason.split(":")[0]) for p in got] == [
        ("figures.x.label", "number with a unit '3 ms' outside a cited"),
        ("figures.y", "numeric literal 15 where a measurement is expected"),
        ("figures.z", "literal value"),
        ("key_insight", "number with a unit '2 s' outside a cited"),
        ("layout.box.p99", "numeric literal 3 where a measurement is expected"),
        ("layout.latency_ms", "numeric literal 15 where a measurement is expected"),
        ("layout.steps.0.lines.1", "number with a unit '10ms' outside a cited"),
        ("series.s.label", "number with a unit '100 ops/s' outside a cited"),
        ("title", "number with a unit '15ms' outside a cited"),
    ]
    assert str(got[-1]).startswith("f.yaml: title: number with a unit '15ms'")


def test_lint_clean_spec_has_no_findings(tmp_path: Path) -> None:
    p = write(tmp_path, spec_text("failure", "failure_scenario",
                                  layout="  note: \"5 nodes, p99 {put_p99}, workload etcd-put-256B\"\n  x: 0.5\n"))
    assert lint_file(p, tmp_path) == []


def test_lint_file_reports_unreadable_yaml(tmp_path: Path) -> None:
    p = write(tmp_path, "id: [unclosed\n")
    got = lint_file(p, tmp_path)
    assert len(got) == 1 and got[0].field == "(syntax)" and got[0].file == FILE
    assert isinstance(got[0], Problem)


@pytest.mark.parametrize("binding, reason", [
    ("{from: comparison, where: {metric: m}, compares: etcd}", "a list of two or more distinct system names"),
    ("{from: comparison, where: {metric: m}, compares: [etcd]}", "a list of two or more distinct system names"),
    ("{from: comparison, where: {metric: m}, compares: [etcd, etcd]}", "a list of two or more distinct system names"),
    ("{from: manifest, path: p, compares: [etcd, cassandra]}", "only for from: comparison or with run_compared"),
    ("{from: comparison, where: {metric: m}, run: 20260101T000000Z-c, compares: [etcd, cassandra]}",
     "run: names one run already"),
])
def test_compares_is_a_list_of_systems_for_comparison_runs(tmp_path: Path, binding: str, reason: str) -> None:
    e = fails(tmp_path, spec_text("failure", "failure_scenario", figures=f"  x: {binding}\n"))
    assert e.field == "figures.x.compares" and reason in e.reason
    ok = spec_text("failure", "failure_scenario", title="Test {x}",
                   figures="  x: {from: manifest, path: p, run_compared: etcd, compares: [etcd, cassandra]}\n")
    assert load_spec(write(tmp_path, ok), tmp_path).figures["x"]["compares"] == ["etcd", "cassandra"]
