"""Where the Python load generator's CPU goes, per operation (the README's explanation of the
gap to etcd's Go benchmark tool is this file's output, not a guess).

    python -m harness.benchmarks.load_generator_profile --out results/benchmarks/load-generator-profile.json

Starts a real 3-node etcd cluster (netns provider, root), then in this one process runs the
worker's own code path (``harness.workload.worker._one``: the gRPC call, the ``Op`` record,
the history line, the HDR histogram) for ``--ops`` puts of 256 B from ``--concurrency``
coroutines on one channel, twice:

1. unprofiled, timing process CPU (``time.process_time``) over wall time: CPU us per put;
2. under cProfile with a CPU timer: the share of that CPU spent in each component.

It is bounded by ``--ops`` (and each call by its timeout), sends traffic only to the nodes
of the cluster it started, and removes the cluster at the end (also on Ctrl-C).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import json
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Functions whose cumulative CPU is reported as a component (substring of pstats' key).
COMPONENTS = {
    "grpc call (protobuf + grpc.aio + HTTP/2)": ("client.py", "put"),
    "history line (Op.to_json + write)": ("history.py", "append"),
    "HDR histogram record": ("histograms.py", "record"),
    "whole per-operation path (worker._one)": ("worker.py", "_one"),
}
REST = "outside the per-operation path (asyncio event loop, grpc.aio completion polling)"


async def _drive(cfg: Any, sh: Any, client: Any, ops: int, concurrency: int) -> None:
    from harness.workload.worker import _one

    per = ops // concurrency

    async def loop(c: int) -> None:
        for k in range(per):
            await _one(sh, client, c, "n1", "put", f"p{(c * per + k) % 1000:04d}", f"{c}:{k}", None)

    await asyncio.gather(*(loop(c) for c in range(concurrency)))


def _shared(tmp: Path, endpoint: str, timeout_s: float) -> Any:
    from harness.workload.spec import parse_workload
    from harness.workload.worker import WorkerConfig, _Shared

    w = parse_workload({"name": "profile", "value_size": 256, "mix": {"put": 1}, "duration_s": 600,
                        "load": {"mode": "closed", "concurrency": 32, "op_timeout_s": timeout_s}}, "<profile>")
    cfg = WorkerConfig(worker_id=0, workload=w, clients=(), time_origin_ns=time.monotonic_ns(), warmup_ns=0,
                       duration_ns=600 * 10**9, history_path=tmp / "h.jsonl", result_path=tmp / "r.json")
    return cfg, _Shared(cfg, time.monotonic_ns())


def _run_once(endpoint: str, tmp: Path, ops: int, concurrency: int, profile: cProfile.Profile | None) -> dict[str, float]:
    from harness.systems.etcd.client import EtcdClient

    cfg, sh = _shared(tmp, endpoint, 5.0)

    async def main() -> float:
        client = EtcdClient(endpoint, 256, 5.0)
        try:
            await _drive(cfg, sh, client, concurrency * 10, concurrency)  # connect + warm up, unmeasured
            c0, w0 = time.process_time(), time.monotonic()
            if profile:
                profile.enable()
            await _drive(cfg, sh, client, ops, concurrency)
            if profile:
                profile.disable()
            return (time.process_time() - c0, time.monotonic() - w0)  # type: ignore[return-value]
        finally:
            await client.close()
            sh.writer.close()

    cpu, wall = asyncio.run(main())  # type: ignore[misc]
    done = (ops // concurrency) * concurrency
    ok = sh.counts["ok"] - concurrency * 10
    return {"ops": done, "ok": ok, "cpu_s": round(cpu, 4), "wall_s": round(wall, 4),
            "cpu_us_per_op": round(cpu / done * 1e6, 1), "ops_per_s": round(done / wall, 1)}


def _components(profile: cProfile.Profile, total_ops: int) -> dict[str, Any]:
    st = pstats.Stats(profile)
    total = max(st.total_tt, 1e-12)  # type: ignore[attr-defined]
    out: dict[str, Any] = {"profiled_cpu_us_per_op": round(total / total_ops * 1e6, 1)}
    for label, (file_part, func) in COMPONENTS.items():
        cum = sum(v[3] for (fname, _line, name), v in st.stats.items()  # type: ignore[attr-defined]
                  if name == func and fname.endswith(file_part))
        out[label] = {"cpu_us_per_op": round(cum / total_ops * 1e6, 1), "share": round(cum / total, 3)}
    path = out["whole per-operation path (worker._one)"]["share"]
    out[REST] = {"cpu_us_per_op": round((1 - path) * total / total_ops * 1e6, 1), "share": round(1 - path, 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=6400)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--out", default="results/benchmarks/load-generator-profile.json")
    args = ap.parse_args(argv)
    if not 0 < args.ops <= 200_000 or not 0 < args.concurrency <= 256:
        ap.error("--ops must be in 1..200000 and --concurrency in 1..256")

    from harness.providers.netns import NetnsProvider
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem

    binary = find_etcd()
    with tempfile.TemporaryDirectory(prefix="gbench-profile-") as d:
        tmp = Path(d)
        run_id = f"profile-{int(time.time())}"
        with NetnsProvider(run_id).with_data_root(tmp / "data") as provider:
            cluster = provider.start(EtcdSystem(binary), 3, tmp / "run")
            endpoint = cluster.client_endpoint(cluster.ready.leader if cluster.ready and cluster.ready.leader
                                               else cluster.nodes[0])
            plain = _run_once(endpoint, tmp, args.ops, args.concurrency, None)
            prof = cProfile.Profile(time.process_time)
            profiled = _run_once(endpoint, tmp, args.ops, args.concurrency, prof)
    doc = {
        "schema_version": 1, "generated_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"cpu_model": _cpu_model(), "python": platform.python_version(), "platform": platform.platform()},
        "etcd": binary.version, "cluster": "3-node etcd, netns provider, client on the leader's endpoint",
        "workload": f"{args.ops} puts of 256 B, {args.concurrency} coroutines on one gRPC channel, one process",
        "unprofiled": plain, "profiled": profiled, "components": _components(prof, profiled["ops"]),
        "note": "component figures are cumulative CPU of the named functions under cProfile (which adds its own "
                "overhead: compare shares, not absolute values, with the unprofiled run)",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(doc, indent=1) + "\n")
    tmp_out.replace(out)
    print(json.dumps({"unprofiled": plain, "components": doc["components"]}, indent=1))
    return 0


def _cpu_model() -> str | None:
    from harness.results.hostfacts import _read, cpu_model

    return cpu_model(_read("/proc/cpuinfo"))


if __name__ == "__main__":
    sys.exit(main())
