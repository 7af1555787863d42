"""The JVM options Apache Cassandra 5.0 itself uses on Java 17, as data, with their sources.

Cassandra's start-up scripts assemble the server's command line from four places; each is
copied here line for line (only the lines the scripts actually pass: comment lines and
commented-out options are left out) and named with its source:

``conf/jvm-server.options`` -> ``JVM_SERVER_OPTIONS``
    apache/cassandra, commit 7fb5e120e3c9319cc3e8a1279e97ac4819310398: the 5.0 generation of
    the file (its header names jvm11-/jvm17-server.options, and its TTL note names the 2106
    limit of CASSANDRA-14227, a 5.0 change).
``conf/jvm17-server.options`` -> ``JVM17_GC_OPTIONS``, ``JVM17_JPMS_OPTIONS``, ``JVM17_NETTY_OPTIONS``
    apache/cassandra, commit 76a68093dadb30d07ead7842a530b40dc5335734 (Sept 2023; its
    CHANGES.txt records "Merged from 5.0: Fix accessing java.nio.Bits.TOTAL_CAPACITY in Java17
    (CASSANDRA-18848)", the change that added ``--add-opens java.base/java.nio``). The
    5.0-alpha1 file (commit 07ad4a29635e9b29eb87dcb5ff2512b6794c66fe) differs only by lacking
    that line. The cassandra-5.0 branch could not be read at a 5.0.x tag from here, so the
    three JDK-only lines are handled as 5.0's ``bin/cassandra.in.sh`` does (next item).
``bin/cassandra.in.sh`` (5.0: "Cassandra 5.0 requires Java 11 or Java 17.") -> ``JVM17_JDK_ONLY_OPTIONS``
    "Append additional options when using JDK17+ (CASSANDRA-19001)": the ``jdk.attach`` and
    ``jdk.compiler`` exports/opens are added only when a JDK (``javac``) is installed, since a
    JRE lacks those modules. ``JAVA_AGENT="-javaagent:$CASSANDRA_HOME/lib/jamm-0.4.0.jar"``.
``conf/cassandra-env.sh`` and ``bin/cassandra`` (``launch_service``) -> the functions below
    Heap (``-Xms`` = ``-Xmx``, "min (-Xms) and max (-Xmx) heap sizes to the same value"), the
    jamm agent, ``-XX:CompileCommandFile=$CASSANDRA_CONF/hotspot_compiler``,
    ``JVM_ON_OUT_OF_MEMORY_ERROR_OPT="-XX:OnOutOfMemoryError=kill -9 %p"``, the ``-Xlog:gc``
    line, JMX, ``MALLOC_ARENA_MAX=4``; and from ``bin/cassandra``:
    ``-Dlogback.configurationFile``, ``-Dcassandra.logdir``, ``-Dcassandra.storagedir``,
    ``-Dcassandra-foreground=yes``, and the jemalloc preload (``find_jemalloc``).
    ``-Djava.library.path=$CASSANDRA_HOME/lib/sigar-bin`` is
    left out: Maven Central's sigar jar has no native libraries (Cassandra then logs that
    SIGAR is unavailable and carries on).

Direct memory: Cassandra 5.0's scripts do not set ``-XX:MaxDirectMemorySize``, so the JVM
default applies (equal to the maximum heap). What Cassandra itself sets for off-heap buffers
is the Netty group (``JVM17_NETTY_OPTIONS``: direct buffers through Unsafe, and Netty's
pre-4.1.75 allocator defaults); the chunk cache and network buffer pool are sized in
cassandra.yaml (``file_cache_size``, ``networking_cache_size``), see ``config.py``.
``max_direct_memory`` in ``CassandraConfig`` sets the flag when asked (default: unset).

Start-up properties for test clusters (``TEST_CLUSTER_PROPERTIES``): keys and defaults as
defined in ``org.apache.cassandra.config.CassandraRelevantProperties`` of the 5.0.9 jar (listed
by running it: ``CassandraRelevantProperties.values()``), and where Cassandra reads them.

The lines are kept exactly as written in the files (``"--add-exports java.base/..."`` is one
line); ``split_option_lines`` splits them into argv words the way the scripts' unquoted
``for opt in `grep "^-" $FILE``` loop does.
"""
from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

