"""History checkers: pure functions from a parsed history to a verdict with evidence.

Modules:

- ``model``: ``Operation``, ``History``, ``CheckResult``; ``merge_verdicts`` (False beats
  "unknown" beats True), ``compose``, ``check_safe`` (an exception becomes "unknown").
- ``formats``: ``load_history(path, fmt="auto")`` for ``jepsen-register``, ``jepsen-kv`` and
  the harness ``history`` JSONL; ``from_ops`` for recorder ``Op`` records in memory.
- ``datatypes``: the sequential specifications (register, kv-string) the consistency checkers share.
- ``linearizability``: per-key Wing-Gong/Lowe search (register and kv-string models).
- ``sequential``: sequential consistency (per key, then the whole history; ``sequential_problem``,
  ``sequential_graph``, ``sequential_search`` are its parts).
- ``registry``: checker name -> function, imported when used (``gbench check --model``); the
  sequential checker (and numpy) is not imported by this package, only through it.
- ``stale_reads``, ``lost_writes``, ``late_writes``: token-based anomaly checkers.
- ``session``: the session guarantees (read-your-writes, monotonic reads and writes,
  writes-follow-reads, PRAM, causal, consistent prefix); ``session_history``: the history
  contract they rely on (sessions, unique values, per-key version order) and what they derive.
- ``check_command``: ``gbench check`` (``run_check``, ``add_check_arguments``).
- ``reference``: the shared reference histories and their known verdicts.

    >>> from harness.checkers import load_history, check_linearizability
    >>> check_linearizability(load_history("history.jsonl")).verdict     # doctest: +SKIP
    True
"""
from __future__ import annotations

from harness.checkers.formats import FORMATS, detect_format, from_ops, load_history
from harness.checkers.late_writes import LateWritesChecker, check_late_writes
from harness.checkers.linearizability import LinearizabilityChecker, check_linearizability
from harness.checkers.lost_writes import LostWritesChecker, check_lost_writes
from harness.checkers.model import (Checker, CheckResult, History, Operation, Verdict, check_safe, compose,
                                    merge_verdicts)
from harness.checkers.stale_reads import StaleReadsChecker, check_stale_reads

__all__ = [
    "FORMATS", "detect_format", "from_ops", "load_history",
    "Operation", "History", "CheckResult", "Verdict", "Checker", "check_safe", "compose", "merge_verdicts",
    "check_linearizability", "LinearizabilityChecker",
    "check_stale_reads", "StaleReadsChecker",
    "check_lost_writes", "LostWritesChecker",
    "check_late_writes", "LateWritesChecker",
]
