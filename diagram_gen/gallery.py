"""The gallery: the pages a newcomer opens to find a guarantee and read its diagrams.

``pages(cards, catalogue)`` returns every gallery file, path relative to the output root
(``results/diagrams``) -> text:

    index.html, README.md                the matrix: every guarantee of the catalogue (rows, by
                                         family) x the six kinds (columns), each cell a thumbnail
                                         linking to the diagram or "not yet measured"; the runs
                                         behind the diagrams, with host and date
    <guarantee>/index.html, README.md    one page per guarantee: definition and citation, its six
                                         diagrams, each with its provenance folded under it
                                         (<details>): every figure, series and claim of its
                                         sidecar with value, run, file and query; the runs used

The HTML and Markdown say the same (Markdown for GitHub's file browser). Everything is pure
shaping of the cards (``build.DiagramResult.card``) and the catalogue: no file is read here.
Pages are self-contained (inline CSS, no script, no external font or image), no wider than
1400 px, and deterministic (no dates, fixed orders), so a rebuild is byte-identical.

Never silently hidden: a sidecar field the gallery expects but does not find is printed as
``(not in the sidecar)``; sidecar fields it does not know are printed as ``field: value``; a
run without host facts shows what its diagrams' footers say about it instead.
"""
from __future__ import annotations

import html
import json
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from diagram_gen.catalogue import Catalogue, Guarantee
from diagram_gen.model import KIND_TYPES

Card = Mapping[str, Any]
"""One built (or attempted) diagram: guarantee, kind, id, title, type, outputs {svg, png, json}
(paths relative to the output root, only those written), sidecar (dict or None), errors (list)."""

MISSING = "(not in the sidecar)"
NOT_RECORDED = "not recorded"
NOT_YET = "not yet measured"
MAX_WIDTH_PX = 1400
#: footer figure names (``footer.<run>.<name>``) shown as run columns, in order
HOST_FIELDS = ("started_utc", "cpu_model", "logical_cores", "memory", "disk", "fsync")
HOST_HEADERS = ("started (UTC)", "CPU", "logical cores", "memory", "data disk", "fsync p50 / p99")
#: sidecar entry fields shown in their own columns (anything else is listed as ``field: value``)
FIGURE_KNOWN = {"key", "text", "status", "value", "unit", "qualifier", "provenance", "derived", "cited", "source",
                "reason", "binding"}
SERIES_KNOWN = {"key", "status", "provenance", "rows", "reason", "binding"}
CLAIM_KNOWN = {"id", "text", "status", "figure", "holds_if", "spec_ref", "verdict", "measured", "reason", "passes",
               "provenance", "cited", "spec_host", "this_host"}


# -- shaping -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """One cell of the matrix: a guarantee's diagram of one kind, and what exists of it."""
    guarantee: Guarantee
    kind: str
    card: Card | None

    @property
    def state(self) -> str:
        """``built`` (its image exists), ``problem`` (a spec exists but no image), or ``empty``."""
        if self.card is None:
            return "empty"
        return "built" if self.image("png") or self.image("svg") else "problem"

    def image(self, ext: str) -> str | None:
        return ((self.card or {}).get("outputs") or {}).get(ext)

    @property
    def errors(self) -> list[str]:
        return [str(e) for e in (self.card or {}).get("errors") or []]

    @property
    def title(self) -> str:
        c = self.card or {}
        return str(c.get("title") or c.get("id") or f"{self.guarantee.name}: {self.kind}")

    @property
    def not_measured(self) -> int:
        side = (self.card or {}).get("sidecar") or {}
        return sum(1 for sec in ("figures", "series") for e in side.get(sec) or []
                   if isinstance(e, Mapping) and e.get("status") == "not measured")


def slots(cards: Sequence[Card], catalogue: Catalogue) -> dict[str, list[Slot]]:
    """guarantee id -> its six slots in KIND_TYPES order, guarantees in catalogue order.
    ValueError for a card of a guarantee or kind the catalogue does not have (load_catalogue
    refuses such spec folders, so this is a caller's bug) or for two cards in one slot."""
    ids = {g.id for g in catalogue.guarantees}
    by: dict[tuple[str, str], Card] = {}
    for c in cards:
        g, k = c.get("guarantee"), c.get("kind")
        if g not in ids or k not in KIND_TYPES:
            raise ValueError(f"diagram {c.get('id')!r} ({g}/{k}) has no place in the gallery of {catalogue.file}")
        if (g, k) in by:
            raise ValueError(f"two diagrams for {g}/{k}: {by[(g, k)].get('id')!r} and {c.get('id')!r}")
        by[(g, k)] = c
    return {g.id: [Slot(g, k, by.get((g.id, k))) for k in KIND_TYPES] for g in catalogue.guarantees}


@dataclass(frozen=True)
class RunRow:
    run_id: str
    #: HOST_FIELDS -> text ("not recorded" when the sidecars hold no such footer figure)
    host: Mapping[str, str]
    #: the manifest the host facts came from, or None
    file: str | None
    #: for a run without host facts: what the diagrams' footers say about it, else ""
    note: str


