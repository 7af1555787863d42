"""Parsers from history files to a checker ``History``, and format detection.

Formats (``FORMATS``):

- ``jepsen-register``: Jepsen's etcd register logs (as republished by Porcupine), one event
  per line: ``INFO  jepsen.util - <process>\\t:<type>\\t:<f>\\t<value>`` with ``:read``,
  ``:write v`` and ``:cas [from to]``. A ``:fail :cas`` is a compare that was executed and
  failed (kept as a cas with result ``False``: it constrains the state like a read). A
  ``:fail :read :timed-out`` and any call without a completion are indeterminate.
- ``jepsen-kv``: EDN-like maps, one per line, ``:get``/``:put``/``:append`` on string keys.
- ``history``: the harness's JSONL (``harness.recorder.history``). Nemesis records are
  skipped. A failed cas is dropped like any ``fail`` (the schema does not promise that its
  compare ran; see ``from_ops``).

Jepsen logs carry no timestamps: an event's time is its line number, so two operations are
ordered exactly when one's completion line precedes the other's invocation line.

Every malformed line raises ``HistoryParseError(file, line, reason)`` with the 1-based line.

    >>> h = load_history("etcd_000.log")          # doctest: +SKIP
    >>> h.format, len(h.ops)
    ('jepsen-register', 85)
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping

from harness.checkers.model import INF, History, Operation
from harness.config_fields import shown
from harness.errors import HistoryParseError
from harness.recorder.history import CLIENT_OPS, OUTCOMES, Op

FORMATS: tuple[str, ...] = ("jepsen-register", "jepsen-kv", "history")
#: Deepest nesting of EDN/JSON values a history line may have (real ones: 2 or 3 levels).
MAX_NESTING = 32


class Keyword(str):
    """An EDN keyword (``:ok`` parses to ``Keyword("ok")``), distinct from a string."""

    def __repr__(self) -> str:
        return ":" + str.__str__(self)


def _open_binary(path: str | Path) -> IO[bytes]:
    p = str(path)
    return gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) for non-blank lines of a UTF-8 file (``.gz``:
    gzip-compressed; a leading byte-order mark is ignored). Every way the file can fail to
    read becomes a ``HistoryParseError`` naming the line: a byte that is not UTF-8 (with its
    column), damaged or truncated gzip data, an unreadable file, and a file with no lines."""
    src = str(path)
    lineno = 0
    seen = False
    try:
        with _open_binary(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    s = raw.decode("utf-8").strip()
                except UnicodeDecodeError as e:
                    col = len(raw[:e.start].decode("utf-8", "replace")) + 1
                    raise HistoryParseError(src, lineno, f"not UTF-8 text: byte 0x{raw[e.start]:02x} at column "
                                                         f"{col} ({e.reason})") from e
                if lineno == 1 and s.startswith("\ufeff"):
                    s = s[1:].strip()
                if s:
                    seen = True
                    yield lineno, s
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise HistoryParseError(src, lineno + 1, f"damaged or truncated gzip data after line {lineno}: {e}") from e
    except OSError as e:
        raise HistoryParseError(src, lineno, f"cannot read: {e.strerror or e}") from e
    if not seen:
        raise HistoryParseError(src, 0, "empty history file (no operation lines)")


# --- a tiny EDN reader (the subset Jepsen logs use) --------------------------------------

_EDN_TOKEN = re.compile(r"""
    (?P<ws>[\s,]+)
  | (?P<open>[\[{(])
  | (?P<close>[\]})])
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<kw>:[^\s,\[\]{}()"]+)
  | (?P<num>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?=[\s,\[\]{}()]|$)
  | (?P<sym>[^\s,\[\]{}()":][^\s,\[\]{}()"]*)
""", re.VERBOSE)
_STR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse_edn(text: str) -> Any:
    """Parse one EDN value: nil, booleans, numbers, strings, keywords, vectors, lists, maps.

    Vectors/lists become tuples (hashable: they are model states and values). Raises
    ``ValueError`` naming the column on anything else.
    """
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _EDN_TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, m.group(), pos + 1))
        pos = m.end()
    value, i = _edn_value(tokens, 0, 0)
    if i != len(tokens):
        raise ValueError(f"trailing text at column {tokens[i][2]}")
    return value


