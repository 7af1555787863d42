"""The gallery's shaping (diagram_gen/gallery.py) on hand-made cards and the fixture catalogue:
slots, runs, provenance rows and the pages, with exact expected values. No file is read
except the fixture catalogue text; the browser test (test_gallery_browser.py) loads the
committed pages."""
from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from diagram_gen.catalogue import parse_catalogue
from diagram_gen.gallery import (MISSING, NOT_RECORDED, ClaimRow, Row, RunRow, claim_rows, figure_rows, pages,
                                 provenance_summary, runs, series_rows, slots)
from diagram_gen.model import KIND_TYPES
from tests.diagram_gen import CATALOGUE_TEXT

CAT = parse_catalogue(yaml.safe_load(CATALOGUE_TEXT % {"guarantee": "lin"}), "guarantees.yaml")
RUN, CMP = "20260102T100000Z-etcd", "20260103T100000Z-comparison"
MANIFEST = f"results/{RUN}/manifest.json"


def foot(name: str, text: str, run: str = RUN) -> dict[str, Any]:
    return {"key": f"footer.{run}.{name}", "text": text, "status": "measured",
            "provenance": {"run_id": run, "file": f"results/{run}/manifest.json", "query": f"host.{name}"}}


def sidecar(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "diagram": "G-LIN-FAILURE", "type": "failure_scenario", "spec_file": "specs/lin/failure.yaml",
        "spec_sha256": "ab" * 32,
        "figures": [
            {"key": "put_p99", "text": "20.0 ms", "status": "measured", "value": 20.0, "unit": "ms",
             "qualifier": None, "derived": None,
             "provenance": {"run_id": RUN, "file": f"results/{RUN}/summary.json", "query": "rows[op=put].p99_ms"}},
            {"key": "timeout", "text": "1000 ms (cited)", "status": "cited", "cited": "1000 ms",
             "source": "https://etcd.io/docs/v3.5/tuning/", "provenance": None},
            {"key": "gone", "text": "not measured", "status": "not measured", "reason": "no such file",
             "binding": {"from": "failure_summary", "scenario": "nope"}, "provenance": None}],
        "series": [{"key": "ops", "status": "measured", "rows": 2,
                    "provenance": {"run_id": CMP, "file": f"results/{CMP}/comparison.json", "query": "rows"}}],
        "claims": [{"id": "c1", "text": "p99 under 25 ms", "status": "asserted", "figure": "put_p99",
                    "holds_if": {"lt": 25}, "spec_ref": "G-LIN x.y", "verdict": "holds", "measured": "20.0 ms",
                    "reason": "holds if < 25", "passes": True,
                    "provenance": {"run_id": RUN, "file": f"results/{RUN}/summary.json", "query": "q"}}],
        "footer": {"lines": [f"run {RUN}, 2026-01-02 10:00 UTC: TestCPU x 4 logical cores",
                             f"run {CMP}: compares etcd {RUN}"],
                   "figures": [foot("started_utc", "2026-01-02 10:00 UTC"), foot("cpu_model", "TestCPU"),
                               foot("logical_cores", "4"), foot("memory", "8.00 GiB"),
                               foot("data_dir_filesystem", "ext4"), foot("data_dir_device", "/dev/sda"),
                               foot("data_dir_rotational", "false"), foot("fsync_p50", "0.500 ms"),
                               foot("fsync_p99", "2.25 ms")]}}
    doc.update(over)
    return doc


def card(kind: str, guarantee: str = "lin", built: bool = True, **over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"guarantee": guarantee, "kind": kind, "id": f"G-LIN-{kind.upper()}", "type": KIND_TYPES[kind],
                         "title": f"Title of {kind}", "errors": [], "sidecar": sidecar(),
                         "outputs": {e: f"{guarantee}/{kind}.{e}" for e in ("svg", "png", "json")} if built else {}}
    c.update(over)
    return c


# -- shaping -------------------------------------------------------------------------------------
def test_slots_place_cards_in_catalogue_and_kind_order_with_a_state_each() -> None:
    table = slots([card("failure"), card("concept", built=False, errors=["type timeline: no renderer"])], CAT)
    assert list(table) == ["lin", "eventual"]
    assert [(s.kind, s.state) for s in table["lin"]] == [
        ("concept", "problem"), ("implementation", "empty"), ("comparison", "empty"), ("failure", "built"),
        ("performance", "empty"), ("decision", "empty")]
    assert [s.state for s in table["eventual"]] == ["empty"] * 6
    assert table["lin"][3].not_measured == 1 and table["lin"][0].errors == ["type timeline: no renderer"]


