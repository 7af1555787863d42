"""The sidecar: one JSON file per diagram listing every number it shows and where it came from.

Why: "every number traceable" is checked, not promised. The sidecar names the spec (file and
sha256), the runs of the results root it was built from, each figure as printed with its value, unit, qualifier, status (measured / cited /
not measured) and provenance {run_id, file, query} (and how it was derived, for values a
renderer computed from series), each series with its provenance and row count, the claims
with their verdicts, and the footer with its own traced values. It is written with sorted
keys and no timestamps, so the same inputs give the same bytes; ``missing_files`` checks
that every provenance file exists.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from diagram_gen.claims import Verdict
from diagram_gen.model import Cited, Figure, Measured, NotMeasured, ResolvedDiagram, Series, format_figure

FOOTER_PREFIX = "footer."


def figure_entry(f: Figure) -> dict[str, Any]:
    base: dict[str, Any] = {"key": f.key, "text": format_figure(f)}
    if isinstance(f, Measured):
        base.update(status="measured", value=f.value, unit=f.unit, qualifier=f.qualifier,
                    provenance=f.provenance.as_dict(), derived=f.derived)
    elif isinstance(f, Cited):
        base.update(status="cited", value=None, unit=None, qualifier=None, provenance=None, derived=None,
                    cited=f.text, source=f.source)
    else:
        assert isinstance(f, NotMeasured)
        base.update(status="not measured", value=None, unit=None, qualifier=None, provenance=None,
                    derived=None, reason=f.reason, binding=_plain(f.binding))
    return base


def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def series_entry(s: Series | NotMeasured) -> dict[str, Any]:
    if isinstance(s, Series):
        return {"key": s.key, "status": "measured", "provenance": s.provenance.as_dict(), "rows": len(s.rows)}
    return {"key": s.key, "status": "not measured", "provenance": None, "rows": 0, "reason": s.reason,
            "binding": _plain(s.binding)}


def build_sidecar(d: ResolvedDiagram, verdicts: Iterable[Verdict], spec_sha256: str,
                  outputs: Mapping[str, str], runs: Sequence[str] = (), newest: bool = False,
                  fresh: Sequence[str] | None = None) -> dict[str, Any]:
    """The sidecar document for a rendered (or attempted) diagram. ``runs``: every run of the
    results root it was built from (``inputs.runs``; which run a binding takes depends on
    which runs exist, so these, not only the runs used, reproduce the diagram). ``newest``:
    built with pinned bindings reading the newest run like the pinned one (``gbench diagrams
    --newest``): recorded as ``inputs.selection: newest`` (absent: pinned runs as pinned), with
    ``inputs.fresh``, the runs allowed to replace a pinned one when limited
    (``diagrams-refresh``), so a rebuild reproduces it."""
    spec = d.spec
    shown = {**d.figures, **{k: v for k, v in d.derived.items() if not k.startswith(FOOTER_PREFIX)}}
    footer = {k: v for k, v in d.derived.items() if k.startswith(FOOTER_PREFIX)}
    return {
        "diagram": spec.id, "guarantee": spec.guarantee, "kind": spec.kind, "type": spec.type,
        "title": spec.title, "spec_file": spec.source_file, "spec_sha256": spec_sha256,
        "outputs": dict(outputs),
        "inputs": {"runs": sorted(runs), **({"selection": "newest"} if newest else {}),
                   **({"fresh": sorted(fresh)} if newest and fresh is not None else {})},
        "figures": [figure_entry(shown[k]) for k in sorted(shown)],
        "series": [series_entry(d.series[k]) for k in sorted(d.series)],
        "claims": [v.as_dict() for v in sorted(verdicts, key=lambda v: v.claim.id)],
        "footer": {"lines": list(d.footer), "figures": [figure_entry(footer[k]) for k in sorted(footer)]},
    }


def dumps(doc: Any) -> str:
    """Deterministic JSON: sorted keys, fixed indentation, UTF-8 text, trailing newline."""
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def provenance_files(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, file) for every provenance in a sidecar."""
    out = []
    for sec in ("figures", "series", "claims"):
        for e in doc.get(sec, []):
            p = e.get("provenance")
            if p:
                out.append((f"{sec}.{e.get('key', e.get('id'))}", p["file"]))
    for e in doc.get("footer", {}).get("figures", []):
        if e.get("provenance"):
            out.append((f"footer.{e['key']}", e["provenance"]["file"]))
    return out


def missing_files(doc: Mapping[str, Any], repo_root: Path) -> list[tuple[str, str]]:
    """(field, file) for each provenance file that does not exist."""
    out = []
    for fld, file in provenance_files(doc):
        p = Path(file)
        if not (p if p.is_absolute() else Path(repo_root) / p).is_file():
            out.append((fld, file))
    return out
