"""The Java runtime the JVM-based systems run on (Cassandra, ZooKeeper), found once for all.

Search order: ``$GBENCH_JAVA`` (alone: an explicit choice that is wrong is an error, never a
silent fallback), then ``$JAVA_HOME/bin/java``, then ``java`` on PATH, then
``/usr/lib/jvm/*17*/bin/java``; the first that is Java 17 wins. The harness runs every JVM
system on 17 (Cassandra 5.0 runs on 11 and 17 and the harness uses 17's option set only;
ZooKeeper 3.9 runs on 8 to 21).

Example::

    java = find_java("Cassandra 5.0")   # JavaRuntime(path=/usr/bin/java, version="17.0.15", ...)
    find_java("ZooKeeper 3.9")          # EnvironmentProblem: "ZooKeeper 3.9 needs Java 17 and none was found ..."
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from harness.errors import EnvironmentProblem

REQUIRED_JAVA_MAJOR = 17
#: The modules whose presence tells a JDK from a JRE (they stand in for Cassandra's start
#: script's ``command -v javac`` test, CASSANDRA-19001).
JDK_ONLY_MODULES: frozenset[str] = frozenset({"jdk.attach", "jdk.compiler"})


@dataclass(frozen=True)
class JavaRuntime:
    """A Java executable and what a launch needs to know about it."""

    path: Path
    version: str  # "17.0.15"
    major: int
    #: jdk.attach and jdk.compiler present (a JDK, not a JRE).
    jdk_modules: bool
    description: str  # the first two lines of ``java -version``


_VERSION_RE = re.compile(r'version "([^"]+)"')


def _probe_java(path: Path) -> JavaRuntime | None:
    try:
        p = subprocess.run([str(path), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = p.stderr or p.stdout
    m = _VERSION_RE.search(out)
    if p.returncode != 0 or not m:
        return None
    version = m.group(1)
    head = version.split(".")[0] if not version.startswith("1.") else version.split(".")[1]
    try:
        major = int(re.match(r"\d+", head).group(0))  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        return None
    jdk = False
    if major >= 9:
        try:
            mods = subprocess.run([str(path), "--list-modules"], capture_output=True, text=True, timeout=30).stdout
            names = {ln.split("@")[0].strip() for ln in mods.splitlines()}
            jdk = JDK_ONLY_MODULES <= names
        except (OSError, subprocess.TimeoutExpired):
            jdk = False
    return JavaRuntime(path, version, major, jdk, " / ".join(out.strip().splitlines()[:2]))


def java_candidates(env: Mapping[str, str] | None = None) -> list[Path]:
    """The executables tried, in order (see the module docstring), each real file once."""
    env = os.environ if env is None else env
    out: list[Path] = []
    if env.get("GBENCH_JAVA"):
        return [Path(env["GBENCH_JAVA"])]
    if env.get("JAVA_HOME"):
        out.append(Path(env["JAVA_HOME"]) / "bin" / "java")
    which = shutil.which("java")
    if which:
        out.append(Path(which))
    out += [Path(p) for p in sorted(glob.glob("/usr/lib/jvm/*17*/bin/java"))]
    seen, uniq = set(), []
    for c in out:
        key = os.path.realpath(c)
        if key not in seen:
            seen.add(key)
            uniq.append(c)
    return uniq


def find_java(needed_by: str, env: Mapping[str, str] | None = None) -> JavaRuntime:
    """The first Java 17 among the candidates; EnvironmentProblem naming ``needed_by`` (the
    system that needs it, e.g. ``"ZooKeeper 3.9"``), what was found and the fix otherwise."""
    seen: list[str] = []
    for cand in java_candidates(env):
        if not cand.exists():
            seen.append(f"{cand} (missing)")
            continue
        rt = _probe_java(cand)
        if rt is None:
            seen.append(f"{cand} (does not run)")
            continue
        if rt.major == REQUIRED_JAVA_MAJOR:
            return rt
        seen.append(f"{cand} (Java {rt.version})")
    raise EnvironmentProblem(
        f"{needed_by} needs Java {REQUIRED_JAVA_MAJOR} and none was found"
        + (f" (tried: {'; '.join(seen)})" if seen else " (no java on PATH)")
        + f". Debian: apt-get install openjdk-{REQUIRED_JAVA_MAJOR}-jdk-headless; or set GBENCH_JAVA to a "
          f"Java {REQUIRED_JAVA_MAJOR} executable.")


_JVM_SIZE = re.compile(r"^(\d+)([kKmMgG]?)$")
_JVM_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
#: What a HotSpot JVM uses besides its heap and direct buffers: metaspace, the code cache
#: (240 MiB reserved by default), thread stacks, GC structures and malloc arenas. A node's
#: container limit leaves this much room above them (``container_memory_limit``).
NATIVE_RESERVE_BYTES = 768 << 20


def jvm_size_bytes(text: str) -> int:
    """A JVM size as ``-Xmx`` takes it (``1G``, ``256m``, ``512k``, ``1048576``) in bytes;
    ValueError naming the text otherwise."""
    m = _JVM_SIZE.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a JVM size (digits and an optional k, m or g)")
    return int(m.group(1)) * _JVM_UNITS[m.group(2).lower()]


def container_memory_limit(heap: str, max_direct: str | None = None) -> int:
    """The memory limit of a container running one JVM node: its heap, its direct memory
    (``-XX:MaxDirectMemorySize``; the JVM's default is the max heap) and
    ``NATIVE_RESERVE_BYTES``. A limit, not a reservation: the node is killed by the kernel's
    OOM killer only if it goes beyond what it could reach under the JVM's own limits."""
    h = jvm_size_bytes(heap)
    return h + (jvm_size_bytes(max_direct) if max_direct else h) + NATIVE_RESERVE_BYTES
