"""One statistic of one column of a series' rows (pure data, no drawing).

Why: a diagram sometimes needs "the largest replay delay a standby showed under load" or "the
longest time to converge after a heal over three trials", not a single row. A spec names the
series, the column, the statistic, the rows (``where``: column = value, as bindings filter)
and optionally a window on another column (``start_s`` between two fault times); the renderer
records the result with ``ResolvedDiagram.derive`` so the sidecar traces it.

Example::

    column_stat([{"node": "n2", "t": 1.0, "lag": 0.004}, {"node": "n2", "t": 9.0, "lag": 2.5}],
                "lag", "max", window=("t", 0.0, 5.0))   # -> 0.004

Only numbers count (booleans, strings such as "not measured: ...", None are skipped); a
statistic of no numbers is None (the caller turns it into "not measured"), except ``count``,
which is then 0.
"""
from __future__ import annotations

import statistics
from typing import Any, Mapping, Sequence

from diagram_gen.sources import row_matches

#: the statistics a spec may ask for
STATS = ("count", "min", "max", "median", "mean")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def column_values(rows: Sequence[Mapping[str, Any]], column: str, where: Mapping[str, Any] | None = None,
                  window: tuple[str, float | None, float | None] | None = None) -> list[float]:
    """The numeric values of ``column`` in the rows matching ``where`` whose ``window`` column
    (name, low, high; either bound None = open) lies within [low, high], in row order."""
    out = []
    for r in rows:
        if where and not row_matches(r, where):
            continue
        if window is not None:
            wcol, lo, hi = window
            w = r.get(wcol)
            if not _number(w) or (lo is not None and w < lo) or (hi is not None and w > hi):
                continue
        v = r.get(column)
        if _number(v):
            out.append(v)
    return out


def column_stat(rows: Sequence[Mapping[str, Any]], column: str, stat: str, where: Mapping[str, Any] | None = None,
                window: tuple[str, float | None, float | None] | None = None) -> float | int | None:
    """``stat`` (one of STATS) of ``column_values``; None when there is no number (count: 0)."""
    if stat not in STATS:
        raise ValueError(f"unknown statistic {stat!r} (known: {', '.join(STATS)})")
    vals = column_values(rows, column, where, window)
    if stat == "count":
        return len(vals)
    if not vals:
        return None
    if stat == "min":
        return min(vals)
    if stat == "max":
        return max(vals)
    if stat == "median":
        return statistics.median(vals)
    return statistics.fmean(vals)
