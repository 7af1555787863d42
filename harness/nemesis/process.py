"""Process faults through the provider's node handles: kill -9, restart, pause, resume.

Faults and ``target`` (default in brackets):

- ``kill`` [leader]: ``leader`` | ``follower`` | ``random`` | a node name. SIGKILL; the data
  dir stays. Only running, unpaused nodes are candidates.
- ``restart`` [all]: ``all`` (every node this nemesis killed) | a node name. Same command and
  data dir; verified by the member answering a status request (up to 15 s).
- ``pause`` [leader]: as ``kill``, with SIGSTOP; verified by ``/proc`` state ``T``.
- ``resume`` [all]: ``all`` paused nodes | a node name. SIGCONT.

``leader`` comes from the system (``EtcdSystem.leader``: among members claiming leadership,
the one with the highest term); ``follower`` and ``random`` use the scenario's seeded RNG.
``teardown`` resumes every paused node and restarts every killed one.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from harness.api import MemberStatus
from harness.netutil import tcp_connects
from harness.nemesis.core import FaultRecord, NemesisContext, record_of
from harness.nemesis.shapes import node_order

TARGETS = ("leader", "follower", "random")
RESTART_ANSWER_TIMEOUT_S = 15.0
#: A JVM (Cassandra) replays its commit log before it opens its client port: far slower.
RESTART_PORT_TIMEOUT_S = 180.0


class ProcessNemesis:
    faults = frozenset({"kill", "restart", "pause", "resume"})

    def __init__(self) -> None:
        self.ctx: NemesisContext | None = None
        self.killed: list[str] = []
        self.paused: list[str] = []

    def setup(self, ctx: NemesisContext) -> None:
        self.ctx = ctx

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        assert self.ctx is not None, "setup() first"
        if fault in ("kill", "pause"):
            return self._disrupt(fault, str(params.get("target", "leader")))
        if fault in ("restart", "resume"):
            return self._restore(fault, str(params.get("target", "all")))
        raise KeyError(fault)

    def _candidates(self) -> list[str]:
        assert self.ctx is not None
        return [n for n in self.ctx.node_names if n not in self.killed and n not in self.paused]

    def select(self, target: str) -> tuple[str | None, str | None, str | None]:
        """(node, leader at the time, reason if none can be chosen)."""
        ctx = self.ctx
        assert ctx is not None
        cands = self._candidates()
        if target in ("leader", "follower"):
            leader = ctx.leader()
            if target == "leader":
                if leader is None:
                    return None, None, "no leader is known"
                if leader not in cands:
                    return None, leader, f"leader {leader} is already killed or paused"
                return leader, leader, None
            followers = [n for n in cands if n != leader]
            if not followers:
                return None, leader, "no running follower"
            return ctx.rng.choice(node_order(followers)), leader, None
        if target == "random":
            if not cands:
                return None, None, "no running node"
            return ctx.rng.choice(node_order(cands)), None, None
        if target not in ctx.node_names:
            return None, None, f"unknown node {target!r}"
        if target not in cands:
            return None, None, f"{target} is already killed or paused"
        return target, None, None

    def _disrupt(self, fault: str, target: str) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        name, leader, why = self.select(target)
        value: dict[str, Any] = {"target": target, "nodes": [name] if name else []}
        if leader is not None:
            value["leader"] = leader
        if name is None:
            return record_of(ctx, fault, value, start, type="fail", error="no_target", reason=why)
        node = ctx.cluster.node(name)
        pid = node.pid()
        value["pid"] = pid
        try:
            node.kill() if fault == "kill" else node.pause()
        except Exception as e:  # noqa: BLE001 - a failed action is a record, not a crash
            return record_of(ctx, fault, value, start, type="fail", error="signal_failed", reason=str(e))
        applied = ctx.now_ns()
        if fault == "kill":
            self.killed.append(name)
            verified = not node.is_running()
            check = {"running": node.is_running()}
        else:
            self.paused.append(name)
            state = getattr(node, "state", lambda: None)()
            verified = state in ("T", "t")
            check = {"proc_state": state}
        ctx.log(f"[nemesis] {fault} {name} (target {target}; pid {pid}; verified: {verified})")
        return FaultRecord(fault, value, "ok" if verified else "info", start, applied,
                           None if verified else "verification_failed", {"verification": {"ok": verified, **check}})

    def _restore(self, fault: str, target: str, final: bool = False) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        pool = self.killed if fault == "restart" else self.paused
        names = list(pool) if target == "all" else [target] if target in pool else []
        value: dict[str, Any] = {"target": target, "nodes": names}
        if not names:
            what = "killed" if fault == "restart" else "paused"
            return record_of(ctx, fault, value, start, type="fail", error=f"nothing_{what}",
                             reason=f"no {what} node matches {target!r}")
        errors, checks = [], {}
        for name in names:
            node = ctx.cluster.node(name)
            try:
                node.restart() if fault == "restart" else node.resume()
                pool.remove(name)
            except Exception as e:  # noqa: BLE001
                errors.append(f"{name}: {e}")
        applied = ctx.now_ns()
        ok = not errors
        if fault == "restart":
            for name in names:
                checks[name] = self._wait_answering(name)
                ok = ok and checks[name]["answered"]
        else:
            for name in names:
                state = getattr(ctx.cluster.node(name), "state", lambda: None)()
                checks[name] = {"proc_state": state}
                ok = ok and state not in ("T", "t")
        ctx.log(f"[nemesis] {fault} {', '.join(names)} (verified: {ok})")
        return FaultRecord(fault, value, "ok" if ok else "info", start, applied,
                           None if ok else ("signal_failed" if errors else "verification_failed"),
                           {"verification": {"ok": ok, "nodes": checks}, "reasons": errors, "final_cleanup": final})

    def _wait_answering(self, name: str) -> dict[str, Any]:
        """Poll until the restarted member answers a status request (its own view)."""
        ctx = self.ctx
        assert ctx is not None
        t0 = time.monotonic()
        system = ctx.cluster.system
        status_fn = system.member_status if isinstance(system, MemberStatus) else None
        node = ctx.cluster.node(name)
        limit = RESTART_ANSWER_TIMEOUT_S if status_fn is not None else RESTART_PORT_TIMEOUT_S
        while time.monotonic() - t0 < limit:
            if not node.is_running():
                return {"answered": False, "reason": "process exited", "returncode": getattr(node, "returncode", None)}
            if status_fn is None:  # no status RPC (Cassandra): the client port accepting connections
                port = system.client_port
                if tcp_connects(node.host, port):
                    return {"answered": True, "after_s": round(time.monotonic() - t0, 3), "client_port_open": port}
                time.sleep(0.5)
                continue
            st = status_fn(ctx.cluster).get(name)
            if st is not None:
                return {"answered": True, "after_s": round(time.monotonic() - t0, 3), "status": st}
            time.sleep(0.1)
        return {"answered": False, "reason": f"no answer in {limit:g}s"}

    def teardown(self) -> list[FaultRecord]:
        out = []
        if self.ctx is None:
            return out
        if self.paused:
            out.append(self._restore("resume", "all", final=True))
        if self.killed:
            out.append(self._restore("restart", "all", final=True))
        return out
