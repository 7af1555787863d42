"""harness/benchmarks/cluster_startup.py's pure parts: the summary of its runs, exact values."""
from __future__ import annotations

import os

from harness.benchmarks.cluster_startup import rss_bytes, summarize


def test_the_summary_spreads_ready_times_and_every_nodes_rss() -> None:
    mib = 2**20
    runs = [{"time_to_ready_s": 34.2, "memory_ready": {"n1": {"rss_bytes": 1000 * mib, "limit_bytes": 2816 * mib},
                                                        "n2": {"rss_bytes": 1200 * mib, "limit_bytes": 2816 * mib}},
             "memory_after_load": {"n1": {"rss_bytes": 1100 * mib, "limit_bytes": 2816 * mib}}},
            {"time_to_ready_s": 32.1, "memory_ready": {"n1": {"rss_bytes": 1100 * mib, "limit_bytes": 2816 * mib},
                                                        "n2": {"rss_bytes": None, "limit_bytes": 2816 * mib}}},
            {"time_to_ready_s": 37.0, "memory_ready": {"n1": {"rss_bytes": 900 * mib, "limit_bytes": 2816 * mib}}}]
    assert summarize(runs) == {"time_to_ready_s": {"min": 32.1, "median": 34.2, "max": 37.0},
                               "rss_mib_ready": {"min": 900.0, "median": 1050.0, "max": 1200.0},
                               "rss_mib_after_load": {"min": 1100.0, "median": 1100.0, "max": 1100.0},
                               "memory_limit_mib": [2816.0]}
    netns = [{"time_to_ready_s": 1.0, "memory_ready": {"n1": {"rss_bytes": mib, "limit_bytes": None}}}]
    assert summarize(netns)["memory_limit_mib"] is None and summarize(netns)["rss_mib_after_load"] is None


def test_rss_of_this_process_and_of_none() -> None:
    me = rss_bytes(os.getpid())
    assert me is not None and me > 1 << 20
    assert rss_bytes(None) is None and rss_bytes(2**22 + 12345) is None  # beyond pid_max: no such process
