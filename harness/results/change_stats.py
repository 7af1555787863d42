"""Two-sample statistics that confirm and size a change point, in pure Python (the project's
virtualenv has no scipy; Otava's has, but these run on the points the project computes and are
tested here with exact values).

- ``mann_whitney_u``: the two-sided Mann-Whitney U test, computed as scipy.stats.mannwhitneyu
  does with ``method="auto"``: the exact null distribution when there are no ties and either
  sample has at most 8 values, otherwise the normal approximation with the tie correction and
  the continuity correction.
- ``bootstrap_change_ci``: a seeded percentile-bootstrap confidence interval for the change in
  percent of the median, resampling each segment on its own.
- ``run_noise``: how much one run of an unchanged configuration varies (its standard
  deviation), from repeated runs where there are enough, else from successive values; what a
  change must exceed to be told from noise (``beyond_noise``), for the change detector and for
  the diagrams' figures alike.
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import Sequence

#: Either sample at most this long and no ties: the exact distribution (scipy's rule).
EXACT_MAX_N = 8
#: Repeated runs give the noise only with at least this many degrees of freedom pooled.
MIN_NOISE_DF = 4
#: A shift is beyond noise when larger than this many run standard deviations: 1.96 * sqrt(2),
#: the 95 % range of the difference between two runs of one configuration.
NOISE_FACTOR = 1.96 * math.sqrt(2)
#: median(|x - y|) of two independent normal values is this many standard deviations of one.
_MEDIAN_ABS_DIFF = 0.6744897501960817 * math.sqrt(2)


@dataclass(frozen=True)
class MannWhitney:
    """``u``: the U statistic of the first sample (ranks of x minus n1(n1+1)/2); ``p``: the
    two-sided p-value; ``method``: "exact" or "normal"."""

    u: float
    p: float
    method: str


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` in their order, and the size of every group of ties."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def u_counts(n1: int, n2: int) -> list[int]:
    """How many of the C(n1+n2, n1) orderings of two untied samples give U = 0, 1, ..., n1*n2:
    the coefficients of the Gaussian binomial [n1+n2 choose n1]_q, built as the product of
    (1 - q^(n2+i)) / (1 - q^i) for i = 1..min(n1, n2)."""
    m, n = min(n1, n2), max(n1, n2)
    deg = m * n
    c = [1] + [0] * deg
    for i in range(1, m + 1):
        for u in range(deg, n + i - 1, -1):  # times (1 - q^(n+i)), cut at deg (exact below it)
            c[u] -= c[u - n - i]
        for u in range(i, deg + 1):  # divided by (1 - q^i)
            c[u] += c[u - i]
    return c


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test of ``x`` against ``y`` (each at least one value)."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney U needs at least one value on each side")
    ranks, ties = _ranks([*x, *y])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if max(ties) == 1 and min(n1, n2) <= EXACT_MAX_N:
        counts = u_counts(n1, n2)
        p = 2 * sum(counts[int(u):]) / math.comb(n1 + n2, n1)
        return MannWhitney(u1, min(p, 1.0), "exact")
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties)
    s = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    if s == 0:  # every value the same
        return MannWhitney(u1, 1.0, "normal")
    z = (u - n1 * n2 / 2 - 0.5) / s
    return MannWhitney(u1, min(math.erfc(z / math.sqrt(2)), 1.0), "normal")


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between order statistics (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def change_percent(before: Sequence[float], after: Sequence[float]) -> float | None:
    """100 * (median(after) / median(before) - 1); None when the median before is 0."""
    b = statistics.median(before)
    return None if b == 0 else 100.0 * (statistics.median(after) / b - 1.0)


def bootstrap_change_ci(before: Sequence[float], after: Sequence[float], resamples: int, seed: int,
                        confidence: float) -> tuple[float, float] | None:
    """The ``confidence`` percentile-bootstrap interval of ``change_percent``: ``resamples``
    times, draw each segment with replacement (its own size), take the change in percent of
    the medians; the interval is the (1-confidence)/2 and (1+confidence)/2 quantiles. Seeded:
    the same inputs give the same interval. None when some resample has a median before of 0
    (the percent is not defined there)."""
    rng = random.Random(seed)
    stats = []
    for _ in range(resamples):
        c = change_percent(rng.choices(before, k=len(before)), rng.choices(after, k=len(after)))
        if c is None:
            return None
        stats.append(c)
    stats.sort()
    return quantile(stats, (1 - confidence) / 2), quantile(stats, (1 + confidence) / 2)


@dataclass(frozen=True)
class Noise:
    """The standard deviation of one run (``sd``, in the values' unit) and how it was found:
    ``method`` "repeats" (pooled over groups of repeated runs, ``df`` degrees of freedom) or
    "successive values" (the median absolute difference of neighbours, robust to a step: only
    the differences spanning it move, ``df`` = differences used)."""

    sd: float
    method: str
    df: int

    def describe(self) -> str:
        return (f"run-to-run sd {self.sd:.4g} from {'repeated runs' if self.method == 'repeats' else 'successive values'}"
                f" ({self.df} {'degrees of freedom' if self.method == 'repeats' else 'differences'})")


def run_noise(groups: Sequence[Sequence[float]], min_df: int = MIN_NOISE_DF) -> Noise | None:
    """One run's standard deviation from ``groups`` (each: the values of runs repeated in one
    configuration and moment, e.g. a batch; in time order). With at least ``min_df`` degrees of
    freedom among the groups of two or more: their pooled sample standard deviation
    (sqrt(sum of squared deviations from each group's mean / sum of (n - 1))). Otherwise, over
    the groups' medians in order: median(|successive difference|) / (0.6745 * sqrt(2)), which
    is the standard deviation for normal noise and ignores a level shift; a median of k runs
    varies less than one run, so with groups of several runs this under-estimates (the method
    says which). None with fewer than 2 groups and too few repeats."""
    ss, df = 0.0, 0
    for g in groups:
        if len(g) >= 2:
            m = statistics.fmean(g)
            ss += sum((v - m) ** 2 for v in g)
            df += len(g) - 1
    if df >= min_df:
        return Noise(math.sqrt(ss / df), "repeats", df)
    medians = [statistics.median(g) for g in groups if len(g)]
    if len(medians) < 2:
        return None
    diffs = [abs(b - a) for a, b in zip(medians, medians[1:])]
    return Noise(statistics.median(diffs) / _MEDIAN_ABS_DIFF, "successive values", len(diffs))


def beyond_noise(shift: float, noise: Noise | None, factor: float = NOISE_FACTOR) -> bool | None:
    """Is ``|shift|`` larger than ``factor`` run standard deviations? None when the noise is
    not known. A noise of 0 (every repeat identical, e.g. a count of lost writes that stays 0)
    makes any non-zero shift beyond it."""
    if noise is None:
        return None
    return abs(shift) > factor * noise.sd
