"""``failure_summary.json``: what a fault scenario measured, in one file (Diagram 4's numbers).

Built from a scenario directory (``harness.scenario.runner``): ``history.jsonl`` (load,
nemesis records, final reads), ``members.jsonl`` (leader/term polls), ``timeline.json``.
Every figure is computed from those files; a figure that could not be measured is the
string ``"not measured: <reason>"`` (it always starts with ``not measured``), never a guess.

Schema version 1 (times in seconds; ``*_ms`` in milliseconds)::

    {"schema_version": 1, "scenario": ..., "load_start_s": 12.3, "end_s": 70,
     "faults": [{"f": "partition", "type": "ok", "at_s": 10.0, "applied_over_ms": 95.1,
                 "groups": [["n1","n3"],["n2","n4","n5"]], "verified": true}, ...],
     "partition": {                                   # the first partition of the run
        "shape", "minority", "majority", "leader_at_fault", "fault_at_s", "healed_at_s",
        "election": {"new_leader", "new_term", "elected_after_s", "elected_not_before_s",
                     "old_leader_stepped_down_after_s", "poll_interval_median_ms"},
        "unavailability": {"majority_first_ok_write_after_s", "majority_write_gap_s",
                           "majority_first_ok_linearizable_read_after_s"},
        "minority": {"writes" | "linearizable_reads" | "serializable_reads":
                        {"attempted", "ok", "fail", "info", "rejected_by_error", "timed_out_by_error",
                         "served", ...}, "serializable_staleness": {...}},
        "recovery_after_heal": {"full_service_after_s", "slowest_node", "per_node"}},
     "outcomes": {"by_side": {...}, "whole_run": {...}},   # rejected (fail) / timeout (info) counts
     "lost_writes": {"verdict", "count", "examples"}, "late_writes": {...},
     "linearizability": {"linearizable_reads": {"verdict", "evidence"},
                         "serializable_reads": {"verdict", "evidence"}},
     "stale_reads": {...}}

The two linearizability verdicts judge every write together with only the linearizable
reads, and with only the serializable reads (final reads included in each). Serializable
reads may be stale by design, so a ``false`` there is the measured cost of serving reads
from a minority, not a bug; the evidence carries the counterexample.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from harness.checkers.availability import CLASSES, check_availability, classes_of, is_load, op_class
from harness.recorder.history import Op, read_history
from harness.scenario.members import read_polls

SCHEMA_VERSION = 1
MAX_EXAMPLES = 20
LINEARIZABILITY_MAX_STATES = 2_000_000


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


def _class_summary(c: dict[str, Any]) -> dict[str, Any]:
    return {"attempted": c["attempted"], "ok": c["ok"], "fail": c["fail"], "info": c["info"],
            "rejected_by_error": c["errors"]["fail"], "timed_out_by_error": c["errors"]["info"],
            "served": c["served"], "invoked_during_completed_after_heal": c["completed_after_repair"],
            "first_ok_after_fault_s": c["first_ok_after_s"], "last_ok_after_fault_s": c["last_ok_after_s"]}


def _checkers(ops: list[Op]) -> dict[str, Any]:
    from harness.checkers.formats import from_ops
    from harness.checkers.late_writes import check_late_writes
    from harness.checkers.linearizability import check_linearizability
    from harness.checkers.lost_writes import check_lost_writes
    from harness.checkers.model import check_safe
    from harness.checkers.stale_reads import check_stale_reads

    h = from_ops(ops, "history.jsonl")
    out: dict[str, Any] = {}
    lin, t_lin = _timed(lambda: check_safe(lambda hh: check_linearizability(
        hh, max_states=LINEARIZABILITY_MAX_STATES, skip_read_consistency=frozenset({"serializable"})), h))
    ser, t_ser = _timed(lambda: check_safe(lambda hh: check_linearizability(
        hh, max_states=LINEARIZABILITY_MAX_STATES, skip_read_consistency=frozenset({"linearizable"})), h))
    n_lin = sum(1 for o in h.ops if o.is_read and o.read_consistency == "linearizable")
    n_ser = sum(1 for o in h.ops if o.is_read and o.read_consistency == "serializable")
    out["linearizability"] = {
        "linearizable_reads": {"verdict": lin.verdict if n_lin else nm("no linearizable reads in the history"),
                               "reads": n_lin, "check_s": t_lin, "evidence": trim_evidence(lin.evidence)},
        "serializable_reads": {"verdict": ser.verdict if n_ser else nm("no serializable reads in the history"),
                               "reads": n_ser, "check_s": t_ser, "evidence": trim_evidence(ser.evidence)},
    }
    # Any other read level (Cassandra's ONE, QUORUM, SERIAL...): every write with only its reads.
    levels = sorted({o.read_consistency for o in h.ops if o.is_read and o.read_consistency
                     and o.read_consistency not in ("linearizable", "serializable")})
    for lv in levels:
        skip = frozenset(x for x in levels if x != lv) | {"linearizable", "serializable"}
        r, t = _timed(lambda skip=skip: check_safe(lambda hh: check_linearizability(
            hh, max_states=LINEARIZABILITY_MAX_STATES, skip_read_consistency=skip), h))
        n = sum(1 for o in h.ops if o.is_read and o.read_consistency == lv)
        out["linearizability"][f"reads_at_{lv}"] = {"verdict": r.verdict, "reads": n, "check_s": t,
                                                    "evidence": trim_evidence(r.evidence)}
    stale = check_safe(lambda hh: check_stale_reads(hh, max_examples=10**9), h)
    lost = check_safe(check_lost_writes, h)
    late = check_safe(check_late_writes, h)
    out["_stale_full"] = stale
    out["stale_reads"] = {"verdict": stale.verdict, "evidence": trim_evidence(stale.evidence)}
    le = lost.evidence
    out["lost_writes"] = {"verdict": lost.verdict, "count": len(le.get("lost", [])) if "lost" in le else
                          nm(le.get("error", "checker failed")), **trim_evidence(le)}
    lt = late.evidence
    out["late_writes"] = {"verdict": late.verdict,
                          "count": len(lt["late_writes"]) if "late_writes" in lt else nm(lt.get("error", "checker failed")),
                          "failed_writes_observed": len(lt.get("failed_writes_observed", [])),
                          "proven_late": sum(1 for x in lt.get("late_writes", []) if x.get("proven_late")),
                          **trim_evidence(lt)}
    return out


def _staleness(stale: Any, proc_node: dict[Any, str], minority: list[str], start_ns: int, end_ns: int | None,
               served: int) -> dict[str, Any]:
    """How stale the minority's serializable reads during the partition were."""
    ev = getattr(stale, "evidence", {}) or {}
    if "stale_reads" not in ev:
        return {"stale": nm(f"stale-reads checker: {ev.get('error', 'no result')}")}
    rows = []
    for ex in ev["stale_reads"]:
        r = ex.get("read", {})
        if ex.get("read_consistency") != "serializable" or proc_node.get(r.get("process")) not in minority:
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
            "stale_share": round(len(rows) / served, 4) if served else nm("no serializable read served"),
            "superseded_ms_p50": _or(nearest_rank(sup, 50), none), "superseded_ms_p99": _or(nearest_rank(sup, 99), none),
            "superseded_ms_max": _or(sup[-1] if sup else None, none),
            "stale_ms_p50": _or(nearest_rank(ms, 50), none), "stale_ms_max": _or(ms[-1] if ms else None, none),
            "versions_behind_p50": _or(nearest_rank(vs, 50), none), "versions_behind_max": _or(vs[-1] if vs else None, none),
            "examples": rows[:3],
            "definition": "harness.checkers.stale_reads: a read is stale when it missed writes acknowledged before "
                          "it began; superseded_ms = read start minus the acknowledgement of the oldest missed "
                          "write (how long the value returned had been overwritten), stale_ms = the same for the "
                          "newest missed write, versions_behind = how many acknowledged writes it missed"}