def _edn_value(tokens: list[tuple[str, str, int]], i: int, depth: int) -> tuple[Any, int]:
    # Recursive, bounded by MAX_NESTING: Jepsen values nest two or three levels deep.
    if i >= len(tokens):
        raise ValueError("unexpected end of line")
    kind, text, col = tokens[i]
    if kind == "str":
        return re.sub(r"\\(.)", lambda m: _STR_ESCAPES.get(m.group(1), m.group(1)), text[1:-1]), i + 1
    if kind == "kw":
        return Keyword(text[1:]), i + 1
    if kind == "num":
        if len(text) > 100:
            raise ValueError(f"number of {len(text)} digits at column {col}")
        return (float(text) if any(c in text for c in ".eE") else int(text)), i + 1
    if kind == "sym":
        if text in ("nil", "true", "false"):
            return {"nil": None, "true": True, "false": False}[text], i + 1
        raise ValueError(f"unknown symbol {shown(text)} at column {col}")
    if kind == "open":
        if depth >= MAX_NESTING:
            raise ValueError(f"nested deeper than {MAX_NESTING} levels at column {col}")
        closer = {"[": "]", "(": ")", "{": "}"}[text]
        items: list[Any] = []
        i += 1
        while True:
            if i >= len(tokens):
                raise ValueError(f"unclosed {shown(text)} opened at column {col}")
            if tokens[i][0] == "close":
                if tokens[i][1] != closer:
                    raise ValueError(f"mismatched {tokens[i][1]!r} at column {tokens[i][2]}")
                i += 1
                break
            item, i = _edn_value(tokens, i, depth + 1)
            items.append(item)
        if text != "{":
            return tuple(items), i
        if len(items) % 2:
            raise ValueError(f"map opened at column {col} has an odd number of forms")
        try:
            return {items[j]: items[j + 1] for j in range(0, len(items), 2)}, i
        except TypeError as e:
            raise ValueError(f"map opened at column {col} has an unhashable key") from e
    raise ValueError(f"unexpected {shown(text)} at column {col}")


# --- Jepsen logs: pairing invocations with completions ------------------------------------

@dataclass
class _Pending:
    """An invocation waiting for its completion (mutable while parsing)."""

    line: int
    process: int | str
    f: str
    key: str | None
    value: Any
    invoke: int
    outcome: str = "info"
    complete: float = INF
    give_up: float | None = None
    result: Any = None