def _provenances(side: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for sec in ("figures", "series", "claims"):
        for e in side.get(sec) or []:
            if isinstance(e, Mapping) and isinstance(e.get("provenance"), Mapping):
                yield e["provenance"]
    for e in _footer_figures(side):
        if isinstance(e.get("provenance"), Mapping):
            yield e["provenance"]


def _footer_figures(side: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    foot = side.get("footer")
    figs = foot.get("figures") if isinstance(foot, Mapping) else None
    return [e for e in figs or [] if isinstance(e, Mapping)]


def _footer_lines(side: Mapping[str, Any]) -> list[str]:
    foot = side.get("footer")
    lines = foot.get("lines") if isinstance(foot, Mapping) else None
    return [str(x) for x in lines or []]


FOOTER_LINE_RE = re.compile(r"^run ([^\s,:]+)[,:]?\s*(.*)$")


def runs(cards: Iterable[Card]) -> list[RunRow]:
    """Every run the cards' sidecars name, oldest first (run ids start with their UTC time),
    with the host facts of the sidecars' footers (read by the resolver from manifest.json)."""
    facts: dict[str, dict[str, str]] = {}
    files: dict[str, str] = {}
    notes: dict[str, str] = {}
    seen: set[str] = set()
    for c in cards:
        side = c.get("sidecar")
        if not isinstance(side, Mapping):
            continue
        seen.update(str(p.get("run_id")) for p in _provenances(side) if p.get("run_id"))
        for line in _footer_lines(side):
            m = FOOTER_LINE_RE.match(line)
            if m:
                seen.add(m.group(1))
                notes.setdefault(m.group(1), m.group(2))
        for e in _footer_figures(side):
            p = e.get("provenance") or {}
            rid = str(p.get("run_id") or "")
            prefix = f"footer.{rid}."
            key = str(e.get("key") or "")
            if rid and key.startswith(prefix):
                facts.setdefault(rid, {})[key[len(prefix):]] = str(e.get("text", MISSING))
                files.setdefault(rid, str(p.get("file") or ""))
    out = []
    for rid in sorted(seen):
        f = facts.get(rid, {})
        host = {"started_utc": f.get("started_utc"), "cpu_model": f.get("cpu_model"),
                "logical_cores": f.get("logical_cores"), "memory": f.get("memory")}
        disk = [f["data_dir_filesystem"]] if "data_dir_filesystem" in f else []
        if "data_dir_device" in f:
            disk.append(f"on {f['data_dir_device']}")
        if "data_dir_rotational" in f:
            disk.append({"true": "(rotational)", "false": "(non-rotational)"}.get(f["data_dir_rotational"],
                                                                              f["data_dir_rotational"]))
        host["disk"] = " ".join(disk) or None
        fs = [f.get("fsync_p50"), f.get("fsync_p99")]
        host["fsync"] = " / ".join(x or NOT_RECORDED for x in fs) if any(fs) else None
        shown = {k: (v if v else NOT_RECORDED) for k, v in host.items()}
        note = "" if f else (notes.get(rid) or "no host facts in the diagrams' footers")
        out.append(RunRow(rid, shown, files.get(rid), note))
    return out


def _compact(x: Any) -> str:
    return json.dumps(x, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _extra(e: Mapping[str, Any], known: set[str]) -> list[str]:
    return [f"{k}: {_compact(e[k]) if not isinstance(e[k], str) else e[k]}" for k in sorted(e) if k not in known]


def _get(e: Mapping[str, Any], k: str) -> str:
    v = e.get(k)
    return MISSING if v is None else str(v)


@dataclass(frozen=True)
class Row:
    """One provenance row: figure (or series, or claim), what it says, and where it came from."""
    name: str
    value: str
    status: str
    run: str
    file: str
    query: str


def figure_rows(entries: Iterable[Any]) -> list[Row]:
    out = []
    for e in entries:
        if not isinstance(e, Mapping):
            out.append(Row(MISSING, _compact(e), "not a figure entry", "", "", ""))
            continue
        p = e.get("provenance") if isinstance(e.get("provenance"), Mapping) else {}
        status = _get(e, "status")
        extra = _extra(e, FIGURE_KNOWN)
        if status == "measured":
            q = _get(p, "query") + (f"; derived: {e['derived']}" if e.get("derived") and
                                    str(e["derived"]) not in str(p.get("query", "")) else "")
            row = Row(_get(e, "key"), _get(e, "text"), status, _get(p, "run_id"), _get(p, "file"), q)
        elif status == "cited":
            row = Row(_get(e, "key"), _get(e, "text"), status, "(cited, not measured here)", _get(e, "source"),
                      "cited source")
        elif status == "not measured":
            row = Row(_get(e, "key"), f"not measured: {_get(e, 'reason')}", status, "", "",
                      f"binding {_compact(e.get('binding'))}")
        else:
            row = Row(_get(e, "key"), _get(e, "text"), status, str(p.get("run_id", "")), str(p.get("file", "")),
                      str(p.get("query", "")))
        if extra:
            row = Row(row.name, row.value, row.status, row.run, row.file, "; ".join([row.query, *extra]))
        out.append(row)
    return out


def series_rows(entries: Iterable[Any]) -> list[Row]:
    out = []
    for e in entries:
        if not isinstance(e, Mapping):
            out.append(Row(MISSING, _compact(e), "not a series entry", "", "", ""))
            continue
        p = e.get("provenance") if isinstance(e.get("provenance"), Mapping) else {}
        status = _get(e, "status")
        value = f"{_get(e, 'rows')} rows" if status == "measured" else f"{status}: {_get(e, 'reason')}"
        query = _get(p, "query") if p else f"binding {_compact(e.get('binding'))}"
        out.append(Row(_get(e, "key"), value, status, str(p.get("run_id", "")), str(p.get("file", "")),
                       "; ".join([query, *_extra(e, SERIES_KNOWN)])))
    return out


@dataclass(frozen=True)
class ClaimRow:
    id: str
    text: str
    #: asserted / corrected / whatever the sidecar says (e.g. a figure cited from another host)
    status: str
    verdict: str
    measured: str
    #: the condition and the verdict's reason, and any sidecar field the gallery does not know
    why: str
    spec_ref: str
    run: str
    file: str
    query: str


def claim_rows(entries: Iterable[Any]) -> list[ClaimRow]:
    out = []
    for e in entries:
        if not isinstance(e, Mapping):
            out.append(ClaimRow(MISSING, _compact(e), "", "", "", "not a claim entry", "", "", "", ""))
            continue
        p = e.get("provenance") if isinstance(e.get("provenance"), Mapping) else None
        reason = _get(e, "reason")
        if "cited" in e or "spec_host" in e:  # a figure of the spec's own host: shown beside ours, not judged
            why = [f"the spec's figure (cited): {_get(e, 'cited')}"]
            why += [f"{label}: {_get(e, k)}" for k, label in (("spec_host", "on the spec's host"),
                                                             ("this_host", "measured here on"))
                    if e.get(k) is None or str(e[k]) not in reason]
        else:
            why = [] if reason.startswith("holds if") else \
                [f"holds if {_compact(e['holds_if'])}" if "holds_if" in e else f"condition {MISSING}"]
        why.append(reason)
        if "passes" in e:
            why.append("--check accepts it" if e["passes"] else "--check fails on it")
        why += _extra(e, CLAIM_KNOWN)
        out.append(ClaimRow(_get(e, "id"), _get(e, "text"), _get(e, "status"), _get(e, "verdict"),
                            f"{_get(e, 'measured')} ({_get(e, 'figure')})", "; ".join(why),
                            str(e.get("spec_ref") or ""),
                            _get(p, "run_id") if p else "(no measurement)", _get(p, "file") if p else "",
                            _get(p, "query") if p else ""))
    return out


def provenance_summary(side: Mapping[str, Any] | None) -> str:
    """One line: how many figures of each status, series, and claims of each verdict."""
    if not isinstance(side, Mapping):
        return "no sidecar: nothing was resolved"
    figs = Counter(str(e.get("status", MISSING)) for e in side.get("figures") or [] if isinstance(e, Mapping))
    verdicts = Counter(str(e.get("verdict", MISSING)) for e in side.get("claims") or [] if isinstance(e, Mapping))
    n_f, n_s, n_c = len(side.get("figures") or []), len(side.get("series") or []), len(side.get("claims") or [])
    parts = [f"{n_f} figure{'s' * (n_f != 1)}" + (f" ({', '.join(f'{v} {k}' for k, v in sorted(figs.items()))})"
                                                  if figs else ""),
             f"{n_s} series",
             f"{n_c} claim{'s' * (n_c != 1)}" + (f" ({', '.join(f'{v} {k}' for k, v in sorted(verdicts.items()))})"
                                                 if verdicts else "")]
    return "Provenance: " + ", ".join(parts)


# -- HTML ----------------------------------------------------------------------------------------
def _e(x: Any) -> str:
    return html.escape(str(x))


def _class(c: str) -> str:
    return f' class="{c}"' if c else ""


def _css_token(x: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", x.lower()).strip("-") or "unknown"


CSS = f"""*{{box-sizing:border-box}}
body{{font-family:system-ui,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif;max-width:{MAX_WIDTH_PX}px;
margin:0 auto;padding:16px 20px 48px;color:#1f2328;line-height:1.45;background:#fff}}
a{{color:#0b57d0}}h1{{font-size:28px;margin:8px 0 4px}}h2{{font-size:21px;margin:28px 0 6px}}
h3{{font-size:16px;margin:8px 0}}p{{margin:6px 0}}code{{font-size:90%;background:#f3f4f6;padding:0 3px;border-radius:3px}}
.lead{{font-size:16px;max-width:980px}}.muted{{color:#59636e}}.small{{font-size:12px}}
nav.top{{font-size:14px;margin-bottom:8px;display:flex;gap:16px;flex-wrap:wrap}}
.badge{{display:inline-block;font-size:12px;padding:1px 7px;border-radius:10px;margin:2px 4px 2px 0;
border:1px solid #d0d7de;background:#f6f8fa;white-space:nowrap}}
.av-unavailable{{background:#fde2e1;border-color:#f3a9a5}}.av-sticky{{background:#fff4c2;border-color:#e8cf6a}}
.av-total{{background:#dcf5e3;border-color:#8fd1a3}}.av-not-total{{background:#fde9d2;border-color:#eab37a}}
table{{border-collapse:collapse}}
table.matrix{{width:100%;table-layout:fixed;margin:12px 0}}
.matrix th,.matrix td{{border:1px solid #d8dee4;padding:6px;vertical-align:top}}
.matrix thead th{{background:#f6f8fa;font-size:14px;text-align:left}}
.matrix thead th small{{display:block;font-weight:normal;color:#59636e;font-size:12px}}
.matrix th.g{{text-align:left;font-weight:normal;font-size:13px}}
.matrix th.g a{{font-weight:bold;font-size:15px}}
.matrix tr.family th{{background:#eef2f7;text-align:left;font-size:15px;padding:8px}}
.matrix tr.family span{{font-weight:normal;font-size:13px;color:#424a53}}
td.cell img{{width:100%;height:auto;display:block;border:1px solid #e1e4e8}}
td.cell.empty{{background:repeating-linear-gradient(135deg,#fafbfc,#fafbfc 8px,#f3f4f6 8px,#f3f4f6 16px);
color:#8c959f;font-size:12px;text-align:center;vertical-align:middle}}
td.cell.problem{{background:#fff1f0;font-size:12px}}
.nm,.err{{color:#b42318;font-weight:bold}}.cited{{color:#7a4b00}}
.verdict-holds{{color:#1a7f37;font-weight:bold}}.verdict-contradicted{{color:#b42318;font-weight:bold}}
.verdict-not-measured{{color:#9a6700;font-weight:bold}}.verdict-cited{{color:#7a4b00;font-weight:bold}}
section.diagram{{border-top:1px solid #d8dee4;margin-top:24px;padding-top:4px}}
section.diagram>a>img{{width:100%;height:auto;border:1px solid #d8dee4;display:block}}
.placeholder{{border:2px dashed #d0d7de;border-radius:6px;padding:28px;color:#59636e;text-align:center;background:#fafbfc}}
details{{margin:8px 0 4px;border:1px solid #d8dee4;border-radius:6px;padding:4px 10px;background:#fcfcfd}}
summary{{cursor:pointer;font-weight:bold;font-size:14px;padding:4px 0}}
table.prov{{width:100%;table-layout:fixed;font-size:12px;margin:6px 0 12px}}
.prov th,.prov td{{border:1px solid #d8dee4;padding:2px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}}
.prov th{{background:#f6f8fa}}
table.runs{{width:100%;table-layout:fixed;font-size:13px;margin:8px 0}}
.runs th,.runs td{{border:1px solid #d8dee4;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}}
.runs th{{background:#f6f8fa}}
blockquote.def{{font-size:18px;margin:10px 0;padding:8px 14px;border-left:4px solid #0b57d0;background:#f5f8ff}}
ol.kinds{{columns:2;font-size:14px;max-width:980px}}
ul.legend{{columns:2;margin:4px 0 8px;padding-left:18px}}ul.legend li{{margin:2px 0}}
p.start{{background:#f5f8ff;border:1px solid #c8d7f5;border-radius:8px;padding:8px 14px;margin:10px 0}}
@media (max-width:900px){{ol.kinds,ul.legend{{columns:1}}.matrix th.g p{{display:none}}}}"""


def _page(title: str, body: list[str]) -> str:
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>{_e(title)}</title>", "<style>", CSS, "</style>", "</head>", "<body>", *body,
                      "</body>", "</html>", ""])


def _rel(path: str, from_dir: str) -> str:
    return posixpath.relpath(path, from_dir) if from_dir else path


def _availability_badge(cat: Catalogue, g: Guarantee) -> str:
    a = cat.availability[g.availability]
    return f'<span class="badge av-{_e(a.id)}" title="{_e(a.about)}">{_e(a.label)}</span>'


def _runs_html(rows: list[RunRow]) -> list[str]:
    if not rows:
        return ["<p class=\"muted\">No run: nothing here is measured yet.</p>"]
    out = ['<table class="runs">', '<colgroup><col style="width:17%"><col style="width:11%"><col style="width:16%">'
           '<col style="width:7%"><col style="width:8%"><col style="width:15%"><col style="width:11%">'
           '<col style="width:15%"></colgroup>',
           "<tr><th>run</th>" + "".join(f"<th>{_e(h)}</th>" for h in HOST_HEADERS) + "<th>from</th></tr>"]
    for r in rows:
        cells = [f"<td><code>{_e(r.run_id)}</code></td>"]
        if r.note:
            cells.append(f'<td colspan="{len(HOST_FIELDS)}">{_e(r.note)}</td>')
        else:
            cells += [f"<td{_class('nm' if r.host[k] == NOT_RECORDED else '')}>{_e(r.host[k])}</td>" for k in HOST_FIELDS]
        cells.append(f"<td>{_e(r.file or '')}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return out


def _legend_html(cat: Catalogue) -> list[str]:
    return ['<p class="small"><strong>Availability during a network partition</strong> (the badge under each '
            'guarantee):</p>', '<ul class="legend small">',
            *[f'<li><span class="badge av-{_e(a.id)}">{_e(a.label)}</span> {_e(a.about)} '
              f'<span class="muted">(source: {_e(a.source)})</span></li>' for a in cat.availability.values()], "</ul>"]


def render_index_html(table: Mapping[str, list[Slot]], cat: Catalogue, run_rows: list[RunRow]) -> str:
    total = sum(len(v) for v in table.values())
    built = [s for v in table.values() for s in v if s.state == "built"]
    kinds = list(KIND_TYPES)
    b = ["<h1>Consistency guarantees, measured on real clusters</h1>",
         f'<p class="lead">{len(table)} consistency guarantees, six diagrams each. Every number on a diagram comes '
         "from a run of this project on a real cluster (the run, file and query are listed under each diagram); "
         "a fact that could not be measured here is marked <em>cited</em>, and a figure without a measurement says "
         "&ldquo;not measured&rdquo;.</p>",
         f"<p><strong>{len(built)} of {total}</strong> diagrams drawn so far; the other cells say "
         f"&ldquo;{NOT_YET}&rdquo;. Rows go from the strongest guarantee to the weakest within each family; the "
         "badge under a name says what still works during a network partition. Click a name for the definition "
         "and the six diagrams, or a thumbnail for that diagram.</p>",
         *_measured_so_far_html(table, cat),
         '<table class="matrix" id="matrix">',
         '<colgroup><col style="width:22%">' + '<col style="width:13%">' * len(kinds) + "</colgroup>",
         '<thead><tr><th scope="col">guarantee</th>'
         + "".join(f'<th scope="col">{_e(k.capitalize())}<small>{_e(cat.kinds[k])}</small></th>' for k in kinds)
         + "</tr></thead>"]
    for fam in cat.families:
        b.append(f'<tbody id="family-{_e(fam.id)}">')
        b.append(f'<tr class="family"><th colspan="{len(kinds) + 1}" scope="colgroup">{_e(fam.name)} '
                 f"<span>{_e(fam.about)}</span></th></tr>")
        for g in (g for g in cat.guarantees if g.family == fam.id):
            row = [f'<tr class="guarantee" id="{_e(g.id)}"><th class="g" scope="row">'
                   f'<a href="{_e(g.id)}/index.html">{_e(g.name)}</a><p>{_e(g.definition)}</p>'
                   f"{_availability_badge(cat, g)}</th>"]
            for s in table[g.id]:
                row.append(_cell_html(s))
            b.append("".join(row) + "</tr>")
        b.append("</tbody>")
    b += ["</table>", *_legend_html(cat), "<h2>Runs behind these diagrams</h2>",
          "<p class=\"muted\">Host facts as each run's <code>manifest.json</code> recorded them. Latency depends on "
          "the host: compare figures across hosts only as context.</p>", *_runs_html(run_rows),
          '<p class="small">Also: <a href="README.md">this gallery as Markdown</a> · '
          '<a href="contradictions.md">the original spec\'s claims: those the measurements contradict, and the '
          "figures cited from the spec's own hardware</a>. "
          "Regenerate with <code>gbench diagrams</code>; <code>gbench diagrams --check</code> verifies.</p>"]
    return _page("Consistency guarantees: the diagrams", b)


def _measured_so_far_html(table: Mapping[str, list[Slot]], cat: Catalogue) -> list[str]:
    measured = [(cat.guarantee(gid), sum(1 for s in ss if s.state == "built")) for gid, ss in table.items()]
    links = [f'<a href="{_e(g.id)}/index.html"><strong>{_e(g.name)}</strong></a> ({n} of {len(KIND_TYPES)})'
             for g, n in measured if n]
    if not links:
        return []
    return ['<p class="start">Measured so far: ' + ", ".join(links) + ". A guarantee's page shows its diagrams "
            "and, folded under each, every number with the run, file and query it came from.</p>"]


def _cell_html(s: Slot) -> str:
    attrs = f'class="cell {s.state}" data-kind="{_e(s.kind)}" data-guarantee="{_e(s.guarantee.id)}"'
    link = f"{s.guarantee.id}/index.html#{s.kind}"
    if s.state == "built":
        img = s.image("png") or s.image("svg")
        nm = f'<div class="nm small">{s.not_measured} not measured</div>' if s.not_measured else ""
        return (f'<td {attrs}><a href="{_e(link)}" title="{_e(s.title)}"><img src="{_e(img)}" '
                f'alt="{_e(s.guarantee.name)}, {_e(s.kind)}: {_e(s.title)}"></a>{nm}</td>')
    if s.state == "problem":
        first = s.errors[0] if s.errors else "no image was written"
        return (f'<td {attrs}><a href="{_e(link)}">not built</a><div class="err" title="{_e(first)}">'
                f"{_e(first[:120])}{'…' if len(first) > 120 else ''}</div></td>")
    return f"<td {attrs}>{NOT_YET}</td>"


def _prov_table(headers: Sequence[str], widths: Sequence[int], rows: Iterable[Sequence[tuple[str, str]]]) -> list[str]:
    out = ['<table class="prov">', "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in widths) + "</colgroup>",
           "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td{_class(c)}>{_e(v)}</td>" for v, c in r) + "</tr>")
    out.append("</table>")
    return out


def _status_class(status: str) -> str:
    return {"not measured": "nm", "cited": "cited"}.get(status, "")


def _rows_html(rows: list[Row], first: str) -> list[str]:
    return _prov_table([first, "value", "status", "run", "file", "query"], [14, 20, 8, 13, 20, 25],
                       [[(r.name, ""), (r.value, _status_class(r.status)), (r.status, _status_class(r.status)),
                         (r.run, ""), (r.file, ""), (r.query, "")] for r in rows])


def _claims_html(rows: list[ClaimRow]) -> list[str]:
    return _prov_table(["claim", "kind", "verdict", "measured", "why", "run", "file", "query"],
                       [20, 7, 8, 10, 17, 11, 12, 15],
                       [[(f"{r.id}: {r.text}" + (f" [spec: {r.spec_ref}]" if r.spec_ref else ""), ""), (r.status, ""),
                         (r.verdict, f"verdict-{_css_token(r.verdict)}"), (r.measured, ""), (r.why, ""), (r.run, ""),
                         (r.file, ""), (r.query, "")] for r in rows])


def _provenance_html(side: Mapping[str, Any] | None, errors: list[str]) -> list[str]:
    out = ["<details>", f"<summary>{_e(provenance_summary(side))}</summary>"]
    for err in errors:
        out.append(f'<p class="err">problem: {_e(err)}</p>')
    if isinstance(side, Mapping):
        out.append(f"<p class=\"small\">Spec <code>{_e(_get(side, 'spec_file'))}</code> (sha256 "
                   f"<code>{_e(_get(side, 'spec_sha256'))}</code>), diagram <code>{_e(_get(side, 'diagram'))}</code>, "
                   f"type <code>{_e(_get(side, 'type'))}</code>.</p>")
        out += ["<h3>Figures</h3>", *_rows_html(figure_rows(side.get("figures") or []), "figure")]
        if side.get("series"):
            out += ["<h3>Series</h3>", *_rows_html(series_rows(side["series"]), "series")]
        out += ["<h3>Claims</h3>", *(_claims_html(claim_rows(side["claims"])) if side.get("claims")
                                     else ["<p class=\"muted\">No claim is checked on this diagram.</p>"])]
        foot = _footer_figures(side)
        if foot or _footer_lines(side):
            out += ["<h3>Footer</h3>", *[f"<p class=\"small\">{_e(x)}</p>" for x in _footer_lines(side)],
                    *_rows_html(figure_rows(foot), "footer figure")]
    out.append("</details>")
    return out


def render_guarantee_html(g: Guarantee, own: list[Slot], cat: Catalogue, run_rows: list[RunRow]) -> str:
    ids = [x.id for x in cat.guarantees]
    i = ids.index(g.id)
    prev_g, next_g = (cat.guarantees[i - 1] if i > 0 else None), (cat.guarantees[i + 1] if i + 1 < len(ids) else None)
    fam = cat.family(g.family)
    nav = ['<nav class="top"><a href="../index.html">&larr; all guarantees</a>']
    if prev_g:
        nav.append(f'<a href="../{_e(prev_g.id)}/index.html">previous: {_e(prev_g.name)}</a>')
    if next_g:
        nav.append(f'<a href="../{_e(next_g.id)}/index.html">next: {_e(next_g.name)}</a>')
    nav.append("</nav>")
    a = cat.availability[g.availability]
    built = sum(1 for s in own if s.state == "built")
    b = [*nav, f"<h1>{_e(g.name)}</h1>",
         f'<p><span class="badge">{_e(fam.name)}</span>{_availability_badge(cat, g)}'
         f'<span class="muted small">{_e(a.about)}</span></p>',
         f'<blockquote class="def">{_e(g.definition)}</blockquote>',
         f"<p>Defined in {_e(g.defined_in)}; read: <a href=\"{_e(g.reference)}\">{_e(g.reference)}</a>.</p>",
         f"<p>Where you meet it: {_e(g.seen_in)} <span class=\"muted small\">(source: {_e(g.seen_in_source)})</span></p>",
         f"<p><strong>{built} of {len(own)}</strong> diagrams drawn"
         + ("." if built == len(own) else f"; the others say &ldquo;{NOT_YET}&rdquo;.") + "</p>",
         '<ol class="kinds">' + "".join(
             f'<li><a href="#{_e(s.kind)}">{_e(s.kind.capitalize())}</a>: {_e(cat.kinds[s.kind])}'
             + ("" if s.state == "built" else f' <span class="muted">({NOT_YET if s.state == "empty" else "not built"})'
                                              "</span>") + "</li>" for s in own) + "</ol>"]
    for n, s in enumerate(own, 1):
        b.append(f'<section class="diagram" id="{_e(s.kind)}">')
        b.append(f"<h2>{n}. {_e(s.kind.capitalize())}: {_e(cat.kinds[s.kind])}</h2>")
        if s.state == "built":
            img = _rel(s.image("svg") or s.image("png") or "", g.id)
            b.append(f'<a href="{_e(img)}"><img src="{_e(img)}" alt="{_e(s.title)}"></a>')
            links = " · ".join(f'<a href="{_e(_rel(s.image(k) or "", g.id))}">{k.upper()}</a>'
                               for k in ("svg", "png", "json") if s.image(k))
            b.append(f'<p class="small">{links} <span class="muted">(JSON: the sidecar, every number with its '
                     "source)</span></p>")
        elif s.state == "problem":
            b.append(f"<h3>{_e(s.title)}</h3>")
            b.append('<div class="placeholder err">not built: ' + _e("; ".join(s.errors) or "no image was written")
                     + "</div>")
        else:
            b.append(f'<div class="placeholder">{NOT_YET}: no spec <code>diagram_gen/specs/{_e(g.id)}/'
                     f"{_e(s.kind)}.yaml</code> yet, so nothing is drawn and nothing is claimed.</div>")
        if s.card is not None:
            b += _provenance_html(s.card.get("sidecar"), s.errors)
        b.append("</section>")
    b += ["<h2>Runs behind this page</h2>", *_runs_html(run_rows), *_legend_html(cat)]
    return _page(f"{g.name}: consistency guarantee diagrams", b)


# -- Markdown ------------------------------------------------------------------------------------
def _md(x: Any) -> str:
    return html.escape(str(x), quote=False).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return out + [""]


def _md_runs(rows: list[RunRow]) -> list[str]:
    if not rows:
        return ["No run: nothing here is measured yet.", ""]
    return _md_table(["run", *HOST_HEADERS, "from"],
                     [[r.run_id, *([r.note] + [""] * (len(HOST_FIELDS) - 1) if r.note else
                                   [r.host[k] for k in HOST_FIELDS]), r.file or ""] for r in rows])


def render_readme(table: Mapping[str, list[Slot]], cat: Catalogue, run_rows: list[RunRow]) -> str:
    total = sum(len(v) for v in table.values())
    built = sum(1 for v in table.values() for s in v if s.state == "built")
    kinds = list(KIND_TYPES)
    lines = ["# Consistency guarantees, measured on real clusters", "",
             f"{len(table)} consistency guarantees, six diagrams each ([index.html](index.html) is the same gallery "
             "as a web page). Every number on a diagram comes from a run of this project on a real cluster (the run, "
             "file and query are listed under each diagram); a fact that could not be measured here is marked "
             "*cited*, and a figure without a measurement says \"not measured\".", "",
             f"**{built} of {total}** diagrams drawn so far; the other cells say \"{NOT_YET}\". Rows go from the "
             "strongest guarantee to the weakest within each family.", ""]
    measured = [(cat.guarantee(gid), sum(1 for s in ss if s.state == "built")) for gid, ss in table.items()]
    if any(n for _, n in measured):
        lines += ["Measured so far: " + ", ".join(f"[**{_md(g.name)}**]({g.id}/README.md) ({n} of {len(KIND_TYPES)} "
                                                  "diagrams)" for g, n in measured if n) + ".", ""]
    lines += [f"{n}. **{k.capitalize()}**: {_md(q)}" for n, (k, q) in enumerate(cat.kinds.items(), 1)] + [""]
    lines += ["Availability during a network partition: "
              + "; ".join(f"**{_md(a.label)}**: {_md(a.about)} (source: {_md(a.source)})"
                          for a in cat.availability.values()) + ".", ""]
    head = "| guarantee | " + " | ".join(k.capitalize() for k in kinds) + " |"
    for fam in cat.families:
        lines += [f"## {_md(fam.name)}", "", _md(fam.about), "", head, "|" + "---|" * (len(kinds) + 1)]
        for g in (g for g in cat.guarantees if g.family == fam.id):
            cells = [f"[**{_md(g.name)}**]({g.id}/README.md)<br>{_md(g.definition)}<br>"
                     f"*{_md(cat.availability[g.availability].label)}*"]
            for s in table[g.id]:
                link = f"{g.id}/README.md#{s.kind}"
                if s.state == "built":
                    img = s.image("png") or s.image("svg")
                    cells.append(f'<a href="{link}"><img src="{img}" width="150" alt="{_md(s.title)}"></a>'
                                 + (f"<br>**{s.not_measured} not measured**" if s.not_measured else ""))
                elif s.state == "problem":
                    cells.append(f"[not built]({link})")
                else:
                    cells.append(NOT_YET)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Runs behind these diagrams", "",
              "Host facts as each run's `manifest.json` recorded them. Latency depends on the host: compare figures "
              "across hosts only as context.", "", *_md_runs(run_rows),
              "See also [contradictions.md](contradictions.md): the original spec's claims that the measurements "
              "contradict, and the figures cited from the spec's own hardware. Regenerate with `gbench diagrams`; `gbench diagrams --check` verifies.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_provenance(side: Mapping[str, Any] | None, errors: list[str]) -> list[str]:
    out = ["<details>", f"<summary>{_md(provenance_summary(side))}</summary>", ""]
    out += [f"- **problem:** {_md(e)}" for e in errors] + ([""] if errors else [])
    if isinstance(side, Mapping):
        out += [f"Spec `{_get(side, 'spec_file')}` (sha256 `{_get(side, 'spec_sha256')}`), diagram "
                f"`{_get(side, 'diagram')}`, type `{_get(side, 'type')}`.", ""]

        def rows(rs: list[Row], first: str) -> list[str]:
            return _md_table([first, "value", "status", "run", "file", "query"],
                             [[r.name, f"**{r.value}**" if r.status == "not measured" else r.value, r.status, r.run,
                               r.file, r.query] for r in rs])

        out += ["**Figures**", "", *rows(figure_rows(side.get("figures") or []), "figure")]
        if side.get("series"):
            out += ["**Series**", "", *rows(series_rows(side["series"]), "series")]
        if side.get("claims"):
            out += ["**Claims**", "", *_md_table(
                ["claim", "kind", "verdict", "measured", "why", "run", "file", "query"],
                [[f"{r.id}: {r.text}" + (f" [spec: {r.spec_ref}]" if r.spec_ref else ""), r.status, r.verdict,
                  r.measured, r.why, r.run, r.file, r.query] for r in claim_rows(side["claims"])])]
        else:
            out += ["No claim is checked on this diagram.", ""]
        foot = _footer_figures(side)
        if foot or _footer_lines(side):
            out += ["**Footer**", "", *[f"- {_md(x)}" for x in _footer_lines(side)], "",
                    *rows(figure_rows(foot), "footer figure")]
    return out + ["</details>", ""]


def render_guarantee_readme(g: Guarantee, own: list[Slot], cat: Catalogue, run_rows: list[RunRow]) -> str:
    a = cat.availability[g.availability]
    lines = ["[← all guarantees](../README.md)", "", f"# {_md(g.name)}", "",
             f"*{_md(cat.family(g.family).name)}* · *{_md(a.label)}*: {_md(a.about)}", "",
             f"> {_md(g.definition)}", "",
             f"Defined in {_md(g.defined_in)}; read: <{g.reference}>.", "",
             f"Where you meet it: {_md(g.seen_in)} (source: {_md(g.seen_in_source)})", ""]
    for n, s in enumerate(own, 1):
        lines += [f'<a id="{s.kind}"></a>', "", f"## {n}. {s.kind.capitalize()}: {_md(cat.kinds[s.kind])}", ""]
        if s.state == "built":
            img = _rel(s.image("png") or s.image("svg") or "", g.id)
            lines += [f"![{_md(s.title)}]({img})", "",
                      " · ".join(f"[{k.upper()}]({_rel(s.image(k) or '', g.id)})" for k in ("svg", "png", "json")
                                 if s.image(k)) + " (JSON: the sidecar, every number with its source)", ""]
        elif s.state == "problem":
            lines += [f"### {_md(s.title)}", "", "**not built:** " + _md("; ".join(s.errors) or "no image was written"),
                      ""]
        else:
            lines += [f"*{NOT_YET}*: no spec `diagram_gen/specs/{g.id}/{s.kind}.yaml` yet, so nothing is drawn and "
                      "nothing is claimed.", ""]
        if s.card is not None:
            lines += _md_provenance(s.card.get("sidecar"), s.errors)
    lines += ["## Runs behind this page", "", *_md_runs(run_rows)]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- everything ----------------------------------------------------------------------------------
def pages(cards: Sequence[Card], catalogue: Catalogue) -> dict[str, str]:
    """Every gallery file: path relative to the output root -> text (see the module docstring)."""
    table = slots(cards, catalogue)
    out = {"index.html": render_index_html(table, catalogue, runs(cards)),
           "README.md": render_readme(table, catalogue, runs(cards))}
    for g in catalogue.guarantees:
        own = table[g.id]
        own_runs = runs([s.card for s in own if s.card is not None])
        out[f"{g.id}/index.html"] = render_guarantee_html(g, own, catalogue, own_runs)
        out[f"{g.id}/README.md"] = render_guarantee_readme(g, own, catalogue, own_runs)
    return out


__all__ = ["Card", "ClaimRow", "Row", "RunRow", "Slot", "claim_rows", "figure_rows", "pages", "provenance_summary",
           "runs", "series_rows", "slots"]