def _partition_section(av: dict[str, Any], ops: list[Op], checks: dict[str, Any], rel: Callable[[float | None], Any]
                       ) -> Any:
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
    no_polls = ("the system has no leader (leaderless replication): nothing to elect"
                if w.get("leaderless") else "no member polls (members.jsonl empty)")
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
        "method": "member polls (Status of every member, in parallel, every poll interval), seconds after the "
                  "partition was in place: elected_after_s = the first poll showing a majority member leading "
                  "with a higher term (an upper bound), elected_not_before_s = the poll before it",
    }
    un = w.get("unavailability") or {}
    # Writes at a level (Cassandra): the strongest level present stands for "a write".
    leveled = [c for c in ("write_ALL", "write_QUORUM", "write_ONE") if un.get(c)]
    wr, lr = un.get("write") or (un.get(leveled[0]) if leveled else None), un.get("linearizable_read")
    unavailability = {
        "write_class": "write" if un.get("write") else (leveled[0] if leveled else None),
        "majority_first_ok_write_after_s": _or(wr and wr.get("first_ok_after_s"),
                                               "no write invoked on the majority after the fault succeeded"
                                               if wr else "no write clients on the majority"),
        "majority_write_gap_s": _or(wr and wr.get("gap_s"), "no ok write before and after the fault"),
        "majority_first_ok_linearizable_read_after_s": _or(
            lr and lr.get("first_ok_after_s"),
            "no linearizable read invoked on the majority after the fault succeeded" if lr else
            "no linearizable-read clients on the majority"),
        "first_ok_write": wr.get("first_ok") if wr else None,
        "method": "history: seconds from the partition being in place (every rule added) to the completion of "
                  "the first successful write invoked after it, by a client pinned to a majority node",
    }
    during = w["during"].get(minority_label, {}) if minority_label else {}
    proc_node = {o.process: o.node for o in ops if is_load(o) and o.node}
    ser = during.get("serializable_read")
    minority_section: dict[str, Any] = {
        "nodes": minority,
        "writes": _class_summary(during["write"]) if during.get("write", {}).get("attempted") else
        nm("no writes attempted on the minority during the partition"),
        "linearizable_reads": _class_summary(during["linearizable_read"])
        if during.get("linearizable_read", {}).get("attempted") else
        nm("no linearizable reads attempted on the minority during the partition"),
        "serializable_reads": _class_summary(ser) if ser and ser["attempted"] else
        nm("no serializable reads attempted on the minority during the partition"),
    }
    for cls in sorted(c for c in during if c not in CLASSES):  # read_<LEVEL> / write_<LEVEL> (Cassandra)
        kind, lv = cls.split("_", 1)
        minority_section[f"{kind}s_at_{lv}"] = _class_summary(during[cls]) if during[cls].get("attempted") else \
            nm(f"no {lv} {kind}s attempted on the minority during the partition")
    if any(c.startswith("write_") for c in during) and not during.get("write", {}).get("attempted"):
        minority_section["writes"] = nm("writes are made at a consistency level here: see writes_at_<LEVEL>")
    if ser and ser["attempted"]:
        served = ser["ok"]
        minority_section["serializable_staleness"] = _staleness(checks.get("_stale_full"), proc_node, minority,
                                                                start_ns, end_ns, served)
    rec = w.get("recovery")
    recovery: Any
    if rec is None:
        recovery = nm("the partition was never healed")
    else:
        recovery = {"full_service_after_s": _or(rec["full_service_after_s"],
                                                "some node served no write / linearizable read after the heal"),
                    "slowest_node": _or(rec["slowest_node"], "some node never recovered"),
                    "every_node_recovered": rec["every_node_recovered"], "per_node": rec["per_node"],
                    "no_ops_after_heal": rec["no_ops_after_repair"],
                    "method": "per node: seconds from the start of the heal to the first successful write and "
                              "linearizable read completing after it (0 when the node was already serving them in "
                              "the second before the heal); full service = the largest over every node"}
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
    try:
        tl = json.loads((directory / "timeline.json").read_text())
    except (OSError, ValueError):
        tl = {}
    try:
        scen = json.loads((directory / "scenario.json").read_text())
    except (OSError, ValueError):
        scen = {}
    t0 = tl.get("load_start_ns")

    def rel(s: float | None) -> Any:
        if s is None:
            return None
        return round(s - t0 / 1e9, 6) if t0 is not None else s

    av = check_availability(ops, polls, nodes=[f"n{i}" for i in range(1, int(scen.get("nodes", 0)) + 1)] or None)
    (directory / "availability.json").write_text(json.dumps(av, indent=1))
    checks = _checkers(ops)
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
        "nodes": scen.get("nodes"), "load_start_s": t0 / 1e9 if t0 is not None else nm("the load never started"),
        "end_s": scen.get("end"),
        "times": "seconds after the load start (at: 0 of the timeline), unless named *_after_*",
        "ops": {"load": av["ops"]["load"], "final_reads": sum(1 for o in ops if (o.extra or {}).get("final")),
                "nemesis": av["ops"]["nemesis"]},
        "faults": faults,
        "partition": _partition_section(_mark_leaderless(av, scen), ops, checks, rel),
        "leader_changes": [{**c, "t_s": rel(c["t_s"])} for c in av["leader_changes"]],
        "outcomes": _outcomes(av, ops),
        "process_faults": _process_section(av, rel, directory, tl),
    }
    checks.pop("_stale_full", None)
    summary.update(checks)
    return summary