# --------------------------------------------------------------------------- conf/jvm-server.options
#: "GENERAL JVM SETTINGS" of conf/jvm-server.options (5.0), in file order. (Its STARTUP
#: PARAMETERS and HEAP SETTINGS sections are entirely commented out.)
JVM_SERVER_OPTIONS: tuple[str, ...] = (
    "-ea",                              # enable assertions. highly suggested for correct application functionality.
    "-da:net.openhft...",               # disable assertions for net.openhft.** (runs out of memory by design)
    "-XX:+UseThreadPriorities",
    "-XX:+HeapDumpOnOutOfMemoryError",
    "-Xss256k",                         # Per-thread stack size.
    "-XX:+AlwaysPreTouch",              # Make sure all memory is faulted and zeroed on startup.
    "-XX:+UseTLAB",
    "-XX:+ResizeTLAB",
    "-XX:+UseNUMA",
    "-XX:+PerfDisableSharedMem",        # http://www.evanjones.ca/jvm-mmap-pause.html
    "-Djava.net.preferIPv4Stack=true",
)

# --------------------------------------------------------------------------- conf/jvm17-server.options
#: "GC SETTINGS" / "G1 Settings" and "Optional G1 Settings" of conf/jvm17-server.options.
JVM17_GC_OPTIONS: tuple[str, ...] = (
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
)

#: "JPMS" of conf/jvm17-server.options, minus the three JDK-only lines (``JVM17_JDK_ONLY_OPTIONS``).
JVM17_JPMS_OPTIONS: tuple[str, ...] = (
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports java.sql/java.sql=ALL-UNNAMED",
    "--add-exports java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens java.base/java.io=ALL-UNNAMED",
    "--add-opens java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens java.base/java.lang=ALL-UNNAMED",
    "--add-opens java.base/java.util=ALL-UNNAMED",
    "--add-opens java.base/java.nio=ALL-UNNAMED",
)

#: The JDK-only JPMS lines: inline in jvm17-server.options at 76a68093; appended by
#: bin/cassandra.in.sh only when ``javac`` exists since CASSANDRA-19001. Same net effect on a JDK.
JVM17_JDK_ONLY_OPTIONS: tuple[str, ...] = (
    "--add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
)
#: "Netty Options" of conf/jvm17-server.options.
JVM17_NETTY_OPTIONS: tuple[str, ...] = (
    # On Java >= 9 Netty requires the io.netty.tryReflectionSetAccessible system property to be set
    # to true to enable creation of direct buffers using Unsafe. Without it, this falls back to
    # ByteBuffer.allocateDirect which has inferior performance and risks exceeding MaxDirectMemory
    "-Dio.netty.tryReflectionSetAccessible=true",
    # Revert changes in defaults introduced in https://netty.io/news/2022/03/10/4-1-75-Final.html
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
)

# --------------------------------------------------------------------------- conf/jvm17-clients.options
#: conf/jvm17-clients.options (apache/cassandra commit 1b16fee5518a93f1e0615e4a2b50efd54d2af8d4),
#: used for nodetool. Duplicates in the file (sun.nio.ch, java.lang) are kept out.
JVM17_CLIENTS_OPTIONS: tuple[str, ...] = (
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports java.sql/java.sql=ALL-UNNAMED",
    "--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens java.base/java.io=ALL-UNNAMED",
    "--add-opens java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens java.base/java.util=ALL-UNNAMED",
    "--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens java.base/java.lang=ALL-UNNAMED",
    "--add-opens java.base/java.math=ALL-UNNAMED",
    "--add-opens java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens java.base/java.net=ALL-UNNAMED",
)
#: JDK-only lines of jvm17-clients.options (same CASSANDRA-19001 treatment as the server's).
JVM17_CLIENTS_JDK_ONLY_OPTIONS: tuple[str, ...] = (
    "--add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
)
#: bin/nodetool: ``-Xmx$MAX_HEAP_SIZE`` (128m unless set) ``-XX:ParallelGCThreads=1``.
NODETOOL_JVM_OPTIONS: tuple[str, ...] = ("-ea", "-Xmx128m", "-XX:ParallelGCThreads=1")

# --------------------------------------------------------------------------- cassandra-env.sh
#: cassandra-env.sh: ``export MALLOC_ARENA_MAX=4`` unless already set.
SERVER_ENV: dict[str, str] = {"MALLOC_ARENA_MAX": "4"}
#: cassandra-env.sh: the default JMX port.
JMX_PORT = 7199
#: cassandra-env.sh: ``JVM_ON_OUT_OF_MEMORY_ERROR_OPT`` (one argv word: bin/cassandra quotes it).
ON_OUT_OF_MEMORY_ERROR = "-XX:OnOutOfMemoryError=kill -9 %p"


