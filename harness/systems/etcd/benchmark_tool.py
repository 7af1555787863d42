"""Drive etcd's official ``benchmark`` tool (go.etcd.io/etcd/v3/tools/benchmark) and parse its
report into summary rows.

Why a parser of its text: the tool has no machine-readable output. We pass ``--precise`` so
its seconds are printed at full float precision (the default ``%4.4f`` rounds to 0.1 ms,
which would make sub-millisecond p50s look equal). Its percentiles are its own (computed by
etcd's ``pkg/report``), reported as they are; our rows use nearest rank over raw samples.

Report shape (``pkg/report``)::

    Summary:
      Total:        2.0110 secs.
      Slowest:      0.0443 secs.
      ...
      Requests/sec: 4972.7154
    Latency distribution:
      50% in 0.0094 secs.
      99.9% in 0.0393 secs.
    Error distribution:
      [3]   context deadline exceeded
"""
from __future__ import annotations

import re
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from harness.errors import GbenchError

_SUMMARY_RE = re.compile(r"^\s*(Total|Slowest|Fastest|Average|Stddev):\s*([0-9.eE+-]+)\s*secs\.", re.M)
_RPS_RE = re.compile(r"^\s*Requests/sec:\s*([0-9.eE+-]+)", re.M)
_PCTL_RE = re.compile(r"^\s*([0-9.]+)% in ([0-9.eE+-]+) secs\.", re.M)
_ERR_RE = re.compile(r"^\s*\[(\d+)\]\s+(.*)$")


@dataclass(frozen=True)
class EtcdBenchmarkRun:
    """One invocation: ``op`` is the tool's sub-command (``put`` or ``range``)."""

    op: str
    endpoints: Sequence[str]
    clients: int
    conns: int
    total: int
    key_size: int
    val_size: int
    key_space_size: int
    consistency: str | None = None  # range only: "l" linearizable, "s" serializable
    target_leader: bool = False
    key: str | None = None  # range only: the key to read

    def argv(self, binary: Path | str) -> list[str]:
        if self.op not in ("put", "range"):
            raise ValueError(f"unsupported etcd-benchmark op {self.op!r}")
        a = [str(binary), f"--endpoints={','.join(self.endpoints)}", f"--conns={self.conns}",
             f"--clients={self.clients}", "--precise"]
        if self.target_leader:
            a.append("--target-leader")
        if self.op == "put":
            a += ["put", f"--total={self.total}", f"--key-size={self.key_size}", f"--val-size={self.val_size}",
                  f"--key-space-size={self.key_space_size}"]
        else:
            if not self.key:
                raise ValueError("range needs a key")
            a += ["range", self.key, f"--total={self.total}", f"--consistency={self.consistency or 'l'}"]
        return a


@dataclass
class BenchmarkReport:
    """What the tool printed, parsed. Seconds as printed; ``None`` where it printed nothing."""

    total_s: float | None = None
    slowest_s: float | None = None
    fastest_s: float | None = None
    average_s: float | None = None
    requests_per_s: float | None = None
    percentiles_s: dict[str, float] = field(default_factory=dict)  # "50" -> seconds
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class EtcdBenchmarkResult:
    spec: EtcdBenchmarkRun
    argv: list[str]
    returncode: int
    stdout: str
    elapsed_s: float
    report: BenchmarkReport
    cpu_s: float | None = None
    """User + system CPU the tool used (its rusage): with the harness's own CPU per operation,
    this shows where a throughput gap on a small host comes from."""


def parse_report(text: str) -> BenchmarkReport:
    """Parse the tool's text report (exact: values as printed, nothing filled in)."""
    r = BenchmarkReport()
    names = {"Total": "total_s", "Slowest": "slowest_s", "Fastest": "fastest_s", "Average": "average_s"}
    for m in _SUMMARY_RE.finditer(text):
        if m.group(1) in names:
            setattr(r, names[m.group(1)], float(m.group(2)))
    m = _RPS_RE.search(text)
    if m:
        r.requests_per_s = float(m.group(1))
    for m in _PCTL_RE.finditer(text):
        r.percentiles_s[m.group(1)] = float(m.group(2))
    in_err = False
    for line in text.splitlines():
        if line.strip().startswith("Error distribution"):
            in_err = True
            continue
        if in_err:
            e = _ERR_RE.match(line)
            if e:
                r.errors[e.group(2).strip()] = int(e.group(1))
            elif line.strip():
                in_err = False
    return r


def run_etcd_benchmark(binary: Path | str, spec: EtcdBenchmarkRun, timeout_s: float = 300) -> EtcdBenchmarkResult:
    """Run the tool to completion (bounded by ``total`` and ``timeout_s``)."""
    argv = spec.argv(binary)
    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise GbenchError(f"etcd-benchmark did not finish within {timeout_s:g}s: {' '.join(argv)}") from e
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = p.stdout + (("\n[stderr]\n" + p.stderr) if p.stderr.strip() else "")
    return EtcdBenchmarkResult(spec, argv, p.returncode, out, time.monotonic() - t0, parse_report(p.stdout),
                               cpu_s=round(cpu, 3))


def _ms(s: float | None) -> float | None:
    return None if s is None else round(s * 1000.0, 3)


def to_summary_rows(result: EtcdBenchmarkResult, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows in the summary's columns (``tool=etcd-benchmark``): one ``ok`` row, plus one
    ``fail`` row (count only; the tool reports no latency for errors) when it saw errors."""
    rep = result.report
    op = "put" if result.spec.op == "put" else "get"
    n_err = sum(rep.errors.values())
    n_ok = max(0, result.spec.total - n_err) if rep.requests_per_s is not None else 0
    common = {**base, "tool": "etcd-benchmark", "op": op, "target_rate_ops_s": None,
              "duration_s": rep.total_s, "harness_saturated": "", "notes": ""}
    rows: list[dict[str, Any]] = []
    if rep.requests_per_s is not None and n_ok:
        p = rep.percentiles_s
        rows.append({**common, "outcome": "ok", "count": n_ok, "throughput_ops_s": round(rep.requests_per_s, 1),
                     "p50_ms": _ms(p.get("50")), "p90_ms": _ms(p.get("90")), "p99_ms": _ms(p.get("99")),
                     "p999_ms": _ms(p.get("99.9")), "max_ms": _ms(rep.slowest_s),
                     "notes": "percentiles as computed and printed by etcd's benchmark tool (--precise)"})
    if n_err or result.returncode != 0:
        rows.append({**common, "outcome": "fail", "count": n_err, "throughput_ops_s": None, "p50_ms": None,
                     "p90_ms": None, "p99_ms": None, "p999_ms": None, "max_ms": None,
                     "notes": (f"exit {result.returncode}; " if result.returncode else "")
                     + "; ".join(f"{k} x{v}" for k, v in rep.errors.items())})
    return rows
