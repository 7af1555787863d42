"""Apache Otava's change-point detection behind a JSON pipe: a standalone script.

It runs under the Otava virtualenv's python (``.cache/otava/venv``, made by ``make setup``), not
the project's: apache-otava 0.8.0 pins numpy and scipy and pulls clients the project does not
want, so this file imports only the standard library and ``otava``. ``harness.results.changes``
starts it as a subprocess.

stdin, one JSON object::

    {"series": {"<id>": [float, ...], ...}, "max_pvalue": p, "min_magnitude": m, "window_len": w}

stdout, one JSON object: for every series id, Otava's change points in index order::

    {"<id>": [{"index": i, "pvalue": p, "forward_change_percent": c,
               "mean_before": a, "mean_after": b}, ...], ...}

``index`` is the position of the first value after the change. The figures are those of
Otava's ``TTestStats`` for the segments either side of the point (bounded by the neighbouring
change points): a two-sided Student's t-test p-value and the segment means;
``forward_change_percent`` is ``100 * (mean_after / mean_before - 1)`` (0 when the mean before
is 0, Otava's convention); a figure that is not a finite number is null. The algorithm is ``otava.analysis.compute_change_points`` (E-divisive
means over sliding windows of ``window_len`` points, weak points at a relaxed p-value, then
merged down to those with a p-value under ``max_pvalue`` and a relative change over
``min_magnitude``; Fleming et al., ICPE 2023).

Bad input (not JSON, a missing or wrong field, a value that is not a finite number): one line on
stderr naming the field and the reason, exit 2. Nothing else is written.
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """The request cannot be used; the message names the field and the reason."""


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_request(text: str) -> tuple[dict[str, list[float]], float, float, int]:
    """(series, max_pvalue, min_magnitude, window_len) from the request's JSON, or BadInput."""
    try:
        req = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"stdin: not valid JSON: {e}") from None
    if not isinstance(req, dict):
        raise BadInput(f"stdin: must be a JSON object, got {type(req).__name__}")
    missing = [k for k in ("series", "max_pvalue", "min_magnitude", "window_len") if k not in req]
    if missing:
        raise BadInput(f"field '{missing[0]}': missing")
    series = req["series"]
    if not isinstance(series, dict):
        raise BadInput(f"field 'series': must be an object of id -> list of numbers, got {type(series).__name__}")
    for sid, values in series.items():
        if not isinstance(values, list) or not all(_number(v) for v in values):
            raise BadInput(f"field 'series.{sid}': must be a list of finite numbers")
    p, m, w = req["max_pvalue"], req["min_magnitude"], req["window_len"]
    if not (_number(p) and 0 < p <= 1):
        raise BadInput(f"field 'max_pvalue': must be a number with 0 < p <= 1, got {p!r}")
    if not (_number(m) and m >= 0):
        raise BadInput(f"field 'min_magnitude': must be a number >= 0, got {m!r}")
    if not (isinstance(w, int) and not isinstance(w, bool) and w >= 2):
        raise BadInput(f"field 'window_len': must be a whole number >= 2, got {w!r}")
    return {sid: [float(v) for v in values] for sid, values in series.items()}, float(p), float(m), w


def change_points(values: list[float], max_pvalue: float, min_magnitude: float,
                  window_len: int) -> list[dict[str, Any]]:
    """Otava's change points of one series as plain JSON-ready dicts (numpy floats converted)."""
    from otava.analysis import compute_change_points

    if len(values) < 2:  # nothing to split; Otava would find nothing either
        return []
    points, _weak = compute_change_points(values, window_len=window_len, max_pvalue=max_pvalue,
                                          min_magnitude=min_magnitude)
    return [{"index": int(cp.index), "pvalue": _finite(cp.stats.pvalue),
             "forward_change_percent": _finite(cp.stats.forward_change_percent()),
             "mean_before": _finite(cp.stats.mean_before()), "mean_after": _finite(cp.stats.mean_after())}
            for cp in points]


def _finite(v: Any) -> float | None:
    """A numpy or Python number as a float; None (JSON null) for NaN or an infinity, which
    JSON cannot carry."""
    f = float(v)
    return f if math.isfinite(f) else None


def main() -> int:
    try:
        series, max_pvalue, min_magnitude, window_len = parse_request(sys.stdin.read())
    except BadInput as e:
        print(f"otava_adapter: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = {sid: change_points(values, max_pvalue, min_magnitude, window_len) for sid, values in series.items()}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
