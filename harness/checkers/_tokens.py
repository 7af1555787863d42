"""Shared helpers for the token-based checkers (stale, lost and late writes).

Those checkers reason about *which write a read saw*, which needs every written value to be
unique per key (the harness writes unique tokens). Where values repeat (Jepsen's register
logs write 0..4 over and over) a read cannot be traced to one write, so a key with repeated
values is skipped and reported, never guessed at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Iterable

from harness.checkers.model import History, Operation, TimeUnit, ns_to_ms



def strong_levels(history: History, system: str | None = None) -> frozenset[str | None]:
    """The read levels of ``history`` a checker may trust to reflect the latest committed
    state: those whose class is ``strong`` (``harness.registry.level_class``: the system's
    plugin says, or with ``system`` None every registered plugin; a read without a level is
    the system's default read, ``strong`` when it has one kind of read). Reads at other levels
    may be stale by design: they still count as *observations* of a value, never as proof that
    a value was absent. ConfigError (from the registry) for a level no plugin knows."""
    from harness.registry import level_class

    found = {op.read_consistency for op in history.ops if op.is_read}
    return frozenset(lv for lv in found if level_class(lv, system) == "strong")


def trusted_levels(history: History, strict_levels: Collection[str | None] | None,
                   system: str | None) -> Collection[str | None]:
    """``strict_levels`` when the caller gives them, else :func:`strong_levels`."""
    return strong_levels(history, system) if strict_levels is None else strict_levels

WRITE_FS = frozenset({"put", "write", "cas"})
DELETE_FS = frozenset({"delete"})


def written_token(op: Operation) -> Any:
    """The value a write installs (cas: the new value). Only call for ``WRITE_FS`` ops."""
    return op.value[1] if op.f == "cas" else op.value


def is_acked(op: Operation) -> bool:
    """An acknowledged write or delete: ``ok``, and for cas the compare succeeded."""
    return op.outcome == "ok" and (op.f != "cas" or op.result is True)


def is_ok_read(op: Operation) -> bool:
    return op.is_read and op.outcome == "ok"


@dataclass
class KeyWrites:
    """One key's writes and reads, indexed for the token checkers."""

    key: str | None
    writes: list[Operation] = field(default_factory=list)
    """put/write/cas ops of any outcome, invocation order."""
    deletes: list[Operation] = field(default_factory=list)
    reads: list[Operation] = field(default_factory=list)
    """ok reads, invocation order."""
    by_token: dict[Any, Operation] = field(default_factory=dict)
    repeated: set[Any] = field(default_factory=set)
    """Values written more than once (their reads cannot be traced)."""
    other_fs: set[str] = field(default_factory=set)
    """Operations the token checkers do not understand (e.g. append)."""


def index_writes(history: History) -> dict[str | None, KeyWrites]:
    """Per key: writes by token, deletes, ok reads."""
    out: dict[str | None, KeyWrites] = {}
    for op in history.ops:
        kw = out.get(op.key)
        if kw is None:
            kw = out[op.key] = KeyWrites(op.key)
        if op.f in WRITE_FS:
            kw.writes.append(op)
            tok = written_token(op)
            if tok in kw.by_token or tok is None:
                kw.repeated.add(tok)
            kw.by_token.setdefault(tok, op)
        elif op.f in DELETE_FS:
            kw.deletes.append(op)
        elif op.is_read:
            if op.outcome == "ok":
                kw.reads.append(op)
        else:
            kw.other_fs.add(op.f)
    return out


def untraceable_reason(kw: KeyWrites) -> str | None:
    """Why this key's reads cannot be traced to writes, or None if they can."""
    if kw.other_fs:
        return f"operations {sorted(kw.other_fs)} are not token writes"
    if kw.repeated:
        return "written values are not unique (e.g. {!r})".format(next(iter(kw.repeated)))
    return None


def span(unit: TimeUnit, delta: float) -> float:
    """A duration for evidence: ms for ns histories, raw event distance otherwise."""
    return ns_to_ms(delta) if unit == "ns" else delta


def span_name(unit: TimeUnit, base: str) -> str:
    """``base_ms`` for ns histories, ``base_events`` for event-ordered (Jepsen) logs."""
    return f"{base}_ms" if unit == "ns" else f"{base}_events"


def describe_all(ops: Iterable[Operation], unit: TimeUnit) -> list[dict[str, Any]]:
    return [o.describe(unit) for o in ops]
