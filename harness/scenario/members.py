"""Member polling: every member's own view of the leader and its election term, every few
hundred milliseconds, into ``members.jsonl`` (one JSON object per poll)::

    {"start_ns": 10200300400, "end_ns": 10204500600,
     "members": {"n1": {"leader": "n2", "term": 3, "raft_index": 812, "is_leader": false},
                 "n4": null, ...}}

A member's mapping is what its system's ``harness.api.MemberStatus`` returns: ``leader``,
``term``, ``is_leader`` and the system's own fields. Files written before issue 11 call the
term ``raft_term`` (etcd's word; ZooKeeper's first runs copied their epoch there too):
``read_polls`` reads it as ``term`` (``LEGACY_TERM_FIELD``), so the committed runs read as
new ones do; a mapping holding both with different values is a damaged file.

Times are nanoseconds relative to the run's time origin (the history's clock). ``null``:
the member did not answer within the probe deadline (killed, paused, or overloaded). A
poll whose probe failed altogether has ``"error"`` instead of ``"members"``.

A system with a fast reusable poller (``harness.api.StatusSource``) is polled through it:
etcd's asks every member for ``Status`` only, all in parallel over channels kept open, with
a 250 ms deadline (``harness.systems.etcd.status``), so a poll takes a few milliseconds and
its time is when the members answered. Other systems fall back to their ``MemberStatus``;
a system with neither is not polled.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from harness.api import MemberStatus, StatusPoll, StatusSource
from harness.errors import DamagedFile
from harness.providers.base import Cluster

#: The term's name in members.jsonl files written before issue 11 (see the module docstring).
LEGACY_TERM_FIELD = "raft_term"


class _MemberStatusPoll:
    """``MemberStatus.member_status`` as a poller (nothing to close)."""

    def __init__(self, system: MemberStatus, cluster: Cluster) -> None:
        self.system, self.cluster = system, cluster

    def __call__(self, cluster: Cluster | None = None) -> dict[str, dict[str, Any] | None]:
        return self.system.member_status(self.cluster)

    def close(self) -> None:
        pass


def status_source(cluster: Cluster) -> StatusPoll | None:
    """The fastest status probe the system allows (see the module docstring)."""
    system = cluster.system
    if isinstance(system, StatusSource):
        return system.status_source(cluster)
    if isinstance(system, MemberStatus):
        return _MemberStatusPoll(system, cluster)
    return None


class MemberPoller(threading.Thread):
    """Polls every member's status until ``stop()``; appends to ``path``."""

    def __init__(self, cluster: Cluster, path: Path, time_origin_ns: int, interval_s: float = 0.3) -> None:
        super().__init__(name="gbench-member-poller", daemon=True)
        self.cluster, self.path, self.origin, self.interval_s = cluster, path, time_origin_ns, interval_s
        self._stop_evt = threading.Event()
        self.polls = 0
        self.errors = 0
        self.status_fn = status_source(cluster)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop_evt.set()
        if self.is_alive():
            self.join(timeout_s)

    def run(self) -> None:
        if self.status_fn is None:
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            while not self._stop_evt.is_set():
                t0 = time.monotonic_ns()
                rec: dict[str, Any] = {"start_ns": t0 - self.origin}
                try:
                    rec["members"] = self.status_fn()
                except Exception as e:  # noqa: BLE001 - a failed poll is data, not a crash
                    rec["error"] = f"{type(e).__name__}: {e}"
                    self.errors += 1
                t1 = time.monotonic_ns()
                rec["end_ns"] = t1 - self.origin
                fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
                fh.flush()
                self.polls += 1
                self._stop_evt.wait(max(0.0, self.interval_s - (t1 - t0) / 1e9))
        self.status_fn.close()


def read_polls(path: Path) -> list[dict[str, Any]]:
    """The polls of a ``members.jsonl`` ([] when the system was not polled: no file), each
    member's term under ``term`` (``LEGACY_TERM_FIELD`` renamed)."""
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if line:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if isinstance(rec, dict) and isinstance(rec.get("members"), dict):
                    rec["members"] = {n: current_member(s, path, lineno) for n, s in rec["members"].items()}
                out.append(rec)
    return out


def current_member(status: Any, path: Path, lineno: int) -> Any:
    """One member's mapping with its term under ``term``: a mapping written before issue 11
    has it as ``LEGACY_TERM_FIELD`` (renamed in place, order kept); DamagedFile naming the
    file and line when it has both and they differ."""
    if not isinstance(status, dict) or LEGACY_TERM_FIELD not in status:
        return status
    legacy = status[LEGACY_TERM_FIELD]
    if "term" in status and status["term"] != legacy:
        raise DamagedFile(str(path), f"line {lineno}: a member's term {status['term']!r} and its "
                                     f"{LEGACY_TERM_FIELD} {legacy!r} disagree")
    return {("term" if k == LEGACY_TERM_FIELD else k): v for k, v in status.items() if k != "term"}


def wait_converged(cluster: Cluster, timeout_s: float = 30.0) -> dict[str, Any]:
    """Block until every member answers and all name the same leader (or the timeout).

    Returns ``{"converged": bool, "after_s": float, "leader": name|None, "members": {...}}``.
    """
    system = cluster.system
    t0 = time.monotonic()
    last: dict[str, Any] = {}
    if not isinstance(system, MemberStatus):
        return {"converged": True, "after_s": 0.0, "leader": None, "members": {}, "note": "system has no status"}
    while True:
        try:
            last = system.member_status(cluster)
        except Exception as e:  # noqa: BLE001
            last = {"error": str(e)}
        views = list(last.values())
        leaders = {v.get("leader") for v in views if isinstance(v, dict)}
        if views and all(isinstance(v, dict) for v in views) and len(leaders) == 1 and None not in leaders:
            return {"converged": True, "after_s": round(time.monotonic() - t0, 3), "leader": leaders.pop(),
                    "members": last}
        if time.monotonic() - t0 >= timeout_s:
            return {"converged": False, "after_s": round(time.monotonic() - t0, 3), "leader": None, "members": last}
        time.sleep(0.2)
