"""Pure functions that shape history rows into what the timeline and failure diagrams draw.

Input rows are what ``resolve.py`` gives a ``{from: history, ...}`` series: one mapping per
recorded operation (the fields of ``harness.recorder.history``: ``i, process, node, f, key,
value, read_consistency, type, result, error, revision``...) plus ``invoke_s`` /
``complete_s`` (seconds after the scenario's load start), ``latency_ms`` (from the
intended start: open loop, coordinated-omission safe) and, on reads, ``level_class``: what
the read's level guarantees (strong / session / weak), which the resolver takes from the
run's system plugin. Nothing here knows a system or a level by name. Nemesis rows (``{from: nemesis}``)
carry ``f``, ``value.groups``, ``value.labels`` and ``at_s`` / ``in_effect_s``.

Nothing here reads files, draws, or depends on dict/set iteration order: every choice is
made by an explicit, documented rule with explicit tie-breaks, so the same rows always give
the same window, lanes, points and numbers.

Rules (the same as the harness checkers, restated for rows):

- **Writes** are ``put`` (token = ``value``), ``cas`` (token = ``value[1]``) and ``delete``
  (token ``None``). A write is *acknowledged* when its type is ``ok`` (for a cas: the
  compare succeeded; a failed compare is ``fail`` in the harness history).
- **Stale read** (``harness.checkers.stale_reads``): an ``ok`` read returning token ``v``
  *missed* an acknowledged write ``w`` when ``w`` was acknowledged before the read was
  invoked and certainly took effect after ``v``'s write (``v``'s write completed before
  ``w`` was invoked, or, when the two overlap, both carry a revision and ``v``'s is lower).
  A read of a value whose write is not acknowledged is never called stale.
- **Late write** (``harness.checkers.late_writes``): an indeterminate (``info``) write whose
  token is first read by a read invoked after the client gave up (``complete_s``).
- **Witness** (``linearize_register``): an exhaustive search for a linearization of one
  register's operations; see its docstring.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

Row = Mapping[str, Any]

WRITE, STRONG_READ, SESSION_READ, WEAK_READ = "write", "strong read", "session read", "weak read"
#: Drawing order of the operation classes (panels, lane groups).
OP_CLASSES = (WRITE, STRONG_READ, SESSION_READ, WEAK_READ)
_READ_CLASSES = {"strong": STRONG_READ, "session": SESSION_READ, "weak": WEAK_READ}
#: Drawing order of partition sides.
SIDES = ("majority", "minority", "none")
WRITE_FS = ("put", "cas", "delete")


# -- small accessors -------------------------------------------------------------------------

def is_client(row: Row) -> bool:
    """A load operation: not a nemesis record and not a final read issued after the load."""
    if row.get("process") == "nemesis":
        return False
    extra = row.get("extra") or {}
    return not (isinstance(extra, Mapping) and extra.get("final"))


def op_class(row: Row) -> str | None:
    """``write`` | ``strong read`` | ``session read`` | ``weak read`` (None for anything else):
    a read's class is its row's ``level_class`` (a read without one is None: not drawn)."""
    f = row.get("f")
    if f in WRITE_FS:
        return WRITE
    if f == "get":
        return _READ_CLASSES.get(str(row.get("level_class")))
    return None


def written_token(row: Row) -> Any:
    """The token a write installs: put -> value, cas -> value[1], delete -> None."""
    if row.get("f") == "cas":
        return row["value"][1]
    if row.get("f") == "delete":
        return None
    return row.get("value")


def is_acked_write(row: Row) -> bool:
    return row.get("f") in WRITE_FS and row.get("type") == "ok"


def _order(row: Row) -> tuple[float, int]:
    return (float(row["invoke_s"]), int(row.get("i", 0)))


def _complete(row: Row) -> float:
    c = row.get("complete_s")
    return math.inf if c is None else float(c)


# -- partition sides ---------------------------------------------------------------------------

def node_sides(nemesis_rows: Sequence[Row]) -> dict[str, str]:
    """Partition side of every node named in the first successful ``partition`` record.

    The record's ``value.labels`` name its ``value.groups`` (the harness writes
    ``["minority", "majority"]``); without labels, the smaller group is the minority and
    the larger the majority (equal sizes: ``side-1``, ``side-2``... in group order). Nodes
    in no group are absent (callers use ``"none"``). Returns a dict sorted by node name."""
    for r in nemesis_rows:
        if r.get("f") != "partition" or r.get("type", "ok") != "ok":
            continue
        v = r.get("value") or {}
        groups = [list(g) for g in v.get("groups") or []]
        labels = list(v.get("labels") or [])
        if len(labels) != len(groups):
            sizes = sorted(len(g) for g in groups)
            if len(groups) == 2 and sizes[0] < sizes[1]:
                labels = ["minority" if len(g) == sizes[0] else "majority" for g in groups]
            else:
                labels = [f"side-{k + 1}" for k in range(len(groups))]
        out = {n: lb for g, lb in zip(groups, labels) for n in g}
        return dict(sorted(out.items()))
    return {}


def roles_at(member_rows: Sequence[Row], t_s: float) -> dict[str, str]:
    """Each node's role (``leader`` / ``follower``) in the last member poll that started at
    or before ``t_s`` (rows of a ``{from: members}`` series: ``poll``, ``start_s``, ``node``,
    ``is_leader``); a node whose row has no ``is_leader`` is left out. Empty when no poll
    started by then. Sorted by node name."""
    polls = sorted({(int(r["poll"]), float(r["start_s"])) for r in member_rows
                    if isinstance(r.get("start_s"), (int, float)) and float(r["start_s"]) <= t_s})
    if not polls:
        return {}
    last = polls[-1][0]
    out = {str(r["node"]): "leader" if r["is_leader"] else "follower" for r in member_rows
           if r.get("poll") == last and isinstance(r.get("is_leader"), bool)}
    return dict(sorted(out.items()))


def side_of(row: Row, sides: Mapping[str, str]) -> str:
    return sides.get(row.get("node") or "", "none")


def fault_interval(nemesis_rows: Sequence[Row]) -> tuple[float | None, float | None]:
    """(partition in effect, heal in effect), seconds after load start, from nemesis rows
    (``in_effect_s``, else ``at_s``). None where there is no such record."""
    start = end = None
    for r in nemesis_rows:
        t = r.get("in_effect_s", r.get("at_s"))
        if r.get("f") == "partition" and start is None and r.get("type", "ok") == "ok":
            start = t
        elif r.get("f") == "heal" and start is not None and end is None:
            end = t
    return start, end


# -- stale reads -----------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyIndex:
    """One key's writes, indexed for the stale-read and late-write rules."""
    key: Any
    acked: tuple[Row, ...]           # acknowledged writes sorted by (complete_s, invoke_s, i)
    by_token: Mapping[Any, Row]      # token -> the write that installs it (tokens are unique)
    reads: tuple[Row, ...]           # ok reads in invocation order
    #: ``_complete`` of each of ``acked``, ascending (for bisection)
    acked_complete: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "acked_complete", tuple(_complete(w) for w in self.acked))


