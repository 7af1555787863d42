"""``failure_summary.json``: what a fault scenario measured, in one file (Diagram 4's numbers).

Built from a scenario directory (``harness.scenario.runner``): ``history.jsonl`` (load,
nemesis records, final reads), ``members.jsonl`` (leader/term polls), ``timeline.json``,
``scenario.json`` (its ``system`` names the plugin whose level classes are used). Every
figure is computed from those files; a figure that could not be measured is the string
``"not measured: <reason>"`` (it always starts with ``not measured``), never a guess.

Schema version 2 (times in seconds; ``*_ms`` in milliseconds). No system's vocabulary: reads
are keyed by their level's class (``strong`` / ``session`` / ``weak``, from the system's
plugin through ``harness.registry.level_class``) and then by the level as the history spells
it (``default`` for a read without a level); writes by their level under ``writes_at``, or
``writes`` when they have none::

    {"schema_version": 2, "scenario": ..., "system": "etcd", "load_start_s": 12.3, "end_s": 70,
     "faults": [{"f": "partition", "type": "ok", "at_s": 10.0, "applied_over_ms": 95.1,
                 "groups": [["n1","n3"],["n2","n4","n5"]], "verified": true}, ...],
     "partition": {                                   # the first partition of the run
        "shape", "minority", "majority", "fault_at_s", "heal_started_at_s", "heal_in_effect_at_s",
        "election": {"leader_at_fault", "new_leader", "new_term", "elected_after_s", ...},
        "unavailability": {"side", "writes": {"first_ok_after_s", "gap_s", "first_ok"},
                           "writes_at": {LEVEL: {...}}, "reads": {CLASS: {LEVEL: {...}}}},
        "minority_behaviour": {"nodes", "writes": {"attempted", "ok", "fail", "info",
                                "rejected_by_error", "timed_out_by_error", "served", ...},
                               "writes_at": {LEVEL: {...}}, "reads": {CLASS: {LEVEL: {...}}},
                               "staleness": {CLASS: {LEVEL: {...}}}},   # reads below strong
        "recovery_after_heal": {"full_service_after_s", "slowest_node", "per_node"}},
     "outcomes": {"whole_run": {...}, "during_each_fault_by_side": {...}},
     "process_faults": {...},
     "checkers": ["linearizable", "sequential", "stale-reads", "lost-writes", "late-writes"],
     "linearizability": {CLASS: {LEVEL: {"verdict", "reads", "check_s", "evidence"}}},
     "sequential_consistency": {CLASS: {LEVEL: {...}}},
     "stale_reads": {...}, "lost_writes": {...}, "late_writes": {...}}

The sections after ``process_faults`` are one per checker that ran (``CHECKER_SECTIONS``),
listed in ``checkers`` by their names in ``harness.checkers.registry``. Each linearizability
and sequential-consistency verdict judges every write together with the reads of one level
only (final reads included). Reads below ``strong`` may be stale by
design, so a ``false`` there is the measured cost of serving them, not a bug; the evidence
carries the counterexample.

Schema 1 (until issue 11) keyed the same figures by etcd's words (``linearizable_reads``,
``serializable_reads``, ``reads_at_<LEVEL>``); the committed runs were regenerated from their
own histories (:func:`write_failure_summary`), and a reader of this file refuses any other
version (:func:`read_failure_summary`).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from harness.api import AfterFaultFindings, RestoredNodes
from harness.checkers.availability import check_availability, class_parts, classes_of, is_load, op_class
from harness.errors import DamagedFile
from harness.recorder.history import Op, read_history
from harness.scenario.members import read_polls

SCHEMA_VERSION = 2
MAX_EXAMPLES = 20
LINEARIZABILITY_MAX_STATES = 2_000_000
#: What a read without a level is called where levels are keys.
DEFAULT_LEVEL = "default"


def nm(reason: str) -> str:
    return f"not measured: {reason}"


def _or(value: Any, reason: str) -> Any:
    return nm(reason) if value is None else value


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.monotonic()
    r = fn()
    return r, round(time.monotonic() - t0, 3)


def trim_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence with long lists cut to MAX_EXAMPLES (their full length kept alongside)."""
    out: dict[str, Any] = {}
    for k, v in evidence.items():
        if isinstance(v, list) and len(v) > MAX_EXAMPLES:
            out[k] = v[:MAX_EXAMPLES]
            out[f"{k}_total"] = len(v)
        else:
            out[k] = v
    return out


