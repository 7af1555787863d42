"""Where ZooKeeper's jars come from and which release they are.

``harness/setup/zookeeper/fetch.sh`` copies ``org.apache.zookeeper:zookeeper`` and the jars the
server needs at run time from Maven Central into ``<repo>/.cache/zookeeper/<version>/lib``
(version pinned in ``harness/setup/zookeeper/pom.xml``); ``find_zookeeper`` finds that copy and
reads the exact release from the server jar's manifest (``Implementation-Version`` and
``Implementation-Build``, the git commit). A missing copy is an ``EnvironmentProblem`` naming
the command that fixes it, never a silent fallback to another install.

Java: ZooKeeper 3.9 runs on Java 8-21; the harness runs it on the same Java 17 as Cassandra,
found by ``harness.systems.java.find_java`` (``$GBENCH_JAVA``, ``$JAVA_HOME``,
``java`` on PATH, ``/usr/lib/jvm/*17*``).

Example::

    dist = find_zookeeper()    # ZooKeeperDistribution(version="3.9.5", build="293c895a...", ...)
"""
from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import EnvironmentProblem

REPO_ROOT = Path(__file__).resolve().parents[3]
POM = REPO_ROOT / "harness" / "setup" / "zookeeper" / "pom.xml"
CACHE_ROOT = REPO_ROOT / ".cache" / "zookeeper"
FETCH_COMMAND = "bash harness/setup/zookeeper/fetch.sh"


@dataclass(frozen=True)
class ZooKeeperDistribution:
    """The jars a node runs from."""

    lib_dir: Path
    jars: tuple[Path, ...]
    server_jar: Path
    version: str  # "3.9.5"
    build: str | None  # the release's git commit (Implementation-Build)
    source: str = "maven-cache"

    @property
    def classpath(self) -> str:
        """Every jar of lib/, sorted (zkEnv.sh puts ``lib/*.jar`` on the classpath)."""
        return os.pathsep.join(str(j) for j in self.jars)


def pinned_version(pom: Path = POM) -> str:
    """The zookeeper version pinned in harness/setup/zookeeper/pom.xml."""
    m = re.search(r"<zookeeper\.version>([^<]+)</zookeeper\.version>", pom.read_text())
    if not m:
        raise EnvironmentProblem(f"{pom}: no <zookeeper.version> property")
    return m.group(1).strip()


def read_jar_version(jar: Path) -> tuple[str, str | None]:
    """(release, git commit) from the server jar's ``META-INF/MANIFEST.MF``."""
    try:
        with zipfile.ZipFile(jar) as z:
            manifest = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise EnvironmentProblem(f"cannot read ZooKeeper's version from {jar}: {e}") from e
    version = re.search(r"^Implementation-Version:\s*(\S+)", manifest, re.M)
    build = re.search(r"^Implementation-Build:\s*(\S+)", manifest, re.M)
    if not version:
        raise EnvironmentProblem(f"{jar}: its manifest has no Implementation-Version")
    return version.group(1), build.group(1) if build else None


def find_zookeeper(version: str | None = None, cache_root: Path = CACHE_ROOT) -> ZooKeeperDistribution:
    """The fetched jars of ``version`` (default: the pinned one); EnvironmentProblem if absent."""
    version = version or pinned_version()
    lib = cache_root / version / "lib"
    jar = lib / f"zookeeper-{version}.jar"
    if not (lib / ".complete").is_file() or not jar.is_file():
        raise EnvironmentProblem(f"ZooKeeper {version} is not fetched ({lib} missing or incomplete): run "
                                 f"`{FETCH_COMMAND}` (needs Maven and Maven Central) or `make setup`")
    found, build = read_jar_version(jar)
    if found != version:
        raise EnvironmentProblem(f"{jar} is ZooKeeper {found}, expected {version}; remove {lib.parent} and run "
                                 f"`{FETCH_COMMAND}` again")
    return ZooKeeperDistribution(lib, tuple(sorted(lib.glob("*.jar"))), jar, found, build)
