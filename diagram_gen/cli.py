"""``gbench diagrams``: regenerate every diagram from ``results/``, or ``--check`` them.

    gbench diagrams [--results DIR] [--specs DIR] [--out DIR] [--check]

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
cluster. Errors reach the user through harness/cli.py (the only place that turns them into
one line and an exit status).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from harness.errors import ArgumentError

REPO_ROOT = Path(__file__).resolve().parent.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", help="results root (default: $GBENCH_RESULTS_DIR, else <repo>/results)")
    p.add_argument("--specs", help="diagram specs root (default: diagram_gen/specs)")
    p.add_argument("--out", help="output root (default: <results>/diagrams)")
    p.add_argument("--check", action="store_true", help="verify instead of writing: exit 1 listing every problem "
                                                         "(unmeasured figure, failed claim, damaged run, missing "
                                                         "renderer, stale file)")


def _directory(option: str, value: str | Path) -> Path:
    """An existing directory given on the command line; ArgumentError (exit 2) otherwise."""
    p = Path(value)
    if not p.exists():
        raise ArgumentError(option, f"{value}: no such directory")
    if not p.is_dir():
        raise ArgumentError(option, f"{value}: not a directory (a file)")
    return p.resolve()


def _output_root(value: str | Path) -> Path:
    """Where to write: a directory, or a path whose nearest existing ancestor is a directory."""
    p = Path(value).resolve()
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                what = "is a file" if q == p else f"lies under a file ({q})"
                raise ArgumentError("--out", f"{value}: {what}; give a directory")
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


def run(args: argparse.Namespace) -> int:
    from diagram_gen.build import build_all, check

    results, specs, out = resolve_paths(args)
    if args.check:
        problems = check(specs, results, out, REPO_ROOT)
        for p in problems:
            print(p)
        print(f"diagrams --check: {len(problems)} problem(s)" if problems else "diagrams --check: ok",
              file=sys.stderr)
        return 1 if problems else 0
    report = build_all(specs, results, out, REPO_ROOT)
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
