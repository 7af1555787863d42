"""Was a run's load steady? The coefficient of variation of its per-second throughput.

A run whose completed operations per second swing widely (a stall, a compaction, a neighbour
on the host) measured something other than the configuration's steady state; change detection
(``harness.results.changes``) marks it unstable and leaves it out of the series' points (it is
still listed, to be drawn hollow).

Per-second throughput comes from the workload's HdrHistogram interval log,
``<run>/workloads/<workload>/hlog/<op>.ok.hlog`` (``harness.recorder.histograms``): each
interval's count divided by its length. Only whole intervals inside the measured window count
(the summary row's ``duration_s``): the interval at the end holds the operations that were in
flight when the window closed and would read as a collapse. A second in which no operation
completed has no interval in the log and counts as 0 (a stall is exactly what this must see).

What has no interval log:

- failure figures (election time, unavailability, lost writes, ...): one figure per scenario,
  no steady load to judge; such a run is used as measured ("stable: a failure figure");
- a workload measured under a fault scenario (the session names its rows
  ``<scenario>/<workload>``): its load is disturbed on purpose, so its spread says nothing about
  the host; used, "stable: measured under fault scenario <name>";
- a peer tool's rows (its own benchmark program, e.g. etcd's): no per-second record; used, and
  the stability says "not measured" with the reason;
- a harness row without ``duration_s``: the window cannot be cut; used, "not measured".

A missing or unreadable interval log of a harness row is an error naming the file (DamagedFile):
the run is damaged, not steady.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DamagedFile
from harness.recorder.histograms import read_hlog

#: The tool name of the harness's own workload rows (``summary.json``), whose runs have hlogs.
HARNESS_TOOL = "harness"
#: The metrics read from summary rows; every other metric is a failure figure.
LOAD_METRICS = frozenset({"throughput_ops_s", "p50_ms", "p99_ms", "p999_ms"})


@dataclass(frozen=True)
class Stability:
    """``usable``: whether the run's value may make a point; ``cv``: the coefficient of variation
    of per-second throughput (None when not measured); ``note``: what was decided and why, in
    words (shown in changes.json)."""

    usable: bool
    cv: float | None
    note: str


def per_second_throughput(hlog: Path, duration_s: float) -> list[float]:
    """Completed operations per second in every whole interval of the measured window
    (``duration_s``), in order; an interval missing from the log is 0. DamagedFile when the
    log is missing or cannot be decoded."""
    try:
        intervals = read_hlog(hlog)
    except FileNotFoundError:
        raise DamagedFile(str(hlog), "missing: the run's per-second throughput cannot be judged") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise DamagedFile(str(hlog), f"not a readable HdrHistogram interval log: {e}") from None
    if not intervals:
        return []
    length = intervals[0][1]
    if not length > 0:
        raise DamagedFile(str(hlog), f"interval length {length} s: must be > 0")
    whole = math.floor(duration_s / length + 1e-9)
    counts = [0] * whole
    for start, _len, h in intervals:
        idx = round(start / length)
        if 0 <= idx < whole:
            counts[idx] += h.get_total_count()
    return [c / length for c in counts]


def coefficient_of_variation(values: list[float]) -> float:
    """Population standard deviation over the mean; infinity when the mean is 0."""
    mean = statistics.fmean(values)
    return math.inf if mean == 0 else statistics.pstdev(values) / mean


def judge(run_dir: Path, metric: str, tool: str, workload: str, op: str, duration_s: float | None,
          threshold_cv: float) -> Stability:
    """The stability of one run's row (see the module's docstring for every case)."""
    if metric not in LOAD_METRICS:
        return Stability(True, None, "stable: a failure figure (no per-second load to judge)")
    if "/" in workload:
        return Stability(True, None, f"stable: measured under fault scenario {workload.split('/', 1)[0]} "
                                     "(its load is disturbed on purpose)")
    if tool != HARNESS_TOOL:
        return Stability(True, None, f"not measured: {tool} records no per-second throughput; used")
    if duration_s is None or not math.isfinite(duration_s):
        return Stability(True, None, "not measured: the summary row has no duration_s; used")
    rates = per_second_throughput(run_dir / "workloads" / workload / "hlog" / f"{op}.ok.hlog", duration_s)
    if len(rates) < 2:
        return Stability(True, None, f"not measured: {len(rates)} whole second(s) in the window; used")
    cv = coefficient_of_variation(rates)
    if cv > threshold_cv:
        return Stability(False, cv, f"unstable: per-second throughput cv {cv:.3f} > {threshold_cv:g}")
    return Stability(True, cv, f"stable: per-second throughput cv {cv:.3f} <= {threshold_cv:g}")
