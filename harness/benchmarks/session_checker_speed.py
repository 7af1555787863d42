"""How the session-guarantee checkers' time grows with the history (they are meant to be
linear, or n log n where they sort).

    python -m harness.benchmarks.session_checker_speed --out results/benchmarks/session-checker-speed.json

For each size (``--sizes``, default 50,000, 100,000 and 200,000 operations) it generates one
history (``synthetic_history``: seeded, so the same size gives the same history), writes it
as harness JSONL to a temporary file, and times parsing it (``load_history``) and each of
the seven checkers on it (``harness.checkers.session``; each derives its facts itself, as
``gbench check`` does), the fastest of ``--repeat`` runs, ``time.perf_counter``. Each row
also records the verdict and how many reads (or writes) were judged and violate it, so a
change that makes a checker faster by judging less shows.

The history: ``sessions`` sequential client sessions take turns (an operation invoked every
10 us, lasting 80 % of its session's turn, so a session's operations never overlap); 40 %
writes, half to the session's own keys (one writer, no revision) and half to shared keys
(every write with its revision: a commit log); 1 % of writes time out (``info``). A read goes
to one of ``replicas`` replicas chosen at random, each behind the log by a random number of
commits (up to ``max_lag``, redrawn every 1,000 operations), and returns the key's latest
value that replica has: round-robin-like routing, so reads break read-your-writes, monotonic
reads, consistent prefix and causal some of the time, while the one log keeps every
session's writes in order (monotonic writes and writes-follow-reads hold).

Output (``schema_version`` 1)::

    {"schema_version": 1, "generated_utc": ..., "host": {...}, "repeat": 3,
     "timing": "fastest of `repeat` runs", "history": {"sessions": 16, ...},
     "rows": [{"ops": 200000, "step": "parse", "seconds": 1.757, "us_per_op": 8.785},
              {"ops": 200000, "step": "causal", "seconds": 2.585, "us_per_op": 12.925, "verdict": false,
               "judged": 118990, "violating": 5032}, ...],
     "size_ratio": 4.0, "growth": {"parse": 4.347, "causal": 5.873, ...}}

(figures from one ``--repeat 1`` run on ``vm``, 2 logical cores.)

``growth``: each step's seconds at the largest size over its seconds at the smallest, beside
``size_ratio`` (the same for the sizes): about equal for a linear step. Expect it somewhat
above: the checkers sort (writes by position, causal's events by time), and Python's cyclic
garbage collector runs more often as the objects a history makes grow (on ``vm``, deriving
the facts of 200,000 operations took 1.15 s, 0.58 s with the collector off; 4.4 times the
50,000-operation time, against 7.8 with it on). The checkers leave the collector alone.
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from harness.benchmarks.checker_speed import host_facts
from harness.checkers import session
from harness.checkers.formats import load_history
from harness.checkers.model import CheckResult, History
from harness.recorder.history import Op, write_history

SCHEMA_VERSION = 1
# session-checker-speed.json changelog:
#   1 - first version
CHECKS: dict[str, Callable[[History], CheckResult]] = {
    "ryw": session.check_read_your_writes, "monotonic-reads": session.check_monotonic_reads,
    "monotonic-writes": session.check_monotonic_writes, "wfr": session.check_writes_follow_reads,
    "pram": session.check_pram, "causal": session.check_causal, "consistent-prefix": session.check_consistent_prefix}
SHAPE = {"sessions": 16, "own_keys": 4, "shared_keys": 64, "replicas": 3, "max_lag": 40, "seed": 20261205}


def synthetic_history(n_ops: int, sessions: int = 16, own_keys: int = 4, shared_keys: int = 64, replicas: int = 3,
                      max_lag: int = 40, seed: int = 20261205) -> list[Op]:
    """``n_ops`` operations as described in the module docstring (deterministic for a seed)."""
    rng = random.Random(seed)
    log_revs: dict[str, list[int]] = {}
    log_vals: dict[str, list[str]] = {}
    rev = 0
    seq = [0] * sessions
    lag = [rng.randint(0, max_lag) for _ in range(replicas)]
    ops: list[Op] = []
    span = 8_000 * sessions
    for i in range(n_ops):
        s = i % sessions
        t0 = i * 10_000
        if i % 1000 == 0:
            lag = [rng.randint(0, max_lag) for _ in range(replicas)]
        if rng.random() < 0.4:
            own = rng.random() < 0.5
            key = f"s{s}-{rng.randrange(own_keys)}" if own else f"k{rng.randrange(shared_keys)}"
            seq[s] += 1
            value = f"{s}:{seq[s]}"
            info = rng.random() < 0.01
            rev += 1
            log_revs.setdefault(key, []).append(rev)
            log_vals.setdefault(key, []).append(value)
            ops.append(Op(i, s, "put", key, value, t0, t0 + span, "info" if info else "ok",
                          revision=None if own or info else rev))
        else:
            key = f"s{s}-{rng.randrange(own_keys)}" if rng.random() < 0.3 else f"k{rng.randrange(shared_keys)}"
            seen = rev - lag[rng.randrange(replicas)]
            j = bisect.bisect_right(log_revs.get(key, []), seen)
            ops.append(Op(i, s, "get", key, None, t0, t0 + span, "ok", result=log_vals[key][j - 1] if j else None))
    return ops


def _fastest(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def run(out: Path, sizes: Sequence[int] = (50_000, 100_000, 200_000), repeat: int = 3) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"history-{n}.jsonl"
            write_history(path, synthetic_history(n, **SHAPE))
            history, seconds = _fastest(lambda: load_history(path, "history"), repeat)
            rows.append({"ops": n, "step": "parse", "seconds": round(seconds, 6),
                         "us_per_op": round(seconds / n * 1e6, 3)})
            for name, check in CHECKS.items():
                result, seconds = _fastest(lambda: check(history), repeat)  # noqa: B023 - called at once
                e = result.evidence
                unit = "writes" if name in ("monotonic-writes", "wfr") else "reads"
                rows.append({"ops": n, "step": name, "seconds": round(seconds, 6),
                             "us_per_op": round(seconds / n * 1e6, 3), "verdict": result.verdict,
                             "judged": e[f"{unit}_judged"], "violating": e[f"violating_{unit}"]})
    small, large = min(sizes), max(sizes)
    at = {(r["ops"], r["step"]): r["seconds"] for r in rows}
    growth = {step: round(at[(large, step)] / at[(small, step)], 3) if at[(small, step)] else None
              for step in ["parse", *CHECKS]}
    doc = {"schema_version": SCHEMA_VERSION, "generated_utc": dt.datetime.now(dt.timezone.utc).isoformat(),
           "host": host_facts(), "repeat": repeat, "timing": "fastest of `repeat` runs",
           "history": dict(SHAPE), "size_ratio": round(large / small, 3), "growth": growth, "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def format_report(doc: dict[str, Any]) -> str:
    lines = [f"{'ops':>8} {'step':<18} {'seconds':>9} {'us/op':>7}  verdict"]
    for r in doc["rows"]:
        verdict = "" if "verdict" not in r else f"{r['verdict']} ({r['violating']} of {r['judged']})"
        lines.append(f"{r['ops']:>8} {r['step']:<18} {r['seconds']:>9.3f} {r['us_per_op']:>7.2f}  {verdict}")
    lines.append(f"growth from the smallest to the largest size ({doc['size_ratio']}x the operations): "
                 + ", ".join(f"{k} {v}x" for k, v in doc["growth"].items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.benchmarks.session_checker_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("results/benchmarks/session-checker-speed.json"))
    p.add_argument("--sizes", default="50000,100000,200000", help="history sizes in operations, comma-separated")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    try:
        sizes = [int(s) for s in a.sizes.split(",")]
        if not sizes or min(sizes) < 1 or a.repeat < 1:
            raise ValueError
    except ValueError:
        print(f"gbench: error: --sizes must be positive integers and --repeat >= 1 (got {a.sizes!r}, {a.repeat})",
              file=sys.stderr)
        return 2
    print(format_report(run(a.out, sizes, a.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
