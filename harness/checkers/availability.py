"""Availability during faults (pure): who was served, when, and how fast service came back.

Input: the run's history ops (client ops and nemesis records, ``harness.recorder.history.Op``)
and the member polls (``members.jsonl`` records: ``start_ns``, ``end_ns``, ``members``:
node -> ``{leader, term, is_leader, ...}`` or ``None``, as ``harness.scenario.members.read_polls``
reads them). Output: one JSON-able
dict. No I/O, no clock: the same input always gives the same numbers.

Fault windows come from the nemesis records that took effect (type ``ok`` or ``info``):

- ``partition`` -> ``heal``; sides = the partition's groups with their labels
  (``minority``/``majority``, ``isolated``/``rest``, ...);
- ``kill`` -> ``restart``, ``pause`` -> ``resume`` of that node; sides ``affected``/``rest``;
- ``loss``/``latency`` -> ``heal-link``; sides = the fault's groups.

A window starts when the fault was *in effect* (the record's ``complete_ns``: every rule
in place, the signal delivered) and ends when the repair *began* (the repair record's
``invoke_ns``: from then on the fault is no longer whole), or is open (``end_s`` null).
``applied_over_ms`` / ``repair_applied_over_ms`` say how long putting the fault in place
and taking it away took (``repaired_s``: when the repair was complete).

Operation classes, named after the operation and its level alone (no system's vocabulary):
``write`` (put, cas, delete without a level), ``write_<LEVEL>`` (a write made at a
consistency level), ``read`` (a get without a level) and ``read_<LEVEL>`` (a get at its
``read_consistency``). What a level guarantees, its class (strong / session / weak), comes
from the system's plugin (``harness.registry.level_class``), never from this module. Final
reads (``extra.final``) and preload ops are not load and are ignored. A client op belongs
to the side of the node it was pinned to (``node``).

Per window:

- ``timeline``: per side, per second (buckets of ``bucket_s`` by invoke time, numbered from
  the fault: bucket ``k`` holds ops invoked in ``[start + k s, start + (k+1) s)``, negative
  before the fault), ``attempted``, ``ok``, ``fail``, ``info`` and the exact nearest-rank
  ``p50_ms``/``p99_ms`` latency of the bucket's ``ok`` ops (latency as ``Op.latency_ns``:
  from the intended start in open loop), null when there is none;
- ``during``: per side and class, ops invoked and completed inside the window: counts by
  outcome and by error kind (``completed_after_repair`` counts, by outcome, those invoked
  inside but completed only after the repair began); ``served``: some ``ok`` op completed
  inside the window; the first and last such completion, in seconds after the fault;
- ``unavailability`` on the side expected to keep serving (``majority``/``rest``, or a
  strict-majority group): per class, seconds from the fault to the completion of the first
  ``ok`` op invoked at or after it (``first_ok_after_s``), and the gap between the last
  ``ok`` completion before the fault and the first one after it (``gap_s``, any invoke time);
- ``recovery``: per node and class, seconds from the start of the repair to the first
  ``ok`` completion at or after it; ``0.0`` when the node was already serving that class
  in the second before the repair began; null when ops of that class completed after the
  repair but none succeeded; left out (listed in ``no_ops_after_repair``) when none did;
  ``full_service_after_s`` = the largest value over every node and every *service class*
  (null if one never recovered): writes, and reads whose level class is not ``weak`` (a weak
  read promises no freshness, and a node may serve it alone, partitioned or not, so serving it
  shows nothing about recovery);
- ``leader``: from the polls: the leader before the fault, the first poll showing a new
  leader (higher term) on the available side (``elected_after_s``, an upper bound; the
  previous poll gives ``elected_not_before_s``), and when the old leader stopped claiming
  leadership (``old_leader_stepped_down_after_s``, and ``..._not_before_s`` from the poll
  before: a deposed leader cut off in a minority keeps claiming leadership for a while).

Whole run: ``leader_changes`` (the cluster's leader = the member claiming leadership with
the highest term, and the highest term any member reports, at each poll where either
changed), ``node_views`` (each member's own (leader, term) at each change: a deposed leader
that still believes it leads shows here), and ``poll_interval_ms`` (median and max gap).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from harness.recorder.history import Op
from harness.results.percentiles import nearest_rank

NAME = "availability"
WRITE_FS = ("put", "cas", "delete")
REPAIRS = {"partition": ("heal",), "loss": ("heal-link",), "latency": ("heal-link",), "kill": ("restart",),
           "pause": ("resume",)}
AVAILABLE_LABELS = ("majority", "rest")


def op_class(op: Op) -> str | None:
    """``write`` / ``write_<LEVEL>`` for put, cas, delete; ``read`` / ``read_<LEVEL>`` for get;
    None for anything else."""
    if op.f in WRITE_FS:
        return "write" if op.write_consistency is None else f"write_{op.write_consistency}"
    if op.f == "get":
        return "read" if op.read_consistency is None else f"read_{op.read_consistency}"
    return None


def class_parts(cls: str) -> tuple[str, str | None]:
    """``read_ONE`` -> ("read", "ONE"); ``write`` -> ("write", None)."""
    kind, _, level = cls.partition("_")
    return kind, (level or None)


def classes_of(ops: Iterable[Op]) -> tuple[str, ...]:
    """``write`` first, then every other class present: writes at a level, then reads, each in
    name order."""
    present = {c for o in ops if (c := op_class(o)) is not None}
    return ("write",) + tuple(sorted(present - {"write"}, key=lambda c: (class_parts(c)[0] != "write", c)))


def read_class(cls: str, system: str | None) -> str | None:
    """The consistency class (strong / session / weak) of a read class (``read_<LEVEL>``), from
    the system's plugin (``system`` None: looked up over every plugin); None for writes."""
    from harness.registry import level_class

    kind, level = class_parts(cls)
    return level_class(level, system) if kind == "read" else None


