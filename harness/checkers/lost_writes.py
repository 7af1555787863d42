"""Lost writes: acknowledged writes that the final state shows were undone.

The final state per key comes either from an explicit ``final_state`` mapping (key to token,
``None`` = absent) or from the history's final reads: ``ok`` gets marked ``extra.final``
(the last one per key is used). Final reads at a level outside ``strict_levels`` (default:
the levels whose class is ``strong``, ``_tokens.strong_levels``) are ignored: a lagging
replica would make a write look lost.

The rule (sound, deliberately simple; values must be unique tokens per key):

1. **Final value is token ``v``**, written by ``w_v``. If ``w_v`` was acknowledged (``ok``;
   a cas whose compare succeeded), every acknowledged write, cas or delete of the key that
   was *invoked after ``w_v`` completed* (and completed before the final read was invoked)
   is lost: it certainly took effect after ``w_v``, and since ``v`` is written only once,
   seeing ``v`` at the end means its effect was undone. If ``w_v`` is ``info`` or ``fail``
   nothing is concluded: it may have taken effect late, over the others (the late-write
   checker reports that).
2. **Final value is absent.** Its possible sources are the initial state and the deletes
   that did not fail. If any such delete is ``info`` nothing is concluded. Otherwise every
   acknowledged write or cas invoked after the last of those deletes completed (after the
   start, if there were none) is lost.
3. A final value that no operation wrote is listed under ``unexplained_final_values`` (the
   linearizability checker reports it as a violation), not as a lost write.

Verdict: ``False`` if any write is lost; ``"unknown"`` when there is no final state at all
or no key could be checked; else ``True``.
"""
from __future__ import annotations

from typing import Any, Collection, Mapping

from harness.checkers._tokens import index_writes, is_acked, trusted_levels, untraceable_reason
from harness.checkers.model import INF, CheckResult, History, Operation

NAME = "lost-writes"


def final_reads(history: History, strict_levels: Collection[str | None] | None = None,
                system: str | None = None) -> dict[str | None, Operation]:
    """The last ``ok`` final read per key (by invocation), at a trusted consistency level."""
    strict_levels = trusted_levels(history, strict_levels, system)
    out: dict[str | None, Operation] = {}
    for op in history.ops:
        if op.final and op.is_read and op.outcome == "ok" and op.read_consistency in strict_levels:
            prev = out.get(op.key)
            if prev is None or op.invoke >= prev.invoke:
                out[op.key] = op
    return out


def check_lost_writes(history: History, final_state: Mapping[str, Any] | None = None,
                      strict_levels: Collection[str | None] | None = None, system: str | None = None
                      ) -> CheckResult:
    """Find acknowledged writes missing from the final state (rule in the module docstring).
    ``system``: whose plugin classes the read levels (None: looked up over every plugin)."""
    unit = history.time_unit
    if final_state is not None:
        finals: dict[Any, tuple[Any, float, Operation | None]] = {k: (v, INF, None) for k, v in final_state.items()}
    else:
        finals = {k: (op.result, op.invoke, op) for k, op in final_reads(history, strict_levels, system).items()}
    index = index_writes(history)
    lost: list[dict[str, Any]] = []
    unexplained: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    no_final = sorted(str(k) for k, kw in index.items()
                      if k not in finals and any(is_acked(w) for w in kw.writes))
    checked = 0
    for key, (value, final_at, read) in finals.items():
        kw = index.get(key)
        if kw is None:
            continue
        why = untraceable_reason(kw)
        if why:
            skipped[str(key)] = why
            continue
        checked += 1
        candidates = [o for o in kw.writes + kw.deletes if is_acked(o) and o.complete < final_at]
        explanation: dict[str, Any]
        if value is None:
            deletes = [d for d in kw.deletes if d.outcome != "fail"]
            if any(d.outcome != "ok" for d in deletes):
                continue
            after = max((d.complete for d in deletes), default=-INF)
            victims = [o for o in candidates if o.f != "delete" and o.invoke > after]
            explanation = {"final_value": None, "explained_by": [d.describe(unit) for d in deletes] or "initial state"}
        else:
            src = kw.by_token.get(value)
            if src is None:
                unexplained.append({"key": key, "final_value": value,
                                    "final_read": read.describe(unit) if read else None})
                continue
            if not is_acked(src):
                continue
            victims = [o for o in candidates if o.invoke > src.complete]
            explanation = {"final_value": value, "explained_by": src.describe(unit)}
        for w in victims:
            lost.append({"key": key, "write": w.describe(unit), **explanation,
                         "final_read": read.describe(unit) if read else None})
    evidence: dict[str, Any] = {"keys_checked": checked, "lost": lost}
    if no_final:
        evidence["keys_without_final_value"] = no_final
    if unexplained:
        evidence["unexplained_final_values"] = unexplained
    if skipped:
        evidence["skipped_keys"] = skipped
    if lost:
        return CheckResult(NAME, False, evidence)
    if not finals:
        evidence["error"] = "no final state: pass final_state or record final reads (extra.final)"
        return CheckResult(NAME, "unknown", evidence)
    if not checked:
        evidence["error"] = "no key with a final value could be checked"
        return CheckResult(NAME, "unknown", evidence)
    return CheckResult(NAME, True, evidence)


class LostWritesChecker:
    """``Checker`` protocol wrapper around ``check_lost_writes`` (final reads from the history)."""

    name = NAME

    def __init__(self, strict_levels: Collection[str | None] | None = None, system: str | None = None) -> None:
        self.strict_levels, self.system = strict_levels, system

    def check(self, history: History) -> CheckResult:
        return check_lost_writes(history, None, self.strict_levels, self.system)
