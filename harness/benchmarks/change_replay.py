"""What the nightly job would have reported as a history grew: ``gbench changes``' verdict
after each batch, replayed over a results history (issue 12 item 4's false-alarm measure).

    python -m harness.benchmarks.change_replay --results DIR [--from-batch 10] [--out FILE.json]

The history's batches (``manifest.batch.id``), in the order of their first run; for each n from
``--from-batch`` (default ``MIN_POINTS``: the first with a verdict) to the last, the history
of the first n batches is judged twice, with the project's rules (``Settings()``) and without
the noise rule (``noise_factor`` 0: any shift Otava finds and Mann-Whitney confirms), and the
series reported are listed. On repeated identical runs every series reported is a false
alarm; on a history with a known change at batch k, every series reported before k + 3
batches, or in a series the change does not touch, is one.

Output (``schema_version`` 1), tidy: one row per (batches, rules)::

    {"schema_version": 1, "generated_utc": ..., "results": "...", "series": 15, "batches": 24,
     "rows": [{"batches": 10, "last_batch": "...", "rules": "project", "reported": 0, "series": [],
               "largest_shift_within_noise": 1.3}, ...]}

``largest_shift_within_noise``: of the change points not reported because their shift was
within noise, the largest shift in run standard deviations (None: there was none).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from harness.results.changes import MIN_POINTS, Settings, detect_changes
from harness.results.history import load_history

RULES = {"project": Settings(), "without noise rule": Settings(noise_factor=0.0)}


def batch_order(frame: Any) -> list[str]:
    """The batches of the history, in the order of their first run (runs outside a batch are
    not replayed: they make no batch to stop at)."""
    firsts = frame[frame.batch.notna()].groupby("batch").started_utc.min().sort_values()
    return list(firsts.index)


def replay(results: Path, from_batch: int = MIN_POINTS, find: Any = None) -> dict[str, Any]:
    """The replay of ``results`` (see the module docstring); ``find``: the change-point finder
    (default Otava's)."""
    h = load_history([results])
    frame = h.frame
    batches = batch_order(frame)
    rows = []
    for n in range(from_batch, len(batches) + 1):
        part = frame[frame.batch.isin(set(batches[:n]))]
        for name, settings in RULES.items():
            report = detect_changes(part, h.run_paths, settings=settings, find=find)
            reported = sorted({s.label for s, _ in report.changes})
            within = [x.shift_in_noise for s in report.series for x in s.not_reported if x.shift_in_noise is not None]
            rows.append({"batches": n, "last_batch": batches[n - 1], "rules": name, "reported": len(reported),
                         "series": reported, "largest_shift_within_noise": max(within, default=None)})
    return {"schema_version": 1, "generated_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "results": str(results), "series": int(frame.series.nunique()), "batches": len(batches), "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.benchmarks.change_replay", description=__doc__.split("\n")[0])
    p.add_argument("--results", required=True, type=Path)
    p.add_argument("--from-batch", type=int, default=MIN_POINTS)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if not args.results.is_dir():
        print(f"--results: {args.results}: not a directory", file=sys.stderr)
        return 2
    doc = replay(args.results, args.from_batch)
    for r in doc["rows"]:
        print(f"{r['batches']:>3} batches, {r['rules']:<18}: {r['reported']} of {doc['series']} series reported"
              + (f" ({'; '.join(r['series'])})" if r["series"] else ""))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
