"""Link faults between groups of nodes: packet loss, latency and jitter.

Faults: ``loss`` (``probability`` in (0, 1]), ``latency`` (``delay_ms``, optional
``jitter_ms``), ``heal-link`` (removes every link fault). Which links: the same shape
parameters as partitions (``shape``, ``node``, ``groups``, ``placement``), default
``shape: all`` (every link between two nodes). Faults stack; ``heal-link`` removes them all.

- **Loss** uses iptables inside the receiving node's namespace:
  ``-A INPUT -s <peer> -m statistic --mode random --probability p -j DROP``, so each
  direction of a faulty link loses that share of packets. This works on every kernel with
  the ``statistic`` match. It is verified by probing: 100 parallel TCP connects with a
  0.3 s timeout over a faulty link must fail in about ``1-(1-p)^2`` of the cases (SYN and
  SYN-ACK must both survive), and none over a healthy link.
- **Latency / jitter** need the ``netem`` qdisc (``tc qdisc ... netem delay D J``), placed on
  the sender's ``eth0`` behind a ``prio`` qdisc with one ``u32`` filter per slowed peer.
  Whether the kernel has netem is detected once, in a throw-away namespace
  (``unshare --net``) so the host is never touched. Without it, ``latency`` raises
  ``EnvironmentProblem("netem is not available in this kernel ...")``.

qdiscs live in the node's namespace and vanish with it; the ledger has no kind for them,
and the namespace is in the ledger.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any, Mapping

from harness.errors import EnvironmentProblem
from harness.nemesis.core import FaultRecord, NemesisContext, record_of
from harness.nemesis.partition import SHAPE_PARAMS, namespace_tools, resolve_grouping
from harness.nemesis.probe import REACHABLE, expected_connect_failure, loss_consistent, probe_from_node
from harness.nemesis.rules import Rule, loss_rules
from harness.nemesis.shapes import Grouping, ShapeError, node_order

IFACE = "eth0"  # the node's interface inside its namespace (harness.providers.netns.NODE_IFACE)
LOSS_PROBES = 100
LOSS_PROBE_TIMEOUT_S = 0.3
NETEM_MISSING = ("netem is not available in this kernel (tc: \"Specified qdisc kind is unknown\"); latency and "
                 "jitter faults cannot run here. Packet loss works (fault: loss, via iptables statistic); for "
                 "latency use a kernel with sch_netem (CONFIG_NET_SCH_NETEM)")


@functools.lru_cache(maxsize=1)
def netem_available() -> tuple[bool, str]:
    """(available, detail): tries ``tc qdisc add dev lo root netem`` in a new, unnamed
    network namespace that disappears with the command; the host is not modified."""
    if shutil.which("unshare") is None or shutil.which("tc") is None:
        return False, "unshare or tc not installed"
    try:
        p = subprocess.run(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
                            "1ms"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return False, str(e)
    return p.returncode == 0, (p.stderr or p.stdout).strip()


def require_netem() -> None:
    ok, detail = netem_available()
    if not ok:
        raise EnvironmentProblem(NETEM_MISSING + (f" [{detail}]" if detail else ""))


def netem_commands(dsts: list[str], delay_ms: float, jitter_ms: float | None) -> list[list[str]]:
    """tc commands (run inside the sender's namespace) delaying packets to ``dsts`` only."""
    netem = ["netem", "delay", f"{delay_ms:g}ms"] + ([f"{jitter_ms:g}ms", "distribution", "normal"]
                                                     if jitter_ms else [])
    cmds = [["tc", "qdisc", "add", "dev", IFACE, "root", "handle", "1:", "prio", "bands", "4"],
            ["tc", "qdisc", "add", "dev", IFACE, "parent", "1:4", "handle", "40:", *netem]]
    cmds += [["tc", "filter", "add", "dev", IFACE, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
              "match", "ip", "dst", f"{d}/32", "flowid", "1:4"] for d in dsts]
    return cmds


def netem_removal() -> list[str]:
    return ["tc", "qdisc", "del", "dev", IFACE, "root"]


def sample_pairs(g: Grouping, limit: int = 3) -> tuple[list[tuple[str, str, float]], tuple[str, str] | None]:
    """Up to ``limit`` faulty pairs to probe (src, dst, share of links faulty each way: 2 or 1
    directions), and one healthy pair as a control (None when every link is faulty)."""
    faulty = []
    nodes = g.nodes()
    for a in nodes:
        for b in nodes:
            if a < b and ((a, b) in g.cut or (b, a) in g.cut):
                faulty.append((a, b, 2.0 if (a, b) in g.cut and (b, a) in g.cut else 1.0))
    control = next(((a, b) for a in nodes for b in nodes if a != b and (a, b) not in g.cut and (b, a) not in g.cut),
                   None)
    return faulty[:limit], control


class LinkNemesis:
    faults = frozenset({"loss", "latency", "heal-link"})

    def __init__(self) -> None:
        self.ctx: NemesisContext | None = None
        self.loss: list[tuple[Grouping, float, list[Rule]]] = []
        self.netem_nodes: list[str] = []

    def setup(self, ctx: NemesisContext) -> None:
        """Nothing is checked or changed here: a provider without namespaces fails at invoke."""
        self.ctx = ctx
        if ctx.net is None:
            return
        self._rs, self._verify = namespace_tools(ctx)

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        assert self.ctx is not None, "setup() first"
        if self.ctx.net is None:
            raise EnvironmentProblem("link faults need --provider netns (commands inside node namespaces)")
        if fault == "loss":
            return self._loss(params)
        if fault == "latency":
            return self._latency(params)
        if fault == "heal-link":
            return self._heal()
        raise KeyError(fault)

    def _grouping(self, params: Mapping[str, Any]) -> Grouping:
        assert self.ctx is not None
        p = dict(params)
        p.setdefault("shape", "all")
        return resolve_grouping(self.ctx, p)

    def _loss(self, params: Mapping[str, Any]) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        prob = float(params["probability"])
        value: dict[str, Any] = {"probability": prob, **{k: params[k] for k in SHAPE_PARAMS if k in params}}
        try:
            g = self._grouping(params)
        except ShapeError as e:
            return record_of(ctx, "loss", value, start, type="fail", error="bad_shape", reason=str(e))
        value.update(g.to_dict())
        rules = loss_rules(g.cut, self._verify.addresses, prob, ctx.run_id)
        added, errors = self._rs.add(rules)
        if errors:
            self._rs.remove(added)
            return record_of(ctx, "loss", value, start, type="fail", error="iptables_failed", reasons=errors)
        applied = ctx.now_ns()
        self.loss.append((g, prob, added))
        verification = self.verify_loss(g, prob)
        ctx.log(f"[nemesis] loss p={prob:g} on {len(g.cut)} directed links ({len(added)} rules; "
                f"verified: {verification['ok']})")
        return FaultRecord("loss", value, "ok" if verification["ok"] else "info", start, applied,
                           None if verification["ok"] else "verification_failed",
                           {"rules": len(added), "verification": verification})

    def verify_loss(self, g: Grouping, prob: float) -> dict[str, Any]:
        """Probe a few faulty pairs (and one healthy pair) with many short connects."""
        assert self.ctx is not None
        addr, port = self._verify.addresses, self._verify.peer_port
        faulty, control = sample_pairs(g)
        pairs = []
        ok = True
        for a, b, directions in faulty:
            expected = expected_connect_failure(prob) if directions == 2.0 else prob
            r = probe_from_node(self.ctx.net, a, [(addr[b], port)], count=LOSS_PROBES,
                                timeout_s=LOSS_PROBE_TIMEOUT_S)[f"{addr[b]}:{port}"]
            failed = sum(1 for x in r if x not in REACHABLE)
            consistent = loss_consistent(failed, len(r), expected)
            ok = ok and consistent
            pairs.append({"src": a, "dst": b, "attempts": len(r), "failed": failed,
                          "expected_failed_fraction": round(expected, 4), "consistent": consistent})
        ctrl = None
        if control is not None:
            a, b = control
            r = probe_from_node(self.ctx.net, a, [(addr[b], port)], count=20,
                                timeout_s=LOSS_PROBE_TIMEOUT_S)[f"{addr[b]}:{port}"]
            failed = sum(1 for x in r if x not in REACHABLE)
            ctrl = {"src": a, "dst": b, "attempts": len(r), "failed": failed}
            ok = ok and failed == 0
        return {"ok": ok, "faulty_pairs": pairs, "healthy_pair": ctrl,
                "method": f"{LOSS_PROBES} parallel TCP connects per pair, {LOSS_PROBE_TIMEOUT_S}s timeout"}

    def _latency(self, params: Mapping[str, Any]) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        require_netem()  # EnvironmentProblem on kernels without sch_netem (this one)
        start = ctx.now_ns()
        delay, jitter = float(params["delay_ms"]), params.get("jitter_ms")
        value: dict[str, Any] = {"delay_ms": delay, "jitter_ms": jitter,
                                 **{k: params[k] for k in SHAPE_PARAMS if k in params}}
        if self.netem_nodes:
            return record_of(ctx, "latency", value, start, type="fail", error="latency_active",
                             reason="a latency fault is active; heal-link first")
        try:
            g = self._grouping(params)
        except ShapeError as e:
            return record_of(ctx, "latency", value, start, type="fail", error="bad_shape", reason=str(e))
        value.update(g.to_dict())
        per_src: dict[str, list[str]] = {}
        for a, b in sorted(g.cut):
            per_src.setdefault(a, []).append(self._verify.addresses[b])
        errors = []
        for node in node_order(per_src):
            self.netem_nodes.append(node)
            for cmd in netem_commands(per_src[node], delay, float(jitter) if jitter else None):
                p = ctx.net.exec_in_node_netns(node, cmd, check=False)
                if p.returncode != 0:
                    errors.append(f"{node}: {' '.join(cmd)}: {(p.stderr or p.stdout).strip()}")
                    break
        if errors:
            self._remove_netem()
            return record_of(ctx, "latency", value, start, type="fail", error="tc_failed", reasons=errors)
        return FaultRecord("latency", value, "ok", start, ctx.now_ns(), None,
                           {"nodes": list(self.netem_nodes),
                            "verification": {"ok": None, "note": "not measured: no latency probe yet (the tc "
                                                                 "commands succeeded)"}})

    def _remove_netem(self) -> list[str]:
        assert self.ctx is not None
        errs = []
        for node in self.netem_nodes:
            p = self.ctx.net.exec_in_node_netns(node, netem_removal(), check=False)
            if p.returncode != 0 and "No such file" not in (p.stderr or "") and "Cannot delete" not in (p.stderr or ""):
                errs.append(f"{node}: {(p.stderr or p.stdout).strip()}")
        self.netem_nodes = []
        return errs

    def _heal(self, final: bool = False) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        if not self.loss and not self.netem_nodes:
            return record_of(ctx, "heal-link", {}, start, type="fail", error="nothing_to_heal")
        value = {"loss": [{"probability": p, "groups": [list(x) for x in g.groups], "shape": g.shape}
                          for g, p, _ in self.loss], "latency_nodes": list(self.netem_nodes)}
        errors: list[str] = []
        removed_n = 0
        remaining = []
        for g, p, rules in self.loss:
            removed, errs = self._rs.remove(rules)
            removed_n += len(removed)
            if errs:
                errors += errs
                remaining.append((g, p, [r for r in rules if r not in removed]))
        self.loss = remaining
        errors += self._remove_netem()
        applied = ctx.now_ns()
        if errors:
            return FaultRecord("heal-link", value, "info", start, applied, "removal_failed",
                               {"reasons": errors, "final_cleanup": final})
        verification = self._verify.matrix(lambda a, b: True)
        return FaultRecord("heal-link", value, "ok" if verification["ok"] else "info", start, applied,
                           None if verification["ok"] else "verification_failed",
                           {"rules_removed": removed_n, "verification": verification, "final_cleanup": final})

    def teardown(self) -> list[FaultRecord]:
        if self.ctx is None or (not self.loss and not self.netem_nodes):
            return []
        return [self._heal(final=True)]
