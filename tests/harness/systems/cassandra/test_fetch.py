"""Fetching Cassandra when Maven Central cannot be reached: one clear error, exit 3, nothing
half-fetched left behind. 'Unreachable' is simulated with Maven's offline mode and an empty
local repository, so the test sends no traffic anywhere."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
FETCH = REPO / "harness" / "setup" / "cassandra" / "fetch.sh"


@pytest.mark.skipif(shutil.which("mvn") is None or shutil.which("java") is None, reason="needs mvn and java")
def test_unreachable_maven_central_is_one_clear_error(tmp_path: Path) -> None:
    version = "5.0.0"  # not fetched here, so Maven must resolve it
    assert not (REPO / ".cache" / "cassandra" / version).exists()
    env = dict(os.environ, GBENCH_MVN_OPTS=f"-o -Dmaven.repo.local={tmp_path / 'm2'}")
    r = subprocess.run(["bash", str(FETCH), version], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3, r.stderr[-2000:]
    assert f"Maven could not resolve cassandra-all {version}" in r.stderr and "Maven Central reachable" in r.stderr
    assert not (REPO / ".cache" / "cassandra" / version / "lib").exists()
    assert not list((REPO / ".cache" / "cassandra").glob(f".fetch-{version}.*"))


def test_bad_version_is_refused() -> None:
    r = subprocess.run(["bash", str(FETCH), "5.0.9; rm -rf /"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "bad version" in r.stderr
