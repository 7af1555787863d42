"""Write-ahead ledger: every resource a run creates, written down *before* it is created.

If the harness is SIGKILLed (or the machine's OOM killer picks it), nothing in-process can
clean up. ``gbench cleanup`` then reads the ledgers and removes exactly what they list -
never anything matched by name or pattern - so a foreign namespace called ``gb-whatever``
or another live run is never touched.

One JSON file per run in the state dir (``$GBENCH_STATE_DIR``, default ``/run/gbench``),
replaced atomically (write a temporary file, then rename) on every change, so a crash
leaves either the old or the new version, never half a file. Schema version 1::

    {"schema_version": 1, "run_id": "...", "owner_pid": 4242, "owner_start_time": 123456,
     "created_utc": "...", "meta": {"subnet": "198.18.7.0/24", ...},
     "resources": [{"kind": "bridge", "key": "bridge:gb1a2b3c-br", "name": "gb1a2b3c-br"},
                   {"kind": "process", "key": "process:n1", "node": "n1", "netns": "gb-1a2b3c-n1",
                    "pid": 5151, "start_time": 98765}, ...]}

Resource kinds and how cleanup removes them (in this order, see ``CLEANUP_ORDER``):

- ``process``: SIGCONT (a paused process ignores SIGTERM) and SIGKILL, only if
  ``/proc/<pid>/stat`` field 22 (start time) still matches, so a reused pid is never killed.
  Every process still inside a namespace of the ledger is killed too: a node can be
  spawned between the write-ahead entry and the moment its pid is known.
- ``iptables_rule``: the recorded ``delete_argv`` while ``check_argv`` says it exists; a rule
  inside a namespace the ledger also lists (``ip netns exec <ns> ...``) is not deleted one by
  one: it goes with its namespace (a partition's dozens of rules cost seconds of process
  spawns on a loaded host otherwise).
- ``netns``, ``veth``, ``bridge``: ``ip netns del`` / ``ip link del`` if present.
- ``dir``: removed recursively (only directories the run created itself).

The ledger file itself is deleted last, and only if every step succeeded, so a failed
cleanup can be retried.

Example::

    led = Ledger.create("20250101T000000Z-e2e", meta={"subnet": "198.18.7.0/24"})
    led.record("netns", name="gb-1a2b3c-n1")      # then: ip netns add gb-1a2b3c-n1
    ...
    cleanup_run(led)                              # or, after a crash: cleanup_all()
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from harness.errors import EnvironmentProblem

SCHEMA_VERSION = 1
STATE_DIR_ENV = "GBENCH_STATE_DIR"
DEFAULT_STATE_DIR = Path("/run/gbench")
#: Dependencies first: processes hold namespaces open; rules name the bridge; a namespace
#: deletion takes its veth peer with it; directories are last because they hold the logs
#: of nothing (node logs live in the results dir) but are the most expensive to lose by mistake.
CLEANUP_ORDER: tuple[str, ...] = ("process", "iptables_rule", "netns", "veth", "bridge", "dir")
NETNS_RUN_DIR = Path("/run/netns")


# --------------------------------------------------------------------------- /proc helpers

def parse_start_time(stat_text: str) -> int:
    """Field 22 (``starttime``, clock ticks after boot) of a ``/proc/<pid>/stat`` line.

    The command name (field 2) is in parentheses and may itself contain spaces or ``)``,
    so fields are counted from the *last* ``)``: the field after it is field 3.
    """
    rest = stat_text[stat_text.rindex(")") + 2:].split()
    return int(rest[22 - 3])


def parse_state(stat_text: str) -> str:
    """Field 3 (state letter: R, S, D, T, t, Z...) of a ``/proc/<pid>/stat`` line."""
    return stat_text[stat_text.rindex(")") + 2:].split()[0]


def _read_stat(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None


def proc_start_time(pid: int) -> int | None:
    """Start time of ``pid``, or None when there is no such process."""
    s = _read_stat(pid)
    return parse_start_time(s) if s else None


def proc_state(pid: int) -> str | None:
    """State letter of ``pid`` (``T`` while stopped by SIGSTOP), or None when gone."""
    s = _read_stat(pid)
    return parse_state(s) if s else None


def same_process(pid: int, start_time: int | None) -> bool:
    """Is ``pid`` still the process we started (same start time) and not a zombie?"""
    s = _read_stat(pid)
    if s is None or parse_state(s) in ("Z", "X"):
        return False
    return start_time is None or parse_start_time(s) == start_time


def netns_pids(name: str) -> list[int]:
    """Pids whose network namespace is the named one (what ``ip netns pids`` does)."""
    try:
        ref = os.stat(NETNS_RUN_DIR / name)
    except OSError:
        return []
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{d}/ns/net")
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (ref.st_ino, ref.st_dev):
            out.append(int(d))
    return out


# --------------------------------------------------------------------------- state dir

def state_dir() -> Path:
    """Where ledgers live: ``$GBENCH_STATE_DIR`` or ``/run/gbench`` (cleared at reboot,
    like the namespaces and processes it describes)."""
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def _ensure_state_dir(d: Path) -> Path:
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise EnvironmentProblem(f"cannot create the ledger directory {d} ({e.strerror}); set "
                                 f"{STATE_DIR_ENV} to a writable directory") from e
    return d


@contextlib.contextmanager
def state_lock(d: Path | None = None) -> Iterator[Path]:
    """Exclusive lock on the state dir, for choices that must not race with a concurrent
    run (e.g. picking a free subnet and writing it into a new ledger). Locks the directory
    itself (flock works on a directory fd), so no lock file is ever left behind."""
    d = _ensure_state_dir(d or state_dir())
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield d
    finally:
        os.close(fd)  # releases the lock


def _safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", run_id).strip("-.") or "run"


def _now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


# --------------------------------------------------------------------------- the ledger

@dataclass
class Ledger:
    """The resources of one run, mirrored to ``path`` on every change.

    Thread-safe (nodes restart from nemesis threads). Re-entrant, so a signal handler
    that tears down while the main thread is mid-write cannot deadlock; each write uses
    its own temporary file, and once ``close``d no write can resurrect the file.
    """

    path: Path
    run_id: str
    owner_pid: int
    owner_start_time: int | None
    created_utc: str
    meta: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    _closed: bool = field(default=False, repr=False, compare=False)
    _seq: Iterator[int] = field(default_factory=itertools.count, repr=False, compare=False)

    # -- construction
    @classmethod
    def create(cls, run_id: str, *, directory: Path | None = None, meta: dict[str, Any] | None = None) -> "Ledger":
        """A new, empty ledger, already on disk. Fails if the run already has one."""
        d = _ensure_state_dir(directory or state_dir())
        path = d / f"{_safe_name(run_id)}.json"
        if path.exists():
            raise EnvironmentProblem(f"a ledger for run {run_id} already exists ({path}): a crashed run with "
                                     "the same id? Run `gbench cleanup` first")
        me = os.getpid()
        led = cls(path=path, run_id=run_id, owner_pid=me, owner_start_time=proc_start_time(me),
                  created_utc=_now_utc(), meta=dict(meta or {}))
        led._write()
        return led

    @classmethod
    def load(cls, path: Path) -> "Ledger":
        d = json.loads(Path(path).read_text())
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"{path}: unknown ledger schema_version {d.get('schema_version')!r}")
        return cls(path=Path(path), run_id=d["run_id"], owner_pid=int(d["owner_pid"]),
                   owner_start_time=d.get("owner_start_time"), created_utc=d.get("created_utc", ""),
                   meta=dict(d.get("meta") or {}), resources=list(d.get("resources") or []))

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "run_id": self.run_id, "owner_pid": self.owner_pid,
                "owner_start_time": self.owner_start_time, "created_utc": self.created_utc,
                "meta": self.meta, "resources": self.resources}

    # -- recording (call BEFORE creating the resource)
    def record(self, kind: str, *, key: str | None = None, **fields: Any) -> dict[str, Any]:
        """Write down a resource about to be created; an entry with the same key is replaced
        (a restarted node's process). Returns the stored entry."""
        if kind not in CLEANUP_ORDER:
            raise ValueError(f"unknown resource kind {kind!r} (known: {', '.join(CLEANUP_ORDER)})")
        entry = {"kind": kind, "key": key or default_key(kind, fields), **fields}
        with self._lock:
            if self._closed:
                raise RuntimeError(f"ledger of run {self.run_id} is closed (torn down); refusing to create more")
            self.resources = [r for r in self.resources if r["key"] != entry["key"]] + [entry]
            self._write()
        return entry

    def update(self, key: str, **fields: Any) -> None:
        """Fill in what is known only after creation (a process's pid and start time)."""
        with self._lock:
            for r in self.resources:
                if r["key"] == key:
                    r.update(fields)
                    break
            else:
                raise KeyError(key)
            self._write()

    def forget(self, key: str) -> None:
        """Drop an entry whose resource the caller removed itself (e.g. a healed partition's
        rule). Optional: cleanup tolerates entries whose resource is already gone."""
        with self._lock:
            before = len(self.resources)
            self.resources = [r for r in self.resources if r["key"] != key]
            if len(self.resources) != before:
                self._write()

    def entries(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.resources if r["kind"] == kind]

    # -- owner
    def owner_alive(self) -> bool:
        """Is the harness process that wrote this ledger still running (same start time)?"""
        return same_process(self.owner_pid, self.owner_start_time)

    # -- file
    def _write(self) -> None:
        with self._lock:
            if self._closed:
                return
            text = json.dumps(self.to_dict(), indent=1, sort_keys=False)
            tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}-{next(self._seq)}")
            try:
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.write("\n")
                if self._closed:  # torn down from a signal handler while we were writing
                    tmp.unlink(missing_ok=True)
                    return
                os.replace(tmp, self.path)
            except BaseException:  # Ctrl-C raised in this thread mid-write: no half-written file left
                tmp.unlink(missing_ok=True)
                raise

    def close_and_delete(self) -> None:
        """Delete the ledger file; later writes are ignored and later records refused."""
        with self._lock:
            self._closed = True
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def default_key(kind: str, fields: dict[str, Any]) -> str:
    """The identity of a resource within a ledger (processes by node, links by name...)."""
    if kind == "process":
        return f"process:{fields['node']}"
    if kind == "iptables_rule":
        return "iptables_rule:" + " ".join(fields["delete_argv"])
    if kind == "dir":
        return f"dir:{fields['path']}"
    return f"{kind}:{fields['name']}"


