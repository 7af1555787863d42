"""The committed diagrams (results/diagrams/) against the committed runs: current (a fresh
render is byte-identical), `gbench diagrams --check` passes, and every number a diagram
prints outside axis ticks is in its sidecar, which names a file in results/ for it."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from diagram_gen.build import check
from diagram_gen.model import KIND_TYPES

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "results" / "diagrams"
GUARANTEES = sorted(p.name for p in (REPO / "diagram_gen" / "specs").iterdir() if p.is_dir())
#: a number standing alone (not part of an identifier, a version, a key or a value like 10003:64)
NUMBER = re.compile(r"(?<![\w.:→-])(\d+(?:\.\d+)?)(?![\w.:]*\d)")
WITH_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(ms|s|ops/s|%|GiB|MiB)(?![\w/])")


def _texts(svg: Path) -> list[str]:
    """Every text of the SVG except axis tick labels (matplotlib groups them as xtick_N/ytick_N)."""
    out: list[str] = []

    def walk(el: ET.Element, in_tick: bool) -> None:
        tick = in_tick or el.get("id", "").startswith(("xtick", "ytick"))
        if el.tag.endswith("}text") and not tick:
            out.append("".join(el.itertext()))
        for c in el:
            walk(c, tick)

    walk(ET.parse(svg).getroot(), False)
    return out


def test_check_passes_on_the_repository() -> None:
    problems = check(REPO / "diagram_gen" / "specs", REPO / "results", OUT, REPO)
    assert problems == [], "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("guarantee", GUARANTEES)
def test_six_diagrams_per_guarantee_with_sidecars_naming_results_files(guarantee: str) -> None:
    for kind in KIND_TYPES:
        for ext in ("svg", "png", "json"):
            assert (OUT / guarantee / f"{kind}.{ext}").is_file(), f"{guarantee}/{kind}.{ext}"
        side = json.loads((OUT / guarantee / f"{kind}.json").read_text())
        provs = [f["provenance"] for f in side["figures"] if f.get("provenance")]
        assert provs, kind
        for p in provs:
            assert p["file"].startswith("results/") and (REPO / p["file"]).exists(), (kind, p)


@pytest.mark.parametrize("guarantee", GUARANTEES)
def test_every_number_shown_is_in_the_sidecar(guarantee: str) -> None:
    for kind in KIND_TYPES:
        svg = OUT / guarantee / f"{kind}.svg"
        blob = (OUT / guarantee / f"{kind}.json").read_text()
        spec = (REPO / "diagram_gen" / "specs" / guarantee / f"{kind}.yaml").read_text()
        texts = _texts(svg)
        assert len(texts) > 10, kind
        for t in texts:
            for m in WITH_UNIT.finditer(t):  # a quantity: only from a measurement or a citation
                assert m.group(1) in blob, f"{kind}: {m.group(0)!r} in {t!r} is not in the sidecar"
            for m in NUMBER.finditer(t):    # any other number: the sidecar or the spec's own text
                assert m.group(1) in blob or m.group(1) in spec, f"{kind}: {m.group(1)!r} in {t!r}"
