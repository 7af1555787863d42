"""Parsers: each format's semantics, format detection, and parse errors naming the line."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.formats import detect_format, load_history, parse_edn
from harness.checkers.model import INF
from harness.errors import HistoryParseError

REGISTER_LOG = """\
INFO  jepsen.util - 0\t:invoke\t:write\t3
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:ok\t:write\t3
INFO  jepsen.util - 1\t:ok\t:read\t3
INFO  jepsen.util - 2   :invoke :cas    [3 4]
INFO  jepsen.util - 2   :fail   :cas    [3 4]
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:fail\t:read\t:timed-out
INFO  jepsen.util - 4\t:invoke\t:write\t1
INFO  jepsen.util - 4\t:info\t:write\t:timed-out
INFO  jepsen.util - 5\t:invoke\t:cas\t[1 2]
"""

KV_LOG = """\
{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_jepsen_register_semantics(tmp_path: Path) -> None:
    h = load_history(write(tmp_path, "r.log", REGISTER_LOG))
    assert h.format == "jepsen-register" and h.time_unit == "event"
    w, r, cas, timed_out, info_w, open_cas = h.ops
    assert (w.f, w.value, w.outcome, w.invoke, w.complete) == ("write", 3, "ok", 1, 3)
    assert (r.result, r.outcome) == (3, "ok")
    # a failed cas ran its compare: kept as a cas whose result is False
    assert (cas.value, cas.outcome, cas.result) == ((3, 4), "ok", False)
    assert (timed_out.outcome, timed_out.complete) == ("info", INF)
    assert (info_w.outcome, info_w.complete, info_w.give_up, info_w.value) == ("info", INF, 10, 1)
    assert (open_cas.outcome, open_cas.complete, open_cas.give_up) == ("info", INF, None)


def test_jepsen_kv_semantics(tmp_path: Path) -> None:
    h = load_history(write(tmp_path, "kv.txt", KV_LOG))
    assert h.format == "jepsen-kv"
    a, g = h.ops
    assert (a.f, a.key, a.value, a.outcome) == ("append", "0", "x 0 0 y", "ok")
    assert (g.f, g.result) == ("get", "x 0 0 y")


def test_harness_history_semantics(tmp_path: Path, hb: Any) -> None:
    hb.nemesis("partition", 0, 1).put(1, "k", "t1", 5, 9).cas(2, "k", "t1", "t2", 1, 3, type="fail") \
        .get(3, "k", "t1", 10, 12, rc="linearizable", final=True).put(4, "k", "t3", 11, 40, type="info")
    h = load_history(hb.write(tmp_path / "history.jsonl"))
    assert h.format == "history" and h.time_unit == "ns"
    assert [o.f for o in h.ops] == ["cas", "put", "get", "put"]  # invocation order, nemesis skipped
    cas, put, get, info = h.ops
    assert cas.value == ("t1", "t2") and cas.outcome == "fail"
    assert put.invoke == 5_000_000 and put.complete == 9_000_000
    assert get.final and get.read_consistency == "linearizable" and get.result == "t1"
    assert info.complete == INF and info.give_up == 40_000_000


def test_gzip_history(tmp_path: Path, hb: Any) -> None:
    hb.put(1, "k", "t1", 0, 1)
    p = tmp_path / "h.jsonl.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(hb.ops[0].to_json() + "\n")
    assert len(load_history(p).ops) == 1


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path, "a", "\n" + REGISTER_LOG)) == "jepsen-register"
    assert detect_format(write(tmp_path, "b", KV_LOG)) == "jepsen-kv"
    assert detect_format(write(tmp_path, "c", '{"i": 0}\n')) == "history"
    with pytest.raises(HistoryParseError) as e:
        detect_format(write(tmp_path, "d", "\n\nhello\n"))
    assert e.value.line == 3


def test_parse_edn() -> None:
    assert parse_edn('{:a 1, :b [1 2], :c "x\\"y", :d nil, :e :kw}') == \
        {"a": 1, "b": (1, 2), "c": 'x"y', "d": None, "e": "kw"}
    with pytest.raises(ValueError):
        parse_edn("{:a 1")