def rows_by_key(rows: Iterable[Row]) -> dict[Any, list[Row]]:
    """The rows of each ``key`` value (None too), in their given order: one pass, so a rule
    applied per key costs the key's rows, not the whole history's, each time
    (``index_key(rows_by_key(rows)[k], k) == index_key(rows, k)``)."""
    out: dict[Any, list[Row]] = {}
    for r in rows:
        out.setdefault(r.get("key"), []).append(r)
    return out


def index_key(rows: Iterable[Row], key: Any) -> KeyIndex:
    ws, reads = [], []
    by_token: dict[Any, Row] = {}
    for r in rows:
        if r.get("key") != key or r.get("process") == "nemesis":
            continue
        if r.get("f") in WRITE_FS:
            ws.append(r)
            if r.get("f") != "delete":
                by_token.setdefault(written_token(r), r)
        elif r.get("f") == "get" and r.get("type") == "ok":
            reads.append(r)
    acked = sorted((w for w in ws if is_acked_write(w)), key=lambda w: (_complete(w), *_order(w)))
    return KeyIndex(key, tuple(acked), by_token, tuple(sorted(reads, key=_order)))


def _certainly_after(src: Row | None, w: Row) -> bool:
    """Did ``w`` certainly take effect after ``src`` (None = the initial absent value)?"""
    if src is None:
        return True
    if not is_acked_write(src):
        return False
    if _complete(src) < float(w["invoke_s"]):
        return True
    if _complete(w) < float(src["invoke_s"]):
        return False
    rs, rw = src.get("revision"), w.get("revision")
    return rs is not None and rw is not None and rs < rw


def missed_writes(read: Row, idx: KeyIndex) -> list[Row]:
    """The acknowledged writes ``read`` missed (see module docstring), oldest ack first.
    Empty when the read is not stale or its value's write is not acknowledged."""
    v = read.get("result")
    if v is None:
        src: Row | None = None
    else:
        src = idx.by_token.get(v)
        if src is None or not is_acked_write(src):
            return []
    t = float(read["invoke_s"])
    # acked is sorted by completion: the writes completed before the read's invocation are a
    # prefix; of those, one completed before the source write was invoked cannot be after it
    # (_certainly_after is False), so only the slice between the two bisections is judged
    end = bisect.bisect_left(idx.acked_complete, t)
    start = 0 if src is None else bisect.bisect_left(idx.acked_complete, float(src["invoke_s"]), 0, end)
    return [w for w in idx.acked[start:end] if w is not src and _certainly_after(src, w)]


