"""Exact percentiles from raw samples (nearest-rank), shared by every summary.

Definition (nearest rank): for sorted samples x[0..n-1] and percentile p in (0, 100],
the value is x[ceil(p/100 * n) - 1]. It is always one of the samples, so
p50 <= p99 <= p99.9 <= max holds by construction (the trap of rounded buckets, where p99
exceeds max, cannot happen).
"""
from __future__ import annotations

import math
from typing import Sequence

STANDARD = (50.0, 90.0, 99.0, 99.9)


def nearest_rank(sorted_values: Sequence[float], p: float) -> float | None:
    """The p-th percentile of already-sorted samples; None for no samples."""
    n = len(sorted_values)
    if n == 0:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    rank = max(1, math.ceil(round(p / 100.0 * n, 9)))
    return sorted_values[rank - 1]


def summarize(values: Sequence[float], percentiles: Sequence[float] = STANDARD) -> dict[str, float | None]:
    """{"p50": .., "p90": .., "p99": .., "p99.9": .., "max": .., "count": n} from unsorted samples."""
    xs = sorted(values)
    out: dict[str, float | None] = {f"p{p:g}": nearest_rank(xs, p) for p in percentiles}
    out["max"] = xs[-1] if xs else None
    out["count"] = len(xs)
    return out
