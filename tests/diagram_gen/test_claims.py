"""Claim verdicts (holds / contradicted / not measured) and what --check makes of them."""
from __future__ import annotations

import pytest

from diagram_gen.claims import (CITED, CONTRADICTED, HOLDS, NOT_MEASURED, cited_entry, contradiction_entry,
                                contradictions_markdown, decide, evaluate)
from diagram_gen.model import Cited, Claim, DiagramSpec, Measured, NotMeasured, Provenance, ResolvedDiagram

PROV = Provenance("20260101T100000Z-etcd", "results/20260101T100000Z-etcd/scenarios/s1/failure_summary.json",
                  "late_writes.count")


@pytest.mark.parametrize("value,qualifier,op,arg,verdict", [
    (0, None, "eq", 0, HOLDS), (2, None, "eq", 0, CONTRADICTED), (2, None, "ne", 0, HOLDS),
    (False, None, "eq", False, HOLDS), (False, None, "eq", 0, CONTRADICTED),  # booleans are not numbers
    ("unknown", None, "eq", True, NOT_MEASURED), (0, None, "eq", False, NOT_MEASURED),  # a checker that gave up
    ("n2", None, "eq", "n2", HOLDS), ("n2", None, "lt", 3, NOT_MEASURED),
    (14.9, None, "lt", 15, HOLDS), (15, None, "lt", 15, CONTRADICTED), (15, None, "le", 15, HOLDS),
    (15.1, None, "le", 15, CONTRADICTED), (16, None, "gt", 15, HOLDS), (15, None, "gt", 15, CONTRADICTED),
    (15, None, "ge", 15, HOLDS), (1.5, None, "between", [1, 2], HOLDS), (2.5, None, "between", [1, 2], CONTRADICTED),
    # bucket bounds: decided only when the whole interval agrees
    (4.0, "≤", "lt", 5, HOLDS), (4.0, "≤", "le", 3, NOT_MEASURED), (4.0, "≤", "gt", 4, CONTRADICTED),
    (4.0, "≤", "gt", 1, NOT_MEASURED), (8.0, "≥", "gt", 5, HOLDS), (8.0, "≥", "lt", 8, CONTRADICTED),
    (8.0, "≥", "lt", 9, NOT_MEASURED), (4.0, "≤", "eq", 5, CONTRADICTED), (4.0, "≤", "eq", 3, NOT_MEASURED),
    (4.0, "≤", "ne", 5, HOLDS), (4.0, "≤", "between", [0, 4], NOT_MEASURED), (4.0, "≤", "between", [5, 6], CONTRADICTED),
])
def test_decide(value, qualifier, op, arg, verdict) -> None:  # type: ignore[no-untyped-def]
    assert decide(value, qualifier, op, arg)[0] == verdict


def diagram(figures: dict, claims: tuple[Claim, ...]) -> ResolvedDiagram:
    spec = DiagramSpec(id="G-LIN-FAILURE", guarantee="lin", kind="failure", type="failure_scenario", title="t",
                       purpose="p", source_file="specs/lin/failure.yaml", figures={}, series={}, claims=claims,
                       layout={})
    return ResolvedDiagram(spec=spec, figures=figures, series={})


def claim(status: str, holds_if: dict, figure: str = "late") -> Claim:
    return Claim(id="minority-writes", text="minority writes are never committed", status=status, figure=figure,
                 holds_if=holds_if, spec_ref="G-LIN-FAILURE data_consistency.minority_writes")


LATE = Measured("late", 2, None, PROV)


@pytest.mark.parametrize("status,holds_if,verdict,passes", [
    ("asserted", {"eq": 2}, HOLDS, True),
    ("asserted", {"eq": 0}, CONTRADICTED, False),
    ("corrected", {"eq": 0}, CONTRADICTED, True),   # the spec said 0; we measured 2: the correction stands
    ("corrected", {"eq": 2}, HOLDS, False),         # a "correction" the data does not support
])
def test_asserted_vs_corrected(status: str, holds_if: dict, verdict: str, passes: bool) -> None:
    c = claim(status, holds_if)
    v = evaluate(c, diagram({"late": LATE}, (c,)))
    assert (v.verdict, v.passes, v.measured_text) == (verdict, passes, "2")
    assert (v.failure is None) == passes


def test_failure_messages() -> None:
    c = claim("asserted", {"eq": 0})
    v = evaluate(c, diagram({"late": LATE}, (c,)))
    assert v.failure == ("asserted claim 'minority-writes' (minority writes are never committed) is contradicted: "
                         "measured 2; holds if = 0")
    c = claim("corrected", {"eq": 2})
    v = evaluate(c, diagram({"late": LATE}, (c,)))
    assert v.failure == ("corrected claim 'minority-writes' (minority writes are never committed) is not contradicted "
                         "by the measurement (holds: measured 2; holds if = 2): the correction is unsupported")


@pytest.mark.parametrize("fig,reason_part", [
    (NotMeasured("late", "no such file", {}), "figure 'late' not measured: no such file"),
    (Cited("late", "some doc", "https://x"), "a citation cannot decide a claim"),
    (None, "figure 'late' was neither bound nor derived by the renderer"),
])
def test_unmeasured_figures_fail_both_statuses(fig, reason_part: str) -> None:  # type: ignore[no-untyped-def]
    for status in ("asserted", "corrected"):
        c = claim(status, {"eq": 0})
        v = evaluate(c, diagram({"late": fig} if fig else {}, (c,)))
        assert v.verdict == NOT_MEASURED and not v.passes
        assert reason_part in v.reason


