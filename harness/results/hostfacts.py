"""What the host was when a run measured something: CPU (logical and physical cores), memory,
kernel, the data directory's filesystem, mount options, device and disk model, that
filesystem's measured fsync latency, and the CI runner's label when a workflow sets one
(``GBENCH_RUNNER_LABEL``).

Why: etcd's write latency is mostly a WAL fdatasync, so a put p50 means nothing without the
disk it was measured on. Every run's manifest carries these facts; a value that could not be
read is ``None`` (shown as "not measured"), never a guess.
"""
from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.results.percentiles import summarize

#: Each sample: write one 4 KiB page and fdatasync it (what etcd's WAL does per batch).
FSYNC_SAMPLES = 200
FSYNC_BLOCK = 4096


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def cpu_model(cpuinfo: str | None) -> str | None:
    """The first ``model name`` of /proc/cpuinfo text."""
    for line in (cpuinfo or "").splitlines():
        if line.lower().startswith("model name") and ":" in line:
            return line.split(":", 1)[1].strip()
    return None


def mem_total_bytes(meminfo: str | None) -> int | None:
    """``MemTotal`` of /proc/meminfo text, in bytes."""
    for line in (meminfo or "").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) >= 2 and parts[1].isdigit() else None
    return None


def mount_of(path: Path, mounts: str | None) -> dict[str, str] | None:
    """The /proc/mounts entry whose mount point is the longest prefix of ``path``."""
    best: dict[str, str] | None = None
    target = str(path.resolve())
    for line in (mounts or "").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        dev, mnt, fstype = parts[0], parts[1].replace("\\040", " "), parts[2]
        inside = target == mnt or target.startswith(mnt.rstrip("/") + "/") or mnt == "/"
        if inside and (best is None or len(mnt) > len(best["mount_point"])):
            best = {"device": dev, "mount_point": mnt, "filesystem": fstype,
                    "options": parts[3] if len(parts) > 3 else ""}
    return best


def physical_cores(topology: dict[int, tuple[str, str]]) -> int | None:
    """Distinct (package, core) pairs of ``{cpu: (physical_package_id, core_id)}``."""
    return len(set(topology.values())) or None


def _topology() -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for cpu in Path("/sys/devices/system/cpu").glob("cpu[0-9]*"):
        pkg, core = _read(f"{cpu}/topology/physical_package_id"), _read(f"{cpu}/topology/core_id")
        if pkg is not None and core is not None:
            out[int(cpu.name[3:])] = (pkg.strip(), core.strip())
    return out


def _block_candidates(device: str) -> tuple[str, ...]:
    """``/sys/class/block`` names to try for ``/dev/X``: the partition, then its disk."""
    name = Path(device).name
    return (name, name.rstrip("0123456789"), name.split("p")[0] if name.startswith("nvme") else name)


def disk_model(device: str, read: Any = None) -> str | None:
    """The disk's model (``device/model``: SCSI, SATA, NVMe), or for a virtio disk, which has
    none, ``virtio (vendor 0x1af4)``; None when neither can be read."""
    read = read or _read
    for cand in _block_candidates(device):
        model = read(f"/sys/class/block/{cand}/device/model")
        if model is not None and model.strip():
            return " ".join(model.split())
        modalias = read(f"/sys/class/block/{cand}/device/modalias")
        if modalias is not None and modalias.startswith("virtio:"):
            vendor = read(f"/sys/class/block/{cand}/device/vendor")
            return f"virtio (vendor {vendor.strip()})" if vendor else "virtio"
    return None


def _rotational(device: str) -> bool | None:
    """Whether the block device behind ``/dev/X`` spins (None when it is not a block device)."""
    for cand in _block_candidates(device):
        text = _read(f"/sys/class/block/{cand}/queue/rotational")
        if text is not None:
            return text.strip() == "1"
    return None


def collect_host_facts(data_root: Path) -> dict[str, Any]:
    """Facts that can be read without measuring anything."""
    m = mount_of(data_root, _read("/proc/mounts")) or {}
    dev = m.get("device")
    logical, physical = os.cpu_count(), physical_cores(_topology())
    return {
        "hostname": platform.node(),
        "cpu_model": cpu_model(_read("/proc/cpuinfo")),
        "logical_cores": logical,
        "physical_cores": physical,
        "threads_per_core": logical // physical if logical and physical else None,
        "memory_total_bytes": mem_total_bytes(_read("/proc/meminfo")),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "data_dir": str(data_root.resolve()),
        "data_dir_filesystem": m.get("filesystem"),
        "data_dir_device": dev,
        "data_dir_mount_point": m.get("mount_point"),
        "data_dir_rotational": _rotational(dev) if dev and dev.startswith("/dev/") else None,
        "data_dir_mount_options": m.get("options"),
        "data_dir_disk_model": disk_model(dev) if dev and dev.startswith("/dev/") else None,
        "runner_label": os.environ.get("GBENCH_RUNNER_LABEL") or None,
    }


def measure_fsync_latency(directory: Path, samples: int = FSYNC_SAMPLES) -> dict[str, Any]:
    """fdatasync latency of 4 KiB appends in ``directory`` (exact nearest-rank percentiles)."""
    directory.mkdir(parents=True, exist_ok=True)
    lat: list[int] = []
    block = os.urandom(FSYNC_BLOCK)
    fd, name = tempfile.mkstemp(prefix=".gbench-fsync-", dir=directory)
    try:
        for _ in range(samples):
            os.write(fd, block)
            t0 = time.perf_counter_ns()
            os.fdatasync(fd)
            lat.append(time.perf_counter_ns() - t0)
    finally:
        os.close(fd)
        os.unlink(name)
    s = summarize(lat, (10, 50, 90, 99))

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v / 1e6, 4)

    return {"method": f"{samples} x (write {FSYNC_BLOCK} B + fdatasync) in {directory.resolve()}",
            "count": s["count"], **{f"{p}_ms": ms(s[p]) for p in ("p10", "p50", "p90", "p99", "max")}}
