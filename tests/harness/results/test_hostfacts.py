"""Host facts parsed from /proc text (exact), and a real fsync measurement in a temp dir."""
from __future__ import annotations

from pathlib import Path

from harness.results.hostfacts import cpu_model, measure_fsync_latency, mem_total_bytes, mount_of

MOUNTS = """overlay / overlay rw,relatime 0 0
/dev/nvme0n1p2 /work ext4 rw,relatime 0 0
/dev/nvme0n1p3 /work/main/.cache xfs rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


def test_cpu_and_memory_from_proc_text() -> None:
    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n") == "AMD EPYC 7B13"
    assert cpu_model("") is None
    assert mem_total_bytes("MemTotal:       24576000 kB\nMemFree: 1 kB\n") == 24576000 * 1024
    assert mem_total_bytes("nothing") is None


def test_mount_is_the_longest_prefix() -> None:
    assert mount_of(Path("/work/main/.cache/data"), MOUNTS) == {
        "device": "/dev/nvme0n1p3", "mount_point": "/work/main/.cache", "filesystem": "xfs"}
    assert mount_of(Path("/work/mainx"), MOUNTS)["mount_point"] == "/work"
    assert mount_of(Path("/etc"), MOUNTS)["filesystem"] == "overlay"


def test_fsync_latency_is_measured_and_ordered(tmp_path: Path) -> None:
    f = measure_fsync_latency(tmp_path, samples=20)
    assert f["count"] == 20
    assert 0 < f["p50_ms"] <= f["p90_ms"] <= f["p99_ms"] <= f["max_ms"]
    assert list(tmp_path.iterdir()) == []  # its scratch file is gone
