from __future__ import annotations

from pathlib import Path

from hdrh.log import HistogramLogReader

from harness.recorder.histograms import IntervalHistograms, new_histogram, read_hlog


def test_record_merge_and_hlog_roundtrip(tmp_path: Path) -> None:
    a, b = IntervalHistograms(), IntervalHistograms()
    a.record(("put", "ok"), 100_000_000, 2_000_000)  # interval 0
    a.record(("put", "ok"), 1_500_000_000, 3_000_000)  # interval 1
    b.record(("put", "ok"), 1_700_000_000, 5_000_000)  # interval 1
    b.record(("get", "info"), 2_100_000_000, 7_000_000)
    merged = IntervalHistograms()
    merged.merge_encoded(a.encode())
    merged.merge_encoded(b.encode())
    assert merged.total_count(("put", "ok")) == 3
    assert merged.total_count() == 4
    files = merged.write_hlogs(tmp_path, start_epoch_s=1_700_000_000.0)
    assert sorted(f.name for f in files) == ["get.info.hlog", "put.ok.hlog"]
    intervals = read_hlog(tmp_path / "put.ok.hlog")
    assert [(s, l, h.get_total_count()) for s, l, h in intervals] == [(0.0, 1.0, 1), (1.0, 1.0, 2)]
    assert intervals[1][2].get_max_value() >= 5_000_000


def test_hlog_readable_by_hdrhistogram_reader(tmp_path: Path) -> None:
    h = IntervalHistograms()
    for i in range(10):
        h.record(("put", "ok"), i * 300_000_000, (i + 1) * 1_000_000)
    h.write_hlogs(tmp_path, start_epoch_s=1_700_000_000.0)
    reader = HistogramLogReader(str(tmp_path / "put.ok.hlog"), new_histogram())
    total = 0
    while (hist := reader.get_next_interval_histogram()) is not None:
        total += hist.get_total_count()
    assert total == 10
