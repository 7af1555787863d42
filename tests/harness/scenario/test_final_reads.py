"""Final reads survive a node that never takes a connection (pure: fake clients)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.scenario import final_reads as fr


class _Client:
    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.closed = endpoint, False

    async def open(self) -> None:
        if self.endpoint == "down":
            raise TimeoutError("connect timed out")

    async def invoke(self, request: Any) -> Any:
        return SimpleNamespace(type="ok", result=f"v-{request.key}", error=None, revision=7)

    async def close(self) -> None:
        self.closed = True


def test_a_node_that_never_connects_gives_failed_reads_and_the_others_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.registry import system_plugin

    monkeypatch.setattr(type(system_plugin("etcd")), "make_client", lambda self, w, endpoint, all_endpoints=(): _Client(endpoint))
    monkeypatch.setattr(fr, "CONNECT_RETRY_S", 0.0)
    cluster = SimpleNamespace(system=SimpleNamespace(name="etcd"),
                              nodes=[SimpleNamespace(name="n1"), SimpleNamespace(name="n2")],
                              client_endpoint=lambda n: "down" if n == "n2" else "up",
                              client_endpoints=["up", "down"])
    ops = fr.final_reads(cluster, ["k1", "k2"], 0, attempts=2)  # type: ignore[arg-type]
    got = sorted((o.node, o.read_consistency, o.key, o.type, o.result) for o in ops)
    assert got == [("n1", c, k, "ok", f"v-{k}") for c in ("linearizable", "serializable") for k in ("k1", "k2")] \
        + [("n2", c, k, "fail", None) for c in ("linearizable", "serializable") for k in ("k1", "k2")]
    failed = [o for o in ops if o.node == "n2"]
    assert all(o.error == "connect_failed: TimeoutError: connect timed out" and o.extra["connect_failed"]
               for o in failed)