@pytest.mark.parametrize("fmt, text, line, reason", [
    ("jepsen-register", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nnonsense\n", 2, "not a jepsen.util"),
    ("jepsen-register", "INFO  jepsen.util - 0\t:ok\t:read\t1\n", 1, "never invoked"),
    ("jepsen-register", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:read\tnil\n",
     2, "has not completed"),
    ("jepsen-register", "INFO  jepsen.util - 0\t:invoke\t:cas\t3\n", 1, "cas needs [from to]"),
    ("jepsen-register", "INFO  jepsen.util - 0\t:invoke\t:write\t[1\n", 1, "bad value"),
    ("jepsen-register", "INFO  jepsen.util - 0\t:invoke\t:frob\t1\n", 1, "unknown operation"),
    ("jepsen-register", "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:read\t1\n",
     2, "completes :read"),
    ("jepsen-kv", KV_LOG + '{:process 0, :type :invoke, :f :get, :key "0"\n', 5, "not an EDN map"),
    ("jepsen-kv", '{:process 0, :type :invoke, :f :del, :key "0", :value nil}\n', 1, "unknown :f"),
    ("jepsen-kv", '{:type :invoke, :f :get, :key "0", :value nil}\n', 1, "missing :process"),
    ("history", '{"i":0,"process":1,"f":"put","key":"k","value":"t","invoke_ns":1,"complete_ns":2,"type":"ok"}\n'
                "{not json\n", 2, "not JSON"),
    ("history", '\n\n{"i":0,"process":1,"f":"put","key":"k","value":"t","invoke_ns":1,"type":"ok"}\n', 3,
     "needs complete_ns"),
    ("history", '{"i":0,"process":1,"f":"frob","key":"k","value":"t","invoke_ns":1,"complete_ns":2,"type":"ok"}\n',
     1, "unknown f"),
    ("history", '{"i":0,"process":1,"f":"cas","key":"k","value":"t","invoke_ns":1,"complete_ns":2,"type":"ok"}\n',
     1, "cas value must be"),
    ("history", '{"i":0,"process":1,"f":"get","key":"k","invoke_ns":1,"complete_ns":2,"type":"maybe"}\n',
     1, "unknown type"),
    ("history", '{"i":0,"f":"get","key":"k","invoke_ns":1,"complete_ns":2,"type":"ok"}\n', 1, "missing field"),
    ("history", '[1, 2]\n', 1, "not a JSON object"),
])
def test_parse_errors_name_file_and_line(tmp_path: Path, fmt: str, text: str, line: int, reason: str) -> None:
    p = write(tmp_path, "bad", text)
    with pytest.raises(HistoryParseError) as e:
        load_history(p, fmt)
    assert e.value.line == line and e.value.file == str(p) and reason in e.value.reason, str(e.value)
    assert str(e.value).startswith(f"{p}:{line}: ")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(HistoryParseError) as e:
        load_history(tmp_path / "missing.log")
    assert "cannot read" in e.value.reason
    (tmp_path / "bin").write_bytes(b"INFO \xff\xfe\n")
    with pytest.raises(HistoryParseError) as e:
        load_history(tmp_path / "bin", "jepsen-register")
    assert e.value.line == 1 and "UTF-8" in e.value.reason


def test_unknown_format_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_history(write(tmp_path, "x", KV_LOG), "csv")


def test_history_written_by_recorder_roundtrips(tmp_path: Path, hb: Any) -> None:
    hb.put(1, "k", "t1", 0, 1).get(2, "k", "t1", 2, 3)
    p = hb.write(tmp_path / "h.jsonl")
    rows = [json.loads(line) for line in p.read_text().splitlines()]
    assert rows[0]["f"] == "put"
    assert [o.f for o in load_history(p).ops] == ["put", "get"]


# -- bad input of every kind: one HistoryParseError naming file and line, never a traceback ---------
PUT = {"i": 0, "process": 1, "f": "put", "key": "k", "value": "t", "invoke_ns": 1, "complete_ns": 2, "type": "ok"}


def jsonl(**changes: Any) -> str:
    return json.dumps({**PUT, **changes}) + "\n"


@pytest.mark.parametrize("record, reason", [
    (jsonl(invoke_ns="5"), "invoke_ns must be an integer (nanoseconds), got '5'"),
    (jsonl(invoke_ns=None), "invoke_ns must be an integer (nanoseconds), got None"),
    (jsonl(invoke_ns=1.5), "invoke_ns must be an integer (nanoseconds), got 1.5"),
    (jsonl(invoke_ns=True), "invoke_ns must be an integer (nanoseconds), got True"),
    (jsonl(invoke_ns=2 ** 64), f"invoke_ns must be an integer (nanoseconds), got {2 ** 64}"),
    (jsonl(complete_ns="2"), "complete_ns must be an integer >= invoke_ns, got '2'"),
    (jsonl(process=[1]), "process must be an integer (or a name), got [1]"),
    (jsonl(process=None), "process must be an integer (or a name), got None"),
    (jsonl(key=7), "key must be a string, got 7"),
    (jsonl(value=[1, 2]), "put needs a value (its token: a string or number), got [1, 2]"),
    (jsonl(value={"a": 1}), "put needs a value (its token: a string or number), got {'a': 1}"),
    (jsonl(f="cas", value=[["a"], "b"]), "cas value must be [expected, new] (tokens or null), got [['a'], 'b']"),
    (jsonl(f="get", value=None, result={"x": 1}), "get result must be a token or null, got {'x': 1}"),
    (jsonl(read_consistency=5), "read_consistency must be a string or null, got 5"),
    (jsonl(revision=True), "revision must be an integer or null, got True"),
    (jsonl(extra=[1]), "extra must be an object or null, got [1]"),
    (jsonl(value_size="256"), "value_size must be an integer or null, got '256'"),
    ('{"process": 1, "f": "put", "type": "ok", "invoke_ns": NaN}\n', "not JSON: NaN is not a JSON value"),
    ("[" * 100_000 + "]" * 100_000 + "\n", "not a history record: JSON nested too deep"),
])
def test_history_field_of_the_wrong_type(tmp_path: Path, record: str, reason: str) -> None:
    p = write(tmp_path, "h.jsonl", jsonl() + record)
    with pytest.raises(HistoryParseError) as e:
        load_history(p, "history")
    assert (e.value.file, e.value.line, e.value.reason) == (str(p), 2, reason)


def test_deeply_nested_edn_is_refused(tmp_path: Path) -> None:
    deep = '{:process 0, :type :invoke, :f :put, :key "0", :value ' + "[" * 10_000 + "]" * 10_000 + "}\n"
    p = write(tmp_path, "kv.txt", KV_LOG + deep)
    with pytest.raises(HistoryParseError) as e:
        load_history(p)
    assert (e.value.line, e.value.reason) == (5, "not an EDN map: nested deeper than 32 levels at column 86")
    p = write(tmp_path, "r.log", "INFO  jepsen.util - 0\t:invoke\t:cas\t[[1] 2]\n")
    with pytest.raises(HistoryParseError) as e:
        load_history(p)
    assert (e.value.line, e.value.reason) == (1, "cas needs [from to] (plain values), got '[[1] 2]'")


def gz_history(tmp_path: Path, hb: Any) -> bytes:
    for i in range(200):
        hb.put(i, f"k{i % 7}", f"t{i}", i, i + 0.5)
    p = hb.write(tmp_path / "h.jsonl")
    return gzip.compress(p.read_bytes(), mtime=0)


def test_damaged_gzip_names_the_line_it_stopped_at(tmp_path: Path, hb: Any) -> None:
    z = gz_history(tmp_path, hb)
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(z[:len(z) // 2])
    with pytest.raises(HistoryParseError) as e:
        load_history(truncated)
    assert e.value.file == str(truncated) and e.value.line > 1
    assert e.value.reason.startswith(f"damaged or truncated gzip data after line {e.value.line - 1}: "), e.value
    flipped = tmp_path / "flipped.jsonl.gz"
    flipped.write_bytes(z[:40] + bytes([z[40] ^ 0xFF]) + z[41:])  # inside the deflate stream: zlib.error
    with pytest.raises(HistoryParseError) as e:
        load_history(flipped, "history")
    assert "damaged or truncated gzip data after line" in e.value.reason, e.value
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"not gzip at all\n")
    with pytest.raises(HistoryParseError) as e:
        load_history(garbage)
    assert (e.value.line, e.value.reason) == (1, "damaged or truncated gzip data after line 0: "
                                                 "Not a gzipped file (b'no')")


@pytest.mark.parametrize("fmt", ["auto", "jepsen-register", "jepsen-kv", "history"])
def test_empty_file_is_refused_in_every_format(tmp_path: Path, fmt: str) -> None:
    for name, content in (("empty.log", b""), ("blank.log", b"\n \n\t\n"), ("empty.jsonl.gz", gzip.compress(b""))):
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(HistoryParseError) as e:
            load_history(p, fmt)
        assert (e.value.file, e.value.line, e.value.reason) == (str(p), 0, "empty history file (no operation lines)")


def test_binary_garbage_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "garbage.log"
    p.write_bytes(b"\n{\"a\": \x00\x01caf\xc3\xa9 \xff\xfe}\n")
    with pytest.raises(HistoryParseError) as e:
        load_history(p)
    assert (e.value.line, e.value.reason) == (2, "not UTF-8 text: byte 0xff at column 14 (invalid start byte)")


@pytest.mark.parametrize("name, text", [("r.log", REGISTER_LOG), ("kv.txt", KV_LOG), ("h.jsonl", jsonl())])
def test_utf8_byte_order_mark_is_accepted(tmp_path: Path, name: str, text: str) -> None:
    plain = load_history(write(tmp_path, name, text))
    p = tmp_path / ("bom-" + name)
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with_bom = load_history(p)
    assert (with_bom.format, with_bom.ops) == (plain.format, plain.ops)
    z = tmp_path / ("bom-" + name + ".gz")
    z.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode()))
    assert load_history(z).ops == plain.ops
