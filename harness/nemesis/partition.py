"""Network partitions: cut links between nodes with iptables inside their namespaces.

Faults: ``partition`` (params: ``shape`` and its options, see ``harness.nemesis.shapes``)
and ``heal`` (removes exactly the rules the partition added). One partition at a time: a
second ``partition`` before ``heal`` is refused (record type ``fail``).

After applying, the nemesis verifies what it did and puts the result in the record:

- a TCP connect from every node's namespace to every peer's peer port (one attempt,
  1 s timeout): across the cut it must time out, within a side it must connect;
- a TCP connect from the harness to every node's client port must connect (clients on
  both sides keep talking to their own node).

After ``heal`` every peer connect must succeed again. Record type ``ok`` = applied and
verified, ``info`` = applied but the probes disagree (the mismatches are listed),
``fail`` = not applied (rules that went in are removed again).

When the provider routes peers through Toxiproxy (``provider.peer_links``, see
``harness.nemesis.peer_links``), the same faults are toxics on the per-link proxies
instead of rules: same shapes, same records (``via: toxiproxy`` in the record's extra),
verified by reading the toxics back from Toxiproxy's API.
"""
from __future__ import annotations

from typing import Any, Mapping

from harness.errors import EnvironmentProblem
from harness.nemesis.core import FaultRecord, NemesisContext, record_of
from harness.nemesis.probe import REACHABLE, compare_matrix, probe_from_host, probe_matrix
from harness.nemesis.rules import Rule, RuleSet, drop_rules
from harness.nemesis.shapes import LEADER_SHAPES, Grouping, ShapeError, grouping

PROBE_TIMEOUT_S = 1.0
SHAPE_PARAMS = ("shape", "node", "groups", "placement")


def needs_leader(params: Mapping[str, Any]) -> bool:
    shape = params.get("shape")
    return shape in LEADER_SHAPES or (shape == "majority-minority"
                                      and params.get("placement") in ("leader-in-minority", "leader-in-majority"))


def resolve_grouping(ctx: NemesisContext, params: Mapping[str, Any]) -> Grouping:
    """The shape for ``params`` on this cluster now (asks the system for the leader if needed)."""
    leader = ctx.leader() if needs_leader(params) else None
    return grouping(str(params.get("shape")), ctx.node_names, leader=leader, node=params.get("node"),
                    groups=params.get("groups"), placement=params.get("placement"), rng=ctx.rng)


def namespace_tools(ctx: NemesisContext) -> tuple[RuleSet, "NetworkVerifier"]:
    """The rule set and the probe verifier every in-namespace network fault uses."""
    netns = {n.name: getattr(n, "netns", None) for n in ctx.cluster.nodes if getattr(n, "netns", None)}
    return RuleSet(ctx.net, ctx.ledger, netns), NetworkVerifier(ctx)


class NetworkVerifier:
    """Probe helpers shared by partition and link faults."""

    def __init__(self, ctx: NemesisContext) -> None:
        self.ctx = ctx
        self.addresses = {n.name: n.host for n in ctx.cluster.nodes}
        self.peer_port = int(ctx.cluster.system.peer_port)
        self.client_port = int(ctx.cluster.system.client_port)

    def matrix(self, expect_reachable: Any) -> dict[str, Any]:
        t0 = self.ctx.now_ns()
        observed = probe_matrix(self.ctx.net, self.addresses, self.peer_port, timeout_s=PROBE_TIMEOUT_S)
        result = compare_matrix(observed, expect_reachable)
        clients = probe_from_host(self.addresses, self.client_port, timeout_s=PROBE_TIMEOUT_S)
        # A killed node refuses; that still proves the path from the harness is open.
        result["harness_to_nodes"] = clients
        result["harness_reaches_all"] = all(v in REACHABLE for v in clients.values())
        result["ok"] = result["ok"] and result["harness_reaches_all"]
        result["peer_port"] = self.peer_port
        result["probed_at_ns"] = t0
        result["probe_ms"] = round((self.ctx.now_ns() - t0) / 1e6, 1)
        return result


