"""The results store: one directory per run under ``results/``, written atomically.

A run is built in ``results/.tmp-<run_id>/`` and renamed to ``results/<run_id>/`` only when
complete (rename is atomic on one filesystem), so a half-finished run never looks
complete. A run that fails or is interrupted is renamed ``results/<run_id>.incomplete/``
with an ``INCOMPLETE`` file saying why (its node logs help diagnose), and ``gbench ls``
marks it so. Run id = UTC timestamp + scenario name, e.g. ``20261124T061500Z-bench``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: results/ at the top of the repository, unless GBENCH_RESULTS_DIR says otherwise.
REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_SCHEMA_VERSION = 1
# manifest.json changelog:
#   1 - first version (run, scenario, harness, host, software, cluster, workloads)


def results_root() -> Path:
    return Path(os.environ.get("GBENCH_RESULTS_DIR", REPO_ROOT / "results"))


def new_run_id(scenario: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario).strip("-") or "run"
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe}"


def git_commit(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """The harness's own commit and whether the work tree had uncommitted changes."""
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError) as e:
        return {"commit": None, "dirty": None, "error": str(e)}


@dataclass
class RunDirectory:
    """A run being written. ``path`` is the temporary directory until ``complete()``."""

    root: Path
    run_id: str

    @classmethod
    def plan(cls, scenario: str, root: Path | None = None) -> "RunDirectory":
        """Choose a free run id without creating anything (checks run before ``open``)."""
        root = root or results_root()
        rd = cls(root, new_run_id(scenario))
        n = 1
        while rd.final_path.exists() or rd.path.exists():
            n += 1
            rd = cls(root, f"{new_run_id(scenario)}-{n}")
        return rd

    def open(self) -> "RunDirectory":
        self.root.mkdir(parents=True, exist_ok=True)
        self.path.mkdir()
        return self

    @classmethod
    def create(cls, scenario: str, root: Path | None = None) -> "RunDirectory":
        return cls.plan(scenario, root).open()

    @property
    def path(self) -> Path:
        return self.root / f".tmp-{self.run_id}"

    @property
    def final_path(self) -> Path:
        return self.root / self.run_id

    def write_json(self, name: str, data: Any) -> Path:
        p = self.path / name
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        tmp.rename(p)
        return p

    def complete(self) -> Path:
        """Atomically publish the run."""
        os.replace(self.path, self.final_path)
        return self.final_path

    def abandon(self, reason: str) -> Path | None:
        """Keep what was written, clearly marked incomplete."""
        if not self.path.exists():
            return None
        (self.path / "INCOMPLETE").write_text(reason.rstrip() + "\n")
        dest = self.root / f"{self.run_id}.incomplete"
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(self.path, dest)
        return dest


def list_runs(root: Path | None = None) -> list[dict[str, Any]]:
    """Every run directory with its state (complete / incomplete / in-progress)."""
    root = root or results_root()
    out = []
    if not root.exists():
        return out
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name in ("diagrams", "benchmarks"):
            continue
        if p.name.startswith(".tmp-"):
            state, rid = "in progress (or crashed)", p.name[5:]
        elif p.name.endswith(".incomplete"):
            state, rid = "incomplete", p.name[: -len(".incomplete")]
        elif (p / "manifest.json").exists():
            state, rid = "complete", p.name
        else:
            continue
        info: dict[str, Any] = {"run_id": rid, "state": state, "path": str(p)}
        mf = p / "manifest.json"
        if mf.exists():
            try:
                m = json.loads(mf.read_text())
                info.update({"scenario": m.get("scenario", {}).get("name"), "started": m.get("started_utc"),
                             "nodes": m.get("cluster", {}).get("nodes"), "system": m.get("cluster", {}).get("system")})
            except (OSError, ValueError):
                pass
        out.append(info)
    return out


def find_run(ref: str, root: Path | None = None) -> Path:
    """A run by id, unique prefix, path, or 'latest'."""
    root = root or results_root()
    p = Path(ref)
    if p.is_dir():
        return p
    runs = [r for r in list_runs(root) if r["state"] == "complete"]
    if ref == "latest" and runs:
        return Path(runs[-1]["path"])
    matches = [r for r in runs if r["run_id"].startswith(ref)]
    if len(matches) == 1:
        return Path(matches[0]["path"])
    from harness.errors import GbenchError
    if not matches:
        raise GbenchError(f"no complete run matches {ref!r} in {root}")
    raise GbenchError(f"{ref!r} is ambiguous: {', '.join(m['run_id'] for m in matches)}")
