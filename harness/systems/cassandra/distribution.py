"""Where Cassandra's jars and the Java runtime come from, and which versions they are.

Search order for Cassandra (first hit wins; an explicit choice that is wrong is an error,
never a silent fallback):

1. ``$CASSANDRA_HOME`` (source ``cassandra-home``): an unpacked Apache Cassandra tarball; its
   ``lib/*.jar`` is the classpath and its ``conf/jvm-server.options`` +
   ``conf/jvm17-server.options`` replace the copies in ``jvm_options.py``.
2. ``<repo>/.cache/cassandra/<version>/lib`` (source ``maven-cache``): what
   ``harness/setup/cassandra/fetch.sh`` copies from Maven Central; ``<version>`` defaults to
   the one pinned in ``harness/setup/cassandra/pom.xml``.

Java: ``harness.systems.java.find_java`` (``$GBENCH_JAVA``, ``$JAVA_HOME``, ``java`` on PATH,
``/usr/lib/jvm/*17*``; the first Java 17 wins: Cassandra 5.0 runs on 11 and 17, the harness
uses 17's option set only).

Example::

    dist = find_cassandra()      # CassandraDistribution(version="5.0.9", source="maven-cache", ...)
    java = find_java()           # JavaRuntime(path=/usr/bin/java, version="17.0.15", ...)
"""
from __future__ import annotations

import os
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from harness.errors import EnvironmentProblem
from harness.systems import java
from harness.systems.java import JavaRuntime

REPO_ROOT = Path(__file__).resolve().parents[3]
SETUP_DIR = REPO_ROOT / "harness" / "setup" / "cassandra"
POM = SETUP_DIR / "pom.xml"
FETCH_SCRIPT = SETUP_DIR / "fetch.sh"
CACHE_ROOT = REPO_ROOT / ".cache" / "cassandra"
FETCH_COMMAND = "bash harness/setup/cassandra/fetch.sh"
VERSION_RESOURCE = "org/apache/cassandra/config/version.properties"


@dataclass(frozen=True)
class CassandraDistribution:
    """The jars a node runs from. ``conf_dir`` is set only for a CASSANDRA_HOME install."""

    lib_dir: Path
    jars: tuple[Path, ...]
    server_jar: Path
    version: str  # exact release, e.g. "5.0.9" (org/apache/cassandra/config/version.properties)
    git_sha: str | None
    source: str  # "maven-cache" | "cassandra-home"
    home: Path | None = None
    conf_dir: Path | None = None

    @property
    def classpath(self) -> str:
        """Every jar of lib/, sorted (bin/cassandra.in.sh: ``for jar in $CASSANDRA_HOME/lib/*.jar``)."""
        return os.pathsep.join(str(j) for j in self.jars)


def pinned_version(pom: Path = POM) -> str:
    """The cassandra-all version pinned in harness/setup/cassandra/pom.xml."""
    m = re.search(r"<cassandra\.version>([^<]+)</cassandra\.version>", pom.read_text())
    if not m:
        raise EnvironmentProblem(f"{pom}: no <cassandra.version> property")
    return m.group(1).strip()


def read_jar_version(jar: Path) -> tuple[str, str | None]:
    """(release version, git sha) from the server jar, as FBUtilities.getReleaseVersionString reads it."""
    try:
        with zipfile.ZipFile(jar) as z:
            try:
                text = z.read(VERSION_RESOURCE).decode("utf-8", "replace")
            except KeyError:
                text = ""
            props = dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln and not ln.startswith("#"))
            version = props.get("CassandraVersion")
            if not version:
                manifest = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
                m = re.search(r"^Implementation-Version:\s*(\S+)", manifest, re.M)
                version = m.group(1) if m else None
    except (OSError, zipfile.BadZipFile) as e:
        raise EnvironmentProblem(f"cannot read Cassandra's version from {jar}: {e}") from e
    if not version:
        raise EnvironmentProblem(f"{jar} holds no {VERSION_RESOURCE} nor Implementation-Version")
    sha = props.get("GitSHA")
    return version.strip(), (sha.strip() if sha and not sha.startswith("$") else None)


