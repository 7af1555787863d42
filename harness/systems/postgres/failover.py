"""PostgreSQL's own fault: ``promote``, a failover done the way an operator or a failover
manager (Patroni, repmgr) does it, step by step, each step recorded.

``promote`` [``target``: ``most-advanced`` | a standby's name; default ``most-advanced``]:

1. The candidates are the standbys that answer; ``most-advanced`` picks the one that has
   received the most WAL (``pg_last_wal_receive_lsn()``; ties: the lower node name), which
   loses the fewest commits. Every candidate's position is recorded.
2. ``SELECT pg_promote(true, 30)`` on it: it finishes replaying what it received, leaves
   recovery on a new timeline and accepts writes; then ``CHECKPOINT`` (until one, its control
   file still names the old timeline, and ``pg_rewind`` of the old primary would find "no
   rewind required" and leave it unable to follow).
3. Every other standby is repointed at it (``ALTER SYSTEM SET primary_conninfo``,
   ``pg_reload_conf()``: the WAL receiver restarts and follows the new timeline), and the
   record says, after up to 10 s, which of them stream from the new primary. A standby that
   had received WAL the new primary never got cannot follow it; that shows as not streaming.
4. The old primary (the node that was primary before: it may be killed, partitioned or
   still running) is marked to rejoin as a standby of the new one at its next start
   (``pg_rewind -R``: it discards what it wrote after the timelines split, which is where
   acknowledged writes of an asynchronous commit are lost). Restarting it (the ``restart``
   fault, or the repair at the scenario's end) does that. While it runs on, it is still a
   primary to any client connected to it: the split brain a failover without fencing has.

``rejoin`` (no fields): the old primary of the last ``promote`` is stopped (SIGKILL, if it
still runs) and started again, so it rewinds and streams from the new primary; ``ok`` once the
new primary lists it as streaming (up to 30 s; ``extra.rejoin_s``), ``info`` when it does not,
``fail`` when no promote came before. This is the fencing step, done late on purpose: until
then an old primary cut off with its clients keeps acknowledging their writes.

Clients follow by themselves: their write connections name every node with
``target_session_attrs=read-write``, so a reconnect finds the promoted node.

Record: ``ok`` when the target was promoted (``extra``: the candidates' WAL positions, the
old primary, the seconds ``pg_promote`` took, which standbys follow); ``fail`` when no
standby could be promoted (nothing changed); ``info`` when it was promoted but a standby does
not follow it. ``teardown`` undoes nothing: a promotion cannot be taken back; the cluster
keeps its new primary, and the scenario's repair restarts the old one as a standby.
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from harness.nemesis.core import FaultRecord, NemesisContext, record_of

TARGET_DEFAULT = "most-advanced"
FOLLOW_TIMEOUT_S = 10.0
REJOIN_TIMEOUT_S = 30.0


def most_advanced(positions: Mapping[str, int | None]) -> str | None:
    """The standby that received the most WAL (ties: the lower node name), None if none answered."""
    known = [(-pos, name) for name, pos in positions.items() if pos is not None]
    return min(known)[1] if known else None


def target_problem(target: Any, nodes: Sequence[str]) -> str | None:
    if target is None or target == TARGET_DEFAULT:
        return None
    if not isinstance(target, str) or target not in nodes:
        return f"must be {TARGET_DEFAULT} or a node name ({', '.join(nodes)}), got {target!r}"
    return None


class PromoteNemesis:
    faults = frozenset({"promote", "rejoin"})

    def __init__(self) -> None:
        self.ctx: NemesisContext | None = None
        #: the primary as last known: the first node at the start, the promoted node after a promote
        self.primary: str | None = None
        #: the node the last promote replaced, until it rejoins
        self.old_primary: str | None = None

    def setup(self, ctx: NemesisContext) -> None:
        self.ctx = ctx
        self.primary = ctx.leader() or ctx.node_names[0]

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        assert self.ctx is not None, "setup() first"
        if fault == "rejoin":
            return self._rejoin()
        if fault != "promote":
            raise KeyError(fault)
        return self._promote(str(params.get("target", TARGET_DEFAULT)))

    def _rejoin(self) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        old, new = self.old_primary, self.primary
        if old is None or new is None:
            return record_of(ctx, "rejoin", {}, start, type="fail", error="no promote before: nothing to rejoin")
        system = ctx.cluster.system
        node = ctx.cluster.node(old)
        was_running = node.pid() is not None
        t0 = time.monotonic()
        node.kill()
        node.restart()
        follow = self._followers(system, ctx.cluster.node(new).host, [old], timeout_s=REJOIN_TIMEOUT_S)
        extra = {"was_running": was_running, "rejoin_s": round(time.monotonic() - t0, 3), "streaming": follow[old]}
        if follow[old] != "streaming":
            return record_of(ctx, "rejoin", {"node": old, "primary": new}, start, type="info",
                             error=f"{old} does not stream from {new} after {REJOIN_TIMEOUT_S:g}s (see its log)", **extra)
        self.old_primary = None
        return record_of(ctx, "rejoin", {"node": old, "primary": new}, start, **extra)

    def _promote(self, target: str) -> FaultRecord:
        from harness.systems.postgres.system import PostgresSystem, run_psql

        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        system = ctx.cluster.system
        assert isinstance(system, PostgresSystem)
        old = ctx.leader() or self.primary
        standbys = [n for n in ctx.node_names if n != old]
        positions = system.wal_positions(ctx.cluster, standbys)
        value: dict[str, Any] = {"target": target, "old_primary": old}
        chosen = most_advanced(positions) if target == TARGET_DEFAULT else target
        extra: dict[str, Any] = {"wal_received_bytes": positions}
        if chosen is None or chosen == old or positions.get(chosen) is None:
            why = ("no standby answers" if chosen is None else f"{chosen} is the primary already" if chosen == old
                   else f"{chosen} does not answer")
            return record_of(ctx, "promote", value, start, type="fail", error=why, **extra)
        value["node"] = chosen
        port, new_host = system.config.port, ctx.cluster.node(chosen).host
        t0 = time.monotonic()
        try:
            done = run_psql(system.bins, new_host, port, "SELECT pg_promote(true, 30)", timeout_s=35)
        except RuntimeError as e:
            return record_of(ctx, "promote", value, start, type="fail", error=f"pg_promote on {chosen}: {e}", **extra)
        extra["promote_s"] = round(time.monotonic() - t0, 3)
        if done != [["t"]]:
            return record_of(ctx, "promote", value, start, type="info",
                             error=f"pg_promote on {chosen} returned {done} (not promoted within 30 s)", **extra)
        try:  # the control file names the new timeline only after a checkpoint: pg_rewind reads it there
            run_psql(system.bins, new_host, port, "CHECKPOINT", timeout_s=30)
        except RuntimeError as e:
            extra["checkpoint_error"] = str(e)
        self.primary, self.old_primary = chosen, old
        repointed: dict[str, str] = {}
        for s in standbys:
            if s == chosen:
                continue
            info = system.replication_conninfo(new_host, s).replace("'", "''")
            try:
                run_psql(system.bins, ctx.cluster.node(s).host, port,
                         [f"ALTER SYSTEM SET primary_conninfo = '{info}'", "SELECT pg_reload_conf()"], timeout_s=10)
                repointed[s] = "repointed"
            except RuntimeError as e:
                repointed[s] = f"not repointed: {e}"
        if old is not None:
            extra["rejoin_file"] = str(system.mark_rejoin(old, new_host))
        follow = self._followers(system, new_host, [s for s, r in repointed.items() if r == "repointed"])
        extra.update(repointed=repointed, streaming_from_new_primary=follow)
        lagging = [s for s in repointed if follow.get(s) != "streaming"]
        return record_of(ctx, "promote", value, start, type="info" if lagging else "ok",
                         error=f"not streaming from {chosen}: {', '.join(lagging)}" if lagging else None, **extra)

    def _followers(self, system: Any, host: str, standbys: Sequence[str], timeout_s: float = FOLLOW_TIMEOUT_S
                   ) -> dict[str, str]:
        deadline, seen = time.monotonic() + timeout_s, {}
        while standbys and time.monotonic() < deadline:
            try:
                seen = system.streaming(host)
            except RuntimeError:
                seen = {}
            if all(seen.get(s) == "streaming" for s in standbys):
                break
            time.sleep(0.1)
        return {s: seen.get(s, "absent") for s in standbys}

    def teardown(self) -> list[FaultRecord]:
        return []