@functools.lru_cache(maxsize=None)
def find_jemalloc() -> Path | None:
    """``_find_jemalloc_in`` the script's directories, once per process (the search is recursive,
    like the script's ``find``, and takes about a second)."""
    return _find_jemalloc_in(None)


def _find_jemalloc_in(dirs: Iterable[Path] | None) -> Path | None:
    """bin/cassandra (Linux): the first ``libjemalloc.so`` or ``libjemalloc.so.1`` in /lib64,
    /lib, /usr/lib64, /usr/lib and the ld.so.conf directories; the server then runs with
    ``LD_PRELOAD=<it>`` and ``-Dcassandra.libjemalloc=<it>``. (Debian's libjemalloc2 ships only
    ``libjemalloc.so.2``, which the script's pattern does not match: there it finds nothing
    unless libjemalloc-dev adds the ``.so`` link.)"""
    if dirs is None:
        found: list[Path] = [Path(d) for d in ("/lib64", "/lib", "/usr/lib64", "/usr/lib")]
        confs = [Path("/etc/ld.so.conf"), *sorted(Path("/etc/ld.so.conf.d").glob("*.conf"))]
        for conf in confs:
            try:
                found += [Path(ln.strip()) for ln in conf.read_text().splitlines() if ln.strip().startswith("/")]
            except OSError:
                pass
        dirs = found
    for d in dirs:
        for name in ("libjemalloc.so", "libjemalloc.so.1"):
            if (d / name).exists():
                return d / name
        try:
            hits = sorted(p for p in d.rglob("libjemalloc.so*") if p.name in ("libjemalloc.so", "libjemalloc.so.1"))
        except OSError:
            hits = []
        if hits:
            return hits[0]
    return None


def heap_options(heap: str) -> list[str]:
    """cassandra-env.sh: ``-Xms${MAX_HEAP_SIZE} -Xmx${MAX_HEAP_SIZE}`` (both equal; G1 gets no -Xmn)."""
    return [f"-Xms{heap}", f"-Xmx{heap}"]


def gc_log_option(log_dir: Path) -> str:
    """cassandra-env.sh (Java >= 11), with ``${CASSANDRA_LOG_DIR}`` = ``log_dir``."""
    return ("-Xlog:gc=info,heap*=trace,age*=debug,safepoint=info,promotion*=trace:"
            f"file={log_dir}/gc.log:time,uptime,pid,tid,level:filecount=10,filesize=10485760")


def jamm_agent_option(lib_dir: Path) -> str | None:
    """cassandra.in.sh / cassandra-env.sh: ``-javaagent:$CASSANDRA_HOME/lib/jamm-<v>.jar``
    (jamm 0.4.0 in 5.0; whichever jamm jar the lib dir holds)."""
    jars = sorted(lib_dir.glob("jamm-*.jar"))
    return f"-javaagent:{jars[-1]}" if jars else None


def jmx_options(host: str, port: int, loopback_only: bool) -> list[str]:
    """JMX without authentication, for test clusters.

    ``loopback_only`` is cassandra-env.sh's default ``LOCAL_JMX=yes`` branch
    (``-Dcassandra.jmx.local.port``: Cassandra binds the JMX registry and server to the
    loopback address only, CassandraDaemon.maybeInitJmx / JMXServerUtils.createJMXServer).
    Otherwise the ``LOCAL_JMX=no`` branch (``-Dcassandra.jmx.remote.port`` plus
    ``-Dcom.sun.management.jmxremote.rmi.port`` = the same port) with
    ``-Dcom.sun.management.jmxremote.authenticate=false`` instead of the script's ``true``
    (JMXServerUtils.configureJmxAuthentication returns no authenticator when false) and
    ``-Djava.rmi.server.hostname=<node address>`` (the script's "add this if you're having
    trouble connecting") so the RMI stubs point nodetool at the node's own address. The remote
    server listens on every interface of the node's network namespace.
    """
    if loopback_only:
        return [f"-Dcassandra.jmx.local.port={port}", "-Dcom.sun.management.jmxremote.authenticate=false"]
    return [f"-Dcassandra.jmx.remote.port={port}",
            f"-Dcom.sun.management.jmxremote.rmi.port={port}",
            "-Dcom.sun.management.jmxremote.authenticate=false",
            "-Dcom.sun.management.jmxremote.ssl=false",
            f"-Djava.rmi.server.hostname={host}"]