def stale_reads(rows: Sequence[Row], *, read_class: str | None = WEAK_READ,
                nodes: Iterable[str] | None = None, t0: float | None = None,
                t1: float | None = None) -> list[tuple[Row, list[Row]]]:
    """Stale ok reads (of ``read_class``; None = any), served by ``nodes`` (None = any),
    invoked in ``[t0, t1)``: (read, missed writes) in invocation order."""
    node_set = None if nodes is None else set(nodes)
    keys = sorted({r.get("key") for r in rows if r.get("f") == "get" and r.get("key") is not None}, key=str)
    per_key = rows_by_key(rows)
    out = []
    for key in keys:
        idx = index_key(per_key[key], key)
        for r in idx.reads:
            if read_class is not None and op_class(r) != read_class:
                continue
            if node_set is not None and r.get("node") not in node_set:
                continue
            if not is_client(r):
                continue
            t = float(r["invoke_s"])
            if (t0 is not None and t < t0) or (t1 is not None and t >= t1):
                continue
            m = missed_writes(r, idx)
            if m:
                out.append((r, m))
    return sorted(out, key=lambda x: _order(x[0]))


# -- the concept window ----------------------------------------------------------------------

@dataclass(frozen=True)
class ConceptWindow:
    """What the concept timeline shows, chosen by ``concept_window``."""
    key: Any
    t0: float
    t1: float
    #: the acknowledged write on the majority side the stale read missed
    write: Row
    #: the first strong ok read on the majority invoked after ``write`` was acknowledged
    #: that returned ``write``'s token and completed before the stale read was invoked
    #: (None for a rule that takes no confirming read: ``stale_read_window``)
    lin_read: Row | None
    #: the stale weak read on a minority node
    stale_read: Row
    #: every acknowledged write ``stale_read`` missed (oldest first; ``write`` is one of them)
    missed: tuple[Row, ...]
    #: the write of the value the stale read returned (None: the initial absent value)
    returned_write: Row | None
    #: every op drawn: ops on ``key`` overlapping the window, and minority-side strong
    #: reads on any key that were in flight in it and not served (info/fail)
    ops: tuple[Row, ...]


def concept_window(rows: Sequence[Row], sides: Mapping[str, str], fault_s: float, heal_s: float,
                   pad_s: float = 0.05, prefer_unserved: bool = True,
                   read_class: str = WEAK_READ) -> ConceptWindow | None:
    """The window around the first stale weak read a minority node served (the window rule
    ``stale-weak-read-in-minority``).

    Rule: take the minority's stale weak reads invoked in ``[fault_s, heal_s)`` in
    invocation order (ties: ``i``). For each, walk the writes it missed from the newest
    acknowledgement back; the first one on the majority side whose token a majority
    strong ``ok`` read returned, invoked after the acknowledgement and completed
    before the stale read was invoked (the earliest such read), gives the triple (write,
    strong read, stale read): real-time order write -> strong read -> stale
    read, so the stale read cannot be excused as concurrent with either. The window spans
    the three ops, padded by ``pad_s`` on each side. With ``prefer_unserved``, the first
    such window in which a minority strong read is in flight unserved (so the diagram
    shows all three behaviours) is preferred, else the first window. None when no read
    qualifies. ``read_class``: the class of the stale reads looked for (weak by default; the
    rule ``stale-session-read-in-minority`` looks for session reads)."""
    minority = [n for n, s in sides.items() if s == "minority"]
    first: ConceptWindow | None = None
    cands = stale_reads(rows, read_class=read_class, nodes=minority, t0=fault_s, t1=heal_s)
    for read, missed in cands:
        idx = index_key(rows, read.get("key"))
        for w in sorted(missed, key=lambda w: (_complete(w), *_order(w)), reverse=True):
            if side_of(w, sides) != "majority":
                continue
            tok = written_token(w)
            lin = [r for r in idx.reads if op_class(r) == STRONG_READ and r.get("result") == tok
                   and side_of(r, sides) == "majority" and float(r["invoke_s"]) > _complete(w)
                   and _complete(r) < float(read["invoke_s"])]
            if not lin:
                continue
            lr = lin[0]
            trio = (w, lr, read)
            t0 = min(float(x["invoke_s"]) for x in trio) - pad_s
            t1 = max(_complete(x) for x in trio) + pad_s
            v = read.get("result")
            ops = window_ops(rows, read.get("key"), t0, t1, sides)
            win = ConceptWindow(read.get("key"), t0, t1, w, lr, read, tuple(missed),
                                None if v is None else idx.by_token.get(v), ops)
            if not prefer_unserved or any(side_of(o, sides) == "minority" and op_class(o) == STRONG_READ
                                          and o.get("type") != "ok" for o in ops):
                return win
            first = first or win
            break
    return first


def _real_time_evident(read: Row, missed: Sequence[Row], idx: KeyIndex) -> bool:
    """Does real time alone show the read is stale: the write of the value it returned (or
    the initial absent value) completed before the newest missed write was invoked? (Else
    only the writes' revisions order them, which a reader of the timeline cannot see.)"""
    v = read.get("result")
    src = None if v is None else idx.by_token.get(v)
    newest = max(missed, key=lambda w: (_complete(w), *_order(w)))
    return src is None or _complete(src) < float(newest["invoke_s"])