class _Pairer:
    """Pairs Jepsen invocation and completion events by process, in file order."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pending: dict[Any, _Pending] = {}
        self.done: list[_Pending] = []

    def invoke(self, line: int, process: Any, f: str, key: str | None, value: Any) -> None:
        prev = self.pending.get(process)
        if prev is not None:
            raise HistoryParseError(self.path, line, f"process {shown(process)} invokes :{f} while its :{prev.f} "
                                                     f"from line {prev.line} has not completed")
        p = _Pending(line, process, f, key, value, line)
        self.pending[process] = p
        self.done.append(p)

    def complete(self, line: int, process: Any, f: str, key: str | None) -> _Pending:
        p = self.pending.pop(process, None)
        if p is None:
            raise HistoryParseError(self.path, line, f"process {shown(process)} completes :{f} it never invoked")
        if p.f != f or p.key != key:
            raise HistoryParseError(self.path, line, f"process {shown(process)} completes :{f} on {shown(key)} but invoked "
                                                     f":{p.f} on {shown(p.key)} at line {p.line}")
        return p

    def history(self, fmt: str) -> History:
        # ``done`` is already in invocation order (file order). Unfinished calls stay info/INF.
        ops = tuple(Operation(index=i, process=p.process, f=p.f, key=p.key, value=p.value,
                              invoke=p.invoke, complete=p.complete, outcome=p.outcome,  # type: ignore[arg-type]
                              result=p.result, line=p.line, give_up=p.give_up)
                    for i, p in enumerate(self.done))
        return History(ops, fmt, self.path, "event")


_REGISTER_LINE = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\S+)\s+:(\S+)\s+:(\S+)(?:\s+(.*?))?\s*$")
_TYPES = ("invoke", "ok", "fail", "info")


def _process_id(text: str) -> int | str:
    return int(text) if re.fullmatch(r"-?\d{1,30}", text) else text.lstrip(":")


def parse_jepsen_register(path: str | Path) -> History:
    """Parse a Jepsen single-register log (see module docstring for the semantics)."""
    src = str(path)
    pr = _Pairer(src)
    for line, text in _lines(path):
        m = _REGISTER_LINE.match(text)
        if m is None:
            raise HistoryParseError(src, line, "not a jepsen.util operation line "
                                               "('INFO  jepsen.util - <process> :<type> :<f> <value>')")
        proc_text, typ, f, raw = m.group(1), m.group(2), m.group(3), m.group(4) or "nil"
        process = _process_id(proc_text)
        if process == "nemesis":
            continue
        if typ not in _TYPES:
            raise HistoryParseError(src, line, f"unknown event type {shown(':' + typ)} (expected :invoke, :ok, :fail or :info)")
        if f not in ("read", "write", "cas"):
            raise HistoryParseError(src, line, f"unknown operation {shown(':' + f)} (expected :read, :write or :cas)")
        try:
            value = parse_edn(raw)
        except ValueError as e:
            raise HistoryParseError(src, line, f"bad value {shown(raw)}: {e}") from e
        if typ == "invoke":
            if f == "cas" and not (isinstance(value, tuple) and len(value) == 2
                                   and not any(isinstance(v, (tuple, dict)) for v in value)):
                raise HistoryParseError(src, line, f"cas needs [from to] (plain values), got {shown(raw)}")
            if f == "write" and isinstance(value, (tuple, dict, Keyword)):
                raise HistoryParseError(src, line, f"write needs a plain value, got {shown(raw)}")
            pr.invoke(line, process, f, None, value)
            continue
        p = pr.complete(line, process, f, None)
        if typ == "ok":
            p.outcome, p.complete = "ok", line
            if f == "read":
                if isinstance(value, (tuple, dict, Keyword)):
                    raise HistoryParseError(src, line, f"read returned {shown(raw)}, not a register value")
                p.result = value
            elif f == "cas":
                p.result = True
            if f != "read" and value != p.value:
                raise HistoryParseError(src, line, f"completion value {shown(raw)} differs from the invocation's "
                                                   f"(line {p.line})")
        elif typ == "fail" and f == "cas":
            # The compare ran and failed: the state differed from `from` at that point.
            p.outcome, p.complete, p.result = "ok", line, False
        elif typ == "fail" and f == "write":
            p.outcome, p.complete = "fail", line
        else:  # info, or a read that failed (":timed-out"): indeterminate
            p.outcome, p.complete, p.give_up = "info", INF, line
    return pr.history("jepsen-register")


def parse_jepsen_kv(path: str | Path) -> History:
    """Parse Jepsen EDN-like kv lines: ``{:process 0, :type :ok, :f :get, :key "1", :value "x"}``."""
    src = str(path)
    pr = _Pairer(src)
    for line, text in _lines(path):
        try:
            d = parse_edn(text)
        except ValueError as e:
            raise HistoryParseError(src, line, f"not an EDN map: {e}") from e
        if not isinstance(d, dict):
            raise HistoryParseError(src, line, "not an EDN map")
        missing = [k for k in ("process", "type", "f") if Keyword(k) not in d]
        if missing:
            raise HistoryParseError(src, line, f"missing :{', :'.join(missing)}")
        process, typ, f = d[Keyword("process")], d[Keyword("type")], d[Keyword("f")]
        if process in ("nemesis", Keyword("nemesis")):
            continue
        if not isinstance(process, int):
            raise HistoryParseError(src, line, f":process must be an integer, got {shown(process)}")
        if typ not in _TYPES or not isinstance(typ, Keyword):
            raise HistoryParseError(src, line, f"unknown :type {shown(typ)}")
        if f not in ("get", "put", "append") or not isinstance(f, Keyword):
            raise HistoryParseError(src, line, f"unknown :f {shown(f)} (expected :get, :put or :append)")
        key = d.get(Keyword("key"))
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str) or isinstance(key, Keyword):
            raise HistoryParseError(src, line, f":key must be a string, got {shown(key)}")
        value = d.get(Keyword("value"))
        if typ == "invoke":
            if f != "get" and not (isinstance(value, str) and not isinstance(value, Keyword)):
                raise HistoryParseError(src, line, f":{f} needs a string :value, got {shown(value)}")
            pr.invoke(line, process, str(f), key, value)
            continue
        p = pr.complete(line, process, str(f), key)
        if typ == "ok":
            p.outcome, p.complete = "ok", line
            if f == "get":
                if not isinstance(value, str) or isinstance(value, Keyword):
                    raise HistoryParseError(src, line, f":get returned {shown(value)}, not a string")
                p.result = value
        elif typ == "fail":
            p.outcome, p.complete = "fail", line
        else:
            p.outcome, p.complete, p.give_up = "info", INF, line
    return pr.history("jepsen-kv")


# --- the harness's own JSONL -------------------------------------------------------------

#: Optional fields of a harness history record and the exact type each must have when not
#: null (so ``true`` is no integer); the checkers and the diagrams rely on them.
_NULLABLE_TYPES: tuple[tuple[str, type], ...] = (
    ("i", int), ("node", str), ("read_consistency", str), ("write_consistency", str), ("value_size", int),
    ("intended_ns", int), ("error", str), ("revision", int), ("extra", dict))
_TYPE_NAMES = {int: "an integer", str: "a string", dict: "an object"}
#: Times are CLOCK_MONOTONIC nanoseconds: they fit a signed 64-bit integer.
_NS_LIMIT = 2 ** 63
#: What a token (a written value, a value read) may be: something checkers compare and index.
_TOKEN_TYPES = (str, int, float)


def check_record(r: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (naming the field) unless ``r`` (a history record: a JSON object
    or an ``Op``'s fields; absent optional fields count as null) is a client operation
    whose every field has the type the schema (``harness.recorder.history``) gives it."""
    f, typ = r["f"], r["type"]
    if f not in CLIENT_OPS:
        raise ValueError(f"unknown f {shown(f)} (expected one of {', '.join(CLIENT_OPS)})")
    if typ not in OUTCOMES:
        raise ValueError(f"unknown type {shown(typ)} (expected ok, fail or info)")
    if type(r["process"]) not in (int, str):
        raise ValueError(f"process must be an integer (or a name), got {shown(r['process'])}")
    if type(r.get("key")) is not str:
        raise ValueError(f"key must be a string, got {shown(r.get('key'))}")
    t0, t1 = r["invoke_ns"], r.get("complete_ns")
    if type(t0) is not int or not -_NS_LIMIT <= t0 < _NS_LIMIT:
        raise ValueError(f"invoke_ns must be an integer (nanoseconds), got {shown(t0)}")
    if t1 is None:
        if typ != "info":
            raise ValueError(f"a {typ} operation needs complete_ns")
    elif type(t1) is not int or not t0 <= t1 < _NS_LIMIT:
        raise ValueError(f"complete_ns must be an integer >= invoke_ns, got {shown(t1)}")
    for name, want in _NULLABLE_TYPES:
        v = r.get(name)
        if v is not None and type(v) is not want:
            raise ValueError(f"{name} must be {_TYPE_NAMES[want]} or null, got {shown(v)}")
    value = r.get("value")
    if f == "put":
        if type(value) not in _TOKEN_TYPES:
            raise ValueError(f"put needs a value (its token: a string or number), got {shown(value)}")
    elif f == "cas":
        if not (type(value) in (list, tuple) and len(value) == 2
                and all(v is None or type(v) in _TOKEN_TYPES for v in value)):
            raise ValueError(f"cas value must be [expected, new] (tokens or null), got {shown(value)}")
    elif value is not None and type(value) not in _TOKEN_TYPES:
        raise ValueError(f"{f} value must be null or a token, got {shown(value)}")
    result = r.get("result")
    if f == "get" and result is not None and type(result) not in _TOKEN_TYPES:
        raise ValueError(f"get result must be a token or null, got {shown(result)}")
    session = (r.get("extra") or {}).get("session")
    if session is not None and type(session) not in (int, str):
        raise ValueError(f"extra.session must be an integer or a string, got {shown(session)}")


