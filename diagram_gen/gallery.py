"""The gallery: ``index.html`` and ``README.md`` showing each guarantee's six diagrams in
``KIND_TYPES`` order, each with links to its SVG/PNG/sidecar and a compact provenance table
(figure, value as printed, run, file). Figures that are not measured are listed visibly with
the reason; a diagram that could not be built says why.

Deterministic like everything else: no dates, everything sorted. Links are relative to the
output root, so a gallery built in a temp dir is byte-identical to the committed one.
"""
from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

from diagram_gen.model import KIND_TYPES

Card = Mapping[str, Any]
"""One diagram slot: guarantee, kind, id, title, outputs {svg, png, json} (relative paths),
sidecar (dict or None), errors (list of str)."""


def _order(cards: Sequence[Card]) -> dict[str, list[Card]]:
    kinds = list(KIND_TYPES)
    by: dict[str, list[Card]] = {}
    for c in cards:
        by.setdefault(c["guarantee"], []).append(c)
    for g in by:
        by[g].sort(key=lambda c: (kinds.index(c["kind"]) if c["kind"] in kinds else len(kinds), c["kind"]))
    return {g: by[g] for g in sorted(by)}


def _rows(sidecar: Mapping[str, Any] | None) -> list[tuple[str, str, str, str, str]]:
    """(figure, value, run, file, status) for every figure and series of a sidecar."""
    if not sidecar:
        return []
    out = []
    for f in sidecar.get("figures", []):
        p = f.get("provenance") or {}
        if f["status"] == "not measured":
            out.append((f["key"], f"not measured: {f.get('reason', '')}", "", "", "not measured"))
        elif f["status"] == "cited":
            out.append((f["key"], f["text"], "", f.get("source", ""), "cited"))
        else:
            out.append((f["key"], f["text"], p.get("run_id", ""), p.get("file", ""), "measured"))
    for s in sidecar.get("series", []):
        p = s.get("provenance") or {}
        if s["status"] == "not measured":
            out.append((f"series {s['key']}", f"not measured: {s.get('reason', '')}", "", "", "not measured"))
        else:
            out.append((f"series {s['key']}", f"{s['rows']} rows", p.get("run_id", ""), p.get("file", ""), "measured"))
    return out


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_readme(cards: Sequence[Card]) -> str:
    lines = ["# Diagrams", "",
             "Every number below comes from a file under `results/` (run, file and query in each diagram's "
             "sidecar JSON); cited facts say so; figures without a measurement say \"not measured\". "
             "Regenerate with `gbench diagrams` (or `make diagrams`); `gbench diagrams --check` verifies.", "",
             "See also: [contradictions.md](contradictions.md) (spec claims the measurements contradict).", ""]
    for g, cs in _order(cards).items():
        lines += [f"## {g}", ""]
        for c in cs:
            o = c.get("outputs") or {}
            lines += [f"### {c['kind']}: {_md(c.get('title') or c.get('id') or '')}", ""]
            if c.get("id"):
                lines += [f"`{c['id']}` ({c.get('type', '')})", ""]
            if o.get("png"):
                lines += [f"![{_md(c.get('id') or c['kind'])}]({o['png']})", ""]
                lines += [" · ".join(f"[{k.upper()}]({o[k]})" for k in ("svg", "png", "json") if o.get(k)), ""]
            for e in c.get("errors") or []:
                lines.append(f"- **not built / problem:** {_md(e)}")
            if c.get("errors"):
                lines.append("")
            rows = _rows(c.get("sidecar"))
            if rows:
                lines += ["| figure | value | run | file |", "|---|---|---|---|"]
                for key, val, run, file, status in rows:
                    v = f"**{_md(val)}**" if status == "not measured" else _md(val)
                    lines.append(f"| {_md(key)} | {v} | {_md(run)} | {_md(file)} |")
                lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_index_html(cards: Sequence[Card]) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', "<title>Diagrams</title>",
           "<style>",
           "body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em;color:#212121}",
           "img{max-width:100%;border:1px solid #ddd}",
           "table{border-collapse:collapse;font-size:12px;margin:.5em 0 2em}",
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}",
           ".nm{color:#b71c1c;font-weight:bold}.cited{color:#6d4c41}.err{color:#b71c1c}",
           "</style>", "</head>", "<body>", "<h1>Diagrams</h1>",
           "<p>Every number comes from a file under <code>results/</code> (run, file and query in each "
           "diagram's sidecar JSON); cited facts say so; figures without a measurement say "
           "&ldquo;not measured&rdquo;. See <a href=\"contradictions.md\">contradictions</a>.</p>"]
    for g, cs in _order(cards).items():
        out.append(f"<h2>{e(g)}</h2>")
        for c in cs:
            o = c.get("outputs") or {}
            out.append(f'<section id="{e(g)}-{e(c["kind"])}">')
            out.append(f"<h3>{e(c['kind'])}: {e(str(c.get('title') or c.get('id') or ''))}</h3>")
            if c.get("id"):
                out.append(f"<p><code>{e(c['id'])}</code> ({e(str(c.get('type', '')))})</p>")
            if o.get("svg"):
                out.append(f'<p><a href="{e(o["svg"])}"><img src="{e(o["svg"])}" alt="{e(str(c.get("id")))}"></a></p>')
                links = " · ".join(f'<a href="{e(o[k])}">{k.upper()}</a>' for k in ("svg", "png", "json") if o.get(k))
                out.append(f"<p>{links}</p>")
            for err in c.get("errors") or []:
                out.append(f'<p class="err">not built / problem: {e(err)}</p>')
            rows = _rows(c.get("sidecar"))
            if rows:
                out.append("<table><tr><th>figure</th><th>value</th><th>run</th><th>file</th></tr>")
                for key, val, run, file, status in rows:
                    cls = {"not measured": ' class="nm"', "cited": ' class="cited"'}.get(status, "")
                    out.append(f"<tr><td>{e(key)}</td><td{cls}>{e(val)}</td><td>{e(run)}</td><td>{e(file)}</td></tr>")
                out.append("</table>")
            out.append("</section>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
