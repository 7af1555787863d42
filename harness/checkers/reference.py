"""The reference histories in ``shared/testdata`` and their established verdicts.

Used by the checker tests (agreement with known verdicts) and by
``harness.benchmarks.checker_speed``. ``shared/`` sits beside the repository
(``<repo>/../shared``) unless ``GBENCH_SHARED_DIR`` points elsewhere.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ReferenceHistory:
    path: Path
    format: str
    expected: str
    """``linearizable`` or ``not-linearizable``."""

    @property
    def name(self) -> str:
        """``<folder>/<file>``, e.g. ``kv/c10-ok.txt``."""
        return f"{self.path.parent.name}/{self.path.name}"


def shared_dir() -> Path:
    """``$GBENCH_SHARED_DIR``, else ``<repo>/../shared`` (it may not exist)."""
    env = os.environ.get("GBENCH_SHARED_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def testdata_dir() -> Path:
    return shared_dir() / "testdata"


def reference_histories(root: Path | None = None) -> list[ReferenceHistory]:
    """Every reference history with its verdict: jepsen-etcd from ``VERDICTS.tsv`` (a log
    missing from it is an error), kv from the file name (``-ok`` / ``-bad``)."""
    root = testdata_dir() if root is None else root
    out: list[ReferenceHistory] = []
    verdicts_file = root / "jepsen-etcd" / "VERDICTS.tsv"
    if verdicts_file.exists():
        verdicts: dict[str, str] = {}
        for n, line in enumerate(verdicts_file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("linearizable", "not-linearizable"):
                raise ValueError(f"{verdicts_file}:{n}: expected '<file>\\t<verdict>', got {line!r}")
            verdicts[parts[0]] = parts[1]
        for p in sorted((root / "jepsen-etcd").glob("*.log")):
            if p.name not in verdicts:
                raise ValueError(f"{verdicts_file}: no verdict for {p.name}")
            out.append(ReferenceHistory(p, "jepsen-register", verdicts[p.name]))
    for p in sorted((root / "kv").glob("*.txt")):
        expected = "linearizable" if p.stem.endswith("-ok") else "not-linearizable" if p.stem.endswith("-bad") else ""
        if expected:
            out.append(ReferenceHistory(p, "jepsen-kv", expected))
    return out