def read_failure_summary(path: Path) -> dict[str, Any]:
    """A ``failure_summary.json`` of this schema version; DamagedFile naming the file when it
    is missing, unreadable or of another version (schema 1 keyed reads by etcd's words: its
    run must be regenerated with :func:`write_failure_summary`, never read as if it were 2)."""
    from harness.results.store import read_json

    doc = read_json(Path(path))
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise DamagedFile(str(path), f"schema_version {doc.get('schema_version')!r}, this harness reads "
                                     f"{SCHEMA_VERSION}: regenerate it from the scenario's history "
                                     "(python -m harness.scenario.failure_summary DIR)")
    return doc


def level_key(level: str | None) -> str:
    return DEFAULT_LEVEL if level is None else level


def _level_class(level: str | None, system: str | None) -> str:
    from harness.registry import level_class

    return level_class(level, system)


def by_class(items: Mapping[str | None, Any], system: str | None) -> dict[str, dict[str, Any]]:
    """``{level: x}`` -> ``{class: {level: x}}`` (classes in strong, session, weak order;
    levels in name order; a None level is ``default``)."""
    from harness.api import CONSISTENCY_CLASSES

    out: dict[str, dict[str, Any]] = {}
    for cls in CONSISTENCY_CLASSES:
        mine = {level_key(lv): x for lv, x in items.items() if _level_class(lv, system) == cls}
        if mine:
            out[cls] = dict(sorted(mine.items()))
    return out


def _class_summary(c: dict[str, Any]) -> dict[str, Any]:
    return {"attempted": c["attempted"], "ok": c["ok"], "fail": c["fail"], "info": c["info"],
            "rejected_by_error": c["errors"]["fail"], "timed_out_by_error": c["errors"]["info"],
            "served": c["served"], "invoked_during_completed_after_heal": c["completed_after_repair"],
            "first_ok_after_fault_s": c["first_ok_after_s"], "last_ok_after_fault_s": c["last_ok_after_s"]}


def _per_level(h: Any, system: str | None, check: Callable[[Any], Any]) -> dict[str, Any]:
    """Per read level: every write judged with only that level's reads (final reads included),
    by ``check`` (a history -> CheckResult), keyed by class and level."""
    from dataclasses import replace

    from harness.checkers.model import check_safe

    levels = {o.read_consistency for o in h.ops if o.is_read}
    out: dict[str | None, Any] = {}
    for lv in sorted(levels, key=lambda x: (x is not None, x or "")):
        only = replace(h, ops=tuple(o for o in h.ops if not (o.is_read and o.read_consistency != lv)))
        r, t = _timed(lambda only=only: check_safe(check, only))
        n = sum(1 for o in h.ops if o.is_read and o.read_consistency == lv)
        out[lv] = {"verdict": r.verdict, "reads": n, "check_s": t, "evidence": trim_evidence(r.evidence)}
    return by_class(out, system) if out else {"reads": nm("no reads in the history")}


def _linearizability(h: Any, system: str | None) -> dict[str, Any]:
    from harness.checkers.linearizability import check_linearizability

    return _per_level(h, system, lambda hh: check_linearizability(hh, max_states=LINEARIZABILITY_MAX_STATES))


def _sequential(h: Any, system: str | None) -> dict[str, Any]:
    from harness.checkers.registry import get_checker

    return _per_level(h, system, get_checker("sequential"))


def _convergence(h: Any, system: str | None) -> dict[str, Any]:
    from harness.checkers.convergence import check_convergence

    return _per_level(h, system, check_convergence)