def test_claim_on_a_renderer_derived_figure() -> None:
    c = claim("corrected", {"eq": 0})
    d = diagram({}, (c,))
    d.derived["late"] = Measured("late", 3, None, PROV, derived="count of late rows")
    assert evaluate(c, d).verdict == CONTRADICTED


def test_contradiction_report_entry_and_markdown() -> None:
    c = claim("corrected", {"eq": 0})
    v = evaluate(c, diagram({"late": LATE}, (c,)))
    e = contradiction_entry(v, "specs/lin/failure.yaml", "G-LIN-FAILURE")
    assert e == {"diagram": "G-LIN-FAILURE", "spec_file": "specs/lin/failure.yaml", "claim": "minority-writes",
                 "status": "corrected", "text": "minority writes are never committed",
                 "spec_ref": "G-LIN-FAILURE data_consistency.minority_writes", "holds_if": {"eq": 0},
                 "measured": "2", "value": 2, "unit": None, "provenance": PROV.as_dict(),
                 "note": "the diagram shows the measurement instead (correction)"}
    md = contradictions_markdown([e])
    assert ("| G-LIN-FAILURE | minority-writes | corrected | minority writes are never committed | "
            "G-LIN-FAILURE data_consistency.minority_writes | 2 | 20260101T100000Z-etcd | "
            "results/20260101T100000Z-etcd/scenarios/s1/failure_summary.json | late_writes.count |") in md
    assert "No claim is contradicted." in contradictions_markdown([])


# -- cited claims: the spec's figure from other hardware, never judged ---------------------------
SPEC_HOST = Cited("spec_host", "16 cores @ 2.4GHz, NVMe SSD", "spec.md")
SPEC_P50 = Cited("spec_p50", "writes p50 15ms", "spec.md")


def cited_claim() -> Claim:
    return Claim(id="perf-write-p50", text="write p50 on the spec's host", status="cited", figure="p50",
                 holds_if=None, spec_ref="G-LIN-PERFORMANCE latency.writes.p50", cited="spec_p50", spec_host="spec_host")


@pytest.mark.parametrize("p50", [0.5, 15.0, 27.2, 5000.0])
def test_cited_claim_is_never_judged_whatever_this_host_measured(p50: float) -> None:
    c = cited_claim()
    m = Measured("p50", p50, "ms", PROV)
    d = diagram({"p50": m, "spec_p50": SPEC_P50, "spec_host": SPEC_HOST}, (c,))
    d.derived[f"footer.{PROV.run_id}.host"] = Measured("h", "2 logical cores, Xeon, disk /dev/vda (rotational)", None, PROV)
    v = evaluate(c, d)
    assert (v.verdict, v.passes, v.failure) == (CITED, True, None)
    assert (v.cited_text, v.spec_host, v.this_host) == ("writes p50 15ms", "16 cores @ 2.4GHz, NVMe SSD",
                                                       "2 logical cores, Xeon, disk /dev/vda (rotational)")
    assert v.reason == ("cited, not judged: the spec's figure comes from other hardware (16 cores @ 2.4GHz, NVMe SSD); "
                        "measured on 2 logical cores, Xeon, disk /dev/vda (rotational)")
    assert v.as_dict()["holds_if"] is None and v.as_dict()["this_host"] == "2 logical cores, Xeon, disk /dev/vda (rotational)"


def test_cited_claim_without_a_measurement_or_host_record() -> None:
    c = cited_claim()
    v = evaluate(c, diagram({"p50": NotMeasured("p50", "no run", {}), "spec_p50": SPEC_P50, "spec_host": SPEC_HOST}, (c,)))
    assert (v.verdict, v.passes, v.measured_text, v.this_host) == (CITED, True, "not measured", None)
    v = evaluate(c, diagram({"p50": Measured("p50", 3.0, "ms", PROV), "spec_p50": SPEC_P50, "spec_host": SPEC_HOST}, (c,)))
    assert v.this_host == "host not recorded"


def test_report_lists_cited_claims_apart() -> None:
    c = cited_claim()
    d = diagram({"p50": Measured("p50", 27.2, "ms", PROV), "spec_p50": SPEC_P50, "spec_host": SPEC_HOST}, (c,))
    e = cited_entry(evaluate(c, d), "specs/lin/performance.yaml", "G-LIN-PERFORMANCE")
    assert e == {"diagram": "G-LIN-PERFORMANCE", "spec_file": "specs/lin/performance.yaml", "claim": "perf-write-p50",
                 "text": "write p50 on the spec's host", "spec_ref": "G-LIN-PERFORMANCE latency.writes.p50",
                 "cited": "writes p50 15ms", "spec_host": "16 cores @ 2.4GHz, NVMe SSD", "measured": "27.2 ms",
                 "this_host": "host not recorded", "value": 27.2, "unit": "ms", "provenance": PROV.as_dict()}
    md = contradictions_markdown([], [e])
    assert "No claim is contradicted." in md and "## Other hardware: cited, not judged" in md
    assert ("| G-LIN-PERFORMANCE | perf-write-p50 | writes p50 15ms | 16 cores @ 2.4GHz, NVMe SSD | "
            "G-LIN-PERFORMANCE latency.writes.p50 | 27.2 ms | host not recorded | 20260101T100000Z-etcd |") in md
    assert "Other hardware" not in contradictions_markdown([], [])
