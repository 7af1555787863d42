"""HDR latency histograms per (operation, outcome) per 1-second interval.

Workers record every completed operation here (values in nanoseconds, 3 significant
digits, 1 us to 1 h); the parent merges the workers' histograms and writes one file per
series in HdrHistogram's standard interval-log format (``.hlog``, log format 1.3), which
HdrHistogram's own tools (HistogramLogProcessor, hdr-plot, the Python ``hdrh`` reader)
read. Summary percentiles are NOT taken from these (HDR buckets round up, which is how
other tools end up with p99 > max); they are computed exactly from the raw history.
"""
from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_NS = 1_000
HIGHEST_NS = 3_600 * 1_000_000_000
SIGNIFICANT_FIGURES = 3
#: HdrHistogram log convention: values in ns, interval max reported in ms.
MAX_VALUE_UNIT_RATIO = 1_000_000.0

Series = tuple[str, str]  # (op, outcome)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_FIGURES)


class IntervalHistograms:
    """Histograms keyed by series and interval index (seconds since the measurement start)."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_ns = int(interval_s * 1e9)
        self._h: dict[Series, dict[int, HdrHistogram]] = defaultdict(dict)

    def record(self, series: Series, complete_ns_since_start: int, latency_ns: int) -> None:
        idx = max(0, complete_ns_since_start) // self.interval_ns
        per = self._h[series]
        h = per.get(idx)
        if h is None:
            h = per[idx] = new_histogram()
        h.record_value(min(max(latency_ns, LOWEST_NS), HIGHEST_NS))

    def series(self) -> list[Series]:
        return sorted(self._h)

    def intervals(self, series: Series) -> dict[int, HdrHistogram]:
        return self._h[series]

    def total_count(self, series: Series | None = None) -> int:
        keys = [series] if series else list(self._h)
        return sum(h.get_total_count() for s in keys for h in self._h.get(s, {}).values())

    def encode(self) -> dict[str, dict[str, str]]:
        """JSON-friendly form for passing between processes: {"op/outcome": {idx: base64}}."""
        return {f"{op}/{oc}": {str(i): h.encode().decode() for i, h in per.items()}
                for (op, oc), per in self._h.items()}

    def merge_encoded(self, enc: dict[str, dict[str, str]]) -> None:
        for key, per in enc.items():
            op, oc = key.split("/", 1)
            mine = self._h[(op, oc)]
            for i, payload in per.items():
                idx = int(i)
                h = mine.get(idx)
                if h is None:
                    h = mine[idx] = new_histogram()
                h.decode_and_add(payload.encode())

    def write_hlogs(self, directory: Path, start_epoch_s: float, tag_prefix: str = "") -> list[Path]:
        """One ``<op>.<outcome>.hlog`` per series; intervals stamped relative to the start."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for (op, oc) in self.series():
            path = directory / f"{op}.{oc}.hlog"
            write_hlog(path, sorted(self._h[(op, oc)].items()), start_epoch_s, self.interval_ns / 1e9,
                       comment=f"{tag_prefix}{op} {oc} latency, ns recorded, max column in ms")
            written.append(path)
        return written


def write_hlog(path: Path, intervals: Iterable[tuple[int, HdrHistogram]], start_epoch_s: float,
               interval_s: float, comment: str = "") -> None:
    """Write HdrHistogram interval log format 1.3 (header lines as the Java writer emits)."""
    start_iso = _dt.datetime.fromtimestamp(start_epoch_s, _dt.timezone.utc).isoformat()
    with open(path, "w", encoding="ascii") as fh:
        if comment:
            fh.write(f"#{comment}\n")
        fh.write("#[Histogram log format version 1.3]\n")
        fh.write(f"#[StartTime: {start_epoch_s:.3f} (seconds since epoch), {start_iso}]\n")
        fh.write(f"#[BaseTime: {start_epoch_s:.3f} (seconds since epoch)]\n")
        fh.write('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n')
        for idx, h in intervals:
            fh.write("%.3f,%.3f,%.3f,%s\n" % (idx * interval_s, interval_s,
                                              h.get_max_value() / MAX_VALUE_UNIT_RATIO,
                                              h.encode().decode()))


def read_hlog(path: Path) -> list[tuple[float, float, HdrHistogram]]:
    """Decode every interval of an .hlog: [(start_s, length_s, histogram)]."""
    out = []
    with open(path, encoding="ascii") as fh:
        for line in fh:
            if line.startswith("#") or line.startswith('"') or not line.strip():
                continue
            if line.startswith("Tag="):  # tagged interval (we write none, others may)
                line = line.split(",", 1)[1]
            start, length, _mx, payload = line.rstrip("\n").split(",", 3)
            out.append((float(start), float(length), HdrHistogram.decode(payload.encode())))
    return out
