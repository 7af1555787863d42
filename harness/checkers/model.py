"""What every checker reads and returns: ``Operation``, ``History``, ``CheckResult``.

The checkers do not read ``harness.recorder.history.Op`` directly: they also judge
histories recorded by other tools (Jepsen logs), which have no timestamps and name their
operations differently. ``harness.checkers.formats`` turns each source into a ``History``
of ``Operation`` records, so a checker is written once for all of them.

Verdicts follow Jepsen's ``checker/compose``: ``True`` (valid), ``False`` (a violation,
with evidence) or ``"unknown"`` (the checker could not decide: it raised, or its input
lacks what it needs). When verdicts are merged, ``False`` beats ``"unknown"`` beats
``True``: one proven violation decides, and "could not tell" is never reported as "fine".

    >>> merge_verdicts([True, "unknown", True])
    'unknown'
"""
from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Protocol, Union, runtime_checkable

Outcome = Literal["ok", "fail", "info"]
Verdict = Union[bool, Literal["unknown"]]
TimeUnit = Literal["ns", "event"]

INF = math.inf
"""Completion time of an indeterminate operation: it may take effect at any later time."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One client operation as the checkers see it.

    ``invoke``/``complete`` are in the history's time unit (``History.time_unit``):
    nanoseconds for the harness's own histories, event positions (line numbers) for Jepsen
    logs, which record only the order of events. ``complete`` is ``INF`` for an
    indeterminate (``info``) operation, because it may still take effect at any time after
    ``invoke``; ``give_up`` keeps the time the client stopped waiting (``None`` if it never
    heard back at all), which the late-write checker needs.

    ``outcome``: ``ok`` (took effect, ``result`` known), ``fail`` (certainly did not take
    effect), ``info`` (indeterminate). For ``cas``, ``result`` is ``True`` when the compare
    succeeded and ``False`` when it was executed and failed (a constraint, like a read); a
    cas that was rejected without being executed is ``fail`` instead.
    """

    index: int
    """Position in the parsed history (0-based, in invocation order); the op's identity."""
    process: int | str
    f: str
    """As the source names it: read/write/cas (Jepsen register), get/put/append (kv),
    get/put/cas/delete (harness). Models accept the aliases."""
    key: str | None
    """``None`` for single-register histories."""
    value: Any
    """The argument: the written value/token; ``(expected, new)`` for cas; ``None`` for reads."""
    invoke: float
    complete: float
    outcome: Outcome
    result: Any = None
    """Reads: the value returned (``None`` = absent). cas: compare succeeded (bool)."""
    line: int = 0
    """1-based line of the invocation in the source file (0 when built in memory)."""
    give_up: float | None = None
    """``info`` only: when the client gave up waiting (``None``: it never completed)."""
    read_consistency: str | None = None
    final: bool = False
    """A final read issued after the load stopped (harness ``extra.final``)."""
    revision: int | None = None
    """The system's revision/version for the response, when it reports one."""
    node: str | None = None
    """The node (replica) the client sent it to, when the history says (harness ``node``)."""
    session: int | str | None = None
    """The client session it belongs to, when the history names one (harness ``extra.session``);
    ``None``: the session is the process (see ``session_id``)."""

    @property
    def is_read(self) -> bool:
        return self.f in ("read", "get")

    @property
    def session_id(self) -> int | str:
        """The session the session-guarantee checkers judge it in: ``session``, else ``process``."""
        return self.process if self.session is None else self.session

    def describe(self, unit: TimeUnit = "ns") -> dict[str, Any]:
        """A JSON-friendly summary for evidence and counterexamples (times in ms for ns)."""
        d: dict[str, Any] = {"index": self.index, "process": self.process, "f": self.f}
        if self.session is not None:
            d["session"] = self.session
        if self.key is not None:
            d["key"] = self.key
        d["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        d["outcome"] = self.outcome
        if self.is_read or (self.f == "cas" and self.outcome == "ok"):
            d["result"] = self.result
        if unit == "ns":
            d["invoke_ms"] = ns_to_ms(self.invoke)
            d["complete_ms"] = None if self.complete == INF else ns_to_ms(self.complete)
        else:
            d["invoke"] = self.invoke
            d["complete"] = None if self.complete == INF else self.complete
        if self.line:
            d["line"] = self.line
        return d


@dataclass(frozen=True, slots=True)
class History:
    """A parsed history: operations in invocation order, plus where they came from."""

    ops: tuple[Operation, ...]
    format: str
    """``jepsen-register`` | ``jepsen-kv`` | ``history`` (the harness JSONL)."""
    source: str = "<memory>"
    time_unit: TimeUnit = "ns"

    def by_key(self) -> dict[str | None, list[Operation]]:
        """Operations grouped per key, each group in invocation order."""
        groups: dict[str | None, list[Operation]] = {}
        for op in self.ops:
            groups.setdefault(op.key, []).append(op)
        return groups


@dataclass(frozen=True)
class CheckResult:
    """A checker's answer: the verdict, why, and which checker said so."""

    checker: str
    verdict: Verdict
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True only for a proven-valid verdict (``"unknown"`` is not valid)."""
        return self.verdict is True

    def to_dict(self) -> dict[str, Any]:
        return {"checker": self.checker, "verdict": self.verdict, "evidence": self.evidence}


@runtime_checkable
class Checker(Protocol):
    """A history checker. ``check`` must not mutate the history and must not do I/O."""

    name: str

    def check(self, history: History) -> CheckResult: ...


CheckerLike = Union[Checker, Callable[[History], CheckResult]]


def merge_verdicts(verdicts: Iterable[Verdict]) -> Verdict:
    """``False`` beats ``"unknown"`` beats ``True``; no verdicts at all is ``True``."""
    out: Verdict = True
    for v in verdicts:
        if v is False:
            return False
        if v != True:  # noqa: E712 - anything not exactly True/False counts as unknown
            out = "unknown"
    return out


def compose(results: Iterable[CheckResult], name: str = "compose") -> CheckResult:
    """One result from several: merged verdict, each checker's result under its name."""
    rs = list(results)
    return CheckResult(name, merge_verdicts(r.verdict for r in rs), {r.checker: r.to_dict() for r in rs})


def checker_name(checker: CheckerLike) -> str:
    return str(getattr(checker, "name", None) or getattr(checker, "__name__", None) or type(checker).__name__)


def check_safe(checker: CheckerLike, history: History) -> CheckResult:
    """Run a checker; an exception becomes verdict ``"unknown"`` with the error, not a crash.

    A checker bug must not take down a run's other checkers, nor be mistaken for a pass.
    """
    name = checker_name(checker)
    try:
        fn = checker.check if isinstance(checker, Checker) else checker
        return fn(history)
    except Exception as e:  # noqa: BLE001 - the point is to catch anything a checker raises
        return CheckResult(name, "unknown", {"error": f"{type(e).__name__}: {e}",
                                             "traceback": traceback.format_exc(limit=5)})


def ns_to_ms(ns: float) -> float:
    """Milliseconds with microsecond precision (the harness's reporting convention)."""
    return round(ns / 1e6, 3)
