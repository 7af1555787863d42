"""Host facts parsed from /proc text (exact), and a real fsync measurement in a temp dir."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.results.hostfacts import (collect_host_facts, cpu_model, disk_model, measure_fsync_latency,
                                       mem_total_bytes, mount_of, physical_cores)

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
        "device": "/dev/nvme0n1p3", "mount_point": "/work/main/.cache", "filesystem": "xfs", "options": "rw"}
    assert mount_of(Path("/work/mainx"), MOUNTS)["mount_point"] == "/work"
    assert mount_of(Path("/etc"), MOUNTS)["filesystem"] == "overlay"


def test_physical_cores_count_distinct_package_core_pairs() -> None:
    smt = {0: ("0", "0"), 1: ("0", "1"), 2: ("0", "0"), 3: ("0", "1"), 4: ("1", "0"), 5: ("1", "0")}
    assert physical_cores(smt) == 3
    assert physical_cores({}) is None


def test_disk_model_from_sysfs_text() -> None:
    sysfs = {"/sys/class/block/nvme0n1/device/model": "Samsung SSD 980 PRO 2TB               \n",
             "/sys/class/block/vda/device/modalias": "virtio:d00000002v00001AF4\n",
             "/sys/class/block/vda/device/vendor": "0x1af4\n",
             "/sys/class/block/sdb/device/model": "   \n"}
    read = sysfs.get
    assert disk_model("/dev/nvme0n1p2", read) == "Samsung SSD 980 PRO 2TB"  # the partition's disk
    assert disk_model("/dev/vda1", read) == "virtio (vendor 0x1af4)"
    assert disk_model("/dev/sdb1", read) is None  # a blank model is not a model
    assert disk_model("/dev/mapper/x", read) is None


def test_the_runner_label_comes_from_the_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GBENCH_RUNNER_LABEL", raising=False)
    facts = collect_host_facts(tmp_path)
    assert facts["runner_label"] is None
    assert facts["logical_cores"] == facts["physical_cores"] * facts["threads_per_core"]
    monkeypatch.setenv("GBENCH_RUNNER_LABEL", "nvme-bench")
    assert collect_host_facts(tmp_path)["runner_label"] == "nvme-bench"


def test_fsync_latency_is_measured_and_ordered(tmp_path: Path) -> None:
    f = measure_fsync_latency(tmp_path, samples=20)
    assert f["count"] == 20
    assert 0 < f["p10_ms"] <= f["p50_ms"] <= f["p90_ms"] <= f["p99_ms"] <= f["max_ms"]
    assert list(tmp_path.iterdir()) == []  # its scratch file is gone
