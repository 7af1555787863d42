"""Build every diagram: specs -> lint -> resolve -> render -> SVG/PNG + sidecar, then the
contradictions report and the gallery; and ``check``, the same build compared against what
is committed.

Layout of the output root (``results/diagrams`` by default)::

    <guarantee>/<kind>.svg, <kind>.png, <kind>.json   one diagram and its sidecar
    contradictions.md, contradictions.json            spec claims the measurements contradict
    index.html, README.md, <guarantee>/index.html, <guarantee>/README.md
                                                      the gallery (gallery.py): every guarantee of the
                                                      catalogue (catalogue.py), measured or not

Why one pass that never stops early: a broken spec or a missing renderer must cost one
diagram, not the gallery, and ``--check`` must list every problem at once. Writes are atomic
(temp file + rename) and nothing carries a timestamp, so the same ``results/`` and specs give
byte-identical files and ``check`` can detect stale committed diagrams by comparing bytes.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagram_gen import gallery
from diagram_gen.catalogue import catalogue_file, load_catalogue
from diagram_gen.claims import CITED, Verdict, cited_entry, contradiction_entry, contradictions_markdown, evaluate_all
from diagram_gen.lint import Problem, lint_data
from diagram_gen.model import KIND_TYPES, DiagramSpec, NotMeasured, ResolvedDiagram
from diagram_gen.provenance import build_sidecar, dumps, missing_files
from diagram_gen.resolve import Resolver, resolve_with
from diagram_gen.spec import PLACEHOLDER_RE, derived_keys, parse_spec, read_spec_data, rel_to
from harness.errors import ConfigError

#: files check() compares between a fresh build and the committed output root
OUTPUT_SUFFIXES = (".svg", ".png", ".json", ".html", ".md")


@dataclass
class DiagramResult:
    spec_file: str
    guarantee: str
    kind: str
    spec: DiagramSpec | None = None
    resolved: ResolvedDiagram | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    sidecar: dict[str, Any] | None = None
    #: output files relative to the output root (svg, png, json), only those written
    outputs: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: problems that kept the diagram from being drawn (shown in the gallery)
    errors: list[str] = field(default_factory=list)

    def card(self) -> dict[str, Any]:
        s = self.spec
        return {"guarantee": self.guarantee, "kind": self.kind, "id": s.id if s else None,
                "title": fill_placeholders(s.title, self.resolved) if s else None, "type": s.type if s else None, "outputs": dict(self.outputs),
                "sidecar": self.sidecar, "errors": list(self.errors)}


def fill_placeholders(text: str, d: ResolvedDiagram | None) -> str:
    """``{key}`` -> the figure as printed (what the diagram itself shows)."""
    if d is None:
        return text

    def sub(m: "re.Match[str]") -> str:
        k = m.group(1)
        return d.text(k) if k in d.figures or k in d.derived else m.group(0)

    return PLACEHOLDER_RE.sub(sub, text)


@dataclass
class BuildReport:
    diagrams: list[DiagramResult]
    #: every file written, absolute
    written: list[Path]
    problems: list[Problem]
    contradictions: list[dict[str, Any]]
    #: cited claims (the spec's figures from other hardware), listed apart in the report
    cited: list[dict[str, Any]] = field(default_factory=list)
    #: damaged files of the runs (file relative to the repository -> reason): an error
    damaged: dict[str, str] = field(default_factory=dict)
    #: the resolver the build used (``gbench diagrams --moves`` measures figures' noise with it)
    resolver: Resolver | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


# -- writing -------------------------------------------------------------------------------------
def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_figure(fig: Any, svg: Path, png: Path) -> None:
    """common.save into temp names in the same directory, then rename both."""
    from diagram_gen.render.common import save

    svg.parent.mkdir(parents=True, exist_ok=True)
    tmp_svg, tmp_png = svg.with_name(f".{svg.name}.tmp"), png.with_name(f".{png.name}.tmp")
    try:
        save(fig, tmp_svg, tmp_png)
        os.replace(tmp_svg, svg)
        os.replace(tmp_png, png)
    finally:
        tmp_svg.unlink(missing_ok=True)
        tmp_png.unlink(missing_ok=True)


# -- one diagram ---------------------------------------------------------------------------------
def spec_files(specs_root: Path) -> list[Path]:
    """specs/<guarantee>/*.yaml, guarantees sorted, kinds in KIND_TYPES order."""
    kinds = list(KIND_TYPES)
    root = Path(specs_root)
    if not root.is_dir():
        return []
    files = [p for g in sorted(root.iterdir()) if g.is_dir() for p in g.glob("*.yaml")]
    return sorted(files, key=lambda p: (p.parent.name, kinds.index(p.stem) if p.stem in kinds else len(kinds), p.name))


def _not_measured_problems(file: str, d: ResolvedDiagram) -> list[Problem]:
    out = []
    for k in sorted(d.figures):
        f = d.figures[k]
        if isinstance(f, NotMeasured):
            sec = "figures" if k in d.spec.figures else "derived"
            out.append(Problem(file, f"{sec}.{k}", f"not measured: {f.reason}"))
    for k in sorted(d.series):
        s = d.series[k]
        if isinstance(s, NotMeasured):
            out.append(Problem(file, f"series.{k}", f"not measured: {s.reason}"))
    for k in derived_keys(d.spec.layout):
        if k not in d.figures and k not in d.derived:
            out.append(Problem(file, f"layout.derived.{k}", "not measured: the renderer did not derive it"))
    return out


def build_diagram(path: Path, resolver: Resolver, out_root: Path, repo_root: Path,
                  written: list[Path]) -> DiagramResult:
    """Lint, parse, resolve, render and save one spec; every problem is recorded, none raised.
    The sidecar names the runs of the results root (``inputs.runs``): rendering from exactly
    those runs gives these bytes again."""
    from diagram_gen.render import RendererMissing, get_renderer

    file = rel_to(path, repo_root)
    res = DiagramResult(spec_file=file, guarantee=path.parent.name, kind=path.stem)
    lint: list[Problem] = []
    try:  # read and parse the file once: lint and validation both work on the parsed data
        data, sha = read_spec_data(path, file)
        lint = lint_data(data, file)
        res.problems.extend(lint)
        spec = parse_spec(data, file, expect_guarantee=path.parent.name, expect_kind=path.stem)
    except ConfigError as e:
        p = Problem(e.file, e.field, e.reason)
        if not any(q.field == p.field for q in lint):
            res.problems.append(p)
        res.errors.append(str(p))
        return res
    if lint:
        res.errors.extend(str(p) for p in lint)
    res.spec = spec
    d = resolve_with(resolver, spec)
    res.resolved = d
    try:
        render = get_renderer(spec.type)
        fig = render(d)
    except RendererMissing as e:
        fig = None
        res.problems.append(Problem(file, "type", f"{e}"))
        res.errors.append(f"type {spec.type}: {e}")
    except Exception as e:  # a renderer bug costs this diagram only, and is reported
        fig = None
        res.problems.append(Problem(file, "type", f"renderer {spec.type} failed: {type(e).__name__}: {e}"))
        res.errors.append(f"renderer {spec.type} failed: {type(e).__name__}: {e}")
    res.problems.extend(_not_measured_problems(file, d))
    res.verdicts = evaluate_all(d)
    for i, v in enumerate(res.verdicts):
        if v.failure:
            res.problems.append(Problem(file, f"claims.{i}.{v.claim.id}", v.failure))
    if fig is None:
        res.sidecar = build_sidecar(d, res.verdicts, sha, {}, resolver.runs, resolver.newest, resolver.fresh)
        return res
    gdir = Path(out_root) / spec.guarantee
    svg, png, js = gdir / f"{spec.kind}.svg", gdir / f"{spec.kind}.png", gdir / f"{spec.kind}.json"
    try:
        _save_figure(fig, svg, png)
    except Exception as e:
        res.problems.append(Problem(file, "type", f"saving the figure failed: {type(e).__name__}: {e}"))
        res.errors.append(f"saving failed: {e}")
        res.sidecar = build_sidecar(d, res.verdicts, sha, {}, resolver.runs, resolver.newest, resolver.fresh)
        return res
    res.outputs = {k: f"{spec.guarantee}/{p.name}" for k, p in (("svg", svg), ("png", png), ("json", js))}
    res.sidecar = build_sidecar(d, res.verdicts, sha, {"svg": svg.name, "png": png.name}, resolver.runs, resolver.newest, resolver.fresh)
    _atomic_write(js, dumps(res.sidecar).encode("utf-8"))
    written.extend([svg, png, js])
    for fld, f in missing_files(res.sidecar, repo_root):
        res.problems.append(Problem(file, fld, f"provenance file {f} does not exist"))
    return res


# -- everything ----------------------------------------------------------------------------------
def build_all(specs_root: Path, results_root: Path, out_root: Path, repo_root: Path,
              newest: bool = False, fresh: frozenset[str] | None = None) -> BuildReport:
    """Build every diagram under ``specs_root`` into ``out_root``; never stops at a problem.
    The gallery lists the guarantees of the catalogue beside ``specs_root`` (catalogue.py); a
    bad catalogue raises ConfigError before anything is written. ``newest``: pinned bindings
    read the newest run like the pinned one (resolve.py), ``fresh``: only those runs may
    replace it; ``BuildReport.resolver`` is the resolver used."""
    out_root = Path(out_root)
    cat = load_catalogue(catalogue_file(Path(specs_root)), Path(specs_root), Path(repo_root))
    resolver = Resolver(Path(results_root), Path(repo_root), newest=newest, fresh=fresh)
    written: list[Path] = []
    results: list[DiagramResult] = []
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    resolver.check_runs()  # every run's manifest, results file and scenario summaries, before any figure
    files = spec_files(Path(specs_root))
    if not files:
        problems.append(Problem(rel_to(Path(specs_root), repo_root), "(folder)", "no spec files (<guarantee>/<kind>.yaml)"))
    for g in sorted({p.parent for p in files}):
        for kind in KIND_TYPES:
            if not (g / f"{kind}.yaml").is_file():
                problems.append(Problem(rel_to(g, repo_root), kind, f"no {kind}.yaml: each guarantee has six diagrams"))
    for path in files:
        r = build_diagram(path, resolver, out_root, Path(repo_root), written)
        if r.spec is not None:
            if r.spec.id in seen_ids:
                r.problems.append(Problem(r.spec_file, "id", f"duplicate diagram id {r.spec.id!r} "
                                                             f"(also in {seen_ids[r.spec.id]})"))
            seen_ids.setdefault(r.spec.id, r.spec_file)
        results.append(r)
        problems.extend(r.problems)
    for file, reason in sorted(resolver.damaged.items()):
        problems.append(Problem(file, "(file)", f"damaged: {reason}; its run is refused (no figure falls back to "
                                                "an older run): repair or remove the run"))
    contradictions = [contradiction_entry(v, r.spec_file, r.spec.id) for r in results if r.spec
                      for v in sorted(r.verdicts, key=lambda v: v.claim.id) if v.verdict == "contradicted"]
    cited = [cited_entry(v, r.spec_file, r.spec.id) for r in results if r.spec
             for v in sorted(r.verdicts, key=lambda v: v.claim.id) if v.verdict == CITED]
    cards = [r.card() for r in results]
    docs = {
        "contradictions.json": dumps({"contradictions": contradictions, "cited": cited}),
        "contradictions.md": contradictions_markdown(contradictions, cited),
        **gallery.pages(cards, cat),
    }
    for name, text in docs.items():
        _atomic_write(out_root / name, text.encode("utf-8"))
        written.append(out_root / name)
    return BuildReport(diagrams=results, written=written, problems=problems, contradictions=contradictions,
                       cited=cited, damaged=dict(resolver.damaged), resolver=resolver)


def _tree(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in OUTPUT_SUFFIXES and not p.name.startswith(".")}


def stale_problems(fresh_root: Path, out_root: Path, repo_root: Path) -> list[Problem]:
    """Committed outputs that differ from a fresh build, are missing, or are left over."""
    fresh, committed = _tree(Path(fresh_root)), _tree(Path(out_root))
    out = []
    for name in sorted(set(fresh) | set(committed)):
        shown = rel_to(Path(out_root) / name, repo_root)
        if name not in committed:
            out.append(Problem(shown, "(file)", "stale: missing; run gbench diagrams to regenerate"))
        elif name not in fresh:
            out.append(Problem(shown, "(file)", "stale: not produced by a fresh build (left over); remove it"))
        elif fresh[name].read_bytes() != committed[name].read_bytes():
            out.append(Problem(shown, "(file)", "stale: differs from a fresh render; run gbench diagrams"))
    return out


def check(specs_root: Path, results_root: Path, out_root: Path, repo_root: Path) -> list[Problem]:
    """Every problem a fresh build finds, plus stale committed outputs (when ``out_root`` exists).
    Builds into a temp dir: ``out_root`` is only read."""
    tmp = Path(tempfile.mkdtemp(prefix="gbench-diagrams-check-"))
    try:
        report = build_all(specs_root, results_root, tmp, repo_root)
        problems = list(report.problems)
        if Path(out_root).exists():
            problems.extend(stale_problems(tmp, Path(out_root), repo_root))
        return problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["BuildReport", "DiagramResult", "build_all", "build_diagram", "check", "spec_files", "stale_problems"]
