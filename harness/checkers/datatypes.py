"""The sequential specifications the consistency checkers judge histories against.

A ``Model`` says what one key's operations do when they run one at a time: its initial
state, how an ``Operation`` is encoded as a step input, and the step function. Both
``linearizability`` (one order consistent with real time) and ``sequential`` (one order
consistent with each process's own order) search for an order the model accepts, so they
share these definitions.

Models: ``register`` (read/get, write/put, cas, delete; initial value absent = ``None``)
and ``kv-string`` (get, put, append on strings; initial ``""``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from harness.checkers.model import INF, Operation

ILLEGAL = object()

# Step inputs are small tuples (kind, a, b); kinds below. ``READ_ONLY`` kinds never change
# the state, which is what makes the greedy-read rule sound.
READ, WRITE, CAS_OK, CAS_FAILED, CAS_MAYBE, DELETE, APPEND = range(7)
READ_ONLY = (READ, CAS_FAILED)


@dataclass(frozen=True)
class Model:
    """A sequential specification: its initial state and how each operation is encoded.

    ``encode`` returns the step input for an operation, or ``None`` if the operation
    constrains nothing (a failed op, an indeterminate read). ``step`` returns the new state,
    or ``ILLEGAL`` when the operation cannot happen in ``state``.
    """

    name: str
    init: Any
    encode: Callable[[Operation], tuple[Any, ...] | None]
    step: Callable[[Any, tuple[Any, ...]], Any]
    prune: Callable[[list[tuple[Operation, tuple[Any, ...]]]], list[tuple[Operation, tuple[Any, ...]]]] = (
        lambda items: items)
    """Drop ops that cannot matter to the verdict (see ``_register_prune``)."""
    once_only: Callable[[list[tuple[Any, ...]]], set[Any]] = lambda inputs: set()
    """States that, once left, can never come back (see ``_register_once_only``)."""


def _register_encode(op: Operation) -> tuple[Any, ...] | None:
    if op.outcome == "fail":
        return None
    f = op.f
    if f in ("read", "get"):
        return None if op.outcome != "ok" else (READ, op.result, None)
    if f in ("write", "put"):
        return (WRITE, op.value, None)
    if f == "cas":
        expected, new = op.value
        if op.outcome == "info":
            return (CAS_MAYBE, expected, new)
        return (CAS_OK, expected, new) if op.result is not False else (CAS_FAILED, expected, None)
    if f == "delete":
        return (DELETE, None, None)
    raise ValueError(f"register model has no operation {f!r} (op {op.index}, line {op.line})")


def _register_step(state: Any, inp: tuple[Any, ...]) -> Any:
    kind, a, b = inp
    if kind == READ:
        return state if state == a else ILLEGAL
    if kind == WRITE:
        return a
    if kind == CAS_OK:
        return b if state == a else ILLEGAL
    if kind == CAS_FAILED:
        return state if state != a else ILLEGAL
    if kind == CAS_MAYBE:
        return b if state == a else state
    return None  # DELETE


def _kv_encode(op: Operation) -> tuple[Any, ...] | None:
    if op.outcome == "fail":
        return None
    f = op.f
    if f in ("read", "get"):
        return None if op.outcome != "ok" else (READ, op.result, None)
    if f in ("write", "put"):
        return (WRITE, op.value, None)
    if f == "append":
        return (APPEND, op.value, None)
    raise ValueError(f"kv-string model has no operation {f!r} (op {op.index}, line {op.line})")


def _kv_step(state: Any, inp: tuple[Any, ...]) -> Any:
    kind, a, _ = inp
    if kind == READ:
        return state if state == a else ILLEGAL
    if kind == WRITE:
        return a
    return state + a  # APPEND


def _register_prune(items: list[tuple[Operation, tuple[Any, ...]]]) -> list[tuple[Operation, tuple[Any, ...]]]:
    """Drop indeterminate writes/cas/deletes whose value nobody can depend on.

    If no read returned the value an ``info`` op would install and no cas expects it (and
    the key has no failed-compare cas, which could depend on any value), then from any
    linearization that places it, removing it (and the pending cas that consequently did
    not apply) leaves a linearization: until the next write nothing could observe its value.
    Placing it "never" is allowed for ``info`` ops, so it is never needed. This keeps the
    memo small when a long history accumulates timed-out writes nobody read.
    """
    kinds = [inp[0] for _, inp in items]
    if CAS_FAILED in kinds:
        return items
    observed = {inp[1] for _, inp in items if inp[0] in (READ, CAS_OK, CAS_MAYBE)}
    out = []
    for op, inp in items:
        if op.complete == INF:
            installs = inp[2] if inp[0] == CAS_MAYBE else inp[1]  # write: a; delete: None
            if installs not in observed:
                continue
        out.append((op, inp))
    return out


def _register_once_only(inputs: list[tuple[Any, ...]]) -> set[Any]:
    """Values installed at most once (the initial absent value counts as one install).

    The harness writes unique tokens, so nearly every value qualifies. Once the register
    leaves such a value, an unplaced read of it can never be satisfied: the search prunes
    that branch at once instead of discovering it many steps later.
    """
    installs: dict[Any, int] = {None: 1}
    for kind, a, b in inputs:
        if kind in (WRITE, CAS_OK, CAS_MAYBE, DELETE):
            v = a if kind == WRITE else None if kind == DELETE else b
            installs[v] = installs.get(v, 0) + 1
    return {v for v, n in installs.items() if n == 1}


def _kv_once_only(inputs: list[tuple[Any, ...]]) -> set[Any]:
    """Strings read that, once left, never come back: appends only lengthen the string, so
    a state ``s`` can recur only through a put of some prefix of ``s``."""
    puts = [a for kind, a, _ in inputs if kind == WRITE]
    reads = {a for kind, a, _ in inputs if kind == READ} | {""}
    return {r for r in reads if not any(r.startswith(p) for p in puts)}


REGISTER = Model("register", None, _register_encode, _register_step, _register_prune, _register_once_only)
KV_STRING = Model("kv-string", "", _kv_encode, _kv_step, once_only=_kv_once_only)
MODELS: dict[str, Model] = {m.name: m for m in (REGISTER, KV_STRING)}


def model_for(fmt: str) -> Model:
    """The model a history format is judged with: kv files are strings, the rest registers."""
    return KV_STRING if fmt == "jepsen-kv" else REGISTER