def stale_read_window(rows: Sequence[Row], read_class: str, pad_s: float = 0.05) -> ConceptWindow | None:
    """The window around a stale read of ``read_class`` anywhere in the history, fault or
    not (the window rule ``stale-session-read``).

    Rule: the stale reads of the class (``stale_reads``, every node, the whole history) in
    invocation order (ties: ``i``); the first one whose staleness real time alone shows (the
    write of the value it returned completed before the newest write it missed was invoked,
    or it returned the initial absent value), else the first one. The window spans the write
    of the returned value (when there is one), the newest missed write and the read, padded
    by ``pad_s``; ``write`` is that newest missed write, ``lin_read`` is None (no confirming
    read is looked for: the acknowledgement itself is what the read missed). Every load op on
    the key overlapping the window is drawn. None when no read qualifies."""
    cands = stale_reads(rows, read_class=read_class)
    if not cands:
        return None
    picked = None
    for read, missed in cands:
        if _real_time_evident(read, missed, index_key(rows, read.get("key"))):
            picked = (read, missed)
            break
    read, missed = picked or cands[0]
    return _read_window(rows, read, missed, pad_s)


def _read_window(rows: Sequence[Row], read: Row, missed: Sequence[Row], pad_s: float) -> ConceptWindow:
    """The window of ``stale_read_window`` around one stale read and the writes it missed."""
    idx = index_key(rows, read.get("key"))
    w = max(missed, key=lambda x: (_complete(x), *_order(x)))
    v = read.get("result")
    src = None if v is None else idx.by_token.get(v)
    span = [x for x in (src, w, read) if x is not None]
    t0 = min(float(x["invoke_s"]) for x in span) - pad_s
    t1 = max(_complete(x) for x in span) + pad_s
    return ConceptWindow(read.get("key"), t0, t1, w, None, read, tuple(missed), src,
                         window_ops(rows, read.get("key"), t0, t1, {}))


def read_lag(read: Row, idx: KeyIndex) -> tuple[int, float]:
    """How far ``read`` lagged (the rule of ``harness.checkers.bounded_staleness``, restated
    for rows): (versions: acknowledged writes it missed, ``missed_writes``; seconds behind:
    its invocation minus the acknowledgement of the *oldest* write it missed, i.e. for how
    long its value had already been superseded; 0 when it missed none)."""
    missed = missed_writes(read, idx)
    if not missed:
        return 0, 0.0
    return len(missed), float(read["invoke_s"]) - min(_complete(w) for w in missed)


@dataclass(frozen=True)
class LagSummary:
    """Every ok load read of one class judged by ``read_lag`` (``lag_summary``)."""
    reads: int
    #: reads that missed at least one acknowledged write
    stale: int
    max_versions: int
    max_behind_s: float


def lag_summary(rows: Sequence[Row], read_class: str = WEAK_READ) -> LagSummary | None:
    """Lag of every ok load read of ``read_class`` (final reads excluded), over every key:
    the tightest bound the history kept (``max_versions`` / ``max_behind_s``: a bound of K
    versions or T is violated by a read more than K versions or more than T behind). None
    when there is no such read."""
    keys = sorted({r.get("key") for r in rows if r.get("f") == "get" and r.get("key") is not None}, key=str)
    per_key = rows_by_key(rows)
    n = stale = max_v = 0
    max_b = 0.0
    for key in keys:
        idx = index_key(per_key[key], key)
        for r in idx.reads:
            if op_class(r) != read_class or not is_client(r):
                continue
            v, b = read_lag(r, idx)
            n += 1
            stale += 1 if v else 0
            max_v, max_b = max(max_v, v), max(max_b, b)
    return LagSummary(n, stale, max_v, max_b) if n else None


def stalest_read_window(rows: Sequence[Row], read_class: str, pad_s: float = 0.001) -> ConceptWindow | None:
    """The window around the read of ``read_class`` that lagged most (the window rule
    ``stalest-weak-read``): the stale reads of the class (``stale_reads``), the one with the
    most versions behind, ties: the longest behind (``read_lag``), then the earliest invoked
    (``i``). The window is ``stale_read_window``'s around it (the write of the returned value,
    the newest missed write and the read, padded by ``pad_s``: a busy register is written
    every few milliseconds). None when no read of the class is stale."""
    cands = stale_reads(rows, read_class=read_class)
    if not cands:
        return None
    best = None
    for read, missed in cands:
        behind = float(read["invoke_s"]) - min(_complete(w) for w in missed)
        rank = (-len(missed), -behind, *_order(read))
        if best is None or rank < best[0]:
            best = (rank, read, missed)
    assert best is not None
    return _read_window(rows, best[1], best[2], pad_s)


def is_final(row: Row) -> bool:
    """A final read: issued after the load (and every fault) ended, ``extra.final``."""
    extra = row.get("extra") or {}
    return isinstance(extra, Mapping) and bool(extra.get("final")) and row.get("process") != "nemesis"


