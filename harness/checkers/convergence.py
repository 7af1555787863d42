"""Convergence (eventual consistency): once writes to a key stop, every replica ends up
returning the same value, and that value is one the writes could have left last.

Per key, from a history whose reads name the node they were served by (``Operation.node``;
reads without one count as one more "node"):

- The key is *quiescent* from ``quiet_at``: the last moment any write (put, cas, delete) of
  the key could still take effect, i.e. the latest completion of an acknowledged or failed
  write, and for an indeterminate (``info``) write the time its client gave up (after that the
  history cannot tell, so such a write is assumed done by then). Reads invoked after it are
  the key's *settled* reads.
- The *candidate* final values: every acknowledged or indeterminate write not followed by
  an acknowledged write invoked after it was done (an acknowledged write: completed; an
  indeterminate one: its client gave up, the same assumption as above; one whose client never
  heard back may have taken effect last), for a delete absent (``None``); with no write at
  all, absent, and when every write is indeterminate, absent too (none may have taken
  effect). Failed writes are never candidates.
- The key *converged* when every node's last settled read returned one and the same value
  and that value is a candidate. ``converged_after``: for each node the invocation of the
  first settled read from which all its later reads return that value, the latest over the
  nodes, minus ``quiet_at`` (0 when every settled read already agreed).
- A key with writes but no settled read cannot be judged and is listed, not counted.

Verdict ``False`` when some key did not converge (its nodes' last reads disagree, or agree
on a value no write could have left last: ``keys_diverged_agreeing``, an acknowledged write
undone everywhere), ``"unknown"`` when no key has settled reads, else ``True``. Evidence: per
key (at most ``max_examples`` diverged and as many converged keys) the quiescent time, the
candidates, each node's last settled read and the time to converge; how many keys converged;
the largest time to converge.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checkers._tokens import span, span_name
from harness.checkers.model import INF, CheckResult, History, Operation

NAME = "convergence"
_WRITES = ("put", "write", "cas", "delete", "append")


def _settled_by(op: Operation) -> float:
    """When ``op`` (a write) can no longer take effect, as far as the history tells."""
    if op.complete != INF:
        return op.complete
    return op.give_up if op.give_up is not None else op.invoke


def _written(op: Operation) -> Any:
    """The value a write leaves (None: absent)."""
    if op.f == "delete":
        return None
    if op.f == "cas":
        return op.value[1] if isinstance(op.value, tuple) else None
    return op.value


def candidates(writes: list[Operation]) -> list[Any]:
    """The values the key's writes could have left last (see the module docstring)."""
    effective = [w for w in writes if w.outcome == "info" or (w.outcome == "ok" and (w.f != "cas" or w.result is True))]
    if not effective:
        return [None]
    last_acked_invoke = max((w.invoke for w in effective if w.outcome == "ok"), default=-INF)
    out: list[Any] = []
    for w in effective:
        done_by = w.complete if w.outcome == "ok" else w.give_up  # info: assumed done when its client gave up
        if done_by is not None and last_acked_invoke > done_by:
            continue  # overwritten: an acknowledged write began after it was done
        v = _written(w)
        if v not in out:
            out.append(v)
    if not any(w.outcome == "ok" for w in effective) and None not in out:
        out.append(None)  # every write indeterminate: none may have taken effect, the key still absent
    return out


@dataclass
class _KeyVerdict:
    quiet_at: float
    candidates: list[Any]
    last_by_node: dict[str, Any]
    converged: bool
    converged_after: float | None


def _judge_key(writes: list[Operation], settled: list[Operation], quiet_at: float) -> _KeyVerdict:
    cands = candidates(writes)
    by_node: dict[str, list[Operation]] = {}
    for r in settled:
        by_node.setdefault(str(r.node) if r.node is not None else "unknown", []).append(r)
    last = {n: rs[-1].result for n, rs in by_node.items()}
    values = set(map(repr, last.values()))
    common = next(iter(last.values()))
    converged = len(values) == 1 and common in cands
    after: float | None = None
    if converged:
        after = 0.0
        for rs in by_node.values():
            i = len(rs)
            while i > 0 and rs[i - 1].result == common:
                i -= 1
            after = max(after, rs[i].invoke - quiet_at if i > 0 else 0.0)
    return _KeyVerdict(quiet_at, cands, last, converged, after)


def check_convergence(history: History, max_examples: int = 100) -> CheckResult:
    """Judge every key that has writes and settled reads; see the module docstring."""
    unit = history.time_unit
    after_f = span_name(unit, "converged_after")
    per_key: dict[str, Any] = {}
    unjudged: list[str] = []
    diverged = converged = agreeing = shown_diverged = 0
    worst: float | None = None
    for key, ops in history.by_key().items():
        writes = [o for o in ops if o.f in _WRITES]
        reads = [o for o in ops if o.is_read and o.outcome == "ok"]
        if not writes:
            continue
        quiet_at = max(_settled_by(w) for w in writes)
        settled = [r for r in reads if r.invoke > quiet_at]
        if not settled:
            unjudged.append(str(key))
            continue
        v = _judge_key(writes, settled, quiet_at)
        if v.converged:
            converged += 1
            assert v.converged_after is not None
            worst = v.converged_after if worst is None else max(worst, v.converged_after)
        else:
            diverged += 1
            agreeing += len(set(map(repr, v.last_by_node.values()))) == 1
        if (shown_diverged < max_examples) if not v.converged else (len(per_key) - shown_diverged < max_examples):
            shown_diverged += not v.converged
            per_key[str(key)] = {"converged": v.converged, "quiet_at": span(unit, v.quiet_at),
                                 "candidates": v.candidates, "last_read_by_node": v.last_by_node,
                                 after_f: None if v.converged_after is None else span(unit, v.converged_after)}
    evidence: dict[str, Any] = {"keys_judged": converged + diverged, "keys_converged": converged,
                                "keys_diverged": diverged, "keys_diverged_agreeing": agreeing,
                                f"max_{after_f}": None if worst is None else span(unit, worst), "keys": per_key}
    if unjudged:
        evidence["keys_without_settled_reads"] = unjudged[:max_examples]
    if diverged:
        return CheckResult(NAME, False, evidence)
    if not converged:
        evidence["error"] = "no key has reads after its last write settled (issue final reads once writes stop)"
        return CheckResult(NAME, "unknown", evidence)
    return CheckResult(NAME, True, evidence)
