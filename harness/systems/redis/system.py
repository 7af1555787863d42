"""Redis 7 as a ``harness.api.System``: a primary, its replicas and Sentinels that fail it over.

A cluster of N nodes with ``RedisConfig.sentinels`` = S: the first N - S nodes run
``redis-server`` (n1 the initial primary, every other one ``replicaof`` n1), the last S run
``redis-sentinel``, each in its own node (namespace), so a kill, a pause or a partition reaches
one process. Sentinels monitor the primary under the name ``gbench`` (``MASTER_NAME``).

Each node's command is the binary and one config file in its data dir, which ``launch`` writes
(``redis.conf`` for a server, ``sentinel.conf`` for a Sentinel) and which holds every setting
the harness chose (``server_conf`` and ``sentinel_conf`` say which and why). ``launch`` writes a
file only when it is absent: a data dir is fresh per cluster, and from then on the file is the
node's own state, which the servers themselves maintain. Sentinel rewrites its own file (its
id, the current primary and epoch, the replicas and Sentinels it found), and reconfigures a
server with ``REPLICAOF`` + ``CONFIG REWRITE``, which rewrites that server's ``redis.conf``. The
providers call ``launch`` once per cluster and restart a node with the same argv, so a restart
sees the files as the servers left them, as a restarted process sees them in production:

- a restarted replica that Sentinel reconfigured follows the primary Sentinel named;
- a primary killed before a failover, and restarted after it, comes back as a primary of its
  own (its file was never rewritten: it was down), without data unless ``appendonly`` (RDB
  snapshots are off: ``save ""``), and accepts writes until the Sentinels convert it to a
  replica of the new primary (``+convert-to-slave``, about 8 s after it reappears: Sentinel
  waits four hello periods for newer configurations first). Writes acknowledged by it in
  that window are lost: Redis's real behaviour, and part of what a run measures;
- a replica keeps the RDB of its last full sync on disk (``dump.rdb``: Redis 7 loads a full
  sync from disk unless ``repl-diskless-load`` says otherwise), so a restarted replica loads
  that and asks its primary for a partial resync from the offset it holds.

Start stages: the primary (ready when it answers PING), the replicas (ready when the primary
lists each one ``online``, so that a Sentinel's first ``INFO`` of the primary already names
them: Sentinel asks the primary for ``INFO`` only every 10 s), then the Sentinels.

Readiness: the primary is the server the Sentinels name (n1 on a fresh cluster, the promoted
replica after a failover: ``expected_primary``); its ``INFO replication`` says ``role:master``
and lists every other server ``online``; every other server says ``master_link_status:up``
towards it; every Sentinel names it (``SENTINEL get-master-addr-by-name gbench``), knows every
other Sentinel (``SENTINEL sentinels``) and every replica (``SENTINEL replicas``), none of them
down. The probes run the host's ``redis-cli`` against each node's address (``run_cli``).

Member status (``member_status``, polled into a scenario's members.jsonl): a server's role,
the primary it names, its replication offset and link; a Sentinel's named primary and
``config-epoch``. The term: Redis servers keep no epoch (Sentinel's epochs live in the
Sentinels), so a server's term is the config-epoch of the Sentinels that name its primary in
the same poll, and None for a deposed primary no Sentinel names (``member_statuses``).

Example::

    system = RedisSystem.from_environment(RedisConfig(sentinels=3))
    cluster = provider.start(system, 6, run_dir)   # n1-n3 servers, n4-n6 Sentinels
    system.roles(cluster)        # {"n1": "primary", "n2": "replica", ..., "n4": "sentinel", ...}
    cluster.node("n1").kill()
    system.leader(cluster)       # "n2" or "n3" once the Sentinels have failed over
    system.member_status(cluster)["n4"]  # {"leader": "n2", "is_leader": False, "term": 1, "flags": "master"}
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from harness.api import ProbeRound, ReadinessCheck, Stage
from harness.errors import ClusterError, ConfigError, EnvironmentProblem
from harness.providers.base import Cluster, NodeAddress, NodeLaunch, ReadyReport

#: Where the binaries are looked for (Debian's redis-server, redis-sentinel, redis-tools).
BIN_DIRS = ("/usr/bin", "/usr/local/bin")
#: The name the Sentinels monitor the primary under.
MASTER_NAME = "gbench"
PROBE_TIMEOUT_S = 2.0
#: ``member_status``'s probes: polled every few hundred ms during a scenario, so a paused or
#: overloaded node costs one short wait (and shows as None), not a stalled poll
STATUS_TIMEOUT_S = 1.0
APPENDFSYNC = ("always", "everysec", "no")
#: Redis's own default proto-max-bulk-len (512mb): the largest bulk string, so the largest value.
DEFAULT_PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
#: Settings ``RedisConfig.extra`` may not set: the harness's own (the node's address, files
#: and log, which the provider and the probes rely on) or a ``RedisConfig`` field's.
RESERVED = {"bind": None, "port": None, "dir": None, "logfile": None, "daemonize": None, "include": None,
            "replicaof": None, "slaveof": None, "replica-announce-ip": None, "slave-announce-ip": None,
            "proc-title-template": None, "appendonly": "appendonly", "appendfsync": "appendfsync",
            "min-replicas-to-write": "min_replicas_to_write", "min-slaves-to-write": "min_replicas_to_write",
            "min-replicas-max-lag": "min_replicas_max_lag", "min-slaves-max-lag": "min_replicas_max_lag"}
_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}

T = TypeVar("T")
N = TypeVar("N")


@dataclass(frozen=True)
class RedisBinaries:
    server: Path
    sentinel: Path
    cli: Path
    version: str  # "7.0.15"
    #: ``redis-server --version`` as printed (sha, malloc, build id)
    build: str


def find_redis(dirs: Sequence[str] = BIN_DIRS) -> RedisBinaries:
    """Debian's redis-server, redis-sentinel and redis-cli (EnvironmentProblem naming the
    packages otherwise), with the server's exact version."""
    found: dict[str, Path] = {}
    for name in ("redis-server", "redis-sentinel", "redis-cli"):
        path = next((Path(d) / name for d in dirs if shutil.which(name, path=d)), None)
        if path is None:
            raise EnvironmentProblem(f"no {name} in {', '.join(dirs)} (apt-get install --no-install-recommends "
                                     "redis-server redis-sentinel; redis-tools brings redis-cli)")
        found[name] = path
    out = subprocess.run([str(found["redis-server"]), "--version"], capture_output=True, text=True,
                         timeout=30).stdout.strip()
    m = re.search(r"\bv=(\d+\.\d+\.\d+)", out)
    if not m:
        raise EnvironmentProblem(f"{found['redis-server']} --version printed {out!r}: no version")
    return RedisBinaries(found["redis-server"], found["redis-sentinel"], found["redis-cli"], m.group(1), out)


