"""How long the JVM systems' local images take to build, cold and warm, and how big they are
(issue 13): the debootstrapped Debian base, the JRE 17 layer and each system's image, as
``harness/setup/docker/jvm-images.sh`` builds them.

    python -m harness.benchmarks.jvm_images --out results/benchmarks/jvm-images.json

Cold: the images of this host's tags (``jvm-images.sh --tags``) removed first, then built
(debootstrap from the Debian mirror, Debian's OpenJDK 17 with apt, the system's files);
warm: run again, nothing to do. ``--repeats`` cold builds. Each row is one image of one run
(the script's own "<image> image: <s> s, <size>" lines): tidy, one observation a row.

Needs root, a Docker engine, debootstrap and the Debian mirror.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "harness" / "setup" / "docker" / "jvm-images.sh"
LINE = re.compile(r"^\[jvm-images\] (?P<image>[\w.-]+) image: (?P<seconds>[\d.]+) s, (?P<mb>\d+) MB$")


def parse_steps(stdout: str) -> list[dict[str, Any]]:
    """The script's per-image lines as rows: image, seconds, size_mb."""
    return [{"image": m["image"], "seconds": float(m["seconds"]), "size_mb": int(m["mb"])}
            for m in (LINE.match(line) for line in stdout.splitlines()) if m]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=1800)


def build(cold: bool) -> dict[str, Any]:
    tags = _run("--tags")
    if tags.returncode != 0:
        raise SystemExit(f"jvm-images.sh --tags failed: {tags.stderr.strip()[-1000:]}")
    if cold:
        subprocess.run(["docker", "rmi", "-f", *tags.stdout.split()], capture_output=True, text=True, timeout=300)
    t0 = time.monotonic()
    p = _run()
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"jvm-images.sh failed: {p.stderr.strip()[-2000:]}")
    return {"cold": cold, "seconds": round(took, 3), "tags": tags.stdout.split(), "steps": parse_steps(p.stdout)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.benchmarks.jvm_images", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=1, help="cold builds (each followed by a warm one)")
    args = ap.parse_args(argv)
    if not 1 <= args.repeats <= 5:
        print("--repeats: from 1 to 5", file=sys.stderr)
        return 2
    runs = []
    for i in range(args.repeats):
        for cold in (True, False):
            r = build(cold)
            runs.append({"repeat": i + 1, **r})
            print(f"{'cold' if cold else 'warm'} {r['seconds']:.1f} s: "
                  + ", ".join(f"{s['image']} {s['seconds']} s {s['size_mb']} MB" for s in r["steps"]))
    rows = [{"repeat": r["repeat"], "cold": r["cold"], **s} for r in runs for s in r["steps"]]
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    doc = {"schema_version": 1, "generated_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "command": f"python -m harness.benchmarks.jvm_images --repeats {args.repeats}",
           "docker_server": docker.stdout.strip() or "not measured", "tags": runs[0]["tags"],
           "totals": [{k: r[k] for k in ("repeat", "cold", "seconds")} for r in runs], "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