def launch_service_properties(yaml_path: Path, logback_path: Path, log_dir: Path, storage_dir: Path) -> list[str]:
    """bin/cassandra ``launch_service`` (foreground): ``-Dlogback.configurationFile``,
    ``-Dcassandra.logdir``, ``-Dcassandra.storagedir``, ``-Dcassandra-foreground=yes``; plus
    ``-Dcassandra.config=file://...`` (the script finds cassandra.yaml on the classpath via
    ``$CASSANDRA_CONF``; CassandraRelevantProperties.CASSANDRA_CONFIG takes a URL). Without
    ``cassandra-foreground`` CassandraDaemon closes stdout/stderr once started."""
    return [f"-Dcassandra.config={yaml_path.resolve().as_uri()}",
            f"-Dlogback.configurationFile={logback_path}",
            f"-Dcassandra.logdir={log_dir}",
            f"-Dcassandra.storagedir={storage_dir}",
            "-Dcassandra-foreground=yes"]


# --------------------------------------------------------------------------- start-up properties
@dataclass(frozen=True)
class StartupProperty:
    """A ``-D`` property that shortens start-up of a fresh test cluster."""

    key: str
    default: str
    defined_in: str
    effect: str


#: Keys/defaults from CassandraRelevantProperties (5.0.9 jar); "effect" names the code reading them.
TEST_CLUSTER_PROPERTIES: dict[str, StartupProperty] = {p.key: p for p in (
    StartupProperty(
        "cassandra.ring_delay_ms", "30000",
        "CassandraRelevantProperties.RING_DELAY; StorageService.getRingDelay() (30 * 1000 when unset); "
        "documented in conf/jvm-server.options: 'Allows overriding of the default RING_DELAY (30000ms), "
        "which is the amount of time a node waits before joining the ring.'",
        "Gossiper.doShadowRound waits up to RING_DELAY (2x for non-seeds) for other seeds; bootstrap and "
        "move sleep RING_DELAY; Gossiper.QUARANTINE_DELAY = 2 x RING_DELAY."),
    StartupProperty(
        "cassandra.skip_wait_for_gossip_to_settle", "-1",
        "CassandraRelevantProperties.GOSSIPER_SKIP_WAITING_TO_SETTLE",
        "Gossiper.waitToSettle() returns at once when 0 (called by CassandraDaemon.start before the native "
        "transport opens, unless listen address is loopback); otherwise it sleeps gossip_settle_min_wait_ms "
        "then polls until the endpoint count is stable."),
    StartupProperty(
        "cassandra.gossip_settle_min_wait_ms", "5000",
        "CassandraRelevantProperties.GOSSIP_SETTLE_MIN_WAIT_MS", "First sleep of Gossiper.waitToSettle()."),
    StartupProperty(
        "cassandra.gossip_settle_interval_ms", "1000",
        "CassandraRelevantProperties.GOSSIP_SETTLE_POLL_INTERVAL_MS", "Poll interval of Gossiper.waitToSettle()."),
    StartupProperty(
        "cassandra.gossip_settle_poll_success_required", "3",
        "CassandraRelevantProperties.GOSSIP_SETTLE_POLL_SUCCESSES_REQUIRED",
        "Stable polls Gossiper.waitToSettle() needs."),
    StartupProperty(
        "cassandra.superuser_setup_delay_ms", "10000",
        "CassandraRelevantProperties.SUPERUSER_SETUP_DELAY_MS; AuthKeyspace.SUPERUSER_SETUP_DELAY",
        "CassandraRoleManager schedules creation of the default 'cassandra' role this long after start-up."),
)}


# --------------------------------------------------------------------------- helpers
def split_option_lines(lines: Iterable[str]) -> list[str]:
    """argv words from option lines, as the scripts' unquoted loop over ``grep "^-"`` yields them."""
    out: list[str] = []
    for line in lines:
        line = line.strip()
        if line.startswith("-"):
            out.extend(line.split())
    return out


def read_options_file(path: Path) -> list[str]:
    """The option lines (those starting with ``-``) of a Cassandra ``jvm*.options`` file."""
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip().startswith("-")]


def jvm17_server_option_lines(jdk_modules_present: bool) -> list[str]:
    """jvm-server.options + jvm17-server.options (+ the JDK-only lines on a JDK), in script order."""
    lines = [*JVM_SERVER_OPTIONS, *JVM17_GC_OPTIONS, *JVM17_JPMS_OPTIONS, *JVM17_NETTY_OPTIONS]
    if jdk_modules_present:
        lines += JVM17_JDK_ONLY_OPTIONS
    return lines


def format_argv(argv: Iterable[str]) -> str:
    """A shell-pasteable rendering of an argv (for logs and error messages)."""
    return shlex.join(list(argv))