def memory_bytes(text: str) -> int:
    """A Redis memory setting (``512mb``, ``1g``, ``1048576``) in bytes, with Redis's units
    (k = 1000, kb = 1024, ...); ValueError when it is not one."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmg]b?)?\s*", text, re.I)
    if not m:
        raise ValueError(f"{text!r} is not a Redis memory size (e.g. 512mb)")
    return int(m.group(1)) * _UNITS[(m.group(2) or "").lower()]


@dataclass(frozen=True)
class RedisConfig:
    """Everything that shapes the servers and Sentinels; recorded in the manifest."""

    #: how many of the cluster's nodes (the last ones) run a Sentinel; 0: no failover
    sentinels: int = 3
    port: int = 6379
    sentinel_port: int = 26379
    #: Sentinel's down-after-milliseconds: unanswered this long, a Sentinel deems a node down
    down_after_ms: int = 1000
    #: Sentinel's failover-timeout (also: a failed election is retried after twice this)
    failover_timeout_ms: int = 10000
    #: Sentinels that must agree the primary is down before a failover; None = a majority
    quorum: int | None = None
    appendonly: bool = False
    #: always | everysec | no
    appendfsync: str = "everysec"
    #: the primary refuses writes with fewer replicas than this acknowledging within the lag
    min_replicas_to_write: int = 0
    min_replicas_max_lag: int = 10
    #: further redis.conf lines (the servers', not the Sentinels'), written as given
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = "RedisConfig"
        for name in ("port", "sentinel_port"):
            if not 1 <= getattr(self, name) <= 65535:
                raise ConfigError(src, name, f"{getattr(self, name)} is not a TCP port")
        if self.port == self.sentinel_port:
            raise ConfigError(src, "sentinel_port", f"must differ from port {self.port}")
        if self.sentinels < 0:
            raise ConfigError(src, "sentinels", f"must be >= 0 (0 = no Sentinel), not {self.sentinels}")
        for name in ("down_after_ms", "failover_timeout_ms"):
            if getattr(self, name) < 1:
                raise ConfigError(src, name, f"must be positive, not {getattr(self, name)}")
        if self.quorum is not None and not 1 <= self.quorum <= max(self.sentinels, 1):
            raise ConfigError(src, "quorum", f"must be between 1 and sentinels ({self.sentinels}), not {self.quorum}"
                              if self.sentinels else "needs sentinels > 0")
        if self.appendfsync not in APPENDFSYNC:
            raise ConfigError(src, "appendfsync", f"must be one of {', '.join(APPENDFSYNC)}, not {self.appendfsync!r}")
        for name in ("min_replicas_to_write", "min_replicas_max_lag"):
            if getattr(self, name) < 0:
                raise ConfigError(src, name, f"must be >= 0, not {getattr(self, name)}")
        for key, value in self.extra.items():
            if key.lower() in RESERVED:
                own = RESERVED[key.lower()]
                raise ConfigError(src, f"extra.{key}", f"set RedisConfig.{own} instead" if own else
                                  "is the harness's own setting (the node's address, files and log)")
            if not re.fullmatch(r"[A-Za-z][\w-]*", key) or "\n" in str(value) or "\r" in str(value):
                raise ConfigError(src, f"extra.{key}", f"{key!r}: {value!r} is not one redis.conf line")
        if "proto-max-bulk-len" in self.extra:
            try:
                memory_bytes(self.extra["proto-max-bulk-len"])
            except ValueError as e:
                raise ConfigError(src, "extra.proto-max-bulk-len", str(e)) from None

    @property
    def sentinel_quorum(self) -> int:
        """``quorum``, or a majority of the Sentinels."""
        return self.quorum if self.quorum is not None else self.sentinels // 2 + 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def conf_value(value: object) -> str:
    """One argument of a redis.conf line: as is, or double-quoted when it must be."""
    s = str(value)
    if s and re.fullmatch(r"[^\s\"'\\]+", s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lines(settings: Sequence[tuple[str, object]]) -> str:
    return "".join(f"{k} {v if isinstance(v, _Raw) else conf_value(v)}\n" for k, v in settings)


class _Raw(str):
    """A redis.conf value written as given (``RedisConfig.extra``)."""


HEADER = ("# gbench: written when the node's data dir was created; from then on the node's own "
          "(Sentinel rewrites it)\n")


def server_conf(cfg: RedisConfig, node: NodeAddress, primary: NodeAddress, data_dir: Path) -> str:
    """A server's redis.conf: the same for every server but the ``replicaof`` line, which only
    the replicas have. ``repl-diskless-sync-delay 0``: Redis 7 otherwise waits 5 s for more
    replicas before a full sync; ``logfile ""``: stdout, which the provider keeps in the node's
    log; ``replica-announce-ip``: the address the primary and the Sentinels list the replica
    under; ``proc-title-template`` keeps the config file's path (under the run's scratch dir)
    in the process title, which Redis rewrites."""
    settings: list[tuple[str, object]] = [
        ("bind", node.host), ("port", cfg.port), ("dir", data_dir), ("daemonize", "no"), ("logfile", ""),
        ("protected-mode", "no"), ("save", ""), ("appendonly", "yes" if cfg.appendonly else "no"),
        ("appendfsync", cfg.appendfsync), ("repl-diskless-sync-delay", 0), ("replica-announce-ip", node.host),
        ("min-replicas-to-write", cfg.min_replicas_to_write), ("min-replicas-max-lag", cfg.min_replicas_max_lag),
        ("proc-title-template", "{title} {listen-addr} {server-mode} {config-file}")]
    if node.name != primary.name:
        settings.append(("replicaof", _Raw(f"{primary.host} {cfg.port}")))
    settings += [(k, _Raw(v)) for k, v in cfg.extra.items()]
    return HEADER + _lines(settings)


def sentinel_conf(cfg: RedisConfig, node: NodeAddress, primary: NodeAddress, data_dir: Path) -> str:
    """A Sentinel's sentinel.conf: it monitors n1 as ``gbench`` with the configured quorum,
    down-after and failover timeouts, and announces its own address (the other Sentinels
    learn it from its hello messages on the primary)."""
    m = MASTER_NAME
    settings: list[tuple[str, object]] = [
        ("port", cfg.sentinel_port), ("bind", node.host), ("dir", data_dir), ("daemonize", "no"), ("logfile", ""),
        ("protected-mode", "no"), ("proc-title-template", "{title} {listen-addr} {server-mode} {config-file}"),
        ("sentinel announce-ip", node.host),
        ("sentinel monitor", _Raw(f"{m} {primary.host} {cfg.port} {cfg.sentinel_quorum}")),
        ("sentinel down-after-milliseconds", _Raw(f"{m} {cfg.down_after_ms}")),
        ("sentinel failover-timeout", _Raw(f"{m} {cfg.failover_timeout_ms}")),
        ("sentinel parallel-syncs", _Raw(f"{m} 1"))]
    return HEADER + _lines(settings)


# --------------------------------------------------------------------------- probes

def run_cli(bins: RedisBinaries, host: str, port: int, *args: str, timeout_s: float = PROBE_TIMEOUT_S,
            as_json: bool = False) -> str:
    """``redis-cli -h host -p port args...``'s output (raw; ``--json`` with ``as_json``, RESP3
    replies as JSON); RuntimeError with the error (``READONLY ...``) or why it could not ask."""
    argv = [str(bins.cli), "-h", host, "-p", str(port), "-e", *(["--json"] if as_json else []), *args]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"redis-cli {' '.join(args)} timed out after {timeout_s:g}s") from e
    if p.returncode != 0:
        lines = [ln.strip() for ln in (p.stderr + p.stdout).splitlines() if ln.strip()]
        raise RuntimeError(lines[0] if lines else f"redis-cli exited {p.returncode}")
    return p.stdout


def run_cli_batch(bins: RedisBinaries, host: str, port: int, commands: Sequence[Sequence[str]],
                  timeout_s: float = PROBE_TIMEOUT_S) -> list[Any]:
    """Several commands in one ``redis-cli --json`` process (fed on stdin, one connection):
    each reply decoded from JSON, an error reply as ``RuntimeError``. RuntimeError when
    redis-cli could not ask or did not print one reply per command (in this mode it exits 0
    even when it cannot connect, saying why on stderr only)."""
    argv = [str(bins.cli), "-h", host, "-p", str(port), "--json"]
    text = "".join(" ".join(c) + "\n" for c in commands)
    try:
        p = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"redis-cli ({'; '.join(' '.join(c) for c in commands)}) timed out after "
                           f"{timeout_s:g}s") from e
    return batch_replies(p.stdout, p.stderr, len(commands))


def batch_replies(stdout: str, stderr: str, count: int) -> list[Any]:
    """``run_cli_batch``'s replies from what redis-cli printed: one JSON line per command,
    ``error:"..."`` for an error reply (kept as a RuntimeError); RuntimeError with redis-cli's
    complaint (``Could not connect ...``) when there are not ``count`` of them."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if len(lines) != count:
        why = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        raise RuntimeError(why[0] if why else f"redis-cli printed {len(lines)} replies for {count} commands")
    out: list[Any] = []
    for ln in lines:
        if ln.startswith("error:"):
            try:
                out.append(RuntimeError(str(json.loads(ln[len("error:"):]))))
            except ValueError:
                out.append(RuntimeError(ln[len("error:"):]))
            continue
        try:
            out.append(json.loads(ln))
        except ValueError as e:
            raise RuntimeError(f"redis-cli printed {ln[:200]!r}: not JSON") from e
    return out


