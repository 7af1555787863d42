"""Cassandra consistency levels as data (no driver import), so workload files are checked
before any cluster starts and the client and the spec agree on one table.

A level needs ``required(level, rf)`` replicas to answer (single datacenter). A level that
needs more replicas than the replication factor can never succeed: every request would be
``Unavailable``, so such a workload is rejected up front.
"""
from __future__ import annotations

from typing import Callable

from harness.config_fields import shown

_QUORUM: Callable[[int], int] = lambda rf: rf // 2 + 1  # noqa: E731
REQUIRED: dict[str, Callable[[int], int]] = {
    "ANY": lambda rf: 1, "ONE": lambda rf: 1, "LOCAL_ONE": lambda rf: 1, "TWO": lambda rf: 2,
    "THREE": lambda rf: 3, "QUORUM": _QUORUM, "LOCAL_QUORUM": _QUORUM, "EACH_QUORUM": _QUORUM,
    "ALL": lambda rf: rf, "SERIAL": _QUORUM, "LOCAL_SERIAL": _QUORUM,
}
LEVELS: tuple[str, ...] = tuple(REQUIRED)
SERIAL_LEVELS: tuple[str, ...] = ("SERIAL", "LOCAL_SERIAL")
READ_LEVELS: tuple[str, ...] = tuple(lv for lv in LEVELS if lv not in ("ANY", "EACH_QUORUM"))
WRITE_LEVELS: tuple[str, ...] = tuple(lv for lv in LEVELS if lv not in SERIAL_LEVELS)


def required(level: str, rf: int) -> int:
    return REQUIRED[level.upper()](rf)


def level_problem(kind: str, level: str, rf: int) -> str | None:
    """Why ``level`` cannot serve as a ``kind`` (read | write | serial) level at this RF, or None."""
    lv = level.upper()
    allowed = {"read": READ_LEVELS, "write": WRITE_LEVELS, "serial": SERIAL_LEVELS}[kind]
    if lv not in allowed:
        return f"{shown(level)} is not a {kind} consistency level (one of {', '.join(allowed)})"
    need = required(lv, rf)
    if need > rf:
        return (f"{lv} needs {need} replicas but replication_factor is {rf}: every request would fail "
                "with Unavailable")
    return None
