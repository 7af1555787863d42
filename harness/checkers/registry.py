"""The checker registry: name -> the function that judges a history (imported only when used).

The contract every registered checker keeps (Jepsen's checker seam): a function
``check(history: History) -> CheckResult`` that reads nothing but the history (extra
parameters have defaults), does no I/O, and returns verdict ``True``, ``False`` (with
evidence) or ``"unknown"`` (with ``evidence["error"]`` saying why). ``gbench check --model``
takes its choices from ``CHECKERS``, and prints ``holds`` / ``violated`` per file.

Why lazy: a checker module with a broken import must cost the files judged with it, not
every command (the same reason as ``diagram_gen/render/__init__.py``). An entry's target is
``"module:function"``, or a callable (tests register stand-ins that way).

Not registered: ``availability`` (it reads the recorder's ``Op`` records, nemesis windows and
member polls and returns a report, not a verdict on a history).

    >>> get_checker("sequential")(load_history("history.jsonl")).verdict    # doctest: +SKIP
    True
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Union

from harness.checkers.model import CheckResult, History

CheckFn = Callable[[History], CheckResult]


@dataclass(frozen=True)
class CheckerEntry:
    target: Union[str, CheckFn]
    """``"package.module:function"`` or the function itself."""
    holds: str
    """What ``gbench check`` prints for verdict ``True``."""
    violated: str
    """What it prints for verdict ``False``."""
    summary: str
    options: tuple[str, ...] = ()
    """Keyword parameters ``gbench check`` must pass from its own options (``bound``: ``--bound``)."""


CHECKERS: dict[str, CheckerEntry] = {
    "linearizable": CheckerEntry("harness.checkers.linearizability:check_linearizability",
                                 "linearizable", "not-linearizable",
                                 "one order of all operations, consistent with real time, per key"),
    "sequential": CheckerEntry("harness.checkers.sequential:check_sequential", "sequential", "not-sequential",
                               "one order of all operations respecting each process's order (no real time)"),
    "stale-reads": CheckerEntry("harness.checkers.stale_reads:check_stale_reads", "no-stale-reads", "stale-reads",
                                "reads that missed a write acknowledged before they began (unique tokens)"),
    "lost-writes": CheckerEntry("harness.checkers.lost_writes:check_lost_writes", "no-lost-writes", "lost-writes",
                                "acknowledged writes the final reads show were undone"),
    "late-writes": CheckerEntry("harness.checkers.late_writes:check_late_writes", "no-late-writes", "late-writes",
                                "failed writes that were seen, indeterminate writes seen late"),
    "convergence": CheckerEntry("harness.checkers.convergence:check_convergence", "converged", "diverged",
                                "once writes stop, every node's last read returns one value a write could have "
                                "left last"),
    # the and the guarantee's name for the same check
    "eventual": CheckerEntry("harness.checkers.convergence:check_convergence", "converged", "diverged",
                             "eventual consistency: the convergence checker under the guarantee's name"),
    "bounded-staleness": CheckerEntry("harness.checkers.bounded_staleness:check_bounded_staleness", "bounded",
                                      "not-bounded", "every read at most K versions or T behind the writes "
                                      "acknowledged before it (--bound 3v | 100ms)", options=("bound",)),
    # session guarantees (harness/checkers/session.py; the history contract: session_history.py)
    "ryw": CheckerEntry("harness.checkers.session:check_read_your_writes", "read-your-writes",
                        "read-your-writes-violated", "no read misses an earlier acknowledged write of its session"),
    "monotonic-reads": CheckerEntry("harness.checkers.session:check_monotonic_reads", "monotonic-reads",
                                    "monotonic-reads-violated", "no session reads a key back to an older value"),
    "monotonic-writes": CheckerEntry("harness.checkers.session:check_monotonic_writes", "monotonic-writes",
                                     "monotonic-writes-violated", "the system orders each session's writes to a "
                                     "key in session order (revision keys)"),
    "wfr": CheckerEntry("harness.checkers.session:check_writes_follow_reads", "writes-follow-reads",
                        "writes-follow-reads-violated", "a session's write to a key is ordered after the writes "
                        "it had read there (revision keys)"),
    "pram": CheckerEntry("harness.checkers.session:check_pram", "pram", "pram-violated",
                         "read-your-writes + monotonic reads + monotonic writes"),
    "causal": CheckerEntry("harness.checkers.session:check_causal", "causal", "causal-violated",
                           "no read misses a write that happens-before it (session order and reads-from)"),
    "consistent-prefix": CheckerEntry("harness.checkers.session:check_consistent_prefix", "consistent-prefix",
                                      "consistent-prefix-violated", "no reader sees a gap in one writer's order"),
}
DEFAULT = "linearizable"


class CheckerMissing(Exception):
    """No usable checker under a name (not registered, module missing, no such function)."""


def names() -> list[str]:
    """Registered checker names, the default first."""
    return [DEFAULT] + sorted(n for n in CHECKERS if n != DEFAULT)


def entry(name: str) -> CheckerEntry:
    e = CHECKERS.get(name)
    if e is None:
        raise CheckerMissing(f"unknown checker {name!r} (expected one of: {', '.join(names())})")
    return e


def get_checker(name: str) -> CheckFn:
    """The checking function registered as ``name``, imported now."""
    target = entry(name).target
    if callable(target):
        return target
    module_name, _, fn_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise CheckerMissing(f"checker module {module_name} does not exist") from e
        raise CheckerMissing(f"checker module {module_name} failed to import: {e}") from e
    except Exception as e:  # a checker with a bug at import time costs only its own files
        raise CheckerMissing(f"checker module {module_name} failed to import: {type(e).__name__}: {e}") from e
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise CheckerMissing(f"checker module {module_name} has no function {fn_name}")
    return fn