def test_slots_refuse_a_card_the_catalogue_has_no_place_for() -> None:
    with pytest.raises(ValueError, match=r"diagram 'G-LIN-CONCEPT' \(causal/concept\) has no place in the gallery "
                                         r"of guarantees.yaml"):
        slots([card("concept", guarantee="causal")], CAT)
    with pytest.raises(ValueError, match="two diagrams for lin/concept"):
        slots([card("concept"), card("concept")], CAT)


def test_runs_take_host_facts_from_the_footers_and_say_what_is_missing() -> None:
    partial = sidecar(footer={"lines": [f"run {RUN}, 2026-01-02 10:00 UTC: TestCPU"],
                              "figures": [foot("started_utc", "2026-01-02 10:00 UTC"), foot("cpu_model", "TestCPU")]})
    assert runs([card("failure")]) == [
        RunRow(RUN, {"started_utc": "2026-01-02 10:00 UTC", "cpu_model": "TestCPU", "logical_cores": "4",
                     "memory": "8.00 GiB", "disk": "ext4 on /dev/sda (non-rotational)", "fsync": "0.500 ms / 2.25 ms"},
               MANIFEST, ""),
        RunRow(CMP, {k: NOT_RECORDED for k in ("started_utc", "cpu_model", "logical_cores", "memory", "disk", "fsync")},
               None, f"compares etcd {RUN}")]
    assert runs([card("failure", sidecar=partial)])[0] == RunRow(
        RUN, {"started_utc": "2026-01-02 10:00 UTC", "cpu_model": "TestCPU", "logical_cores": NOT_RECORDED,
              "memory": NOT_RECORDED, "disk": NOT_RECORDED, "fsync": NOT_RECORDED}, MANIFEST, "")
    damaged = sidecar(footer={"lines": [f"run {RUN}: manifest.json is not JSON"], "figures": []})
    assert [r.note for r in runs([card("failure", sidecar=damaged)])] == [
        "manifest.json is not JSON", "no host facts in the diagrams' footers"]
    assert runs([card("failure", sidecar=None)]) == []


def test_figure_series_and_claim_rows_carry_value_run_file_and_query() -> None:
    side = sidecar()
    assert figure_rows(side["figures"]) == [
        Row("put_p99", "20.0 ms", "measured", RUN, f"results/{RUN}/summary.json", "rows[op=put].p99_ms"),
        Row("timeout", "1000 ms (cited)", "cited", "(cited, not measured here)", "https://etcd.io/docs/v3.5/tuning/",
            "cited source"),
        Row("gone", "not measured: no such file", "not measured", "", "",
            'binding {"from": "failure_summary", "scenario": "nope"}')]
    assert series_rows(side["series"]) == [Row("ops", "2 rows", "measured", CMP, f"results/{CMP}/comparison.json",
                                               "rows")]
    assert claim_rows(side["claims"]) == [ClaimRow(
        "c1", "p99 under 25 ms", "asserted", "holds", "20.0 ms (put_p99)",
        "holds if < 25; --check accepts it", "G-LIN x.y", RUN, f"results/{RUN}/summary.json", "q")]


def test_unknown_and_missing_sidecar_fields_are_shown_not_hidden() -> None:
    cited_claim = {"id": "c2", "text": "spec: p50 ~15 ms on its host", "status": "cited", "figure": "put_p50",
                   "holds_if": None, "verdict": "cited", "measured": "16.8 ms", "cited": "15 ms",
                   "spec_host": "16 cores, NVMe", "passes": True, "budget": 3}
    [row] = claim_rows([cited_claim])
    assert row == ClaimRow("c2", "spec: p50 ~15 ms on its host", "cited", "cited", "16.8 ms (put_p50)",
                           f"the spec's figure (cited): 15 ms; on the spec's host: 16 cores, NVMe; measured here on: "
                           f"{MISSING}; {MISSING}; --check accepts it; budget: 3", "", "(no measurement)", "", "")
    [known] = claim_rows([{**cited_claim, "this_host": "2 cores", "reason": "not judged: 16 cores, NVMe vs 2 cores"}])
    assert known.why == ("the spec's figure (cited): 15 ms; not judged: 16 cores, NVMe vs 2 cores; --check accepts it; "
                         "budget: 3")
    [judged] = claim_rows([{"id": "c3", "text": "t", "status": "asserted", "verdict": "holds"}])
    assert judged.why == f"condition {MISSING}; {MISSING}" and judged.measured == f"{MISSING} ({MISSING})"
    [fig] = figure_rows([{"key": "x", "status": "measured", "text": "3", "provenance": {"run_id": RUN},
                          "hosts": ["a", "b"]}])
    assert fig == Row("x", "3", "measured", RUN, MISSING, f'{MISSING}; hosts: ["a", "b"]')
    assert figure_rows(["junk"]) == [Row(MISSING, '"junk"', "not a figure entry", "", "", "")]