def final_reads(rows: Sequence[Row], key: Any, read_class: str = WEAK_READ) -> tuple[Row, ...]:
    """The ok final reads of ``key`` of ``read_class``, by (node, invocation order)."""
    out = [r for r in rows if is_final(r) and r.get("key") == key and r.get("f") == "get"
           and r.get("type") == "ok" and op_class(r) == read_class]
    return tuple(sorted(out, key=lambda r: (str(r.get("node")), *_order(r))))


def divergence_window(rows: Sequence[Row], fault_s: float, heal_s: float, pad_s: float = 0.05,
                      read_class: str = WEAK_READ) -> ConceptWindow | None:
    """Divergence, then convergence, on one key (the window rule
    ``divergence-then-convergence``).

    Rule: the acknowledged writes invoked in ``[fault_s, heal_s)``, in invocation order
    (ties: ``i``). For each write ``W``: ``R1`` = the first ok load read invoked after ``W``
    was acknowledged and before ``heal_s`` that returned ``W``'s token (a node had ``W``);
    ``R2`` = the first ok read (load or final), invoked at or after ``heal_s``, that missed
    ``W`` (``missed_writes``: it returned an older value); the key's final reads of
    ``read_class`` (``final_reads``: what each node itself holds once the load and the faults
    are over) must come from at least two nodes and all return one value (they converged).
    The first ``W`` with all three whose ``R2`` is a load read (a client's read after the
    heal, not only the final reads), else the first ``W`` with all three, gives the window:
    from ``fault_s`` (where the histories can start to diverge) to the last of those ops'
    completions, padded by ``pad_s``; ``write`` =
    ``W``, ``lin_read`` = ``R1``, ``stale_read`` = ``R2``; ``ops``: every load op on the key
    overlapping the window, and the final reads. None when no write qualifies."""
    writes = sorted((r for r in rows if is_acked_write(r) and is_client(r) and r.get("key") is not None
                     and fault_s <= float(r["invoke_s"]) < heal_s), key=_order)
    first: ConceptWindow | None = None
    per_key = rows_by_key(rows)  # each key's rows once: the rule below looks at one key at a time
    indexes: dict[Any, KeyIndex] = {}
    for w in writes:
        key = w.get("key")
        key_rows = per_key[key]
        idx = indexes.get(key) or indexes.setdefault(key, index_key(key_rows, key))
        tok = written_token(w)
        seen = [r for r in idx.reads if is_client(r) and r.get("result") == tok
                and _complete(w) < float(r["invoke_s"]) < heal_s]
        later = [r for r in idx.reads if float(r["invoke_s"]) >= heal_s
                 and any(m is w for m in missed_writes(r, idx))]
        finals = final_reads(key_rows, key, read_class)
        if not seen or not later or len({str(r.get("node")) for r in finals}) < 2 \
                or len({repr(r.get("result")) for r in finals}) != 1:
            continue
        r1, r2 = seen[0], later[0]
        span = (w, r1, r2, *finals)
        t0 = fault_s - pad_s
        t1 = max(_complete(x) for x in span) + pad_s
        v = r2.get("result")
        ops = [r for r in window_ops(key_rows, key, t0, t1, {}) if r.get("key") == key]
        ops += [r for r in finals if all(r is not o for o in ops)]
        win = ConceptWindow(key, t0, t1, w, r1, r2, tuple(missed_writes(r2, idx)),
                            None if v is None else idx.by_token.get(v), tuple(sorted(ops, key=_order)))
        if is_client(r2):
            return win
        first = first or win
    return first


@dataclass(frozen=True)
class WindowRule:
    """A named rule that picks a concept diagram's window from a scenario's history: ``pick``
    takes (rows, node sides, partition in effect s, heal s) and returns the window or None;
    ``miss`` says, for the diagram, why there is none. ``needs_fault``: the rule looks inside
    a partition (the renderer then requires the nemesis records and the fault window; a rule
    without it is given the sides it can find and None for both times)."""
    pick: Callable[[Sequence[Row], Mapping[str, str], float | None, float | None], ConceptWindow | None]
    miss: str
    needs_fault: bool = True


#: The window rules a timeline spec may name (``layout.window_rule``). A guarantee whose
#: concept needs another kind of window adds a rule here; specs choose among them by name.
WINDOW_RULES: dict[str, WindowRule] = {
    "stale-weak-read-in-minority": WindowRule(
        lambda rows, sides, fault_s, heal_s: concept_window(rows, sides, float(fault_s), float(heal_s)),
        "no stale weak read on a minority member during the partition"),
    "stale-session-read-in-minority": WindowRule(
        lambda rows, sides, fault_s, heal_s: concept_window(rows, sides, float(fault_s), float(heal_s),
                                                            read_class=SESSION_READ),
        "no stale session read on a minority member during the partition"),
    "stale-session-read": WindowRule(
        lambda rows, sides, fault_s, heal_s: stale_read_window(rows, SESSION_READ),
        "no stale session read in the history", needs_fault=False),
    "stalest-weak-read": WindowRule(
        lambda rows, sides, fault_s, heal_s: stalest_read_window(rows, WEAK_READ),
        "no stale weak read in the history", needs_fault=False),
    "divergence-then-convergence": WindowRule(
        lambda rows, sides, fault_s, heal_s: divergence_window(rows, float(fault_s), float(heal_s)),
        "no write acknowledged during the partition that one read saw, a read after the heal missed, "
        "and the final reads agree on"),
}