def _stale(h: Any, system: str | None) -> tuple[dict[str, Any], Any]:
    from harness.checkers.model import check_safe
    from harness.checkers.stale_reads import check_stale_reads

    stale = check_safe(lambda hh: check_stale_reads(hh, max_examples=10**9, system=system), h)
    return {"verdict": stale.verdict, "evidence": trim_evidence(stale.evidence)}, stale


def _lost(h: Any, system: str | None) -> dict[str, Any]:
    from harness.checkers.lost_writes import check_lost_writes
    from harness.checkers.model import check_safe

    lost = check_safe(lambda hh: check_lost_writes(hh, system=system), h)
    le = lost.evidence
    return {"verdict": lost.verdict, "count": len(le.get("lost", [])) if "lost" in le else
            nm(le.get("error", "checker failed")), **trim_evidence(le)}


def _late(h: Any, system: str | None) -> dict[str, Any]:
    from harness.checkers.late_writes import check_late_writes
    from harness.checkers.model import check_safe

    late = check_safe(lambda hh: check_late_writes(hh, system=system), h)
    lt = late.evidence
    return {"verdict": late.verdict,
            "count": len(lt["late_writes"]) if "late_writes" in lt else nm(lt.get("error", "checker failed")),
            "failed_writes_observed": len(lt.get("failed_writes_observed", [])),
            "proven_late": sum(1 for x in lt.get("late_writes", []) if x.get("proven_late")),
            **trim_evidence(lt)}


#: checker (its name in ``harness.checkers.registry``) -> (section of the summary, what builds
#: it from the history and the system). The models (linearizable, sequential) judge each read
#: level apart; the token checkers the whole history.
CHECKER_SECTIONS: dict[str, tuple[str, Callable[[Any, str | None], Any]]] = {
    "linearizable": ("linearizability", _linearizability),
    "sequential": ("sequential_consistency", _sequential),
    "stale-reads": ("stale_reads", lambda h, system: _stale(h, system)[0]),
    "lost-writes": ("lost_writes", _lost),
    "late-writes": ("late_writes", _late),
    "convergence": ("convergence", _convergence),
}


def _checkers(ops: list[Op], system: str | None) -> tuple[dict[str, Any], Any]:
    """The checker sections, and the stale-reads result in full (the staleness figures)."""
    from harness.checkers.formats import from_ops

    h = from_ops(ops, "history.jsonl")
    out: dict[str, Any] = {"checkers": list(CHECKER_SECTIONS)}
    stale_full = None
    for name, (section, build) in CHECKER_SECTIONS.items():
        if name == "stale-reads":
            out[section], stale_full = _stale(h, system)
        else:
            out[section] = build(h, system)
    return out, stale_full


def _staleness(stale: Any, level: str | None, proc_node: dict[Any, str], minority: list[str], start_ns: int,
               end_ns: int | None, served: int) -> dict[str, Any]:
    """How stale the minority's reads at ``level`` during the partition were."""
    ev = getattr(stale, "evidence", {}) or {}
    if "stale_reads" not in ev:
        return {"stale": nm(f"stale-reads checker: {ev.get('error', 'no result')}")}
    rows = []
    for ex in ev["stale_reads"]:
        r = ex.get("read", {})
        if ex.get("read_consistency") != level or proc_node.get(r.get("process")) not in minority:
            continue
        inv = r.get("invoke_ms")
        if inv is None or inv * 1e6 < start_ns or (end_ns is not None and inv * 1e6 >= end_ns):
            continue
        rows.append(ex)
    from harness.results.percentiles import nearest_rank
    ms = sorted(x["stale_ms"] for x in rows if x.get("stale_ms") is not None)
    sup = sorted(x["superseded_ms"] for x in rows if x.get("superseded_ms") is not None)
    vs = sorted(x.get("versions", 0) for x in rows)
    none = "no stale read"
    return {"served_reads": served, "stale_reads": len(rows),
            "stale_share": round(len(rows) / served, 4) if served else nm(f"no {level_key(level)} read served"),
            "superseded_ms_p50": _or(nearest_rank(sup, 50), none), "superseded_ms_p99": _or(nearest_rank(sup, 99), none),
            "superseded_ms_max": _or(sup[-1] if sup else None, none),
            "stale_ms_p50": _or(nearest_rank(ms, 50), none), "stale_ms_max": _or(ms[-1] if ms else None, none),
            "versions_behind_p50": _or(nearest_rank(vs, 50), none), "versions_behind_max": _or(vs[-1] if vs else None, none),
            "examples": rows[:3],
            "definition": "harness.checkers.stale_reads: a read is stale when it missed writes acknowledged before "
                          "it began; superseded_ms = read start minus the acknowledgement of the oldest missed "
                          "write (how long the value returned had been overwritten), stale_ms = the same for the "
                          "newest missed write, versions_behind = how many acknowledged writes it missed"}