def cleanup_plan(ledger: Ledger) -> list[dict[str, Any]]:
    """The order resources are removed in: by ``CLEANUP_ORDER``, newest first within a kind."""
    with ledger._lock:
        res = list(ledger.resources)
    rank = {k: i for i, k in enumerate(CLEANUP_ORDER)}
    indexed = sorted(enumerate(res), key=lambda ir: (rank[ir[1]["kind"]], -ir[0]))
    return [r for _, r in indexed]


# --------------------------------------------------------------------------- cleanup

@dataclass
class CleanupResult:
    """What cleaning one run did. ``errors`` non-empty means its ledger was kept for a retry."""

    run_id: str
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: ledger keys of the resources dealt with so far (removed, or found already gone)
    done_keys: set[str] = field(default_factory=set, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class CleanupReport:
    """What ``cleanup_all`` did, run by run; ``str()`` is what ``gbench cleanup`` prints."""

    cleaned: list[CleanupResult] = field(default_factory=list)
    skipped_live: list[tuple[str, int]] = field(default_factory=list)  # (run_id, owner pid)
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.cleaned) and not self.unreadable

    def __str__(self) -> str:
        lines = []
        for r in self.cleaned:
            lines.append(f"run {r.run_id}: removed {len(r.removed)} resource(s)"
                         + (f", {len(r.errors)} error(s) - ledger kept, retry `gbench cleanup`" if r.errors else ""))
            lines += [f"  - {x}" for x in r.removed] + [f"  ! {x}" for x in r.errors]
        for run_id, pid in self.skipped_live:
            lines.append(f"run {run_id}: skipped, its harness (pid {pid}) is still running "
                         "(use --force to clean it anyway)")
        lines += [f"unreadable ledger {p} (left in place)" for p in self.unreadable]
        return "\n".join(lines) or "nothing to clean up"