def _server_jar(lib: Path) -> Path | None:
    for pattern in ("apache-cassandra-[0-9]*.jar", "cassandra-all-[0-9]*.jar"):
        hits = [p for p in sorted(lib.glob(pattern)) if not p.name.endswith(("-sources.jar", "-javadoc.jar"))]
        if hits:
            return hits[-1]
    return None


def _from_home(home: Path) -> CassandraDistribution:
    lib, conf = home / "lib", home / "conf"
    jar = _server_jar(lib) if lib.is_dir() else None
    if jar is None:
        raise EnvironmentProblem(f"CASSANDRA_HOME={home} has no lib/apache-cassandra-*.jar; point it at an unpacked "
                                 f"Apache Cassandra tarball, or unset it to use the Maven copy ({FETCH_COMMAND})")
    for f in ("jvm-server.options", "jvm17-server.options"):
        if not (conf / f).is_file():
            raise EnvironmentProblem(f"CASSANDRA_HOME={home} has no conf/{f} (Cassandra 5.0 tarballs ship it)")
    version, sha = read_jar_version(jar)
    return CassandraDistribution(lib, tuple(sorted(lib.glob("*.jar"))), jar, version, sha, "cassandra-home",
                                 home=home, conf_dir=conf)


def cache_lib_dir(version: str, cache_root: Path = CACHE_ROOT) -> Path:
    return cache_root / version / "lib"


def find_cassandra(version: str | None = None, env: Mapping[str, str] | None = None,
                   cache_root: Path = CACHE_ROOT) -> CassandraDistribution:
    """The Cassandra install to run; EnvironmentProblem (saying the command that fixes it) if none."""
    env = os.environ if env is None else env
    home = env.get("CASSANDRA_HOME")
    if home:
        return _from_home(Path(home))
    version = version or pinned_version()
    lib = cache_lib_dir(version, cache_root)
    if not (lib / ".complete").is_file():
        have = sorted(p.parent.name for p in cache_root.glob("*/lib/.complete")) if cache_root.is_dir() else []
        raise EnvironmentProblem(
            f"Cassandra {version} is not fetched ({lib} missing): run `{FETCH_COMMAND}` (needs Maven and "
            f"Maven Central), or set CASSANDRA_HOME to an unpacked Cassandra 5.0 tarball"
            + (f"; fetched versions: {', '.join(have)}" if have else ""))
    jar = _server_jar(lib)
    if jar is None:
        raise EnvironmentProblem(f"{lib} has no cassandra-all jar; remove it and run `{FETCH_COMMAND}` again")
    found, sha = read_jar_version(jar)
    if found != version:
        raise EnvironmentProblem(f"{jar} is Cassandra {found}, expected {version}; remove {lib.parent} and "
                                 f"run `{FETCH_COMMAND} {version}`")
    return CassandraDistribution(lib, tuple(sorted(lib.glob("*.jar"))), jar, found, sha, "maven-cache")


def fetch_cassandra(version: str | None = None, timeout_s: float = 900) -> CassandraDistribution:
    """Run fetch.sh (idempotent) and return the distribution; EnvironmentProblem on failure."""
    argv = ["bash", str(FETCH_SCRIPT)] + ([version] if version else [])
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise EnvironmentProblem(f"`{FETCH_COMMAND}` did not finish in {timeout_s:g}s (Maven Central slow or "
                                 "unreachable?)") from e
    if p.returncode == 2:
        raise EnvironmentProblem(f"`{FETCH_COMMAND}`: {p.stderr.strip()}")
    if p.returncode != 0:
        raise EnvironmentProblem(f"`{FETCH_COMMAND}` failed (exit {p.returncode}; Maven Central unreachable?): "
                                 f"{p.stderr.strip()[-2000:]}")
    return find_cassandra(version, env={})


# --------------------------------------------------------------------------- Java

def find_java(env: Mapping[str, str] | None = None) -> JavaRuntime:
    """The Java 17 Cassandra runs on (``harness.systems.java``); EnvironmentProblem saying
    that Cassandra 5.0 needs it otherwise."""
    return java.find_java("Cassandra 5.0", env)