def _process_section(av: dict[str, Any], rel: Callable[[float | None], Any], directory: Path,
                     tl: dict[str, Any]) -> Any:
    """Kills and pauses: what the other nodes served meanwhile, per class, and (Cassandra) the
    hints the survivors replayed to the node afterwards, from the nodes' own logs."""
    wins = [w for w in av["windows"] if w["fault"] in ("kill", "pause")]
    if not wins:
        return nm("the scenario kills or pauses no node")
    try:
        nodes = json.loads((directory / "nodes.json").read_text())
    except (OSError, ValueError):
        nodes = {}
    from harness.scenario.hints import hinted_handoff

    hints = hinted_handoff({n: v["log"] for n, v in nodes.items() if v.get("log")}, tl.get("load_start_epoch_s"),
                           tz_offset_s=time.localtime().tm_gmtoff)
    out = []
    for w in wins:
        affected = w["sides"].get("affected", [])
        rest = w["during"].get("rest", {})
        hosts = {nodes.get(n, {}).get("host") for n in affected}
        end_s = rel(w["end_s"]) if w["end_s"] is not None else None
        to_it = [e for e in hints["events"] if e["to"].split(":")[0] in hosts]
        after = [e for e in to_it if end_s is not None and e.get("at_s") is not None and e["at_s"] >= end_s]
        out.append({
            "fault": w["fault"], "nodes": affected, "at_s": rel(w["start_s"]),
            "restored_at_s": end_s if end_s is not None else nm("never restored"),
            "others_served": {cls: _class_summary(c) for cls, c in sorted(rest.items()) if c.get("attempted")},
            "hints_replayed_to_it": {
                "files": len(to_it), "first_after_restore_s":
                    round(after[0]["at_s"] - end_s, 3) if after else nm("no replay to this node after it was back"),
                "events": to_it[:MAX_EXAMPLES]} if nodes else nm("nodes.json (node logs) not in the scenario dir"),
        })
    return {"windows": out, "hinted_handoff": {k: v for k, v in hints.items() if k != "events"}}


def _mark_leaderless(av: dict[str, Any], scen: dict[str, Any]) -> dict[str, Any]:
    """Tell the partition section that an empty leader view means 'no leader to elect'."""
    if scen.get("system") == "cassandra":
        for w in av["windows"]:
            w["leaderless"] = True
    return av


def write_failure_summary(directory: Path) -> Path:
    directory = Path(directory)
    s = build_failure_summary(directory)
    out = directory / "failure_summary.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(s, indent=2, default=str))
    tmp.rename(out)
    return out