def parse_info(text: str) -> dict[str, str]:
    """``INFO``'s ``key:value`` lines (section headers and blank lines skipped)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            k, _, v = line.partition(":")
            out[k] = v
    return out


def listed_replicas(info: dict[str, str]) -> list[dict[str, str]]:
    """A primary's ``slave<i>:ip=...,port=...,state=online,offset=...,lag=...`` entries."""
    out = []
    for k, v in info.items():
        if re.fullmatch(r"slave\d+", k):
            out.append(dict(kv.partition("=")[::2] for kv in v.split(",")))
    return out


def _as_maps(items: Any) -> list[dict[str, Any]]:
    """``SENTINEL replicas|sentinels``: maps under RESP3, flat key/value lists under RESP2."""
    if not isinstance(items, list):
        return []
    return [it if isinstance(it, dict) else dict(zip(it[::2], it[1::2])) for it in items if isinstance(it, (dict, list))]


def _each(nodes: Sequence[N], fn: Callable[[N], T]) -> list[T]:
    """``fn`` on every node in parallel (a node that does not answer costs one timeout, not one each)."""
    if not nodes:
        return []
    with ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="gbench-redis-probe") as ex:
        return list(ex.map(fn, nodes))


@dataclass(frozen=True)
class ServerState:
    """What one server's ``INFO replication`` said (or why it said nothing)."""

    node: str
    info: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def role(self) -> str | None:
        """``primary``, ``replica`` or None (not answering)."""
        return {"master": "primary", "slave": "replica"}.get(self.info.get("role", "")) if not self.error else None

    @property
    def offset(self) -> int | None:
        """The replication offset: master_repl_offset on a primary, slave_repl_offset on a replica."""
        v = self.info.get("master_repl_offset" if self.role == "primary" else "slave_repl_offset")
        return int(v) if v is not None and v.lstrip("-").isdigit() else None

    def describe(self) -> str:
        if self.error:
            return self.error
        if self.role == "primary":
            reps = ", ".join(f"{r.get('ip')} {r.get('state')}" for r in listed_replicas(self.info)) or "none"
            return f"role primary, offset {self.offset}, replicas: {reps}"
        return (f"role {self.role or self.info.get('role')}, of {self.info.get('master_host')}:"
                f"{self.info.get('master_port')}, link {self.info.get('master_link_status')}, offset {self.offset}")


