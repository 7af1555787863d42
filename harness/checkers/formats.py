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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from harness.checkers.model import INF, History, Operation
from harness.errors import HistoryParseError
from harness.recorder.history import CLIENT_OPS, OUTCOMES, Op

FORMATS: tuple[str, ...] = ("jepsen-register", "jepsen-kv", "history")


class Keyword(str):
    """An EDN keyword (``:ok`` parses to ``Keyword("ok")``), distinct from a string."""

    def __repr__(self) -> str:
        return ":" + str.__str__(self)


def _open_text(path: str | Path) -> IO[str]:
    p = str(path)
    if p.endswith(".gz"):
        return gzip.open(p, "rt", encoding="utf-8")
    return open(p, encoding="utf-8")


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) for non-blank lines; unreadable files and bad
    encodings become a ``HistoryParseError`` too (line 0 when no line is involved)."""
    lineno = 0
    try:
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                s = line.strip()
                if s:
                    yield lineno, s
    except UnicodeDecodeError as e:
        raise HistoryParseError(str(path), lineno + 1, f"not UTF-8 text: {e.reason}") from e
    except (OSError, EOFError) as e:
        raise HistoryParseError(str(path), lineno, f"cannot read: {e}") from e


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
    value, i = _edn_value(tokens, 0)
    if i != len(tokens):
        raise ValueError(f"trailing text at column {tokens[i][2]}")
    return value


def _edn_value(tokens: list[tuple[str, str, int]], i: int) -> tuple[Any, int]:
    # Iterative for nesting would be overkill: Jepsen values nest two or three levels deep.
    if i >= len(tokens):
        raise ValueError("unexpected end of line")
    kind, text, col = tokens[i]
    if kind == "str":
        return re.sub(r"\\(.)", lambda m: _STR_ESCAPES.get(m.group(1), m.group(1)), text[1:-1]), i + 1
    if kind == "kw":
        return Keyword(text[1:]), i + 1
    if kind == "num":
        return (float(text) if any(c in text for c in ".eE") else int(text)), i + 1
    if kind == "sym":
        if text in ("nil", "true", "false"):
            return {"nil": None, "true": True, "false": False}[text], i + 1
        raise ValueError(f"unknown symbol {text!r} at column {col}")
    if kind == "open":
        closer = {"[": "]", "(": ")", "{": "}"}[text]
        items: list[Any] = []
        i += 1
        while True:
            if i >= len(tokens):
                raise ValueError(f"unclosed {text!r} opened at column {col}")
            if tokens[i][0] == "close":
                if tokens[i][1] != closer:
                    raise ValueError(f"mismatched {tokens[i][1]!r} at column {tokens[i][2]}")
                i += 1
                break
            item, i = _edn_value(tokens, i)
            items.append(item)
        if text != "{":
            return tuple(items), i
        if len(items) % 2:
            raise ValueError(f"map opened at column {col} has an odd number of forms")
        try:
            return {items[j]: items[j + 1] for j in range(0, len(items), 2)}, i
        except TypeError as e:
            raise ValueError(f"map opened at column {col} has an unhashable key") from e
    raise ValueError(f"unexpected {text!r} at column {col}")


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
            raise HistoryParseError(self.path, line, f"process {process} invokes :{f} while its :{prev.f} "
                                                     f"from line {prev.line} has not completed")
        p = _Pending(line, process, f, key, value, line)
        self.pending[process] = p
        self.done.append(p)

    def complete(self, line: int, process: Any, f: str, key: str | None) -> _Pending:
        p = self.pending.pop(process, None)
        if p is None:
            raise HistoryParseError(self.path, line, f"process {process} completes :{f} it never invoked")
        if p.f != f or p.key != key:
            raise HistoryParseError(self.path, line, f"process {process} completes :{f} on {key!r} but invoked "
                                                     f":{p.f} on {p.key!r} at line {p.line}")
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
    return int(text) if re.fullmatch(r"-?\d+", text) else text.lstrip(":")


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
            raise HistoryParseError(src, line, f"unknown event type :{typ} (expected :invoke, :ok, :fail or :info)")
        if f not in ("read", "write", "cas"):
            raise HistoryParseError(src, line, f"unknown operation :{f} (expected :read, :write or :cas)")
        try:
            value = parse_edn(raw)
        except ValueError as e:
            raise HistoryParseError(src, line, f"bad value {raw!r}: {e}") from e
        if typ == "invoke":
            if f == "cas" and not (isinstance(value, tuple) and len(value) == 2):
                raise HistoryParseError(src, line, f"cas needs [from to], got {raw!r}")
            if f == "write" and isinstance(value, (tuple, dict, Keyword)):
                raise HistoryParseError(src, line, f"write needs a plain value, got {raw!r}")
            pr.invoke(line, process, f, None, value)
            continue
        p = pr.complete(line, process, f, None)
        if typ == "ok":
            p.outcome, p.complete = "ok", line
            if f == "read":
                if isinstance(value, (tuple, dict, Keyword)):
                    raise HistoryParseError(src, line, f"read returned {raw!r}, not a register value")
                p.result = value
            elif f == "cas":
                p.result = True
            if f != "read" and value != p.value:
                raise HistoryParseError(src, line, f"completion value {raw!r} differs from the invocation's "
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
            raise HistoryParseError(src, line, f":process must be an integer, got {process!r}")
        if typ not in _TYPES or not isinstance(typ, Keyword):
            raise HistoryParseError(src, line, f"unknown :type {typ!r}")
        if f not in ("get", "put", "append") or not isinstance(f, Keyword):
            raise HistoryParseError(src, line, f"unknown :f {f!r} (expected :get, :put or :append)")
        key = d.get(Keyword("key"))
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str) or isinstance(key, Keyword):
            raise HistoryParseError(src, line, f":key must be a string, got {key!r}")
        value = d.get(Keyword("value"))
        if typ == "invoke":
            if f != "get" and not (isinstance(value, str) and not isinstance(value, Keyword)):
                raise HistoryParseError(src, line, f":{f} needs a string :value, got {value!r}")
            pr.invoke(line, process, str(f), key, value)
            continue
        p = pr.complete(line, process, str(f), key)
        if typ == "ok":
            p.outcome, p.complete = "ok", line
            if f == "get":
                if not isinstance(value, str) or isinstance(value, Keyword):
                    raise HistoryParseError(src, line, f":get returned {value!r}, not a string")
                p.result = value
        elif typ == "fail":
            p.outcome, p.complete = "fail", line
        else:
            p.outcome, p.complete, p.give_up = "info", INF, line
    return pr.history("jepsen-kv")


# --- the harness's own JSONL -------------------------------------------------------------

def operation_from_op(op: Op, index: int = 0, line: int = 0) -> Operation:
    """Convert one recorder ``Op`` (validated) into a checker ``Operation``.

    ``fail`` stays ``fail`` for every f, cas included: the schema says a failed cas did not
    take effect, but not that its compare ran (a cas rejected before reaching the leader is
    also ``fail``), so it is dropped rather than used as a constraint. Raises ``ValueError``.
    """
    if op.f not in CLIENT_OPS:
        raise ValueError(f"unknown f {op.f!r} (expected one of {', '.join(CLIENT_OPS)})")
    if op.type not in OUTCOMES:
        raise ValueError(f"unknown type {op.type!r} (expected ok, fail or info)")
    if not isinstance(op.key, str):
        raise ValueError(f"key must be a string, got {op.key!r}")
    if not isinstance(op.invoke_ns, int) or isinstance(op.invoke_ns, bool):
        raise ValueError(f"invoke_ns must be an integer, got {op.invoke_ns!r}")
    if op.complete_ns is not None and (not isinstance(op.complete_ns, int) or op.complete_ns < op.invoke_ns):
        raise ValueError(f"complete_ns must be an integer >= invoke_ns, got {op.complete_ns!r}")
    if op.type != "info" and op.complete_ns is None:
        raise ValueError(f"a {op.type} operation needs complete_ns")
    value: Any = op.value
    if op.f == "cas":
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ValueError(f"cas value must be [expected, new], got {value!r}")
        value = (value[0], value[1])
    elif op.f == "put" and value is None:
        raise ValueError("put needs a value (its token)")
    result: Any = op.result if op.f == "get" else None
    if op.f == "cas" and op.type == "ok":
        result = True
    if op.f == "get" and op.type == "ok" and isinstance(result, (list, dict)):
        raise ValueError(f"get result must be a token or null, got {result!r}")
    info = op.type == "info"
    return Operation(index=index, process=op.process, f=op.f, key=op.key, value=value,
                     invoke=op.invoke_ns, complete=INF if info else op.complete_ns,  # type: ignore[arg-type]
                     outcome=op.type, result=result, line=line,
                     give_up=op.complete_ns if info else None, read_consistency=op.read_consistency,
                     final=bool(op.extra.get("final")) if isinstance(op.extra, dict) else False,
                     revision=op.revision)


def _sorted_history(items: list[tuple[Op, int]], source: str) -> History:
    items.sort(key=lambda t: (t[0].invoke_ns, t[1]))
    ops = []
    for idx, (op, line) in enumerate(items):
        try:
            ops.append(operation_from_op(op, idx, line))
        except ValueError as e:
            raise HistoryParseError(source, line, str(e)) from e
    return History(tuple(ops), "history", source, "ns")


def from_ops(ops: Iterable[Op], source: str = "<memory>") -> History:
    """A checker ``History`` from recorder ``Op`` records (nemesis records skipped).

    Errors name the op's position in ``ops`` (1-based) as the line.
    """
    return _sorted_history([(op, n) for n, op in enumerate(ops, 1) if not op.is_nemesis], source)


def parse_history(path: str | Path) -> History:
    """Parse a harness history file (JSONL, optionally ``.gz``)."""
    src = str(path)
    items: list[tuple[Op, int]] = []
    for line, text in _lines(path):
        try:
            d = json.loads(text)
        except ValueError as e:
            raise HistoryParseError(src, line, f"not JSON: {e}") from e
        if not isinstance(d, dict):
            raise HistoryParseError(src, line, "not a JSON object")
        missing = [k for k in ("process", "f", "type", "invoke_ns") if k not in d]
        if missing:
            raise HistoryParseError(src, line, f"missing field(s): {', '.join(missing)}")
        if d["process"] == "nemesis":
            continue
        # Optional in hand-written histories; the recorder always writes them.
        d = {"i": line, "key": None, "value": None, "complete_ns": None, **d}
        try:
            op = Op.from_dict(d)
        except TypeError as e:
            raise HistoryParseError(src, line, f"not a history record: {e}") from e
        items.append((op, line))
    return _sorted_history(items, src)


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
    raise HistoryParseError(str(path), 0, "empty history file")


def load_history(path: str | Path, fmt: str = "auto") -> History:
    """Detect (``fmt="auto"``) or take the format, then parse."""
    if fmt == "auto":
        fmt = detect_format(path)
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise ValueError(f"unknown history format {fmt!r} (expected auto or one of {', '.join(FORMATS)})")
    return parser(path)