def is_service_class(cls: str, system: str | None = None) -> bool:
    """Classes that 'full service' needs: writes, and reads whose level class is not weak."""
    return read_class(cls, system) != "weak"


def is_load(op: Op) -> bool:
    """A client op of the load (not nemesis, not a final read, not preload)."""
    if op.is_nemesis:
        return False
    ex = op.extra or {}
    return not ex.get("final") and ex.get("phase") != "preload"


def _s(ns: float | None) -> float | None:
    return None if ns is None else round(ns / 1e9, 6)


def _ms(ns: float | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


@dataclass
class FaultWindow:
    index: int
    fault: str
    invoke_ns: int
    start_ns: int
    end_ns: int | None
    repaired_ns: int | None
    sides: list[tuple[str, list[str]]]
    available_side: str | None
    value: dict[str, Any] = field(default_factory=dict)
    repair: str | None = None

    def side_of(self, node: str | None) -> str | None:
        for label, nodes in self.sides:
            if node in nodes:
                return label
        return None

    def contains(self, t_ns: int) -> bool:
        return t_ns >= self.start_ns and (self.end_ns is None or t_ns < self.end_ns)


def _available_side(sides: list[tuple[str, list[str]]], n_nodes: int) -> str | None:
    for label, _ in sides:
        if label in AVAILABLE_LABELS:
            return label
    for label, nodes in sides:
        if 2 * len(nodes) > n_nodes:
            return label
    return None


def fault_windows(nemesis: Sequence[Op], all_nodes: Sequence[str]) -> list[FaultWindow]:
    """Windows from nemesis records (ordered by invoke time), paired with their repairs."""
    recs = sorted((o for o in nemesis if o.type in ("ok", "info")), key=lambda o: o.invoke_ns)
    out: list[FaultWindow] = []
    for i, r in enumerate(recs):
        if r.f not in REPAIRS:
            continue
        v = r.value if isinstance(r.value, dict) else {}
        if r.f in ("kill", "pause"):
            affected = [n for n in v.get("nodes", []) if n]
            sides = [("affected", affected), ("rest", [n for n in all_nodes if n not in affected])]
        else:
            groups = [list(g) for g in v.get("groups", [])]
            labels = list(v.get("labels") or [f"group{k}" for k in range(len(groups))])
            sides = list(zip(labels, groups))
        end = repaired = None
        repair = None
        for r2 in recs[i + 1:]:
            if r2.f in REPAIRS[r.f]:
                v2 = r2.value if isinstance(r2.value, dict) else {}
                if r.f in ("kill", "pause") and not set(v.get("nodes", [])) & set(v2.get("nodes", [])):
                    continue
                end, repaired, repair = r2.invoke_ns, r2.complete_ns, r2.f
                break
        assert r.complete_ns is not None
        out.append(FaultWindow(len(out), r.f, r.invoke_ns, r.complete_ns, end, repaired, sides,
                               _available_side(sides, len(all_nodes)), dict(v), repair))
    return out


def _counts(ops: Iterable[Op]) -> dict[str, Any]:
    c = {"attempted": 0, "ok": 0, "fail": 0, "info": 0}
    errors: dict[str, dict[str, int]] = {"fail": {}, "info": {}}
    for o in ops:
        c["attempted"] += 1
        c[o.type] += 1
        if o.type in errors and o.error:
            errors[o.type][o.error] = errors[o.type].get(o.error, 0) + 1
    return {**c, "errors": {k: dict(sorted(v.items())) for k, v in errors.items()}}


def _latency(ops: Sequence[Op]) -> tuple[float | None, float | None]:
    lat = sorted(o.latency_ns for o in ops if o.type == "ok" and o.latency_ns is not None)
    return _ms(nearest_rank(lat, 50)), _ms(nearest_rank(lat, 99))


def side_timeline(ops: Sequence[Op], start_ns: int, bucket_ns: int) -> list[dict[str, Any]]:
    """Dense per-bucket rows (from the first to the last bucket holding an op)."""
    if not ops:
        return []
    buckets: dict[int, list[Op]] = {}
    for o in ops:
        buckets.setdefault((o.invoke_ns - start_ns) // bucket_ns, []).append(o)
    rows = []
    for k in range(min(buckets), max(buckets) + 1):
        b = buckets.get(k, [])
        p50, p99 = _latency(b)
        rows.append({"t_s": round(k * bucket_ns / 1e9, 6), "attempted": len(b),
                     "ok": sum(1 for o in b if o.type == "ok"), "fail": sum(1 for o in b if o.type == "fail"),
                     "info": sum(1 for o in b if o.type == "info"), "p50_ms": p50, "p99_ms": p99})
    return rows


def _during(ops: Sequence[Op], w: FaultWindow) -> dict[str, Any]:
    def resolved_inside(o: Op) -> bool:
        return w.end_ns is None or (o.complete_ns is not None and o.complete_ns < w.end_ns)

    inside = [o for o in ops if w.contains(o.invoke_ns)]
    out: dict[str, Any] = {}
    for cls in classes_of(ops):
        cops = [o for o in inside if op_class(o) == cls and resolved_inside(o)]
        late = [o for o in inside if op_class(o) == cls and not resolved_inside(o)]
        c = _counts(cops)
        c["completed_after_repair"] = {k: sum(1 for o in late if o.type == k) for k in ("ok", "fail", "info")}
        oks = sorted(o.complete_ns for o in cops if o.type == "ok" and o.complete_ns is not None)
        c["served"] = bool(oks)
        c["first_ok_after_s"] = _s(oks[0] - w.start_ns) if oks else None
        c["last_ok_after_s"] = _s(oks[-1] - w.start_ns) if oks else None
        out[cls] = c
    return out


def _unavailability(ops: Sequence[Op], w: FaultWindow) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in classes_of(ops):
        cops = [o for o in ops if op_class(o) == cls and o.type == "ok" and o.complete_ns is not None]
        if not any(op_class(o) == cls for o in ops):
            out[cls] = None
            continue
        after = [o for o in cops if o.invoke_ns >= w.start_ns]
        first = min(after, key=lambda o: o.complete_ns or 0) if after else None
        before = [o.complete_ns for o in cops if o.complete_ns is not None and o.complete_ns < w.start_ns]
        after_any = [o.complete_ns for o in cops if o.complete_ns is not None and o.complete_ns >= w.start_ns]
        out[cls] = {
            "first_ok_after_s": _s(first.complete_ns - w.start_ns) if first and first.complete_ns else None,
            "first_ok": {"process": first.process, "node": first.node, "f": first.f, "key": first.key,
                         "invoke_s": _s(first.invoke_ns), "complete_s": _s(first.complete_ns)} if first else None,
            "gap_s": _s(min(after_any) - max(before)) if before and after_any else None,
        }
    return out


def _recovery(ops: Sequence[Op], w: FaultWindow, nodes: Sequence[str], lookback_ns: int,
              system: str | None) -> dict[str, Any]:
    assert w.end_ns is not None
    end = w.end_ns
    per_node: dict[str, dict[str, float | None]] = {}
    unmeasured: list[str] = []
    worst: tuple[float, str] | None = None
    never = False
    for n in nodes:
        row: dict[str, float | None] = {}
        for cls in classes_of(ops):
            nops = [o for o in ops if o.node == n and op_class(o) == cls and o.complete_ns is not None]
            if not nops:
                continue
            oks = [o.complete_ns for o in nops if o.type == "ok"]
            if any(end - lookback_ns <= t < end for t in oks):  # type: ignore[operator]
                row[cls] = 0.0
            elif not any(o.complete_ns >= end for o in nops):  # type: ignore[operator]
                unmeasured.append(f"{n}/{cls}")  # no such op after the repair: nothing to time
                continue
            else:
                later = [t for t in oks if t >= end]  # type: ignore[operator]
                row[cls] = _s(min(later) - end) if later else None  # type: ignore[operator]
            if is_service_class(cls, system):
                if row[cls] is None:
                    never = True
                elif worst is None or row[cls] > worst[0]:  # type: ignore[operator]
                    worst = (row[cls], n)  # type: ignore[assignment]
        per_node[n] = row
    return {"per_node": per_node, "no_ops_after_repair": unmeasured,
            "full_service_after_s": None if never or worst is None else worst[0],
            "slowest_node": None if never or worst is None else worst[1],
            "every_node_recovered": not never and worst is not None}


# ---------------------------------------------------------------- member polls

def _poll_time(p: dict[str, Any]) -> int:
    return int(p.get("end_ns", p.get("start_ns", 0)))


def cluster_view(p: dict[str, Any]) -> tuple[str | None, int | None]:
    """(leader, highest term) of one poll: the member claiming leadership with the highest
    term (a deposed leader in a minority may still claim), and the highest term reported."""
    members = p.get("members") or {}
    claims = [(s.get("term") or 0, n) for n, s in members.items() if isinstance(s, dict) and s.get("is_leader")]
    terms = [s.get("term") for n, s in members.items() if isinstance(s, dict) and s.get("term") is not None]
    return (max(claims)[1] if claims else None), (max(terms) if terms else None)


def leader_changes(polls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    last: tuple[str | None, int | None] | None = None
    for p in sorted(polls, key=_poll_time):
        if "members" not in p:
            continue
        v = cluster_view(p)
        if v != last:
            out.append({"t_s": _s(_poll_time(p)), "leader": v[0], "term": v[1]})
            last = v
    return out


def node_views(polls: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per member: its own (leader, term, is_leader) at each poll where it changed; ``answered``
    false while it did not answer."""
    out: dict[str, list[dict[str, Any]]] = {}
    last: dict[str, Any] = {}
    for p in sorted(polls, key=_poll_time):
        for n, s in (p.get("members") or {}).items():
            v = (s.get("leader"), s.get("term"), bool(s.get("is_leader"))) if isinstance(s, dict) else None
            if n not in last or last[n] != v:
                entry: dict[str, Any] = {"t_s": _s(_poll_time(p))}
                entry.update({"leader": v[0], "term": v[1], "is_leader": v[2]} if v else {"answered": False})
                out.setdefault(n, []).append(entry)
                last[n] = v
    return dict(sorted(out.items()))


def _leader_in_window(polls: Sequence[dict[str, Any]], w: FaultWindow) -> dict[str, Any]:
    ps = sorted((p for p in polls if "members" in p), key=_poll_time)
    before = [p for p in ps if _poll_time(p) < w.invoke_ns]
    after = [p for p in ps if _poll_time(p) >= w.start_ns and (w.end_ns is None or _poll_time(p) < w.end_ns)]
    old_leader, old_term = cluster_view(before[-1]) if before else (None, None)
    old_leader = old_leader or w.value.get("leader")
    avail_nodes = next((nodes for label, nodes in w.sides if label == w.available_side), None)
    res: dict[str, Any] = {"leader_before": old_leader, "term_before": old_term, "new_leader": None,
                           "new_term": None, "elected_after_s": None, "elected_not_before_s": None,
                           "old_leader_stepped_down_after_s": None}
    if old_leader is not None:
        side = w.side_of(old_leader)
        res["leader_side"] = side
    prev_t = _poll_time(before[-1]) if before else None
    for p in after:
        members = p.get("members") or {}
        claims = [(s.get("term") or 0, n) for n, s in members.items()
                  if isinstance(s, dict) and s.get("is_leader") and (avail_nodes is None or n in avail_nodes)
                  and (old_term is None or (s.get("term") or 0) > old_term)]
        if claims and res["new_leader"] is None:
            term, n = max(claims)
            res.update(new_leader=n, new_term=term, elected_after_s=_s(_poll_time(p) - w.start_ns),
                       elected_not_before_s=_s(max(0, (prev_t if prev_t is not None else w.start_ns) - w.start_ns)))
        if old_leader is not None and res["old_leader_stepped_down_after_s"] is None:
            s = members.get(old_leader)
            if s is None or not isinstance(s, dict) or not s.get("is_leader") or \
                    (old_term is not None and (s.get("term") or 0) > old_term):
                res["old_leader_stepped_down_after_s"] = _s(_poll_time(p) - w.start_ns)
                res["old_leader_stepped_down_not_before_s"] = _s(
                    max(0, (prev_t if prev_t is not None else w.start_ns) - w.start_ns))
                res["old_leader_status_then"] = s
        prev_t = _poll_time(p)
    return res


def poll_interval(polls: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    ts = sorted(_poll_time(p) for p in polls)
    gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
    return {"polls": len(ts), "median_ms": _ms(nearest_rank(gaps, 50)), "max_ms": _ms(gaps[-1] if gaps else None)}


# ---------------------------------------------------------------- entry point

def check_availability(ops: Iterable[Op], polls: Sequence[dict[str, Any]] = (), *, bucket_s: float = 1.0,
                       nodes: Sequence[str] | None = None, recovery_lookback_s: float = 1.0,
                       system: str | None = None) -> dict[str, Any]:
    """The availability report (see the module docstring for every field). ``system``: whose
    plugin classes the read levels (None: looked up over every registered plugin)."""
    all_ops = list(ops)
    nemesis = [o for o in all_ops if o.is_nemesis]
    load = sorted((o for o in all_ops if is_load(o)), key=lambda o: o.invoke_ns)
    if nodes is None:
        seen = {o.node for o in load if o.node}
        for o in nemesis:
            v = o.value if isinstance(o.value, dict) else {}
            seen.update(n for g in v.get("groups", []) for n in g)
            seen.update(n for n in v.get("nodes", []) if n)
        for p in polls:
            seen.update((p.get("members") or {}).keys())
        from harness.nemesis.shapes import node_order
        nodes = node_order(seen)
    bucket_ns = int(bucket_s * 1e9)
    windows = []
    for w in fault_windows(nemesis, nodes):
        by_side = {label: [o for o in load if o.node in members] for label, members in w.sides}
        entry: dict[str, Any] = {
            "index": w.index, "fault": w.fault, "value": w.value,
            "start_s": _s(w.start_ns), "end_s": _s(w.end_ns), "repaired_s": _s(w.repaired_ns), "repair": w.repair,
            "applied_over_ms": _ms(w.start_ns - w.invoke_ns),
            "repair_applied_over_ms": _ms(w.repaired_ns - w.end_ns) if w.end_ns is not None and
            w.repaired_ns is not None else None,
            "duration_s": _s(w.end_ns - w.start_ns) if w.end_ns is not None else None,
            "sides": {label: members for label, members in w.sides}, "available_side": w.available_side,
            "timeline": {label: side_timeline(by_side[label], w.start_ns, bucket_ns) for label, _ in w.sides},
            "during": {label: _during(by_side[label], w) for label, _ in w.sides},
            "unavailability": (_unavailability(by_side[w.available_side], w)
                               if w.available_side is not None else None),
            "recovery": _recovery(load, w, nodes, int(recovery_lookback_s * 1e9), system) if w.end_ns is not None else None,
            "leader": _leader_in_window(polls, w) if polls else None,
        }
        windows.append(entry)
    return {"checker": NAME, "times": "seconds after the run's time origin (the history's clock), except "
                                      "timeline t_s (after the fault) and *_after_s",
            "bucket_s": bucket_s, "nodes": list(nodes),
            "ops": {"load": len(load), "nemesis": len(nemesis)},
            "windows": windows, "leader_changes": leader_changes(polls), "node_views": node_views(polls),
            "poll_interval": poll_interval(polls)}