@dataclass(frozen=True)
class SentinelState:
    """What one Sentinel said of ``gbench``: the primary's address and, unless asked for the
    address only, the Sentinels and replicas it knows."""

    node: str
    primary: str | None = None  # "host:port"
    sentinels: list[dict[str, Any]] = field(default_factory=list)
    replicas: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    #: ``SENTINEL master``'s ``config-epoch`` (the epoch of the failover that made the named
    #: primary primary; 0 before any) and ``flags`` (``master``, ``master,s_down,o_down,
    #: failover_in_progress``, ...); None when not asked
    config_epoch: int | None = None
    flags: str | None = None

    @staticmethod
    def up(entries: list[dict[str, Any]]) -> list[str]:
        """The addresses of the entries a Sentinel does not flag down or disconnected."""
        return [str(e.get("ip")) for e in entries
                if not {"s_down", "o_down", "disconnected"} & set(str(e.get("flags", "")).split(","))]

    def describe(self) -> str:
        if self.error:
            return self.error
        return (f"names primary {self.primary}; knows sentinels {self.up(self.sentinels) or 'none'} and replicas "
                f"{self.up(self.replicas) or 'none'} up")


def address_of(reply: Any) -> str | None:
    """``SENTINEL get-master-addr-by-name``'s ``[host, port]`` as ``host:port`` (None: no such master)."""
    return f"{reply[0]}:{reply[1]}" if isinstance(reply, list) and len(reply) == 2 else None