#: A checked record, reduced to what an ``Operation`` needs, its sort key first:
#: (invoke_ns, line, process, f, key, value, complete_ns, type, result, read_consistency, final, revision, node,
#: session).
_Record = tuple


def _record(r: Mapping[str, Any], source: str, line: int) -> _Record:
    """``r`` checked (``check_record``; HistoryParseError at ``source:line``) and reduced."""
    try:
        check_record(r)
    except ValueError as e:
        raise HistoryParseError(source, line, str(e)) from e
    extra = r.get("extra")
    return (r["invoke_ns"], line, r["process"], r["f"], r["key"], r.get("value"), r.get("complete_ns"), r["type"],
            r.get("result"), r.get("read_consistency"), bool(extra.get("final")) if extra else False,
            r.get("revision"), r.get("node"), extra.get("session") if extra else None)


def _sorted_history(pending: list[_Record], source: str) -> History:
    """Checked records in invocation order as a History (``(invoke_ns, line)`` is unique, so
    the tuples sort on it alone).

    ``fail`` stays ``fail`` for every f, cas included: the schema says a failed cas did not
    take effect, but not that its compare ran (a cas rejected before reaching the leader is
    also ``fail``), so it is dropped rather than used as a constraint.
    """
    pending.sort()
    ops = []
    for index, (t0, line, process, f, key, value, t1, typ, result, rc, final, revision, node, session
                ) in enumerate(pending):
        info = typ == "info"
        ops.append(Operation(index=index, process=process, f=f, key=key,
                             value=(value[0], value[1]) if f == "cas" else value, invoke=t0,
                             complete=INF if info else t1, outcome=typ,
                             result=result if f == "get" else (True if f == "cas" and typ == "ok" else None),
                             line=line, give_up=t1 if info else None, read_consistency=rc, final=final,
                             revision=revision, node=node, session=session))
    return History(tuple(ops), "history", source, "ns")


