"""``gbench diagrams``: regenerate every diagram from ``results/``, or ``--check`` them.

    gbench diagrams [--results DIR] [--specs DIR] [--out DIR] [--check] [--newest] [--moves DIR]

``--results`` defaults to the harness's results root (``$GBENCH_RESULTS_DIR``, else
``<repo>/results``); ``--out`` to ``<results>/diagrams``. A missing or non-directory
``--results``/``--specs``, or an ``--out`` that is (or lies under) a file, is bad input:
one line naming the option, exit 2, nothing written.

Without ``--check``: build into ``--out`` and print each file written, then any problems.
Exit 0 when the files are what the data supports (unmeasured figures included: they say
"not measured"), exit 1 when a run is damaged (a file of it cannot be read or has the wrong
shape): the build refuses that run, names file and reason, and never takes figures from an
older run instead. With ``--check``: build into a temp dir, compare with ``--out``, print one
line per problem (``file: field: reason``) and exit 1 if there is any, else 0. Never starts a
cluster. ``--newest`` (what the scheduled bench job uses): bindings pinned to a run read the
newest run like it instead (resolve.py), so the footers name the fresh runs. ``--moves DIR``:
before building, read the diagrams' sidecars in ``--out``; after, write ``DIR/diagram-moves.md``
(the pull request description: which figures moved beyond their series' noise) and
``DIR/diagram-moves.json`` (moves.py). Errors reach the user through harness/cli.py (the only place that turns them into
one line and an exit status).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from harness.errors import ArgumentError

if TYPE_CHECKING:
    from diagram_gen.build import BuildReport
    from diagram_gen.resolve import Resolver

REPO_ROOT = Path(__file__).resolve().parent.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", help="results root (default: $GBENCH_RESULTS_DIR, else <repo>/results)")
    p.add_argument("--specs", help="diagram specs root (default: diagram_gen/specs)")
    p.add_argument("--out", help="output root (default: <results>/diagrams)")
    p.add_argument("--check", action="store_true", help="verify instead of writing: exit 1 listing every problem "
                                                         "(unmeasured figure, failed claim, damaged run, missing "
                                                         "renderer, stale file)")
    p.add_argument("--newest", action="store_true", help="bindings pinned to a run (run:) read the newest run of "
                                                          "the same suite or scenario instead (the bench job's "
                                                          "regeneration from fresh runs)")
    p.add_argument("--moves", metavar="DIR", help="write DIR/diagram-moves.md and .json: every figure that moved "
                                                  "since the diagrams in --out, judged against its series' noise")


def _directory(option: str, value: str | Path) -> Path:
    """An existing directory given on the command line; ArgumentError (exit 2) otherwise."""
    p = Path(value)
    if not p.exists():
        raise ArgumentError(option, f"{value}: no such directory")
    if not p.is_dir():
        raise ArgumentError(option, f"{value}: not a directory (a file)")
    return p.resolve()


def _output_root(value: str | Path, option: str = "--out") -> Path:
    """Where to write: a directory, or a path whose nearest existing ancestor is a directory."""
    p = Path(value).resolve()
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                what = "is a file" if q == p else f"lies under a file ({q})"
                raise ArgumentError(option, f"{value}: {what}; give a directory")
            break
    return p


def resolve_paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """(results, specs, out) from the options and the environment, each checked."""
    from harness.results.store import results_root

    if args.results:
        results = _directory("--results", args.results)
    else:  # the harness's results root: where gbench run/bench wrote
        results = _directory("GBENCH_RESULTS_DIR" if os.environ.get("GBENCH_RESULTS_DIR") else "results root",
                             results_root())
    specs = _directory("--specs", args.specs or REPO_ROOT / "diagram_gen" / "specs")
    out = _output_root(args.out or results / "diagrams")
    return results, specs, out


def write_moves(report: "BuildReport", before: dict[str, dict[str, Any]], moves_dir: Path,
                noise_resolver: "Resolver | None" = None, extra: dict[str, Any] | None = None) -> None:
    """``diagram-moves.md`` and ``.json`` in ``moves_dir``: the build's sidecars against
    ``before``, each moved figure's noise measured over the runs its binding may read through
    ``noise_resolver`` (default: the build's); ``extra``: more fields for the JSON."""
    from diagram_gen.moves import MAX_NOISE_RUNS, FigureNoise, compare, figure_noise, moves_json, moves_markdown
    from diagram_gen.provenance import dumps

    resolver = noise_resolver or report.resolver
    assert resolver is not None
    specs = {f"{r.guarantee}/{r.kind}": r.spec for r in report.diagrams if r.spec}

    def noise_of(diagram: str, key: str) -> FigureNoise:
        spec = specs.get(diagram)
        if spec is None or key not in spec.figures:
            return FigureNoise(None, "a value the renderer derived from series: its noise is not measured")
        values = resolver.values_in_runs(key, spec.figures[key], MAX_NOISE_RUNS)
        numbers = [(batch, float(v)) for _, batch, v in values
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return figure_noise(numbers)

    after = {f"{r.guarantee}/{r.kind}": r.sidecar for r in report.diagrams if r.sidecar}
    moves = compare(before, after, noise_of)
    moves_dir.mkdir(parents=True, exist_ok=True)
    (moves_dir / "diagram-moves.md").write_text(moves_markdown(moves), encoding="utf-8")
    (moves_dir / "diagram-moves.json").write_text(dumps({**moves_json(moves), **(extra or {})}), encoding="utf-8")
    print(f"wrote {moves_dir / 'diagram-moves.md'}, {moves_dir / 'diagram-moves.json'}: "
          f"{len(moves.by_status('beyond noise'))} figure(s) moved beyond noise", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from diagram_gen.build import build_all, check

    results, specs, out = resolve_paths(args)
    if args.check and (args.newest or args.moves):
        raise ArgumentError("--check", "checks the committed diagrams as built; not with --newest or --moves")
    if args.check:
        problems = check(specs, results, out, REPO_ROOT)
        for p in problems:
            print(p)
        print(f"diagrams --check: {len(problems)} problem(s)" if problems else "diagrams --check: ok",
              file=sys.stderr)
        return 1 if problems else 0
    moves_dir = _output_root(args.moves, "--moves") if args.moves else None
    before: dict[str, dict[str, Any]] = {}
    if moves_dir is not None:  # the comparison's imports only when asked for
        from diagram_gen.moves import read_sidecars

        before = read_sidecars(out)
    report = build_all(specs, results, out, REPO_ROOT, newest=args.newest)
    for f in report.written:
        try:
            print(f"wrote {f.relative_to(REPO_ROOT)}")
        except ValueError:
            print(f"wrote {f}")
    for p in report.problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"{len(report.diagrams)} diagram spec(s) from {results}, {len(report.contradictions)} contradicted "
          f"claim(s), {len(report.cited)} cited claim(s), {len(report.problems)} problem(s) "
          "(gbench diagrams --check lists them)", file=sys.stderr)
    if moves_dir is not None:
        write_moves(report, before, moves_dir)
    if report.damaged:
        print(f"diagrams: {len(report.damaged)} damaged file(s) in the runs: refused (see the problems above)",
              file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m diagram_gen.cli``: the same as ``gbench diagrams`` (errors and exit status included)."""
    from harness.cli import main as gbench

    return gbench(["diagrams", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
