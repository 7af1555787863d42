"""PostgreSQL 15 as a ``harness.api.System``: a primary (the first node) and streaming standbys.

Each node's command runs as the ``postgres`` user (the server refuses root:
``NodeLaunch.run_as``; the provider hands it the data dir and execs the command through
``setpriv``, so the provider's process *is* the node's postmaster and kill and pause reach
it). The command is a small shell step that execs ``postgres``:

- primary: ``initdb --data-checksums`` once (its data dir ``<data_dir>/pgdata`` has no
  PG_VERSION yet);
- standby: ``pg_basebackup -R`` from the primary once (writes standby.signal and
  ``primary_conninfo`` with ``application_name=<node>``; no replication slot: the primary
  keeps ``wal_keep_size`` of WAL, so a standby can follow whichever node is primary);
- every start: the harness's ``conf/postgresql.conf`` copied over ``pgdata/postgresql.conf``
  (a base backup or a rewind brings the source's), then ``postgres -D pgdata``. The settings
  live in PGDATA's own file because ``pg_rewind`` runs the target in single-user mode for
  crash recovery with that file: it must keep the WAL (``wal_keep_size``) pg_rewind reads;
- an old primary marked to rejoin (``conf/rejoin``, by the promote fault:
  ``harness.systems.postgres.failover``) first runs ``pg_rewind -R`` from the new primary.

So the same argv serves restarts (data and identity stay in the data dir). The config files
``launch`` writes (``conf/postgresql.conf``, ``conf/pg_hba.conf``) are the harness's. Start
stages: the primary, then every standby once the primary accepts connections.

Readiness: every node answers ``SELECT pg_is_in_recovery()`` (false on the primary, true on a
standby) and the primary's ``pg_stat_replication`` lists every standby as ``streaming``; the
probes run the host's ``psql`` against each node's address.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from harness.api import ProbeRound, ReadinessCheck, Stage
from harness.errors import ClusterError, ConfigError, EnvironmentProblem
from harness.providers.base import Cluster, NodeAddress, NodeLaunch, ReadyReport
from harness.systems.postgres.options import SYNCHRONOUS_COMMIT

BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
SERVER_USER = "postgres"
PROBE_TIMEOUT_S = 3.0
#: In a node's conf dir: the connection string of the primary it must rejoin as a standby at
#: its next start (``pg_rewind -R`` from it first); written by the promote fault for the old primary.
REJOIN_FILE = "rejoin"


@dataclass(frozen=True)
class PostgresBinaries:
    bin_dir: Path
    version: str  # "15.18"

    def __getitem__(self, name: str) -> str:
        return str(self.bin_dir / name)


def find_postgres(dirs: Sequence[str] = BIN_DIRS) -> PostgresBinaries:
    """Debian's PostgreSQL 15 server binaries (EnvironmentProblem naming the package otherwise)."""
    for d in dirs:
        p = Path(d) / "postgres"
        if p.is_file() and os.access(p, os.X_OK):
            out = subprocess.run([str(p), "--version"], capture_output=True, text=True, timeout=30).stdout
            m = re.search(r"(\d+\.\d+)", out)
            if not m:
                raise EnvironmentProblem(f"{p} --version printed {out.strip()!r}: no version")
            return PostgresBinaries(Path(d), m.group(1))
    raise EnvironmentProblem(f"no PostgreSQL 15 server in {', '.join(dirs)} (apt-get install postgresql-15)")


