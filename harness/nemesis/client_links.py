"""Client-to-node link faults through Toxiproxy: added latency (with jitter), a link down, and
connections reset, between the load's clients and chosen nodes.

Why Toxiproxy here: it works on any kernel (netem, which ``latency`` link faults need, is not
in every kernel, this host's included), acts on the TCP stream the client really uses, and is
what users' Docker hosts run. One ``toxiproxy-server`` process on the host, one proxy per node
(``client-<node>``: ``127.0.0.1:<free port>`` -> ``<node address>:<client port>``); the
scenario runner points the load's clients at those proxies (``endpoints()``), while member
polls, readiness and final reads keep talking to the nodes directly.

Faults (scenario events):

- ``client-latency``: ``latency_ms``, [``jitter_ms``], [``nodes``: names, default all]:
  a ``latency`` toxic on each chosen proxy, both directions;
- ``client-down``: [``nodes``]: the proxy disabled (its listener closed: connections refused);
- ``client-reset``: [``nodes``]: a ``reset_peer`` toxic (every connection reset at once);
- ``heal-client``: every toxic removed and every proxy enabled again.

Verification: ``down`` is verified by a TCP connect to the proxy failing (and succeeding
again after the heal); toxics by the server listing them on the proxy (their effect on the
traffic is measured by the load's own latencies and outcomes).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from harness.netutil import tcp_connects
from harness.nemesis.core import FaultRecord, NemesisContext, record_of

FAULTS = ("client-latency", "client-down", "client-reset", "heal-client")
TOXIC_PREFIX = "gbench-"


def _connects(address: str, timeout_s: float = 1.0) -> bool:
    host, port = address.rsplit(":", 1)
    return tcp_connects(host, int(port), timeout_s)


class ClientLinkNemesis:
    """Owns one Toxiproxy server for the scenario; ``start`` before the load, ``teardown`` after."""

    faults = frozenset(FAULTS)

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary
        self.ctx: NemesisContext | None = None
        self.server: Any = None
        self.client: Any = None
        self.listen: dict[str, str] = {}  # node -> "127.0.0.1:port"
        self.toxics: dict[str, list[str]] = {}  # node -> toxic names in effect
        self.down: set[str] = set()

    def setup(self, ctx: NemesisContext) -> None:
        self.ctx = ctx

    def start(self) -> dict[str, str]:
        """Start the server and one proxy per node; returns node -> proxy endpoint."""
        from harness.nemesis.toxiproxy import ToxiproxyServer, require_binary

        assert self.ctx is not None, "setup first"
        binary = self.binary or require_binary("client link faults need")
        self.server = ToxiproxyServer(binary).start()
        self.client = self.server.client()
        for n in self.ctx.cluster.nodes:  # port 0: Toxiproxy binds a free port itself (no probe-then-bind race)
            proxy = self.client.create_proxy(f"client-{n.name}", "127.0.0.1:0", self.ctx.cluster.client_endpoint(n))
            self.listen[n.name] = proxy.listen
        return dict(self.listen)

    def endpoints(self) -> dict[str, str]:
        return dict(self.listen)

    def _nodes(self, params: Mapping[str, Any]) -> list[str]:
        want = params.get("nodes") or "all"
        return list(self.listen) if want == "all" else [str(x) for x in want]

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        start = ctx.now_ns()
        value: dict[str, Any] = {k: v for k, v in params.items()}
        if self.client is None:
            return record_of(ctx, fault, value, start, type="fail", error="not_started",
                             reason="the Toxiproxy server was not started (ClientLinkNemesis.start)")
        if fault == "heal-client":
            return self._heal(start)
        nodes = self._nodes(params)
        unknown = [n for n in nodes if n not in self.listen]
        if unknown:
            return record_of(ctx, fault, value, start, type="fail", error="unknown_node", reason=f"{unknown}")
        value["nodes"] = nodes
        try:
            if fault == "client-down":
                for n in nodes:
                    self.client.update_proxy(f"client-{n}", enabled=False)
                    self.down.add(n)
                applied = ctx.now_ns()
                check = {n: not _connects(self.listen[n]) for n in nodes}
                ok = all(check.values())
                return FaultRecord(fault, value, "ok" if ok else "info", start, applied,
                                   None if ok else "verification_failed", {"verification": {"ok": ok, "refused": check}})
            if fault == "client-latency":
                attrs = {"latency": int(params["latency_ms"]), "jitter": int(params.get("jitter_ms", 0))}
                self._add(nodes, "latency", attrs, both_streams=True)
            elif fault == "client-reset":
                self._add(nodes, "reset_peer", {"timeout": 0}, both_streams=False)
            else:
                return record_of(ctx, fault, value, start, type="fail", error="unknown_fault")
        except Exception as e:  # noqa: BLE001 - a failed action is a record, not a crash
            return record_of(ctx, fault, value, start, type="fail", error="toxiproxy_failed", reason=str(e))
        applied = ctx.now_ns()
        listed = {n: sorted(t.name for t in self.client.toxics(f"client-{n}")) for n in nodes}
        ok = all(set(self.toxics.get(n, [])) <= set(listed[n]) for n in nodes)
        ctx.log(f"[nemesis] {fault} on {', '.join(nodes)} (verified: {ok})")
        return FaultRecord(fault, value, "ok" if ok else "info", start, applied, None if ok else "verification_failed",
                           {"verification": {"ok": ok, "toxics": listed}})

    def _add(self, nodes: Sequence[str], kind: str, attrs: dict[str, Any], both_streams: bool) -> None:
        for n in nodes:
            for stream in (("downstream", "upstream") if both_streams else ("downstream",)):
                name = f"{TOXIC_PREFIX}{kind}-{stream}"
                self.client.add_toxic(f"client-{n}", kind, name=name, stream=stream, **attrs)
                self.toxics.setdefault(n, []).append(name)

    def _heal(self, start: int, final: bool = False) -> FaultRecord:
        ctx = self.ctx
        assert ctx is not None
        errors = []
        removed = {n: list(names) for n, names in self.toxics.items() if names}
        for n, names in removed.items():
            for name in names:
                try:
                    self.client.remove_toxic(f"client-{n}", name)
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{n}/{name}: {e}")
        for n in sorted(self.down):
            try:
                self.client.update_proxy(f"client-{n}", enabled=True)
            except Exception as e:  # noqa: BLE001
                errors.append(f"{n}: {e}")
        enabled = sorted(self.down)
        self.toxics, self.down = {}, set()
        applied = ctx.now_ns()
        reach = {n: _connects(a) for n, a in self.listen.items()}
        ok = not errors and all(reach.values())
        if removed or enabled:
            ctx.log(f"[nemesis] heal-client: {sum(len(v) for v in removed.values())} toxics removed, "
                    f"{len(enabled)} proxies enabled (verified: {ok})")
        return FaultRecord("heal-client", {"toxics_removed": removed, "enabled": enabled}, "ok" if ok else "info",
                           start, applied, None if ok else "verification_failed",
                           {"verification": {"ok": ok, "connects": reach}, "reasons": errors, "final_cleanup": final})

    def teardown(self) -> list[FaultRecord]:
        out: list[FaultRecord] = []
        if self.ctx is None or self.client is None:
            return out
        if self.toxics or self.down:
            out.append(self._heal(self.ctx.now_ns(), final=True))
        if self.server is not None:
            self.server.stop()
        self.server = self.client = None
        return out