def from_ops(ops: Iterable[Op], source: str = "<memory>") -> History:
    """A checker ``History`` from recorder ``Op`` records (nemesis records skipped).

    Errors name the op's position in ``ops`` (1-based) as the line.
    """
    pending = []
    for n, op in enumerate(ops, 1):
        if op.is_nemesis:
            continue
        pending.append(_record({k: getattr(op, k) for k in Op.__dataclass_fields__}, source, n))
    return _sorted_history(pending, source)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_json_decode = json.JSONDecoder(parse_constant=_no_constant).decode
_REQUIRED = ("process", "f", "type", "invoke_ns")


def parse_history(path: str | Path) -> History:
    """Parse a harness history file (JSONL, optionally ``.gz``). Records may omit the
    optional fields (hand-written histories); the recorder always writes them."""
    src = str(path)
    pending: list[_Record] = []
    for line, text in _lines(path):
        try:
            d = _json_decode(text)
        except ValueError as e:
            raise HistoryParseError(src, line, f"not JSON: {e}") from e
        except RecursionError as e:
            raise HistoryParseError(src, line, "not a history record: JSON nested too deep") from e
        if type(d) is not dict:
            raise HistoryParseError(src, line, "not a JSON object")
        if not all(k in d for k in _REQUIRED):
            raise HistoryParseError(src, line, f"missing field(s): {', '.join(k for k in _REQUIRED if k not in d)}")
        if d["process"] != "nemesis":
            pending.append(_record(d, src, line))
    return _sorted_history(pending, src)


_PARSERS = {"jepsen-register": parse_jepsen_register, "jepsen-kv": parse_jepsen_kv, "history": parse_history}


def detect_format(path: str | Path) -> str:
    """The format of a history file, from its first non-blank line."""
    for line, text in _lines(path):
        if text.startswith("INFO") and "jepsen.util" in text:
            return "jepsen-register"
        if text.startswith("{:"):
            return "jepsen-kv"
        if text.startswith("{"):
            return "history"
        raise HistoryParseError(str(path), line, "unrecognised history format (expected a jepsen.util log "
                                                 "line, an EDN map or a JSON object)")
    raise AssertionError("unreachable: _lines raises on a file without lines")


def load_history(path: str | Path, fmt: str = "auto") -> History:
    """Detect (``fmt="auto"``) or take the format, then parse."""
    if fmt == "auto":
        fmt = detect_format(path)
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise ValueError(f"unknown history format {fmt!r} (expected auto or one of {', '.join(FORMATS)})")
    return parser(path)