def window_ops(rows: Sequence[Row], key: Any, t0: float, t1: float, sides: Mapping[str, str]) -> tuple[Row, ...]:
    """Ops overlapping ``[t0, t1]``: every load op on ``key``, plus minority-side
    strong reads on any key that were not served (``info``/``fail``): what a client of
    the minority got instead of an answer. Invocation order."""
    out = []
    for r in rows:
        if not is_client(r) or op_class(r) is None:
            continue
        if float(r["invoke_s"]) > t1 or _complete(r) < t0:
            continue
        if r.get("key") == key:
            out.append(r)
        elif side_of(r, sides) == "minority" and op_class(r) == STRONG_READ and r.get("type") != "ok":
            out.append(r)
    return tuple(sorted(out, key=_order))


def lanes(ops: Sequence[Row], sides: Mapping[str, str]) -> list[tuple[Any, str, str]]:
    """One lane per client process: (process, node, side), sorted majority first, then
    minority; within a side weak-read lanes last, then by the class of the process's first op
    (write, strong, session, weak read... a process that writes and reads sorts by its first
    op in the window), then node, then process."""
    first: dict[Any, Row] = {}
    for r in sorted(ops, key=_order):
        first.setdefault(r["process"], r)
    rank = {s: k for k, s in enumerate(SIDES)}
    crank = {c: k for k, c in enumerate(OP_CLASSES)}
    items = []
    for p, r in first.items():
        side = side_of(r, sides)
        is_ser = op_class(r) == WEAK_READ
        items.append(((rank.get(side, len(SIDES)), 1 if is_ser else 0, crank.get(op_class(r) or "", 9),
                       str(r.get("node")), str(p)), (p, str(r.get("node")), side)))
    return [lane for _, lane in sorted(items, key=lambda x: x[0])]


# -- linearization witness -------------------------------------------------------------------