def _split(per_class: Mapping[str, Any], system: str | None, write: Callable[[str, Any], Any],
           read: Callable[[str, Any], Any], none_written: str) -> dict[str, Any]:
    """``{op class: x}`` -> ``writes`` / ``writes_at`` / ``reads`` (by level class)."""
    writes_at = {class_parts(c)[1]: write(c, x) for c, x in sorted(per_class.items())
                 if class_parts(c)[0] == "write" and class_parts(c)[1] is not None}
    reads = {class_parts(c)[1]: read(c, x) for c, x in per_class.items() if class_parts(c)[0] == "read"}
    plain = per_class.get("write")
    return {"writes": write("write", plain) if plain is not None else
            nm(none_written if not writes_at else "writes are made at a consistency level here: see writes_at"),
            "writes_at": writes_at, "reads": by_class(reads, system)}


def _partition_section(av: dict[str, Any], ops: list[Op], stale: Any, rel: Callable[[float | None], Any],
                       system: str | None) -> Any:
    w = next((x for x in av["windows"] if x["fault"] == "partition"), None)
    if w is None:
        return nm("the scenario has no partition that took effect")
    sides = w["sides"]
    avail = w["available_side"]
    minority_label = next((lb for lb in sides if lb != avail), None)
    minority = sides.get(minority_label, []) if minority_label else []
    start_ns = int(round(w["start_s"] * 1e9))
    end_ns = int(round(w["end_s"] * 1e9)) if w["end_s"] is not None else None
    ld = w.get("leader") or {}
    no_polls = ("no member polls in members.jsonl (the system reports no member status, so no leader is "
                "followed)")
    election = {
        "leader_at_fault": _or(ld.get("leader_before") or w["value"].get("leader"), no_polls),
        "new_leader": _or(ld.get("new_leader"), "no poll showed a new leader on the majority" if ld else no_polls),
        "new_term": _or(ld.get("new_term"), "no new leader observed" if ld else no_polls),
        "elected_after_s": _or(ld.get("elected_after_s"), "no new leader observed" if ld else no_polls),
        "elected_not_before_s": _or(ld.get("elected_not_before_s"), "no new leader observed" if ld else no_polls),
        "old_leader_stepped_down_after_s": _or(ld.get("old_leader_stepped_down_after_s"),
                                               "the old leader kept claiming leadership" if ld else no_polls),
        "old_leader_stepped_down_not_before_s": _or(ld.get("old_leader_stepped_down_not_before_s"),
                                                    "the old leader kept claiming leadership" if ld else no_polls),
        "poll_interval_median_ms": _or(av["poll_interval"].get("median_ms"), no_polls),
        "method": "member polls (the status of every member, in parallel, every poll interval), seconds after "
                  "the partition was in place: elected_after_s = the first poll showing a majority member "
                  "leading with a higher term (an upper bound), elected_not_before_s = the poll before it",
    }
    un = {c: x for c, x in (w.get("unavailability") or {}).items() if x is not None}

    def first_ok(c: str, x: Mapping[str, Any]) -> dict[str, Any]:
        kind, lv = class_parts(c)
        what = f"{kind} at {lv}" if lv else kind
        return {"first_ok_after_s": _or(x.get("first_ok_after_s"),
                                        f"no {what} invoked on the majority after the fault succeeded"),
                "gap_s": _or(x.get("gap_s"), f"no ok {what} before and after the fault"),
                "first_ok": x.get("first_ok")}

    unavailability = {"side": avail, **_split(un, system, first_ok, first_ok, "no write clients on the majority"),
                      "method": "history: seconds from the partition being in place (every rule added) to the "
                                "completion of the first successful operation of the class invoked after it, by a "
                                "client pinned to a majority node (first_ok_after_s); gap_s = from the last success "
                                "completing before the fault to the first completing after it"}
    during = w["during"].get(minority_label, {}) if minority_label else {}
    proc_node = {o.process: o.node for o in ops if is_load(o) and o.node}
    present = {c for o in ops if is_load(o) and (c := op_class(o)) is not None}

    def behaviour(c: str, x: Any) -> Any:
        kind, lv = class_parts(c)
        what = f"{lv} {kind}s" if lv else f"{kind}s"
        return _class_summary(x) if x and x.get("attempted") else \
            nm(f"no {what} attempted on the minority during the partition")

    minority_section: dict[str, Any] = {"nodes": minority, **_split(
        {c: during.get(c) for c in present}, system, behaviour, behaviour,
        "no writes attempted on the minority during the partition")}
    staleness: dict[str | None, Any] = {}
    for c in sorted(present):
        kind, lv = class_parts(c)
        x = during.get(c)
        if kind == "read" and _level_class(lv, system) != "strong" and x and x.get("attempted"):
            staleness[lv] = _staleness(stale, lv, proc_node, minority, start_ns, end_ns, x["ok"])
    minority_section["staleness"] = by_class(staleness, system)
    rec = w.get("recovery")
    recovery: Any
    if rec is None:
        recovery = nm("the partition was never healed")
    else:
        recovery = {"full_service_after_s": _or(rec["full_service_after_s"],
                                                "some node served no write / read above weak after the heal"),
                    "slowest_node": _or(rec["slowest_node"], "some node never recovered"),
                    "every_node_recovered": rec["every_node_recovered"], "per_node": rec["per_node"],
                    "no_ops_after_heal": rec["no_ops_after_repair"],
                    "method": "per node and operation class: seconds from the start of the heal to the first "
                              "success completing after it (0 when the node was already serving the class in "
                              "the second before the heal); full service = the largest over every node, of "
                              "writes and of reads whose level class is not weak"}
    return {"shape": w["value"].get("shape"), "groups": w["value"].get("groups"), "minority": minority,
            "majority": sides.get(avail, []) if avail else [],
            "fault_at_s": rel(w["start_s"]),
            "heal_started_at_s": rel(w["end_s"]) if w["end_s"] is not None else nm("never healed"),
            "heal_in_effect_at_s": rel(w["repaired_s"]) if w["repaired_s"] is not None else nm("never healed"),
            "applied_over_ms": w["applied_over_ms"], "heal_applied_over_ms": w["repair_applied_over_ms"],
            "election": election, "unavailability": unavailability, "minority_behaviour": minority_section,
            "recovery_after_heal": recovery,
            "per_second": f"availability.json: windows[{w['index']}].timeline (per side: attempted/ok/fail/info, "
                          "p50/p99 of ok latencies, by second after the fault)"}