class PartitionNemesis:
    faults = frozenset({"partition", "heal"})

    def __init__(self) -> None:
        self.ctx: NemesisContext | None = None
        self.rules: list[Rule] = []
        self.active: Grouping | None = None
        self.links: Any = None  # PeerLinks when the provider routes peers through Toxiproxy

    def setup(self, ctx: NemesisContext) -> None:
        """Nothing is checked or changed here: a provider without namespaces fails at invoke."""
        self.ctx = ctx
        self.links = getattr(ctx.cluster.provider, "peer_links", None)
        if ctx.net is None or self.links is not None:
            return
        self._rs, self._verify = namespace_tools(ctx)

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        assert self.ctx is not None, "setup() first"
        if self.ctx.net is None and self.links is None:
            raise EnvironmentProblem(f"provider {getattr(self.ctx.cluster.provider, 'name', '?')} cannot run "
                                     "commands in node namespaces: partitions need --provider netns")
        if fault == "partition":
            return self._partition(params)
        if fault == "heal":
            return self._heal()
        raise KeyError(fault)

    def _partition(self, params: Mapping[str, Any]) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        value: dict[str, Any] = {k: params[k] for k in SHAPE_PARAMS if k in params}
        if self.active is not None:
            return record_of(ctx, "partition", value, start, type="fail", error="already_partitioned",
                             reason=f"a {self.active.shape} partition is active; heal first")
        try:
            g = resolve_grouping(ctx, params)
        except ShapeError as e:
            return record_of(ctx, "partition", value, start, type="fail", error="bad_shape", reason=str(e))
        value.update(g.to_dict())
        if self.links is not None:
            return self._partition_via_toxiproxy(g, value, start)
        rules = drop_rules(g.cut, self._verify.addresses, ctx.run_id)
        added, errors = self._rs.add(rules)
        if errors:
            self._rs.remove(added)
            return record_of(ctx, "partition", value, start, type="fail", error="iptables_failed", reasons=errors)
        applied = ctx.now_ns()
        self.rules, self.active = added, g
        verification = self._verify.matrix(g.reachable)
        ctx.log(f"[nemesis] partition {g.shape}: {' | '.join(' '.join(x) for x in g.groups)} "
                f"({len(added)} rules; verified: {verification['ok']})")
        return FaultRecord("partition", value, "ok" if verification["ok"] else "info", start, applied,
                           None if verification["ok"] else "verification_failed",
                           {"rules": len(added), "verification": verification})

    def _partition_via_toxiproxy(self, g: Grouping, value: dict[str, Any], start: int) -> FaultRecord:
        ctx, links = self.ctx, self.links
        assert ctx is not None and links is not None
        added, errors = links.cut(g.cut)
        if errors:
            links.restore()
            return record_of(ctx, "partition", value, start, type="fail", error="toxiproxy_failed", reasons=errors)
        applied = ctx.now_ns()
        self.active = g
        verification = links.verify(added)
        ctx.log(f"[nemesis] partition {g.shape} via Toxiproxy: {' | '.join(' '.join(x) for x in g.groups)} "
                f"({len(added)} toxics; verified: {verification['ok']})")
        return FaultRecord("partition", value, "ok" if verification["ok"] else "info", start, applied,
                           None if verification["ok"] else "verification_failed",
                           {"via": "toxiproxy", "toxics": len(added), "verification": verification})

    def _heal_via_toxiproxy(self, g: Grouping, start: int, final: bool) -> FaultRecord:
        ctx, links = self.ctx, self.links
        assert ctx is not None and links is not None
        removed, errors = links.restore()
        applied = ctx.now_ns()
        value = {"shape": g.shape, "groups": [list(x) for x in g.groups]}
        if errors:
            return FaultRecord("heal", value, "info", start, applied, "toxiproxy_failed",
                               {"via": "toxiproxy", "reasons": errors, "final_cleanup": final})
        self.active = None
        verification = links.verify([])
        ctx.log(f"[nemesis] heal via Toxiproxy: removed {removed} toxics (verified: {verification['ok']})")
        return FaultRecord("heal", value, "ok" if verification["ok"] else "info", start, applied,
                           None if verification["ok"] else "verification_failed",
                           {"via": "toxiproxy", "toxics_removed": removed, "verification": verification,
                            "final_cleanup": final})

    def _heal(self, final: bool = False) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        if self.active is None:
            return record_of(ctx, "heal", {}, start, type="fail", error="nothing_to_heal")
        g = self.active
        if self.links is not None:
            return self._heal_via_toxiproxy(g, start, final)
        removed, errors = self._rs.remove(self.rules)
        applied = ctx.now_ns()
        value = {"shape": g.shape, "groups": [list(x) for x in g.groups]}
        if errors:
            self.rules = [r for r in self.rules if r not in removed]
            return FaultRecord("heal", value, "info", start, applied, "iptables_failed",
                               {"reasons": errors, "final_cleanup": final})
        self.rules, self.active = [], None
        verification = self._verify.matrix(lambda a, b: True)
        ctx.log(f"[nemesis] heal: removed {len(removed)} rules (verified: {verification['ok']})")
        return FaultRecord("heal", value, "ok" if verification["ok"] else "info", start, applied,
                           None if verification["ok"] else "verification_failed",
                           {"rules_removed": len(removed), "verification": verification, "final_cleanup": final})

    def teardown(self) -> list[FaultRecord]:
        if self.ctx is None or self.active is None:
            return []
        return [self._heal(final=True)]
