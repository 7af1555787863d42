"""``gbench diagrams-refresh``: the bench job's regeneration of the diagrams from one batch of
fresh runs (issue 12 item 5).

    gbench diagrams-refresh --batch ID [--from DIR] [--into DIR] [--specs DIR] [--moves DIR]

1. **The batch**: every run in ``--from`` (default: the results root) whose manifest has
   ``batch.id`` = ID (``make bench-ci`` sets it: the night's repeats on fresh clusters). No
   such run is bad input (exit 2), before anything is written.
2. **Adopted** into ``--into`` (default: the results root; the repository's ``results/`` in
   the job): each batch run not there yet is copied in, so the diagrams' provenance files
   exist where the pull request commits them. A run already there is left as it is.
3. **Built** from the reference runs of ``--into`` (``reference-runs.txt``) plus the batch, with
   ``newest`` selection limited to the batch (resolve.py: a binding pinned to a run reads the
   newest batch run like it, else the pinned run: nothing moves to an older run),
   into ``--into``/diagrams. The footers then name the batch's runs wherever a batch run has the
   figure, and the older runs they still use elsewhere; the sidecars record
   ``inputs.selection: newest`` so ``make test`` checks the render against the same inputs.
   Runs of ``--from`` outside the batch and the reference (the history of earlier nights) are
   not inputs: they are the noise's subject, not the diagram's.
4. **Moves** (``--moves DIR``): ``diagram-moves.md`` (the pull request description) and
   ``diagram-moves.json`` (moves.py), comparing with the diagrams ``--into`` held before, the
   noise of each moved figure measured over the runs its binding may read in the history
   (``--from``'s runs of the same suite or scenario, batch repeats grouped); the JSON lists the
   adopted runs (what the job commits beside the diagrams).

Exit 0 when built, 1 when a run is damaged (as ``gbench diagrams``), 2 for bad input.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from diagram_gen.reference import link_runs, read_run_list
from diagram_gen.sources import list_runs
from harness.errors import ArgumentError

REPO_ROOT = Path(__file__).resolve().parent.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch", required=True, help="the batch id of the fresh runs (manifest batch.id)")
    p.add_argument("--from", dest="source", help="results root holding the batch and the history (default: the "
                                                  "results root)")
    p.add_argument("--into", help="results root with reference-runs.txt that receives the runs and the diagrams "
                                  "(default: the results root)")
    p.add_argument("--specs", help="diagram specs root (default: diagram_gen/specs)")
    p.add_argument("--moves", metavar="DIR", help="write DIR/diagram-moves.md and .json")


def batch_runs(root: Path, batch: str) -> list[str]:
    """The runs in ``root`` whose manifest names batch ``batch``, oldest first (a run whose
    manifest cannot be read is not taken: ``gbench changes`` lists such runs as left out)."""
    out = []
    for rid in sorted(list_runs(root)):
        try:
            m = json.loads((root / rid / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        b = m.get("batch") if isinstance(m, dict) else None
        if isinstance(b, dict) and b.get("id") == batch:
            out.append(rid)
    return out


def adopt(source: Path, into: Path, runs: list[str]) -> list[str]:
    """Copy each run of ``runs`` from ``source`` into ``into`` unless there already; the runs
    copied."""
    copied = []
    for rid in runs:
        dst = into / rid
        if dst.exists() or (source / rid).resolve() == dst.resolve():
            continue
        shutil.copytree(source / rid, dst, symlinks=True)
        copied.append(rid)
    return copied


def run(args: argparse.Namespace) -> int:
    from diagram_gen.build import build_all
    from diagram_gen.cli import _directory, write_moves, _output_root
    from diagram_gen.moves import read_sidecars
    from harness.results.store import results_root

    source = _directory("--from", args.source) if args.source else _directory("results root", results_root())
    into = _directory("--into", args.into) if args.into else _directory("results root", results_root())
    specs = _directory("--specs", args.specs or REPO_ROOT / "diagram_gen" / "specs")
    moves_dir = _output_root(args.moves, "--moves") if args.moves else None
    reference = read_run_list(into / "reference-runs.txt")
    fresh = batch_runs(source, args.batch)
    if not fresh:
        raise ArgumentError("--batch", f"{args.batch}: no run of {source} has this batch id (manifest batch.id)")
    before = read_sidecars(into / "diagrams") if moves_dir else {}
    copied = adopt(source, into, fresh)
    tmp = Path(tempfile.mkdtemp(prefix="gbench-refresh-"))
    try:
        tree = link_runs(into, sorted({*reference, *fresh}), tmp / "results")
        report = build_all(specs, tree, into / "diagrams", REPO_ROOT, newest=True, fresh=frozenset(fresh))
        for p in report.problems:
            print(f"problem: {p}", file=sys.stderr)
        print(f"diagrams-refresh: batch {args.batch}: {len(fresh)} run(s) ({len(copied)} copied into {into}), "
              f"{len(report.diagrams)} diagram spec(s) built with the newest runs, {len(report.problems)} problem(s)",
              file=sys.stderr)
        if moves_dir is not None:
            # the noise: over the history in --from (the batch and the nights before), not only the build's tree
            from diagram_gen.resolve import Resolver
            history = Resolver(source, REPO_ROOT, report.resolver.cache if report.resolver else None, newest=True)
            # (not limited to the batch: the noise is measured over every run like the figure's)
            extra: dict[str, Any] = {"batch": args.batch, "batch_runs": fresh, "adopted_runs": copied}
            write_moves(report, before, moves_dir, history, extra)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if report.damaged else 0