def _outcomes(av: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    load = [o for o in ops if is_load(o)]
    whole: dict[str, Any] = {}
    for cls in classes_of(load):
        c = {"attempted": 0, "ok": 0, "rejected (fail)": {}, "timed_out_or_unknown (info)": {}}
        for o in load:
            if op_class(o) != cls:
                continue
            c["attempted"] += 1
            if o.type == "ok":
                c["ok"] += 1
            else:
                k = "rejected (fail)" if o.type == "fail" else "timed_out_or_unknown (info)"
                c[k][o.error or "unknown"] = c[k].get(o.error or "unknown", 0) + 1
        whole[cls] = c
    by_side = {}
    for w in av["windows"]:
        by_side[f"{w['fault']}#{w['index']}"] = {
            side: {cls: {"fail": d[cls]["errors"]["fail"], "info": d[cls]["errors"]["info"]} for cls in d}
            for side, d in w["during"].items()}
    return {"whole_run": whole, "during_each_fault_by_side": by_side}


def build_failure_summary(directory: Path) -> dict[str, Any]:
    """The summary dict for a scenario directory (also writes ``availability.json``)."""
    directory = Path(directory)
    hist = directory / "history.jsonl"
    if not hist.exists() and hist.with_name("history.jsonl.gz").exists():  # compressed by the session
        hist = hist.with_name("history.jsonl.gz")
    ops = list(read_history(hist))
    polls = read_polls(directory / "members.jsonl")
    from harness.results.store import read_json

    tl = read_json(directory / "timeline.json")  # DamagedFile naming the file: never an empty guess
    scen = read_json(directory / "scenario.json")
    t0 = tl.get("load_start_ns")

    def rel(s: float | None) -> Any:
        if s is None:
            return None
        return round(s - t0 / 1e9, 6) if t0 is not None else s

    system = scen.get("system")
    av = check_availability(ops, polls, nodes=[f"n{i}" for i in range(1, int(scen.get("nodes", 0)) + 1)] or None,
                            system=system)
    (directory / "availability.json").write_text(json.dumps(av, indent=1))
    checks, stale_full = _checkers(ops, system)
    faults = []
    for o in ops:
        if not o.is_nemesis:
            continue
        v = o.value if isinstance(o.value, dict) else {}
        ver = (o.extra or {}).get("verification")
        faults.append({"f": o.f, "type": o.type, "error": o.error,
                       "at_s": rel(o.invoke_ns / 1e9), "in_effect_at_s": rel((o.complete_ns or o.invoke_ns) / 1e9),
                       "applied_over_ms": round(((o.complete_ns or o.invoke_ns) - o.invoke_ns) / 1e6, 3),
                       "groups": v.get("groups"), "nodes": v.get("nodes"),
                       "verified": ver.get("ok") if isinstance(ver, dict) else nm("no verification for this fault"),
                       "final_cleanup": bool((o.extra or {}).get("final_cleanup"))})
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "scenario": scen.get("name"), "source": scen.get("source"),
        "system": system,
        "nodes": scen.get("nodes"), "load_start_s": t0 / 1e9 if t0 is not None else nm("the load never started"),
        "end_s": scen.get("end"),
        "times": "seconds after the load start (at: 0 of the timeline), unless named *_after_*",
        "ops": {"load": av["ops"]["load"], "final_reads": sum(1 for o in ops if (o.extra or {}).get("final")),
                "nemesis": av["ops"]["nemesis"]},
        "faults": faults,
        "partition": _partition_section(av, ops, stale_full, rel, system),
        "leader_changes": [{**c, "t_s": rel(c["t_s"])} for c in av["leader_changes"]],
        "outcomes": _outcomes(av, ops),
        "process_faults": _process_section(av, rel, directory, tl, system),
    }
    summary.update(checks)
    return summary