def sentinel_from_replies(node: str, addr: Any, master: Any) -> SentinelState:
    """A Sentinel's state from its replies to ``SENTINEL get-master-addr-by-name gbench`` and
    ``SENTINEL master gbench`` (a RESP3 map or a RESP2 flat list; either reply may be the
    RuntimeError of an error reply)."""
    for r in (addr, master):
        if isinstance(r, BaseException):
            return SentinelState(node, error=str(r))
    fields = (_as_maps([master]) or [{}])[0]
    epoch = fields.get("config-epoch")
    return SentinelState(node, address_of(addr),
                         config_epoch=int(epoch) if str(epoch).lstrip("-").isdigit() else None,
                         flags=str(fields["flags"]) if "flags" in fields else None)


def member_statuses(servers: Sequence[Any], sentinels: Sequence[Any], states: dict[str, ServerState],
                    views: dict[str, SentinelState], port: int) -> dict[str, dict[str, Any] | None]:
    """``RedisSystem.member_status`` from one round of answers (pure): per node in the order
    of ``servers`` then ``sentinels`` (addresses: ``name``, ``host``), None for one that did not
    answer.

    A server: ``role`` (primary | replica), ``is_leader`` (role master), ``leader`` (itself
    as primary; as replica the server at its ``master_host:master_port``, None when that is no
    server of the cluster), ``offset`` (master_repl_offset / slave_repl_offset), ``link``
    (master_link_status; None on a primary) and ``term``: the highest ``config-epoch`` among
    the Sentinels that name, in this same round, its leader (itself as primary, its primary as
    replica) as the primary; None when no answering Sentinel does. A server keeps no epoch of
    its own (Sentinel's epochs live in the Sentinels alone), so its term is the epoch of the
    configuration that vouches for the primary it serves or follows. A deposed primary that
    still says master (cut off, or restarted before Sentinel converted it) has no Sentinel
    naming it: term None, so it never outranks the primary the Sentinels promoted, and the
    availability checker sees it keep claiming leadership without a higher term. (A replica
    just promoted says master up to a second before the Sentinels name it, at their next
    ``INFO`` of it: meanwhile it too has term None. Seen in the failover scenarios: 0.6-0.9 s.)

    A Sentinel: ``leader`` (the server it names: ``get-master-addr-by-name``), ``is_leader``
    False, ``term`` (its ``config-epoch``: grows by one or more with each failover), ``flags``
    (its view of that primary: ``s_down``, ``o_down``, ``failover_in_progress``)."""
    by_addr = {f"{n.host}:{port}": n.name for n in servers}
    epochs: dict[str, int] = {}  # server -> highest config-epoch of the Sentinels naming it
    out: dict[str, dict[str, Any] | None] = {}
    for n in sentinels:
        v = views.get(n.name)
        if v is None or v.error:
            out[n.name] = None
            continue
        named = by_addr.get(v.primary or "")
        if named is not None and v.config_epoch is not None:
            epochs[named] = max(epochs.get(named, v.config_epoch), v.config_epoch)
        out[n.name] = {"leader": named, "is_leader": False, "term": v.config_epoch, "flags": v.flags}
    for n in servers:
        s = states.get(n.name)
        if s is None or s.error or s.role is None:
            out[n.name] = None
            continue
        if s.role == "primary":
            leader: str | None = n.name
        else:
            leader = by_addr.get(f"{s.info.get('master_host')}:{s.info.get('master_port')}")
        out[n.name] = {"role": s.role, "leader": leader, "is_leader": s.role == "primary",
                       "term": epochs.get(leader) if leader is not None else None, "offset": s.offset,
                       "link": s.info.get("master_link_status") if s.role == "replica" else None}
    return {n.name: out[n.name] for n in [*servers, *sentinels]}


# --------------------------------------------------------------------------- the system

