"""``gbench diagrams``: regenerate every diagram from ``results/``, or ``--check`` them.

    gbench diagrams [--results DIR] [--specs DIR] [--out DIR] [--check]

Without ``--check``: build into ``--out`` (default ``results/diagrams``) and print each file
written, then any problems (exit 0: the files are what the data supports, problems included).
With ``--check``: build into a temp dir, compare with ``--out``, print one line per problem
(``file: field: reason``) and exit 1 if there is any, else 0. Never starts a cluster.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", help="results root (default: <repo>/results)")
    p.add_argument("--specs", help="diagram specs root (default: diagram_gen/specs)")
    p.add_argument("--out", help="output root (default: <results>/diagrams)")
    p.add_argument("--check", action="store_true", help="verify instead of writing: exit 1 listing every problem "
                                                         "(unmeasured figure, failed claim, missing renderer, stale file)")


def run(args: argparse.Namespace) -> int:
    from diagram_gen.build import build_all, check

    results = Path(args.results).resolve() if args.results else REPO_ROOT / "results"
    specs = Path(args.specs).resolve() if args.specs else REPO_ROOT / "diagram_gen" / "specs"
    out = Path(args.out).resolve() if args.out else results / "diagrams"
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
    print(f"{len(report.diagrams)} diagram spec(s), {len(report.contradictions)} contradicted claim(s), "
          f"{len(report.problems)} problem(s) (gbench diagrams --check lists them)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gbench diagrams", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