def _process_section(av: dict[str, Any], rel: Callable[[float | None], Any], directory: Path,
                     tl: dict[str, Any], system: Any) -> Any:
    """Kills and pauses: what the other nodes served meanwhile, per class; and, when the
    system's plugin reads its own logs for it (``harness.api.AfterFaultFindings``, e.g.
    Cassandra's hinted handoff), what the cluster did for the node once it was back, under the
    plugin's ``window_field`` per window and ``totals_field`` for the run ("not measured" with
    the reason when the run does not have the node logs)."""
    wins = [w for w in av["windows"] if w["fault"] in ("kill", "pause")]
    if not wins:
        return nm("the scenario kills or pauses no node")
    from harness.results.store import read_json

    nodes = read_json(directory / "nodes.json") if (directory / "nodes.json").exists() else {}
    out = []
    for w in wins:
        end_s = rel(w["end_s"]) if w["end_s"] is not None else None
        out.append({
            "fault": w["fault"], "nodes": w["sides"].get("affected", []), "at_s": rel(w["start_s"]),
            "restored_at_s": end_s if end_s is not None else nm("never restored"),
            "others_served": {cls: _class_summary(c) for cls, c in sorted(w["during"].get("rest", {}).items())
                              if c.get("attempted")},
        })
    section: dict[str, Any] = {"windows": out}
    from harness.registry import system_plugin

    plugin = system_plugin(system, str(directory / "scenario.json"), "system") if system is not None else None
    if isinstance(plugin, AfterFaultFindings):
        findings, totals = _after_fault_findings(plugin, wins, nodes, rel, directory, tl)
        for entry, found in zip(out, findings):
            entry[plugin.window_field] = found
        section[plugin.totals_field] = totals
    return section