def test_provenance_summary_counts_statuses_and_verdicts() -> None:
    assert provenance_summary(sidecar()) == ("Provenance: 3 figures (1 cited, 1 measured, 1 not measured), 1 series, "
                                             "1 claim (1 holds)")
    assert provenance_summary(None) == "no sidecar: nothing was resolved"


# -- pages ---------------------------------------------------------------------------------------
def test_pages_are_the_matrix_and_one_page_per_guarantee() -> None:
    out = pages([card(k) for k in KIND_TYPES], CAT)
    assert sorted(out) == ["README.md", "eventual/README.md", "eventual/index.html", "index.html",
                           "lin/README.md", "lin/index.html"]
    index = out["index.html"]
    assert re.findall(r'<tr class="guarantee" id="([^"]+)"', index) == ["lin", "eventual"]
    cells = re.findall(r'<td class="cell (\w+)" data-kind="(\w+)" data-guarantee="([\w-]+)"', index)
    assert cells == [("built", k, "lin") for k in KIND_TYPES] + [("empty", k, "eventual") for k in KIND_TYPES]
    assert index.count(">not yet measured</td>") == 6
    assert re.findall(r'<img src="([^"]+)"', index) == [f"lin/{k}.png" for k in KIND_TYPES]
    assert '<a href="lin/index.html#failure" title="Title of failure">' in index
    assert "<strong>6 of 12</strong> diagrams drawn so far" in index
    assert f"<td><code>{RUN}</code></td><td>2026-01-02 10:00 UTC</td><td>TestCPU</td><td>4</td>" in index
    assert f'<td><code>{CMP}</code></td><td colspan="6">compares etcd {RUN}</td>' in index


def test_a_guarantee_page_folds_each_diagrams_provenance_under_it() -> None:
    out = pages([card("failure"), card("concept", built=False, sidecar=None, errors=["boom"])], CAT)
    page = out["lin/index.html"]
    assert page.count("<details>") == 2 and page.count('<section class="diagram"') == 6
    assert '<a href="failure.svg"><img src="failure.svg" alt="Title of failure"></a>' in page
    assert '<a href="failure.json">JSON</a>' in page
    assert ('<tr><td>put_p99</td><td>20.0 ms</td><td>measured</td><td>' + RUN + "</td><td>results/" + RUN +
            "/summary.json</td><td>rows[op=put].p99_ms</td></tr>") in page
    assert '<td class="verdict-holds">holds</td>' in page
    assert '<div class="placeholder err">not built: boom</div>' in page and '<p class="err">problem: boom</p>' in page
    assert page.count("not yet measured: no spec <code>diagram_gen/specs/lin/") == 4
    assert "Every operation takes effect atomically between its call and its return." in page
    assert '<a href="https://doi.org/10.1145/78969.78972">' in page and '<a href="../eventual/index.html">' in page
    empty = out["eventual/index.html"]
    assert "<details>" not in empty and "No run: nothing here is measured yet." in empty
    assert '<a href="../lin/index.html">previous: Linearizability</a>' in empty


def test_the_markdown_says_what_the_html_says() -> None:
    out = pages([card(k) for k in KIND_TYPES], CAT)
    readme, lin = out["README.md"], out["lin/README.md"]
    assert "**6 of 12** diagrams drawn so far" in readme
    assert readme.count("| not yet measured") == 6
    assert '<a href="lin/README.md#failure"><img src="lin/failure.png" width="150" alt="Title of failure"></a>' in readme
    assert f"| put_p99 | 20.0 ms | measured | {RUN} | results/{RUN}/summary.json | rows[op=put].p99_ms |" in lin
    assert "| gone | **not measured: no such file** | not measured |" in lin
    assert lin.count("<details>") == 6 and lin.count('<a id="') == 6
    assert "![Title of failure](failure.png)" in lin


def test_pages_are_self_contained_deterministic_and_escaped() -> None:
    cards = [card(k) for k in KIND_TYPES]
    cards[0] = card("concept", title="a <b> & \"c\" | d")
    first, second = pages(cards, CAT), pages(list(cards), CAT)
    assert first == second
    for name, text in first.items():
        if name.endswith(".html"):
            assert "<script" not in text and "<link" not in text and "@import" not in text, name
            assert not re.search(r'src="(?!lin/|[a-z]+\.(png|svg))', text), name
    assert "a &lt;b&gt; &amp; &quot;c&quot; | d" in first["index.html"]
    assert "a &lt;b&gt; &amp; \"c\" \\| d" in first["README.md"]
