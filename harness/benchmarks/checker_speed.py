"""How fast the linearizability checker is on the shared reference histories, against Porcupine.

    python -m harness.benchmarks.checker_speed --out results/benchmarks/checker-speed.json

For every reference history (``harness.checkers.reference``) it times our checker (parse +
check, the fastest of ``--repeat`` runs, ``time.perf_counter``) and records the verdict
next to the expected one. When ``go`` is on PATH it builds ``harness/benchmarks/porcupine``
(Porcupine from the Go module proxy, with the models and log parsers of Porcupine's own
tests) and times it the same way on the same files: ``porcupine_seconds`` and ``ratio``
(ours / Porcupine; above 1 means we are slower). ``--porcupine-no-partition`` also times
Porcupine on the kv files without per-key partitioning (about a minute per 10-client file),
to show what decomposition buys.

Output (``schema_version`` 1)::

    {"schema_version": 1, "generated_utc": ..., "host": {...}, "repeat": 3,
     "porcupine": {"available": true, "go": "go1.26.8", "module": "...@v1.3.1"} ,
     "rows": [{"file": "jepsen-etcd/etcd_000.log", "format": "jepsen-register",
               "verdict": "not-linearizable", "expected": "not-linearizable", "seconds": 0.003,
               "porcupine_seconds": 0.0007, "porcupine_verdict": "not-linearizable", "ratio": 4.1}],
     "totals": {"jepsen-etcd": {"files": 52, "seconds": ..., "porcupine_seconds": ...}, ...}}

Exit status 1 if any verdict disagrees with the expected one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from harness.checkers.formats import load_history
from harness.checkers.linearizability import check_linearizability
from harness.checkers.reference import REPO_ROOT, ReferenceHistory, reference_histories, testdata_dir

SCHEMA_VERSION = 1
# checker-speed.json changelog:
#   1 - first version
PORCUPINE_DIR = Path(__file__).resolve().parent / "porcupine"
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 1800


def _verdict_word(v: object) -> str:
    return "linearizable" if v is True else "not-linearizable" if v is False else "unknown"


def time_ours(ref: ReferenceHistory, repeat: int) -> tuple[str, float]:
    """(verdict, fastest parse+check seconds)."""
    best, verdict = float("inf"), "unknown"
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = check_linearizability(load_history(ref.path, ref.format))
        best = min(best, time.perf_counter() - t0)
        verdict = _verdict_word(result.verdict)
    return verdict, best


def _porcupine_module() -> str:
    for line in (PORCUPINE_DIR / "go.mod").read_text().splitlines():
        parts = line.split()
        if parts[:2] == ["require", "github.com/anishathalye/porcupine"]:
            return f"github.com/anishathalye/porcupine@{parts[2]}"
    return "github.com/anishathalye/porcupine"


def build_porcupine() -> tuple[Path | None, dict[str, Any]]:
    """Build the Go reference program; (binary or None, facts incl. why it is unavailable)."""
    go = shutil.which("go")
    if go is None:
        return None, {"available": False, "reason": "go not on PATH"}
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    out_dir = REPO_ROOT / ".cache" / "bin"
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "porcupine-bench"
    try:
        r = subprocess.run([go, "build", "-o", str(binary), "."], cwd=PORCUPINE_DIR, capture_output=True,
                           text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, {"available": False, "go": version, "reason": f"go build timed out after {BUILD_TIMEOUT_S} s"}
    if r.returncode != 0:
        return None, {"available": False, "go": version, "reason": "go build failed: " + r.stderr.strip()[-500:]}
    return binary, {"available": True, "go": version, "module": _porcupine_module()}


def time_porcupine(binary: Path, fmt: str, files: Sequence[Path], repeat: int,
                   no_partition: bool = False) -> dict[str, dict[str, Any]]:
    """Porcupine's rows by file path."""
    if not files:
        return {}
    cmd = [str(binary), "-format", fmt, "-repeat", str(repeat)] + (["-no-partition"] if no_partition else [])
    r = subprocess.run(cmd + [str(f) for f in files], capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if r.returncode != 0:
        raise RuntimeError(f"porcupine-bench failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return {row["file"]: row for row in rows}


def host_facts() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": platform.node(), "cpu_model": cpu, "logical_cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform()}


def run(out: Path, repeat: int = 3, porcupine: bool = True, no_partition: bool = False) -> dict[str, Any]:
    refs = reference_histories()
    if not refs:
        raise FileNotFoundError(f"no reference histories under {testdata_dir()} (set GBENCH_SHARED_DIR)")
    rows: list[dict[str, Any]] = []
    for ref in refs:
        verdict, seconds = time_ours(ref, repeat)
        rows.append({"file": ref.name, "format": ref.format, "verdict": verdict, "expected": ref.expected,
                     "seconds": round(seconds, 6)})
    facts: dict[str, Any] = {"available": False, "reason": "disabled (--no-porcupine)"}
    if porcupine:
        binary, facts = build_porcupine()
        if binary is not None:
            by_path: dict[str, dict[str, Any]] = {}
            for fmt in ("jepsen-register", "jepsen-kv"):
                by_path.update(time_porcupine(binary, fmt, [r.path for r in refs if r.format == fmt], repeat))
            nopart: dict[str, dict[str, Any]] = {}
            if no_partition:
                nopart = time_porcupine(binary, "jepsen-kv", [r.path for r in refs if r.format == "jepsen-kv"],
                                        1, no_partition=True)
            for ref, row in zip(refs, rows, strict=True):
                p = by_path.get(str(ref.path))
                if p is None:
                    continue
                row["porcupine_seconds"] = round(p["seconds"], 6)
                row["porcupine_verdict"] = p["verdict"]
                row["ratio"] = round(row["seconds"] / p["seconds"], 2) if p["seconds"] > 0 else None
                q = nopart.get(str(ref.path))
                if q is not None:
                    row["porcupine_no_partition_seconds"] = round(q["seconds"], 6)
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = row["file"].split("/")[0]
        t = totals.setdefault(group, {"files": 0, "seconds": 0.0})
        t["files"] += 1
        t["seconds"] = round(t["seconds"] + row["seconds"], 6)
        if "porcupine_seconds" in row:
            t["porcupine_seconds"] = round(t.get("porcupine_seconds", 0.0) + row["porcupine_seconds"], 6)
    for t in totals.values():
        if t.get("porcupine_seconds"):
            t["ratio"] = round(t["seconds"] / t["porcupine_seconds"], 2)
    doc = {"schema_version": SCHEMA_VERSION,
           "generated_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "host": host_facts(), "repeat": repeat, "timing": "fastest of `repeat` runs of parse + check",
           "porcupine": facts, "rows": rows, "totals": totals}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    return doc


def format_report(doc: dict[str, Any]) -> str:
    lines = [f"{'file':28s} {'verdict':17s} {'ours s':>9s} {'porc. s':>9s} {'ratio':>6s}"]
    for r in doc["rows"]:
        flag = "" if r["verdict"] == r["expected"] else f"  MISMATCH (expected {r['expected']})"
        ps = f"{r['porcupine_seconds']:9.4f}" if "porcupine_seconds" in r else f"{'-':>9s}"
        ratio = f"{r['ratio']:6.2f}" if r.get("ratio") is not None else f"{'-':>6s}"
        lines.append(f"{r['file']:28s} {r['verdict']:17s} {r['seconds']:9.4f} {ps} {ratio}{flag}")
    for group, t in doc["totals"].items():
        ps = f", porcupine {t['porcupine_seconds']:.3f} s (ratio {t.get('ratio')})" if "porcupine_seconds" in t else ""
        lines.append(f"total {group}: {t['files']} files, ours {t['seconds']:.3f} s{ps}")
    if not doc["porcupine"].get("available"):
        lines.append(f"porcupine: not measured ({doc['porcupine'].get('reason')})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.benchmarks.checker_speed", description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(REPO_ROOT / "results" / "benchmarks" / "checker-speed.json"))
    p.add_argument("--repeat", type=int, default=3, help="runs per file; the fastest counts (default 3)")
    p.add_argument("--no-porcupine", action="store_true", help="skip the Go reference")
    p.add_argument("--porcupine-no-partition", action="store_true",
                   help="also time Porcupine on kv without per-key partitioning (slow: ~1 min per c10 file)")
    a = p.parse_args(argv)
    doc = run(Path(a.out), a.repeat, porcupine=not a.no_porcupine, no_partition=a.porcupine_no_partition)
    print(format_report(doc))
    print(f"wrote {a.out}")
    return 0 if all(r["verdict"] == r["expected"] for r in doc["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