def _after_fault_findings(plugin: AfterFaultFindings, wins: list[dict[str, Any]], nodes: Mapping[str, Any],
                          rel: Callable[[float | None], Any], directory: Path,
                          tl: dict[str, Any]) -> tuple[list[Any], Any]:
    """The plugin's findings per window and its totals, from the node logs the run kept; both
    "not measured" naming what is missing when a log (or nodes.json) is not there."""
    if not nodes:
        why = nm("nodes.json (node logs) not in the scenario dir")
        return [why] * len(wins), why
    found = {n: (v["log"], run_log(directory, v["log"])) for n, v in nodes.items() if v.get("log")}
    missing = sorted(rec if p is None else str(p) for rec, p in found.values()
                     if p is None or (not p.exists() and not p.with_name(p.name + ".gz").exists()))
    if missing:
        why = nm(f"node logs not found: {', '.join(missing)}")
        return [why] * len(wins), why
    restored = [RestoredNodes(frozenset(nodes.get(n, {}).get("host") for n in w["sides"].get("affected", [])),
                              rel(w["end_s"]) if w["end_s"] is not None else None) for w in wins]
    return plugin.after_fault_findings({n: p for n, (_, p) in found.items() if p is not None}, restored,
                                       tl.get("load_start_epoch_s"))


def run_log(directory: Path, recorded: str) -> Path | None:
    """Where a node log that ``nodes.json`` names is now. The runner records the path inside
    ``results/.tmp-<run-id>/`` (the run's directory before it was published) and the run may
    since have been renamed or moved, so the path is taken relative to the run directory
    (``<run>/scenarios/<scenario>/`` is ``directory``): ``nodes/n1.log`` under this run.
    None when the recorded path is not in a ``nodes/`` folder (no log of the run: the external
    provider records ``/dev/null``)."""
    parts = Path(recorded).parts
    if len(parts) < 2 or parts[-2] != "nodes":
        return None
    return directory.parent.parent / "nodes" / parts[-1]


def write_failure_summary(directory: Path) -> Path:
    directory = Path(directory)
    s = build_failure_summary(directory)
    out = directory / "failure_summary.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(s, indent=2, default=str))
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.scenario.failure_summary DIR...``: (re)write ``failure_summary.json``
    and ``availability.json`` of scenario directories from their own recorded files (history,
    member polls, timeline, node logs); the recorded files are only read. A DIR that is not a
    directory is bad input (exit 2, before anything is written); a scenario whose files cannot
    be read stops there with one line naming it and why (exit 1)."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m harness.scenario.failure_summary",
                                description="(re)write failure_summary.json of scenario directories from their "
                                            "recorded files")
    p.add_argument("dirs", nargs="+", metavar="SCENARIO_DIR")
    args = p.parse_args(argv)
    for d in args.dirs:
        if not Path(d).is_dir():
            print(f"{d}: not a directory (give a run's scenarios/<name>/ directory)", file=sys.stderr)
            return 2
    for d in args.dirs:
        try:
            print(write_failure_summary(Path(d)))
        except (OSError, DamagedFile, ValueError) as e:
            reason = f"{e.strerror}: {e.filename}" if isinstance(e, OSError) and e.strerror else str(e)
            print(f"{d}: cannot summarize: {reason}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
