"""The nemesis contract: ``setup`` / ``invoke`` / ``teardown``, a ``noop`` and ``compose``.

A nemesis injects faults into a running cluster. ``invoke(fault, params)`` does one thing
(cut the network, kill a node...) and returns a ``FaultRecord`` saying exactly what it did,
when (start and end, nanoseconds relative to the run's time origin, as history records),
and what it verified; the record becomes a history ``Op`` with process ``"nemesis"``.

Rules every nemesis follows:

- ``setup`` must not inject anything; ``invoke`` must not raise for a fault that could not
  be applied (it returns a record with type ``fail`` and the error); it raises only for
  programming errors and ``EnvironmentProblem`` (the host cannot do this at all).
- ``teardown`` undoes everything still in effect (heal, resume, restart), is idempotent,
  and returns the records of what it undid, so a scenario's history shows the repair.
- Network changes happen only inside the nodes' own namespaces, never on the host's chains.

Record types: ``ok`` = applied and verified; ``fail`` = not applied (nothing changed);
``info`` = applied, but verification failed or only part of it took effect.

    nem = compose([PartitionNemesis(), ProcessNemesis(), NoopNemesis()])
    nem.setup(ctx)
    rec = nem.invoke("partition", {"shape": "leader-in-minority"})
    ...
    nem.teardown()
"""
from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from harness.api import Primary
from harness.providers.base import Cluster
from harness.recorder.history import Op


@dataclass
class FaultRecord:
    """What one nemesis action did. ``value`` holds the parameters as resolved (groups,
    nodes); ``extra`` holds verification results and anything measured on the way."""

    f: str
    value: dict[str, Any]
    type: str  # ok | fail | info
    invoke_ns: int
    complete_ns: int
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_op(self, i: int) -> Op:
        return Op(i=i, process="nemesis", f=self.f, key=None, value=self.value, invoke_ns=self.invoke_ns,
                  complete_ns=self.complete_ns, type=self.type, error=self.error,  # type: ignore[arg-type]
                  extra=dict(self.extra))


@dataclass
class NemesisContext:
    """Everything a nemesis may use. ``leader`` asks the system who leads right now."""

    cluster: Cluster
    run_id: str
    time_origin_ns: int
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    log: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr, flush=True))

    def now_ns(self) -> int:
        """Nanoseconds since the run's time origin (the history's clock)."""
        return time.monotonic_ns() - self.time_origin_ns

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.cluster.nodes]

    def leader(self) -> str | None:
        system = self.cluster.system
        return system.leader(self.cluster) if isinstance(system, Primary) else None

    @property
    def net(self) -> Any:
        """The provider's ``NetworkControl`` (``exec_in_node_netns``), or None."""
        p = self.cluster.provider
        return p if callable(getattr(p, "exec_in_node_netns", None)) else None

    @property
    def ledger(self) -> Any:
        """The provider's crash-cleanup ledger, or None when it keeps none."""
        p = self.cluster.provider
        return getattr(p, "ledger", None) or getattr(p, "_ledger", None)

    @property
    def gateway(self) -> str | None:
        """The address the harness's clients come from (the bridge), never cut."""
        return getattr(self.cluster.provider, "gateway", None)


@runtime_checkable
class Nemesis(Protocol):
    """A fault injector. ``faults`` names the ``f`` values ``invoke`` handles."""

    faults: frozenset[str]

    def setup(self, ctx: NemesisContext) -> None:
        """Remember the context; must not inject anything."""
        ...

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        """Do one fault action and say what was done; must not raise for a failed action."""
        ...

    def teardown(self) -> list[FaultRecord]:
        """Undo everything still in effect; idempotent; must not raise."""
        ...


def record_of(ctx: NemesisContext, f: str, value: dict[str, Any], start_ns: int, *, type: str = "ok",
              error: str | None = None, **extra: Any) -> FaultRecord:
    return FaultRecord(f, value, type, start_ns, ctx.now_ns(), error, extra)


class NoopNemesis:
    """Does nothing, for every fault name it is given (``faults`` can be chosen)."""

    def __init__(self, faults: Iterable[str] = ("noop",)) -> None:
        self.faults = frozenset(faults)
        self.ctx: NemesisContext | None = None

    def setup(self, ctx: NemesisContext) -> None:
        self.ctx = ctx

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        now = self.ctx.now_ns() if self.ctx else 0
        return FaultRecord(fault, dict(params), "ok", now, now, extra={"noop": True})

    def teardown(self) -> list[FaultRecord]:
        return []


class ComposedNemesis:
    """Routes each fault to the one nemesis that handles it (Jepsen's ``nemesis/compose``).

    Two nemeses claiming the same fault name is a programming error, refused at
    construction. Teardown runs every member's teardown, even if one of them raises.
    """

    def __init__(self, members: Sequence[Nemesis]) -> None:
        self.members = list(members)
        self._route: dict[str, Nemesis] = {}
        for m in self.members:
            for f in m.faults:
                if f in self._route:
                    raise ValueError(f"fault {f!r} is handled by both {type(self._route[f]).__name__} "
                                     f"and {type(m).__name__}")
                self._route[f] = m
        self.faults = frozenset(self._route)
        self._lock = threading.Lock()

    def setup(self, ctx: NemesisContext) -> None:
        for m in self.members:
            m.setup(ctx)

    def member_for(self, fault: str) -> Nemesis | None:
        """The member that handles ``fault`` (the scenario runner starts the client-link proxies)."""
        return self._route.get(fault)

    def invoke(self, fault: str, params: Mapping[str, Any]) -> FaultRecord:
        m = self._route.get(fault)
        if m is None:
            raise KeyError(f"no nemesis handles fault {fault!r} (known: {', '.join(sorted(self.faults))})")
        with self._lock:  # one fault action at a time: rules and signals must not interleave
            return m.invoke(fault, params)

    def teardown(self) -> list[FaultRecord]:
        out: list[FaultRecord] = []
        errors: list[str] = []
        with self._lock:
            for m in reversed(self.members):  # network first (reverse), then processes
                try:
                    out += m.teardown()
                except Exception as e:  # noqa: BLE001 - every member must get its chance
                    errors.append(f"{type(m).__name__}: {e}")
        if errors:
            print("[gbench] WARNING: nemesis teardown problems: " + "; ".join(errors), file=sys.stderr, flush=True)
        return out


def compose(members: Sequence[Nemesis]) -> ComposedNemesis:
    return ComposedNemesis(members)
