"""Finding the fetched jars and their exact release; set-up's fetch is idempotent."""
from __future__ import annotations

import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from harness.errors import EnvironmentProblem
from harness.systems.zookeeper.distribution import CACHE_ROOT, FETCH_COMMAND, find_zookeeper, pinned_version

REPO = Path(__file__).resolve().parents[4]


def _jar(path: Path, version: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nImplementation-Version: {version}\n"
                                           "Implementation-Build: 293c895a8d966a3ecb92872be4a1daf87d725da2\n")


def test_pinned_version() -> None:
    assert pinned_version() == "3.9.5"


def test_missing_copy_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=f"ZooKeeper 3.9.5 is not fetched .*`{FETCH_COMMAND}`"):
        find_zookeeper("3.9.5", cache_root=tmp_path)


def test_a_jar_of_another_release_is_refused(tmp_path: Path) -> None:
    lib = tmp_path / "3.9.5" / "lib"
    _jar(lib / "zookeeper-3.9.5.jar", "3.9.4")
    (lib / ".complete").write_text("zookeeper-3.9.5.jar\n")
    with pytest.raises(EnvironmentProblem, match="is ZooKeeper 3.9.4, expected 3.9.5"):
        find_zookeeper("3.9.5", cache_root=tmp_path)


def test_found_with_its_build(tmp_path: Path) -> None:
    lib = tmp_path / "3.9.5" / "lib"
    _jar(lib / "zookeeper-3.9.5.jar", "3.9.5")
    _jar(lib / "metrics-core-4.1.12.1.jar", "4.1.12.1")
    (lib / ".complete").write_text("x\n")
    d = find_zookeeper("3.9.5", cache_root=tmp_path)
    assert (d.version, d.build, d.source) == ("3.9.5", "293c895a8d966a3ecb92872be4a1daf87d725da2", "maven-cache")
    assert [j.name for j in d.jars] == ["metrics-core-4.1.12.1.jar", "zookeeper-3.9.5.jar"]


def test_fetch_is_a_no_op_once_done() -> None:
    if not (CACHE_ROOT / "3.9.5" / "lib" / ".complete").is_file():
        pytest.skip(f"ZooKeeper is not fetched here (`{FETCH_COMMAND}`)")
    t0 = time.monotonic()
    p = subprocess.run(["bash", str(REPO / "harness/setup/zookeeper/fetch.sh")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "nothing to do" in p.stdout, p.stdout + p.stderr
    assert time.monotonic() - t0 < 5
    stamp = (CACHE_ROOT / "3.9.5" / "lib" / ".complete").read_text().splitlines()
    jars = [ln for ln in stamp if ln.endswith(".jar")]
    for needed in ("zookeeper-3.9.5.jar", "zookeeper-jute-3.9.5.jar", "metrics-core-4.1.12.1.jar",
                   "logback-classic-1.3.15.jar", "snappy-java-1.1.10.5.jar", "commons-cli-1.5.0.jar",
                   "jetty-server-9.4.58.v20250814.jar", "jetty-servlet-9.4.58.v20250814.jar",
                   "jackson-databind-2.15.2.jar"):
        assert needed in jars, needed