@dataclass
class RedisSystem:
    """Redis servers (the first nodes: n1 the initial primary, the others its replicas) and
    ``config.sentinels`` Sentinels (the last nodes)."""

    bins: RedisBinaries
    config: RedisConfig = field(default_factory=RedisConfig)
    name: str = "redis"
    default_ready_timeout_s: float = 30.0
    client_port: int = field(init=False)
    peer_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.client_port = self.peer_port = self.config.port  # replication runs on the client port

    @classmethod
    def from_environment(cls, config: RedisConfig | None = None) -> "RedisSystem":
        return cls(find_redis(), config or RedisConfig())

    def version(self) -> str:
        return self.bins.version

    @property
    def max_value_bytes(self) -> int:
        """A value is one bulk string: at most proto-max-bulk-len (512 MiB unless ``extra`` sets it)."""
        v = self.config.extra.get("proto-max-bulk-len")
        return memory_bytes(v) if v is not None else DEFAULT_PROTO_MAX_BULK_LEN

    def value_limit_reason(self) -> str:
        v = self.config.extra.get("proto-max-bulk-len")
        return f"proto-max-bulk-len {v} (RedisConfig.extra)" if v else "proto-max-bulk-len 512mb (Redis's default)"

    def config_dict(self) -> dict[str, Any]:
        b = self.bins
        return {**self.config.as_dict(), "quorum_effective": self.config.sentinel_quorum if self.config.sentinels
                else None, "master_name": MASTER_NAME, "version": b.version, "build": b.build,
                "server": str(b.server), "sentinel": str(b.sentinel), "cli": str(b.cli)}

    # ------------------------------------------------------------------ members
    def split(self, members: Cluster | Sequence[N]) -> tuple[list[Any], list[Any]]:
        """(servers, sentinels) of a cluster's nodes or of addresses, in order; ConfigError when
        the Sentinels would leave no server."""
        nodes = list(members.nodes if isinstance(members, Cluster) else members)
        n_servers = len(nodes) - self.config.sentinels
        if n_servers < 1:
            raise ConfigError("--nodes", "nodes", f"{len(nodes)} nodes leave no Redis server beside "
                              f"{self.config.sentinels} Sentinels (RedisConfig.sentinels): use at least "
                              f"{self.config.sentinels + 1}")
        return nodes[:n_servers], nodes[n_servers:]

    def server_nodes(self, members: Cluster | Sequence[N]) -> list[Any]:
        """The nodes (or addresses) that run redis-server, the initial primary first."""
        return self.split(members)[0]

    def sentinel_nodes(self, members: Cluster | Sequence[N]) -> list[Any]:
        """The nodes (or addresses) that run redis-sentinel."""
        return self.split(members)[1]

    def port_of(self, cluster: Cluster | Sequence[Any], node: str) -> int:
        """The port ``node`` serves on: the Sentinel port on a Sentinel node."""
        return self.config.sentinel_port if node in {n.name for n in self.sentinel_nodes(cluster)} else \
            self.config.port

    # ------------------------------------------------------------------ launch
    def launch(self, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> NodeLaunch:
        """``redis-server <data_dir>/redis.conf`` or ``redis-sentinel <data_dir>/sentinel.conf``;
        the file is written only when absent (see the module's docstring)."""
        servers, sentinels = self.split(cluster)
        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        if node.name in {a.name for a in sentinels}:
            binary, conf, text = self.bins.sentinel, data_dir / "sentinel.conf", sentinel_conf
        else:
            binary, conf, text = self.bins.server, data_dir / "redis.conf", server_conf
        if not conf.exists():
            conf.write_text(text(self.config, node, servers[0], data_dir))
        return NodeLaunch(argv=[str(binary), str(conf)], data_dir=data_dir)

    def stages(self, cluster: Sequence[NodeAddress]) -> list[Stage]:
        """The primary (once it answers PING), the replicas (once the primary lists each one
        online), then the Sentinels."""
        servers, sentinels = self.split(cluster)
        stages = [Stage("primary", (servers[0].name,), ready=self._primary_answers)]
        if servers[1:]:
            stages.append(Stage("replica", tuple(a.name for a in servers[1:]), ready=self._replicas_online))
        if sentinels:
            stages.append(Stage("sentinel", tuple(a.name for a in sentinels)))
        return stages

    def _poll(self, what: str, timeout_s: float, check: Callable[[], str | None]) -> None:
        """Call ``check`` (None: done, else why not) every 0.05 s until done; ClusterError saying
        ``what`` and the last reason after ``timeout_s``."""
        deadline, last = time.monotonic() + timeout_s, "not polled"
        while time.monotonic() < deadline:
            why = check()
            if why is None:
                return
            last = why
            time.sleep(0.05)
        raise ClusterError(f"{what} within {timeout_s:g}s: {last}. Hint: a server that exits at once has a bad "
                           f"redis.conf line (RedisConfig.extra?); its log (<run dir>/nodes/<node>.log) names it")

    def _primary_answers(self, started: Sequence[NodeAddress], timeout_s: float) -> None:
        p = started[0]

        def check() -> str | None:
            try:
                run_cli(self.bins, p.host, self.config.port, "PING")
                return None
            except RuntimeError as e:
                return str(e)
        self._poll(f"the primary {p.name} ({p.host}:{self.config.port}) did not answer PING", timeout_s, check)

    def _replicas_online(self, started: Sequence[NodeAddress], timeout_s: float) -> None:
        p, want = started[0], {a.host for a in started[1:]}

        def check() -> str | None:
            st = self.server_state(p.name, p.host)
            online = {r.get("ip") for r in listed_replicas(st.info) if r.get("state") == "online"}
            return None if want <= online else st.describe()
        self._poll(f"the primary {p.name} did not list every replica online", timeout_s, check)

    # ------------------------------------------------------------------ probing
    def server_state(self, node: str, host: str, timeout_s: float = PROBE_TIMEOUT_S) -> ServerState:
        try:
            return ServerState(node, parse_info(run_cli(self.bins, host, self.config.port, "INFO", "replication",
                                                        timeout_s=timeout_s)))
        except RuntimeError as e:
            return ServerState(node, error=str(e))

    def sentinel_state(self, node: str, host: str, full: bool = True,
                       timeout_s: float = PROBE_TIMEOUT_S) -> SentinelState:
        """``SENTINEL get-master-addr-by-name`` (and with ``full``, ``SENTINEL sentinels`` and
        ``SENTINEL replicas``) of ``gbench`` on one Sentinel."""
        def ask(*args: str) -> Any:
            return json.loads(run_cli(self.bins, host, self.config.sentinel_port, "SENTINEL", *args, MASTER_NAME,
                                      timeout_s=timeout_s, as_json=True))
        try:
            addr = ask("get-master-addr-by-name")
            primary = f"{addr[0]}:{addr[1]}" if isinstance(addr, list) and len(addr) == 2 else None
            if not full:
                return SentinelState(node, primary)
            return SentinelState(node, primary, _as_maps(ask("sentinels")), _as_maps(ask("replicas")))
        except (RuntimeError, ValueError) as e:
            return SentinelState(node, error=str(e))

    def server_states(self, cluster: Cluster) -> dict[str, ServerState]:
        return {s.node: s for s in _each(self.server_nodes(cluster), lambda n: self.server_state(n.name, n.host))}

    def sentinel_states(self, cluster: Cluster, full: bool = True) -> dict[str, SentinelState]:
        return {s.node: s for s in _each(self.sentinel_nodes(cluster),
                                         lambda n: self.sentinel_state(n.name, n.host, full))}

    def roles(self, cluster: Cluster) -> dict[str, str | None]:
        """Per node: ``primary`` or ``replica`` (a server's ``INFO replication``), ``sentinel``
        (a Sentinel node that answers PING), None (not answering)."""
        def sentinel(n: Any) -> str | None:
            try:
                run_cli(self.bins, n.host, self.config.sentinel_port, "PING")
                return "sentinel"
            except RuntimeError:
                return None
        roles: dict[str, str | None] = {n: s.role for n, s in self.server_states(cluster).items()}
        sentinels = self.sentinel_nodes(cluster)
        roles.update(zip((n.name for n in sentinels), _each(sentinels, sentinel)))
        return {n.name: roles.get(n.name) for n in cluster.nodes}

    def sentinel_view(self, cluster: Cluster) -> dict[str, str | None]:
        """Per Sentinel: the server it names as ``gbench``'s primary, or None (not answering, or
        an address that is no server of the cluster)."""
        by_addr = {f"{n.host}:{self.config.port}": n.name for n in self.server_nodes(cluster)}
        return {n: by_addr.get(s.primary or "") for n, s in self.sentinel_states(cluster, full=False).items()}

    def replication_offsets(self, cluster: Cluster) -> dict[str, int | None]:
        """Per server: master_repl_offset on a primary, slave_repl_offset on a replica (None: not answering)."""
        return {n: s.offset for n, s in self.server_states(cluster).items()}

    def leader(self, cluster: Cluster) -> str | None:
        """The primary now: among the servers that say ``role:master``, the one most Sentinels
        name (a deposed primary that comes back still says master until the Sentinels convert
        it); None when the server the Sentinels name does not say master (it is down, or not
        promoted yet). Without a Sentinel answering: the only server that says master."""
        masters = {n for n, s in self.server_states(cluster).items() if s.role == "primary"}
        views = [v for v in self.sentinel_view(cluster).values() if v is not None]
        if not views:
            return next(iter(masters)) if len(masters) == 1 else None
        counts = {v: views.count(v) for v in set(views)}
        top = [v for v, c in counts.items() if c == max(counts.values())]
        named = [v for v in top if v in masters]
        return named[0] if len(named) == 1 else None

    def member_status(self, cluster: Cluster) -> dict[str, dict[str, Any] | None]:
        """``harness.api.MemberStatus``: per node its own view (``member_statuses`` says every
        field and what ``term`` is), None when it did not answer within ``STATUS_TIMEOUT_S``.
        One ``redis-cli`` per node, all in parallel: ``INFO replication`` on a server,
        ``SENTINEL get-master-addr-by-name`` and ``SENTINEL master`` on a Sentinel (one
        process, one connection)."""
        servers, sentinels = self.split(cluster)
        t = STATUS_TIMEOUT_S

        def sentinel(n: Any) -> SentinelState:
            try:
                addr, master = run_cli_batch(self.bins, n.host, self.config.sentinel_port,
                                             [("SENTINEL", "get-master-addr-by-name", MASTER_NAME),
                                              ("SENTINEL", "master", MASTER_NAME)], timeout_s=t)
            except RuntimeError as e:
                return SentinelState(n.name, error=str(e))
            return sentinel_from_replies(n.name, addr, master)
        names = {n.name for n in servers}
        every = _each([*servers, *sentinels], lambda n: self.server_state(n.name, n.host, t)
                      if n.name in names else sentinel(n))
        states = {s.node: s for s in every if isinstance(s, ServerState)}
        views = {s.node: s for s in every if isinstance(s, SentinelState)}
        return member_statuses(servers, sentinels, states, views, self.config.port)

    # ------------------------------------------------------------------ per workload
    def prepare_workload(self, cluster: Cluster, workload: Any) -> None:
        """Before the workload's clients connect: its ``redis:`` options (``RedisOptions``) that
        the servers hold, ``min-replicas-to-write`` and ``min-replicas-max-lag``, set on every
        server (``CONFIG SET``, then ``CONFIG REWRITE`` so a restarted server keeps them: its
        redis.conf is its own state, see the module's docstring) and read back with ``CONFIG
        GET``. Every server, not only the primary: the replica a failover promotes refuses
        writes the same way. Idempotent. ClusterError naming the server when one does not
        answer or does not hold the values, or when the options need more servers than the
        cluster has (the t-visibility probe's level pairs reach here unchecked against the
        cluster's size)."""
        from harness.systems.redis.options import RedisOptions, options_problem

        o = workload.options if isinstance(workload.options, RedisOptions) else RedisOptions()
        servers = self.server_nodes(cluster)
        problem = options_problem(o, len(servers))
        if problem:
            raise ClusterError(f"{problem[0]}: {problem[1]} ({len(servers)} servers in this cluster)")
        want = {"min-replicas-to-write": str(o.min_replicas_to_write),
                "min-replicas-max-lag": str(o.min_replicas_max_lag_s)}

        def apply(n: Any) -> str | None:
            try:
                settings = [x for kv in want.items() for x in kv]
                run_cli(self.bins, n.host, self.config.port, "CONFIG", "SET", *settings, timeout_s=10)
                run_cli(self.bins, n.host, self.config.port, "CONFIG", "REWRITE", timeout_s=10)
                got = run_cli(self.bins, n.host, self.config.port, "CONFIG", "GET", "min-replicas-*",
                              timeout_s=10).split()
            except RuntimeError as e:
                return f"{n.name}: setting {', '.join(f'{k} {v}' for k, v in want.items())} failed: {e}"
            held = dict(zip(got[::2], got[1::2]))
            if any(held.get(k) != v for k, v in want.items()):
                return f"{n.name}: CONFIG GET says {held} after setting {want}"
            return None
        errors = [e for e in _each(servers, apply) if e]
        if errors:
            raise ClusterError("; ".join(errors))

    # ------------------------------------------------------------------ readiness
    def wait_ready(self, cluster: Cluster, timeout_s: float) -> ReadyReport:
        hint = (f"a replica whose link stays down cannot reach the primary on port {self.config.port} (see its "
                f"log); a Sentinel that knows no other Sentinel or replica has not "
                f"seen their hello messages on the primary yet (every 2 s) or cannot reach them; a node that exits "
                f"at once usually has a bad redis.conf / sentinel.conf line (its log names it)")
        check = ReadinessCheck(self.name, hint, interval_s=0.2,
                               where=lambda c, n: f"{n.host}:{self.port_of(c, n.name)}")
        return check.wait(cluster, _Readiness(self), timeout_s)


def expected_primary(servers: Sequence[Any], states: dict[str, ServerState], views: dict[str, SentinelState],
                     port: int) -> Any:
    """The server readiness expects as the primary (pure): the one most answering Sentinels
    name (the first in node order on a tie); without a Sentinel naming a server, the only
    server that says master; else the first server (n1, the primary a fresh cluster starts
    with). After a failover that is the promoted replica, not n1."""
    by_addr = {f"{n.host}:{port}": n for n in servers}
    named = [by_addr[v.primary] for v in views.values() if not v.error and v.primary in by_addr]
    if named:
        return max(servers, key=lambda n: (sum(1 for x in named if x.name == n.name), -servers.index(n)))
    masters = [n for n in servers if states.get(n.name, ServerState(n.name)).role == "primary"]
    return masters[0] if len(masters) == 1 else servers[0]


class _Readiness:
    """Ready: the primary (``expected_primary``: the server the Sentinels name, which after a
    failover is no longer n1) says master and lists every other server online; every other
    server is its replica with the link up; every Sentinel names it and knows the other
    Sentinels and every replica, none flagged down."""

    def __init__(self, system: RedisSystem) -> None:
        self.system = system

    def poll(self, cluster: Cluster, waited_s: float, deadline: float) -> ProbeRound:
        sys_, port = self.system, self.system.config.port
        servers, sentinels = sys_.split(cluster)
        states = sys_.server_states(cluster)
        views = sys_.sentinel_states(cluster)
        primary = expected_primary(servers, states, views, port)
        replicas = [n for n in servers if n.name != primary.name]
        replica_hosts = {n.host for n in replicas}
        status = {n: s.describe() for n, s in {**states, **views}.items()}
        healthy = set()
        p = states[primary.name]
        online = {r.get("ip") for r in listed_replicas(p.info) if r.get("state") == "online"}
        if p.role == "primary" and replica_hosts <= online:
            healthy.add(primary.name)
        for n in replicas:
            s = states[n.name]
            if s.role == "replica" and s.info.get("master_host") == primary.host and \
                    s.info.get("master_link_status") == "up":
                healthy.add(n.name)
        others = len(sentinels) - 1
        for n in sentinels:
            v = views[n.name]
            if v.primary == f"{primary.host}:{port}" and len(v.up(v.sentinels)) >= others and \
                    replica_hosts <= set(v.up(v.replicas)):
                healthy.add(n.name)
        if len(healthy) == len(cluster.nodes):
            return ProbeRound(report=ReadyReport(
                seconds=waited_s, leader=primary.name,
                details={"offsets": {n: s.offset for n, s in states.items()},
                         "sentinels": {n: primary.name for n in views}, "version": sys_.version()}),
                status=status, healthy=frozenset(healthy))
        return ProbeRound(status=status, healthy=frozenset(healthy),
                          why=f"not ready (want {primary.name} primary with every replica online and linked, every "
                              f"Sentinel naming it and knowing the other {others} Sentinels and every replica)")

    def close(self) -> None:
        return None