def _run(argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def _link_exists(name: str) -> bool:
    return _run(["ip", "-o", "link", "show", "dev", name]).returncode == 0


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _kill_processes(ledger: Ledger, result: CleanupResult, timeout_s: float) -> None:
    """Kill the ledger's processes (pid + start time verified) and anything else inside
    the ledger's namespaces, then wait until they are gone (or zombies of another parent)."""
    victims: dict[int, tuple[int | None, str]] = {}
    for r in ledger.entries("process"):
        pid = r.get("pid")
        if pid and same_process(pid, r.get("start_time")):
            victims[pid] = (r.get("start_time"), f"process {pid} (node {r.get('node')})")
    for r in ledger.entries("netns"):
        for pid in netns_pids(r["name"]):
            if pid != os.getpid() and pid not in victims and same_process(pid, None):
                victims[pid] = (proc_start_time(pid), f"process {pid} (inside netns {r['name']})")
    for pid in victims:
        _signal(pid, signal.SIGKILL)
        _signal(pid, signal.SIGCONT)  # SIGKILL wakes stopped processes; SIGCONT documents intent
    deadline = time.monotonic() + timeout_s
    for pid, (st, label) in victims.items():
        while same_process(pid, st) and time.monotonic() < deadline:
            time.sleep(0.02)
        if same_process(pid, st):
            result.errors.append(f"{label} survived SIGKILL for {timeout_s:g}s (state {proc_state(pid)})")
        else:
            result.removed.append(f"killed {label}")
    if not result.errors:
        result.done_keys.update(r["key"] for r in ledger.entries("process"))


def _remove_one(r: dict[str, Any], result: CleanupResult) -> None:
    kind = r["kind"]
    if kind == "iptables_rule":
        check, delete = list(r["check_argv"]), list(r["delete_argv"])
        n = 0
        while _run(check).returncode == 0 and n < 10:  # inserted twice by a retry? delete all
            p = _run(delete)
            if p.returncode != 0:
                result.errors.append(f"`{' '.join(delete)}` failed: {p.stderr.strip()}")
                return
            n += 1
        if n:
            result.removed.append(f"deleted iptables rule ({' '.join(delete)})")
    elif kind == "netns":
        if (NETNS_RUN_DIR / r["name"]).exists():
            p = _run(["ip", "netns", "del", r["name"]])
            if p.returncode != 0 and (NETNS_RUN_DIR / r["name"]).exists():
                result.errors.append(f"`ip netns del {r['name']}` failed: {p.stderr.strip()}")
                return
            result.removed.append(f"deleted netns {r['name']}")
    elif kind in ("veth", "bridge"):
        if _link_exists(r["name"]):
            p = _run(["ip", "link", "del", "dev", r["name"]])
            if p.returncode != 0 and _link_exists(r["name"]):
                result.errors.append(f"`ip link del {r['name']}` failed: {p.stderr.strip()}")
                return
            result.removed.append(f"deleted {kind} {r['name']}")
    elif kind == "dir":
        path = Path(r["path"])
        if len(path.parts) < 3 or not path.is_absolute():
            result.errors.append(f"refusing to remove {path}: not an absolute path at least two levels deep")
            return
        if path.exists():
            try:
                shutil.rmtree(path)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    result.errors.append(f"cannot remove {path}: {e}")
                    return
            result.removed.append(f"removed directory {path}")
        if r.get("rmdir_parent_if_empty"):  # e.g. /etc/netns, when this run created its last entry
            with contextlib.suppress(OSError):
                path.parent.rmdir()


def cleanup_run(ledger: Ledger, *, kill_timeout_s: float = 10.0, result: CleanupResult | None = None) -> CleanupResult:
    """Remove everything ``ledger`` lists, in ``CLEANUP_ORDER``; tolerate what is already gone.

    Deletes the ledger file last, and only when every step succeeded. ``result``: where to
    record progress (``done_keys``), so ``pending`` can say what is left while this runs.
    """
    result = result or CleanupResult(ledger.run_id)
    _kill_processes(ledger, result, kill_timeout_s)
    namespaces = {r["name"] for r in ledger.entries("netns")}
    with_their_netns: list[str] = []
    for r in cleanup_plan(ledger):
        if r["kind"] == "process":
            continue
        if r["kind"] == "iptables_rule" and _netns_of(r) in namespaces:
            with_their_netns.append(r["key"])
            continue
        errors = len(result.errors)
        try:
            _remove_one(r, result)
        except (OSError, subprocess.SubprocessError) as e:
            result.errors.append(f"{r['key']}: {e}")
        if len(result.errors) == errors:
            result.done_keys.add(r["key"])
    if result.ok:
        if with_their_netns:
            result.removed.append(f"{len(with_their_netns)} iptables rule(s) went with their namespaces")
            result.done_keys.update(with_their_netns)
        ledger.close_and_delete()
    return result


def _netns_of(rule: dict[str, Any]) -> str | None:
    """The namespace a ledgered rule lives in (its argv is ``ip netns exec <ns> iptables ...``)."""
    argv = list(rule.get("delete_argv") or [])
    return argv[3] if len(argv) > 3 and argv[:3] == ["ip", "netns", "exec"] else None


def pending(ledger: Ledger, result: CleanupResult | None = None) -> list[str]:
    """The resources of ``ledger`` that ``result`` (a cleanup under way) has not dealt with
    yet, in removal order, each as ``kind name`` (what a second Ctrl-C prints)."""
    done = result.done_keys if result is not None else set()
    return [describe(r) for r in cleanup_plan(ledger) if r["key"] not in done]


def describe(r: dict[str, Any]) -> str:
    """One ledger entry in a few words: ``process 5151 (node n1)``, ``netns gb-1a2b3c-n1``."""
    kind = r["kind"]
    if kind == "process":
        return f"process {r.get('pid') or '(starting)'} (node {r.get('node')})"
    if kind == "iptables_rule":
        return f"iptables rule ({' '.join(r.get('delete_argv', []))})"
    if kind == "dir":
        return f"dir {r['path']}"
    return f"{kind} {r.get('name')}"


def list_ledgers(directory: Path | None = None) -> list[Path]:
    d = directory or state_dir()
    return sorted(d.glob("*.json")) if d.is_dir() else []


def _remove_stale_tmp(d: Path) -> None:
    """Temporary files of writers that died mid-write (``.<name>.tmp-<pid>-<n>``)."""
    for t in d.glob(".*.json.tmp-*"):
        m = re.search(r"\.tmp-(\d+)-\d+$", t.name)
        if m and proc_start_time(int(m.group(1))) is None:
            t.unlink(missing_ok=True)


def cleanup_all(only_dead_owners: bool = True, directory: Path | None = None) -> CleanupReport:
    """Clean every run with a ledger in the state dir.

    With ``only_dead_owners`` (the default) a run whose harness process is still alive is
    skipped, so cleaning up after one crashed run never wrecks a concurrent live one.
    """
    d = directory or state_dir()
    report = CleanupReport()
    if not d.is_dir():
        return report
    with state_lock(d):
        _remove_stale_tmp(d)
        for path in list_ledgers(d):
            try:
                led = Ledger.load(path)
            except (OSError, ValueError, KeyError, TypeError):
                report.unreadable.append(str(path))
                continue
            if only_dead_owners and led.owner_alive():
                report.skipped_live.append((led.run_id, led.owner_pid))
                continue
            report.cleaned.append(cleanup_run(led))
    return report