@dataclass(frozen=True)
class PostgresConfig:
    """Everything that shapes a node; recorded in the manifest."""

    port: int = 5432
    shared_buffers: str = "32MB"
    max_connections: int = 100
    #: off | local | remote_write | on | remote_apply (what a commit waits for)
    synchronous_commit: str = "on"
    #: e.g. "ANY 1 (n2, n3)"; "" = asynchronous replication
    synchronous_standby_names: str = ""
    hot_standby_feedback: bool = False
    fsync: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.synchronous_commit not in SYNCHRONOUS_COMMIT:
            raise ConfigError("PostgresConfig", "synchronous_commit", f"must be one of {', '.join(SYNCHRONOUS_COMMIT)}, "
                                                                      f"not {self.synchronous_commit!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def postgresql_conf(cfg: PostgresConfig, node: NodeAddress, conf_dir: Path, pgdata: Path) -> str:
    """The node's postgresql.conf (the same for primary and standbys: a standby ignores the
    primary-only settings, and keeps them for when it is promoted)."""
    onoff = lambda b: "on" if b else "off"  # noqa: E731
    lines = {
        "hba_file": f"'{conf_dir / 'pg_hba.conf'}'",
        "ident_file": f"'{conf_dir / 'pg_ident.conf'}'",
        "listen_addresses": f"'{node.host}'", "port": str(cfg.port), "unix_socket_directories": f"'{conf_dir}'",
        "cluster_name": f"'{node.name}'", "max_connections": str(cfg.max_connections),
        "shared_buffers": cfg.shared_buffers, "wal_level": "replica", "max_wal_senders": "10",
        "max_replication_slots": "10", "wal_keep_size": "512MB", "wal_log_hints": "on", "hot_standby": "on", "hot_standby_feedback": onoff(cfg.hot_standby_feedback),
        "synchronous_commit": cfg.synchronous_commit,
        "synchronous_standby_names": f"'{cfg.synchronous_standby_names}'", "fsync": onoff(cfg.fsync),
        "logging_collector": "off", "log_line_prefix": "'%m [%p] '", **cfg.extra}
    return "".join(f"{k} = {v}\n" for k, v in lines.items())


PG_HBA = ("# gbench: test clusters on a private bridge, no passwords\n"
          "local all all trust\nhost all all 0.0.0.0/0 trust\nhost replication all 0.0.0.0/0 trust\n")


def run_psql(bins: PostgresBinaries, host: str, port: int, sql: str | Sequence[str],
             timeout_s: float = PROBE_TIMEOUT_S) -> list[list[str]]:
    """Rows of ``sql`` on ``host`` (``psql -At``, fields split on ``|``); a list runs as
    separate commands (each its own transaction: ``ALTER SYSTEM`` refuses a transaction
    block), their rows concatenated; RuntimeError on failure."""
    commands = [a for q in ([sql] if isinstance(sql, str) else sql) for a in ("-c", q)]
    env = dict(os.environ, PGCONNECT_TIMEOUT=str(max(1, int(timeout_s))))
    try:
        p = subprocess.run([bins["psql"], "-h", host, "-p", str(port), "-U", SERVER_USER, "-d", "postgres",
                            "-At", "-F", "|", *commands], capture_output=True, text=True, env=env,
                           timeout=timeout_s + 2, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"psql timed out after {timeout_s:g}s") from e
    if p.returncode != 0:
        lines = [ln.strip() for ln in p.stderr.splitlines() if ln.strip()]
        raise RuntimeError(next((ln for ln in lines if "ERROR" in ln or "FATAL" in ln), lines[0] if lines else
                                f"psql exited {p.returncode}"))
    return [line.split("|") for line in p.stdout.splitlines() if line]


def _first(rows: list[list[str]]) -> str:
    """The first field of the first row ('' for none: psql prints an empty value as no line)."""
    return rows[0][0] if rows and rows[0] else ""


def member_fields(name: str, row: Sequence[str], node_by_host: dict[str, str]) -> dict[str, Any]:
    """One node's ``member_status`` from its psql row (in_recovery, lsn, sender_host,
    timeline, replay delay), fields empty where SQL gave NULL."""
    standby = row[0] == "t"
    lsn = int(float(row[1])) if row[1] else None
    leader = node_by_host.get(row[2]) if standby else name
    return {"is_leader": not standby, "leader": leader, "term": int(row[3]) if row[3] else None, "lsn": lsn,
            "replay_delay_s": round(float(row[4]), 3) if standby and row[4] else None}


@dataclass
class PostgresSystem:
    """A primary (the first node) and streaming standbys."""

    bins: PostgresBinaries
    config: PostgresConfig = field(default_factory=PostgresConfig)
    name: str = "postgres"
    default_ready_timeout_s: float = 60.0
    client_port: int = field(init=False)
    peer_port: int = field(init=False)
    #: node -> its data dir (``launch``): where the promote fault leaves the old primary's rejoin file
    data_dirs: dict[str, Path] = field(init=False, default_factory=dict)
    #: a scenario's workloads prepare side by side: one at a time (CREATE TABLE IF NOT EXISTS races)
    _prepare_lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.client_port = self.peer_port = self.config.port

    @classmethod
    def from_environment(cls, config: PostgresConfig | None = None) -> "PostgresSystem":
        return cls(find_postgres(), config or PostgresConfig())

    def version(self) -> str:
        return self.bins.version

    @property
    def max_value_bytes(self) -> int:
        return 64 * 1024 * 1024

    def config_dict(self) -> dict[str, Any]:
        return {**self.config.as_dict(), "version": self.bins.version, "bin_dir": str(self.bins.bin_dir)}

    # ------------------------------------------------------------------ launch
    def launch(self, node: NodeAddress, cluster: Sequence[NodeAddress], data_dir: Path) -> NodeLaunch:
        data_dir = Path(data_dir).resolve()
        conf, pgdata = data_dir / "conf", data_dir / "pgdata"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "postgresql.conf").write_text(postgresql_conf(self.config, node, conf, pgdata))
        (conf / "pg_hba.conf").write_text(PG_HBA)
        (conf / "pg_ident.conf").write_text("# gbench: no user name maps\n")
        primary = cluster[0]
        b = self.bins
        if node.name == primary.name:
            init = (f"{shlex.quote(b['initdb'])} -D {shlex.quote(str(pgdata))} -U {SERVER_USER} --auth=trust "
                    f"--no-sync --data-checksums -E UTF8 --locale=C.UTF-8 >/dev/null")
        else:
            conninfo = f"application_name={node.name}"
            init = (f"{shlex.quote(b['pg_basebackup'])} -h {primary.host} -p {self.config.port} -U {SERVER_USER} "
                    f"-D {shlex.quote(str(pgdata))} -X stream -c fast -R "
                    f"-d {shlex.quote(conninfo)}")
        self.data_dirs[node.name] = data_dir
        rejoin = shlex.quote(str(conf / REJOIN_FILE))
        own_conf = f"cp {shlex.quote(str(conf / 'postgresql.conf'))} {shlex.quote(str(pgdata / 'postgresql.conf'))}"
        rewind = (f"if test -f {rejoin}; then {shlex.quote(b['pg_rewind'])} -D {shlex.quote(str(pgdata))} "
                  f"--source-server=\"$(cat {rejoin})\" -R && rm -f {rejoin} && {own_conf} || exit 1; fi; ")
        script = (f"test -f {shlex.quote(str(pgdata / 'PG_VERSION'))} || {init} || exit 1; {own_conf} || exit 1; "
                  f"{rewind}exec {shlex.quote(b['postgres'])} -D {shlex.quote(str(pgdata))}")
        return NodeLaunch(argv=["/bin/sh", "-c", script], data_dir=data_dir,
                          env={"HOME": str(data_dir), "LC_ALL": "C.UTF-8"}, run_as=SERVER_USER)

    def stages(self, cluster: Sequence[NodeAddress]) -> list[Stage]:
        """The primary, then every standby once the primary accepts connections."""
        return [Stage("primary", (cluster[0].name,), ready=self._primary_accepts),
                Stage("standby", tuple(a.name for a in cluster[1:]))] if len(cluster) > 1 else \
            [Stage("primary", (cluster[0].name,))]

    def _primary_accepts(self, started: Sequence[NodeAddress], timeout_s: float) -> None:
        host = started[0].host
        self._wait(f"the primary {started[0].name} ({host}:{self.config.port}) to accept connections", timeout_s,
                   lambda: run_psql(self.bins, host, self.config.port, "SELECT 1") is not None)

    # ------------------------------------------------------------------ readiness
    def wait_ready(self, cluster: Cluster, timeout_s: float) -> ReadyReport:
        hint = ("a standby that never streams cannot reach the primary's port or its base backup failed (see its "
                "log); a node that exits at once usually has a bad postgresql.conf setting")
        check = ReadinessCheck("postgres", hint, interval_s=0.2, where=lambda c, n: n.host)
        return check.wait(cluster, _Readiness(self), timeout_s)

    def roles(self, cluster: Cluster) -> dict[str, str | None]:
        """Per node: ``primary``, ``standby`` or None (not answering)."""
        out: dict[str, str | None] = {}
        for n in cluster.nodes:
            try:
                rows = run_psql(self.bins, n.host, self.config.port, "SELECT pg_is_in_recovery()")
                out[n.name] = "standby" if rows and rows[0][0] == "t" else "primary"
            except RuntimeError:
                out[n.name] = None
        return out

    def leader(self, cluster: Cluster) -> str | None:
        """The one node that is not in recovery (accepts writes); None when none or several are."""
        primaries = [n for n, r in self.roles(cluster).items() if r == "primary"]
        return primaries[0] if len(primaries) == 1 else None

    def prepare_workload(self, cluster: Cluster, workload: Any) -> None:
        """Before the workload's clients connect: its replication settings on the running
        cluster (``ALTER SYSTEM`` + ``pg_reload_conf()`` on every node, so a promoted standby
        keeps them: ``synchronous_standby_names = 'ANY k (every node)'``, ``hot_standby_feedback``),
        waited for until the primary reports its standbys synchronous; then the register's table, waited for on every standby.
        ClusterError naming the node and what it saw when either does not happen in 30 s."""
        with self._prepare_lock:
            self._prepare(cluster, workload)

    def _prepare(self, cluster: Cluster, workload: Any) -> None:
        from harness.systems.postgres.client import CREATE_TABLE, TABLE
        from harness.systems.postgres.options import PostgresOptions

        o = workload.options if isinstance(workload.options, PostgresOptions) else PostgresOptions()
        primary = self.leader(cluster)
        if primary is None:
            raise ClusterError(f"no single primary to prepare the workload on (roles: {self.roles(cluster)})")
        standbys = [n.name for n in cluster.nodes if n.name != primary]
        port, host = self.config.port, cluster.node(primary).host
        # every node listed, on every node: whichever node is primary (after a promote too) waits
        # for k of the others (a primary never counts itself)
        listed = o.standby_names([n.name for n in cluster.nodes])
        names = listed.replace("'", "''")
        feedback = "on" if o.hot_standby_feedback else "off"
        for n in cluster.nodes:
            sql = [f"ALTER SYSTEM SET hot_standby_feedback = {feedback}"]
            sql.append(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
            try:
                run_psql(self.bins, n.host, port, [*sql, "SELECT pg_reload_conf()"], timeout_s=10)
            except RuntimeError as e:
                raise ClusterError(f"{n.name}: setting the workload's replication options failed: {e}") from None
        # 'ANY k (every standby)': the primary lists every standby as sync_state 'quorum'
        want = len(standbys) if o.synchronous_standbys else 0
        self._wait(f"{primary} to report {want} quorum-synchronous standby(s)", 30.0,
                   lambda: sum(1 for r in run_psql(self.bins, host, port,
                                                    "SELECT sync_state FROM pg_stat_replication")
                               if r[0] in ("sync", "quorum")) == want
                   and _first(run_psql(self.bins, host, port, "SHOW synchronous_standby_names"))
                   == listed)
        try:
            run_psql(self.bins, host, port, CREATE_TABLE, timeout_s=30)
        except RuntimeError as e:
            raise ClusterError(f"{primary}: creating table {TABLE} failed: {e}") from None
        for s in standbys:
            self._wait(f"table {TABLE} on {s}", 30.0, lambda s=s: run_psql(
                self.bins, cluster.node(s).host, port, f"SELECT to_regclass('{TABLE}') IS NOT NULL") == [["t"]])

    @staticmethod
    def _wait(what: str, timeout_s: float, done: Any) -> None:
        deadline, last = time.monotonic() + timeout_s, "not polled"
        while time.monotonic() < deadline:
            try:
                if done():
                    return
                last = "not yet"
            except RuntimeError as e:
                last = str(e)
            time.sleep(0.05)
        raise ClusterError(f"waited {timeout_s:g}s for {what}: {last}")

    def member_status(self, cluster: Cluster) -> dict[str, dict[str, Any] | None]:
        """Per node (one ``psql`` each, in parallel): ``is_leader`` (accepts writes), ``leader``
        (itself when primary; a standby's WAL sender, by host; None while it streams from
        nobody), ``term`` (the timeline: a promotion starts a new one, as an election starts
        a term), ``lsn`` (bytes of WAL written on a primary, replayed on a standby: a
        standby's lag is the primary's ``lsn`` minus its own at the same poll) and
        ``replay_delay_s`` (a standby: now minus the commit time of the last transaction it
        replayed; grows while idle too). None for a node that does not answer."""
        from concurrent.futures import ThreadPoolExecutor

        by_host = {n.host: n.name for n in cluster.nodes}
        sql = ("SELECT pg_is_in_recovery(), "
               "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)"
               " - '0/0'::pg_lsn, (SELECT sender_host FROM pg_stat_wal_receiver), "
               "COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), "
               "(SELECT timeline_id FROM pg_control_checkpoint())), "
               "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())")

        def one(n: Any) -> tuple[str, dict[str, Any] | None]:
            try:
                rows = run_psql(self.bins, n.host, self.config.port, sql, timeout_s=1.0)
            except RuntimeError:
                return n.name, None
            if not rows or len(rows[0]) != 5:
                return n.name, None
            return n.name, member_fields(n.name, rows[0], by_host)

        with ThreadPoolExecutor(max_workers=max(1, len(cluster.nodes)), thread_name_prefix="gbench-pg-status") as ex:
            return dict(ex.map(one, cluster.nodes))

    def replication_conninfo(self, source_host: str, node: str) -> str:
        """How ``node`` connects to a primary at ``source_host`` to stream from it."""
        return (f"host={source_host} port={self.config.port} user={SERVER_USER} dbname=postgres "
                f"application_name={node}")

    def mark_rejoin(self, node: str, source_host: str) -> Path:
        """Make ``node`` (an old primary) rejoin as a standby of ``source_host`` at its next
        start: ``pg_rewind -R`` from it, then streaming (the launch command reads the file)."""
        import pwd

        f = self.data_dirs[node] / "conf" / REJOIN_FILE
        f.write_text(self.replication_conninfo(source_host, node) + "\n")
        pw = pwd.getpwnam(SERVER_USER)
        os.chown(f, pw.pw_uid, pw.pw_gid)
        return f

    def wal_positions(self, cluster: Cluster, nodes: Sequence[str]) -> dict[str, int | None]:
        """Per standby: the WAL it has received (``pg_last_wal_receive_lsn()``, bytes from 0/0;
        its replay position when it received none by streaming), None when it does not answer."""
        out: dict[str, int | None] = {}
        for n in nodes:
            try:
                rows = run_psql(self.bins, cluster.node(n).host, self.config.port,
                                "SELECT COALESCE(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) - '0/0'::pg_lsn")
                out[n] = int(float(_first(rows))) if _first(rows) else None
            except RuntimeError:
                out[n] = None
        return out

    def streaming(self, primary_host: str) -> dict[str, str]:
        """The primary's ``pg_stat_replication``: standby (application_name) -> state."""
        rows = run_psql(self.bins, primary_host, self.config.port,
                        "SELECT application_name, state, sync_state FROM pg_stat_replication")
        return {r[0]: r[1] for r in rows}


class _Readiness:
    def __init__(self, system: PostgresSystem) -> None:
        self.system = system

    def poll(self, cluster: Cluster, waited_s: float, deadline: float) -> ProbeRound:
        """Ready: exactly one node accepts writes (the first node, until a promote fault made
        another the primary) and every other node is a standby streaming from it."""
        roles = self.system.roles(cluster)
        primaries = [n for n, r in roles.items() if r == "primary"]
        primary = primaries[0] if len(primaries) == 1 else None
        try:
            streaming = self.system.streaming(cluster.node(primary).host) if primary else {}
        except RuntimeError:
            streaming = {}
        healthy = frozenset(n for n, r in roles.items() if n == primary or (r == "standby" and
                                                                           streaming.get(n) == "streaming"))
        if len(healthy) == len(cluster.nodes):
            return ProbeRound(report=ReadyReport(seconds=waited_s, leader=primary,
                                                 details={"streaming": streaming, "version": self.system.version()}))
        status = {n: f"role {roles[n] or 'not answering'}; "
                     f"{'streaming from ' + primary if streaming.get(n) == 'streaming' and primary else 'not streaming'}"
                  for n in roles if n != primary}
        if primary:
            status[primary] = "primary"
        why = ("not every standby streams from the primary" if primary else
               f"{len(primaries)} nodes accept writes (want exactly one)")
        return ProbeRound(status=status, healthy=healthy, why=why)

    def close(self) -> None:
        return None