class _Unknown:
    """The register's value before the window: unknown until an op constrains it."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
_ILLEGAL = object()


def _encode(row: Row) -> tuple[str, Any, Any, bool] | None:
    """(kind, a, b, required) for the register model, None if the op constrains nothing."""
    f, t = row.get("f"), row.get("type")
    if t == "fail":
        return None  # certainly did not take effect (harness: a failed cas compare is fail too)
    req = t == "ok"
    if f == "get":
        return ("read", row.get("result"), None, True) if req else None
    if f == "put":
        return ("write", row.get("value"), None, req)
    if f == "delete":
        return ("write", None, None, req)
    if f == "cas":
        exp, new = row["value"]
        return ("cas", exp, new, True) if req else ("cas?", exp, new, False)
    return None


def _step(state: Any, kind: str, a: Any, b: Any) -> Any:
    if kind == "read":
        return a if state is UNKNOWN or state == a else _ILLEGAL
    if kind == "write":
        return a
    if kind == "cas":
        return b if state is UNKNOWN or state == a else _ILLEGAL
    # cas? (indeterminate): applied if the compare matched, else no change; an unknown
    # state is taken to match (the branch where it did not is the op never happening)
    return b if state is UNKNOWN or state == a else state


@dataclass(frozen=True)
class LinPoint:
    op: Row
    #: a time inside [invoke_s, complete_s] consistent with the witness order: the middle of
    #: the interval in which this op can be placed given its neighbours in the order
    point_s: float
    state_after: Any


MAX_WITNESS_OPS = 40


def _register_items(ops: Sequence[Row]) -> list[tuple[Row, tuple[str, Any, Any, bool]]]:
    """The ops that constrain the register model, in invocation order (ties: ``i``), each
    with its encoding; raises ValueError beyond ``MAX_WITNESS_OPS`` (the search is exponential)."""
    items = []
    for r in sorted(ops, key=_order):
        enc = _encode(r)
        if enc is not None:
            items.append((r, enc))
    if len(items) > MAX_WITNESS_OPS:
        raise ValueError(f"register witness: {len(items)} ops (max {MAX_WITNESS_OPS}); choose a shorter window")
    return items


def _witness_order(items: Sequence[tuple[Row, tuple[str, Any, Any, bool]]],
                   blocked: Callable[[int, list[int]], bool]) -> list[tuple[int, Any]] | None:
    """A legal register order of ``items`` as (index, state after), or None: every ``ok`` op
    placed, ``info`` ops placed only as needed, an op going next only when
    ``blocked(op, unplaced ops)`` is false. Exhaustive depth-first search memoised on (placed
    set, state, budget), repeated allowing 0, 1, 2... indeterminate ops, candidates ``ok``
    first, then ``info``, each in invocation order: deterministic."""
    n = len(items)
    required = sum(1 << k for k, (_, enc) in enumerate(items) if enc[3])
    n_info = sum(1 for _, enc in items if not enc[3])

    def state_key(s: Any) -> Any:
        return ("<unknown>",) if s is UNKNOWN else ("v", s)

    def search(budget: int) -> list[tuple[int, Any]] | None:
        """A witness placing at most ``budget`` info ops (depth-first, memoised)."""
        seen: set[tuple[int, Any, int]] = set()

        def dfs(placed: int, state: Any, left: int, path: list[tuple[int, Any]]) -> list[tuple[int, Any]] | None:
            if placed & required == required:
                return path
            k = (placed, state_key(state), left)
            if k in seen:
                return None
            seen.add(k)
            unplaced = [j for j in range(n) if not placed >> j & 1]
            for i in sorted(unplaced, key=lambda j: (not items[j][1][3], j)):
                if not items[i][1][3] and left == 0:
                    continue
                if blocked(i, unplaced):
                    continue
                kind, a, b, _ = items[i][1]
                nxt = _step(state, kind, a, b)
                if nxt is _ILLEGAL:
                    continue
                got = dfs(placed | 1 << i, nxt, left - (0 if items[i][1][3] else 1), path + [(i, nxt)])
                if got is not None:
                    return got
            return None

        return dfs(0, UNKNOWN, budget, [])

    for budget in range(n_info + 1):  # fewest indeterminate ops first: they take effect only if needed
        order = search(budget)
        if order is not None:
            return order
    return None


def linearize_register(ops: Sequence[Row]) -> list[LinPoint] | None:
    """An exact linearization witness for one register's ops, or None if none exists.

    Exhaustive depth-first search over "which op takes effect next" (Wing & Gong), with
    memoisation on (set of placed ops, register state). An op may go next only if no other
    unplaced op completed before it was invoked. ``ok`` ops must all be placed; ``info``
    writes/cas may be placed after their invocation or never (their completion is +inf);
    ``fail`` ops and unfinished reads constrain nothing and are dropped. The register starts
    UNKNOWN (the window's first op that needs a value fixes it), so the witness is for the
    given ops alone. The search is repeated allowing 0, 1, 2... indeterminate ops to be placed,
    so the witness places the fewest (an info write takes effect only when some op needs its
    value); candidates are tried ``ok`` ops first, then ``info`` ones, each in invocation
    order (ties: ``i``), so the witness is deterministic. Points: with ``p_k`` = the latest invocation among the first ``k`` ops
    of the order and ``q_k`` = the earliest completion among ops ``k..``, the midpoint of
    ``[p_k, q_k]`` (``p_k`` when ``q_k`` is +inf); both sequences are non-decreasing and the
    order respects real time, so the points are in order and inside each op's interval.

    Raises ValueError beyond ``MAX_WITNESS_OPS`` ops (the search is exponential)."""
    items = _register_items(ops)
    inv = [float(r["invoke_s"]) for r, _ in items]
    comp = [_complete(r) if enc[3] else math.inf for r, enc in items]
    order = _witness_order(items, lambda i, unplaced: any(comp[j] < inv[i] for j in unplaced if j != i))
    if order is None:
        return None
    p = []
    latest = -math.inf
    for i, _ in order:
        latest = max(latest, inv[i])
        p.append(latest)
    q = [math.inf] * len(order)
    earliest = math.inf
    for k in range(len(order) - 1, -1, -1):
        earliest = min(earliest, comp[order[k][0]])
        q[k] = earliest
    return [LinPoint(items[i][0], p[k] if math.isinf(q[k]) else (p[k] + q[k]) / 2, s)
            for k, (i, s) in enumerate(order)]


def sequential_register(ops: Sequence[Row]) -> list[tuple[Row, Any]] | None:
    """A sequential order of one register's ops (Lamport 1979), or None if none exists: the
    same search as ``linearize_register`` with program order in place of real time (an op may
    go next only if no unplaced op of the same process was invoked before it), as
    (op, register state after it) in that order. A window's witness, for the diagram: the
    whole history's verdict is the checker's (``harness.checkers.sequential``).

    Raises ValueError beyond ``MAX_WITNESS_OPS`` ops."""
    items = _register_items(ops)
    procs = [r.get("process") for r, _ in items]
    order = _witness_order(items, lambda i, unplaced: any(procs[j] == procs[i] and j < i for j in unplaced))
    return None if order is None else [(items[i][0], s) for i, s in order]


# -- late writes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LateWrite:
    write: Row
    #: the first ok read (any level, invocation order) that returned the write's token
    first_read: Row
    #: first_read.invoke_s - write.complete_s (when the client gave up)
    delay_s: float
    #: the latest-invoked trusted (strong) read that returned another value and
    #: completed before a trusted read returned the token: the write took effect after it
    took_effect_after: Row | None
    proven_late: bool
    #: the acknowledged write, invoked after this one, whose value this one overwrote
    overwrote: Row | None


def late_writes(rows: Sequence[Row]) -> list[LateWrite]:
    """Indeterminate writes first observed after the client gave up (the rule of
    ``harness.checkers.late_writes``, restated for rows), sorted by (key, write order)."""
    keys = sorted({r.get("key") for r in rows if r.get("f") in WRITE_FS and r.get("key") is not None}, key=str)
    per_key = rows_by_key(rows)
    out = []
    for key in keys:
        idx = index_key(per_key[key], key)
        first_seen: dict[Any, Row] = {}
        first_strict: dict[Any, Row] = {}
        for r in idx.reads:
            first_seen.setdefault(r.get("result"), r)
            if op_class(r) == STRONG_READ:
                first_strict.setdefault(r.get("result"), r)
        strict = [r for r in idx.reads if op_class(r) == STRONG_READ]
        writes = sorted((r for r in per_key[key] if r.get("f") in ("put", "cas")
                         and r.get("type") == "info"), key=_order)
        for w in writes:
            tok = written_token(w)
            seen = first_seen.get(tok)
            give_up = w.get("complete_s")
            if seen is None or give_up is None or float(seen["invoke_s"]) <= float(give_up):
                continue
            after, proven, over = None, False, None
            r2 = first_strict.get(tok)
            if r2 is not None:
                before = [r for r in strict if _complete(r) < float(r2["invoke_s"]) and r.get("result") != tok]
                if before:
                    after = max(before, key=_order)
                    proven = float(after["invoke_s"]) > float(give_up)
                    newer = [r for r in before if r.get("result") in idx.by_token
                             and is_acked_write(idx.by_token[r.get("result")])
                             and _order(idx.by_token[r.get("result")]) > _order(w)]
                    if newer:
                        over = idx.by_token[max(newer, key=_order).get("result")]
            out.append(LateWrite(w, seen, float(seen["invoke_s"]) - float(give_up), after, proven, over))
    return out


# -- lost writes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LostWrite:
    write: Row
    #: the key's last ok final read at a strong level (``extra.final``): what survived
    final_read: Row


def lost_writes(rows: Sequence[Row]) -> list[LostWrite]:
    """Acknowledged writes the final reads show were undone: the rule of
    ``harness.checkers.lost_writes``, restated for rows (tokens unique per key). Per key, the
    last ok final read at a strong level; if it returns a token written by an acknowledged
    write, every acknowledged write invoked after that write completed (and completed before
    the final read) is lost; if it returns nothing and no delete of the key could have
    removed it (none, or all failed), every acknowledged put or cas (compare succeeded)
    completed before the final read is lost; otherwise (an indeterminate source, an
    unexplained value) nothing is concluded. Sorted by (key, write order)."""
    finals: dict[Any, Row] = {}
    for r in rows:
        extra = r.get("extra") or {}
        if (r.get("f") == "get" and r.get("type") == "ok" and isinstance(extra, Mapping) and extra.get("final")
                and r.get("level_class") == "strong"):
            k = r.get("key")
            if k not in finals or _order(r) > _order(finals[k]):
                finals[k] = r
    out: list[LostWrite] = []
    per_key = rows_by_key(rows)
    for key in sorted(finals, key=str):
        fr = finals[key]
        idx = index_key(per_key[key], key)
        read_at = float(fr["invoke_s"])
        acked = [w for w in idx.acked if _complete(w) < read_at and (w.get("f") != "cas" or w.get("result") is not False)]
        tok = fr.get("result")
        if tok is not None:
            src = idx.by_token.get(tok)
            if src is None or not is_acked_write(src):
                continue
            lost = [w for w in acked if w is not src and float(w["invoke_s"]) > _complete(src)]
        else:
            deletes = [r for r in per_key[key] if r.get("f") == "delete" and r.get("type") != "fail"]
            if any(d.get("type") == "info" for d in deletes):
                continue
            after = max((_complete(d) for d in deletes), default=-math.inf)
            lost = [w for w in acked if w.get("f") != "delete" and float(w["invoke_s"]) > after]
        out += [LostWrite(w, fr) for w in sorted(lost, key=_order)]
    return out


# -- failure-scenario points -------------------------------------------------------------------

@dataclass(frozen=True)
class OpPoint:
    x_s: float          # completion, seconds after load start
    latency_ms: float   # from the intended start
    outcome: str        # ok | fail | info
    op_class: str
    side: str
    row: Row


def op_points(rows: Sequence[Row], sides: Mapping[str, str]) -> list[OpPoint]:
    """Every load op as a point (completion time, latency), in invocation order. Ops without
    a completion or latency are left out (none in a harness history: info ops complete when
    the client gives up)."""
    out = []
    for r in sorted((r for r in rows if is_client(r)), key=_order):
        c, lat, cls = r.get("complete_s"), r.get("latency_ms"), op_class(r)
        if c is None or lat is None or cls is None:
            continue
        out.append(OpPoint(float(c), float(lat), str(r.get("type")), cls, side_of(r, sides), r))
    return out
