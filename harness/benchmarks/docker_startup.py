"""How long the docker path takes to get going: building the local images, and starting a
5-node etcd cluster under Docker (testcontainers), with direct peer links and with peer
links through Toxiproxy. Writes what it measured; the README and issue notes quote it.

    python -m harness.benchmarks.docker_startup --out results/benchmarks/docker-startup.json

First the local images, cold (removed, and their Go binaries rebuilt with an empty build
cache) and then warm (nothing to do), then the clusters.

Needs a Docker engine (``dockerd`` here) and root (Toxiproxy link addresses). Bounded:
``--repeats`` clusters per mode, each removed (by label) before the next starts. Time to
ready is from the first node container's start to the system's readiness probe passing
(a leader seen by every member); the sandboxes (namespace holders) start before that and
are reported separately. Election timing is randomized by etcd (1.0-1.9 s timeouts), so a
split first vote shows up as an occasional slow start.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _remove_local_images() -> None:
    """The shared local images only (label gbench.image=shared): the project's own."""
    ids = subprocess.run(["docker", "images", "-q", "--filter", "label=gbench.image=shared"], capture_output=True,
                         text=True, timeout=60).stdout.split()
    if ids:
        subprocess.run(["docker", "rmi", "-f", *sorted(set(ids))], capture_output=True, text=True, timeout=120)


def _images(cold: bool) -> dict[str, Any]:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="gbench-gocache-") as gocache:
        if cold:  # no images, and the Go binaries images.sh builds rebuilt with an empty build cache
            _remove_local_images()
            env.update(GBENCH_IMAGES_REBUILD="1", GOCACHE=gocache)
        t0 = time.monotonic()
        p = subprocess.run(["bash", str(REPO / "harness/setup/docker/images.sh")], capture_output=True, text=True,
                           timeout=900, env=env)
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"images.sh failed: {p.stderr.strip()[-2000:]}")
    built = [l for l in p.stdout.splitlines() if "building" in l or "imported" in l or " image: " in l]
    return {"command": ("GBENCH_IMAGES_REBUILD=1 GOCACHE=<empty> " if cold else "") +
            "bash harness/setup/docker/images.sh", "cold": cold, "seconds": round(took, 3), "log": built,
            "note": "cold: no local image, toxiproxy-server and the pause program compiled from Go modules with an "
                    "empty build cache (modules already downloaded; etcd's binary comes from make setup); warm: "
                    "images present and binaries current, nothing to do"}


def _start_once(mode: str, nodes: int) -> dict[str, Any]:
    from harness.providers.docker import DockerOptions, DockerProvider
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem

    run_id = f"bench-docker-{mode}-{os.getpid()}-{time.time_ns()}"
    p = DockerProvider(run_id, DockerOptions(peer_links=mode)).with_pull(False)
    with tempfile.TemporaryDirectory(prefix="gbench-docker-bench-") as tmp:
        try:
            t0 = time.monotonic()
            cluster = p.start(EtcdSystem(find_etcd()), nodes, Path(tmp))
            total = time.monotonic() - t0
            return {"time_to_ready_s": round(cluster.time_to_ready_s or 0.0, 3),
                    "sandboxes_s": round(p.sandboxes_s or 0.0, 3), "start_total_s": round(total, 3),
                    "leader": cluster.ready.leader if cluster.ready else None}
        finally:
            p.teardown()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=5)
    args = ap.parse_args(argv)
    if not 1 <= args.repeats <= 20:
        raise SystemExit("--repeats: between 1 and 20")
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    from harness.providers.docker import engine_problem

    problem = engine_problem()
    if problem:
        raise SystemExit(f"no Docker engine: {problem}")
    doc: dict[str, Any] = {"schema_version": 1, "measured_utc": dt.datetime.now(dt.timezone.utc).isoformat(),
                           "host": {"cpu_count": os.cpu_count()},
                           "images": {"cold": _images(cold=True), "warm": _images(cold=False)}, "clusters": {}}
    for mode in ("direct", "toxiproxy"):
        runs = [_start_once(mode, args.nodes) for _ in range(args.repeats)]
        ready = [r["time_to_ready_s"] for r in runs]
        doc["clusters"][mode] = {"nodes": args.nodes, "runs": runs, "time_to_ready_s": {
            "min": min(ready), "median": statistics.median(ready), "max": max(ready)}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.rename(out)
    print(json.dumps({m: c["time_to_ready_s"] for m, c in doc["clusters"].items()}
                     | {f"images_{k}_s": v["seconds"] for k, v in doc["images"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
