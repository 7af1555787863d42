"""Property-based: random mutations of the repository's REAL input files, fed to every parser
and to ``gbench check``; only the project's typed errors may come out, never a traceback.

Seeds: every ``workloads/*.yaml``, ``workloads/scenarios/*.yaml`` and ``workloads/suites/*.yaml``;
history files from the shared reference data (Jepsen register and kv logs) and from the
committed reference runs (``results/``, the oldest first, cut to their first lines). Each
example applies one to four mutations to a seed: byte flips, truncation, inserted, deleted
and duplicated lines (duplicate keys), a value replaced by a random scalar (NaN, inf, huge,
negative, strings, lists, nulls, exponent notation PyYAML reads as text), a duplicated key
inside a flow mapping, deep nesting, an encoding change (BOM, UTF-16, Latin-1, a stray byte)
and, for histories, gzip compression with damage (flipped or missing bytes). Half the YAML
examples are changed as a tree instead (a node replaced by a random value, removed, or given
a sibling, then dumped again), so that well-formed files reach the field checks.

What must hold: ``load_workload``, ``load_scenario``, ``load_suite`` and ``load_history``
either return or raise ``GbenchError`` (``ConfigError`` / ``HistoryParseError``) with a
short message naming a file; ``gbench check`` (``harness.cli.main``) returns 0, 1 or 2 and
names the file on stderr when it returns 2.

Profiles: ``ci`` (the default): 2,000 examples per parser, derandomized, so every run tries
the same examples; ``HYPOTHESIS_PROFILE=fuzz``: random seeds and 20,000 examples each
(``FUZZ_EXAMPLES=N`` for another count), for hunting locally (a failure prints the example
to replay).
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harness import cli
from harness.checkers.formats import FORMATS, load_history
from harness.checkers import reference
from harness.errors import GbenchError
from harness.scenario.spec import load_scenario
from harness.workload.spec import load_workload
from harness.workload.suite import load_suite

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = REPO / "workloads"

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
PROFILES = {
    "ci": settings(max_examples=2000, deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET),
    "fuzz": settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")), deadline=None, derandomize=False,
                     database=None, suppress_health_check=_QUIET),
}
PROFILE = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]

#: Longest message a parser may produce: one line a person reads, not a dump of the input.
MAX_MESSAGE = 1500
HISTORY_HEAD_LINES = 150


def _yaml_seeds(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.yaml"))]


WORKLOAD_SEEDS = _yaml_seeds(WORKLOADS)
SCENARIO_SEEDS = _yaml_seeds(WORKLOADS / "scenarios")
SUITE_SEEDS = _yaml_seeds(WORKLOADS / "suites")
ALL_YAML = WORKLOAD_SEEDS + SCENARIO_SEEDS + SUITE_SEEDS


def _head(data: bytes, lines: int) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:lines])


def _history_seeds() -> list[bytes]:
    """A few real histories of each format (uncompressed; compression is a mutation)."""
    out: list[bytes] = []
    shared = reference.testdata_dir()
    for rel in ("jepsen-etcd/etcd_000.log", "jepsen-etcd/etcd_070.log", "kv/c01-ok.txt", "kv/c01-bad.txt"):
        if (shared / rel).is_file():
            out.append((shared / rel).read_bytes())
    # The committed reference runs sort first (their ids are timestamps); a user's later runs
    # do not change which files seed this test.
    runs = sorted(REPO.glob("results/2*/scenarios/*/workloads/*/history.jsonl.gz"))
    etcd = [p for p in runs if "/etcd-" in str(p)][:1]
    cassandra = [p for p in runs if "/cassandra-" in str(p)][:1]
    out += [_head(gzip.decompress(p.read_bytes()), HISTORY_HEAD_LINES) for p in etcd + cassandra]
    return out


HISTORY_SEEDS = _history_seeds()

# -- values a mutation puts where a value was -----------------------------------------------------
YAML_SCALARS = [
    ".nan", ".NaN", ".inf", "-.inf", "1e12", "1.0e+12", "1e9", "1E3", "1.5e-3", "nan", "inf",
    "100000", "1000000000000", "9" * 4000, "-1", "-0.0", "0", "0.0", "1", "2", "3", "16", "86401", "99999999999999999999999",
    "1:30", "0x10", "017", "1_000", "true", "false", "yes", "no", "maybe", "on", "~", "null", "''", '""',
    "x", "'1e12'", "n1", "n9", "all", "leader", "[]", "{}", "[1, 2]", "[n1, n2]", "[[n1], [n2, n3]]",
    "{a: 1}", "../../x", "/tmp/x", "'..'", "a/b", "'a b'", "2024-01-01", "2024-13-45", "!!int abc",
    "&a [*a]", "*undefined", "'\\x00'", "\"\\u0000\"", "|\n  block", ">-", "- item", "? k", "!!binary AAAA",
    "linearizable", "serializable", "QUORUM", "ONE", "SERIAL", "zipfian", "open", "closed", "partition", "heal",
    "kill", "restart", "isolate-node", "groups", "cassandra", "etcd",
]
JSON_SCALARS = [
    "null", "true", "false", "0", "-1", "1.5", "1e400", "-1e400", "NaN", "Infinity", "-Infinity",
    "9223372036854775808", "-9223372036854775809", "1" * 4000, "1" * 5000, '""', '"x"', '"nemesis"', '"ok"', '"info"',
    '"fail"', '"put"', '"get"', '"cas"', '"delete"', "[]", "[1]", '["a", "b"]', '[["a"], "b"]', "[null, null]",
    "{}", '{"final": true}', '{"a": {"b": []}}', '"\\ud800"', '"\\u0000"',
]
EDN_SCALARS = [
    "nil", "true", "false", "0", "-1", "1.5", "1e400", ":ok", ":invoke", ":info", ":fail", ":nemesis",
    ":read", ":write", ":cas", ":get", ":put", ":append", '""', '"x"', "[]", "[1 2]", "[[1] 2]", "{}", "{:a 1}",
    "#{1}", "(1 2)", "1" * 500, "x", "@", "\\c",
]


def _generic_scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.binary(max_size=12).map(lambda b: b.decode("latin-1")),
    )


# -- mutations ------------------------------------------------------------------------------------
_YAML_PAIR = re.compile(rb"(?P<key>[A-Za-z_][\w-]*):[ \t]+(?P<val>[^,\n}\]#]+)")
_JSON_PAIR = re.compile(rb'"(?P<key>\w+)":(?P<val>"[^"]*"|[^,}\]]+)')
_EDN_PAIR = re.compile(rb":(?P<key>[\w-]+)[ \t]+(?P<val>\"[^\"]*\"|[^,}\s]+)")


@st.composite
def _mutation(draw: st.DrawFn, data: bytes, scalars: list[str], pair: re.Pattern[bytes]) -> bytes:
    """One random change to ``data``."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate", "value", "value",
                                 "value", "dupkey", "nest", "encoding"]))
    lines = data.splitlines(keepends=True) or [b""]
    if kind == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    if kind in ("insert", "delete", "duplicate"):
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            return b"".join(lines[:i] + lines[i + 1:])
        if kind == "duplicate":
            return b"".join(lines[:i + 1] + lines[i:])
        line = draw(st.one_of(st.sampled_from(lines), st.binary(max_size=40),
                              st.sampled_from(scalars).map(lambda s: s.encode() + b"\n")))
        return b"".join(lines[:i] + [line] + lines[i:])
    matches = list(pair.finditer(data))
    if kind in ("value", "dupkey", "nest") and matches:
        m = draw(st.sampled_from(matches))
        if kind == "nest":
            n = draw(st.sampled_from([2, 33, 200, 5000]))
            opener, closer = draw(st.sampled_from([(b"[", b"]"), (b"{a: ", b"}"), (b'{"a":', b"}"), (b"(", b")")]))
            new = opener * n + m.group("val") + closer * n
        else:
            new = draw(st.one_of(st.sampled_from(scalars), _generic_scalar())).encode("utf-8", "surrogatepass")
        if kind == "dupkey":
            # the same key again right after this one (flow mappings: `{a: 1, a: 2}`; JSON/EDN likewise)
            sep = b", " if data[m.end():m.end() + 1] in (b",", b"}") else b"\n"
            return data[:m.end()] + sep + m.group(0)[:m.start("val") - m.start()] + new + data[m.end():]
        return data[:m.start("val")] + new + data[m.end("val"):]
    if kind == "encoding":
        how = draw(st.sampled_from(["bom", "utf16", "latin1", "stray", "nul"]))
        if how == "bom":
            return b"\xef\xbb\xbf" + data
        if how == "utf16":
            return data.decode("utf-8", "replace").encode("utf-16")
        if how == "latin1":
            return data.decode("utf-8", "replace").replace(" ", " caf\u00e9 ", 1).encode("latin-1", "replace")
        i = draw(st.integers(0, len(data)))
        return data[:i] + (b"\xff\xfe" if how == "stray" else b"\x00") + data[i:]
    return data


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], scalars: list[str], pair: re.Pattern[bytes]) -> bytes:
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
        data = draw(_mutation(data, scalars, pair))
    return data


_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(YAML_SCALARS))
_VALUES = st.recursive(_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.sampled_from(["a", "name", "at", "keys"]),
                                                                        inner, max_size=3)), max_leaves=6)


@st.composite
def tree_mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed parsed, one node of its tree replaced, removed or given a sibling, dumped again:
    well-formed YAML whose values, not syntax, are wrong."""
    doc = yaml.safe_load(draw(st.sampled_from(seeds)))
    paths: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
        for k, v in items:
            paths.append((node, k))
            stack.append(v)
    for _ in range(draw(st.integers(1, 3))):
        if not paths:
            break
        parent, key = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add"]))
        if how == "replace":
            parent[key] = draw(_VALUES)
        elif how == "remove" and key in (parent if isinstance(parent, dict) else range(len(parent))):
            del parent[key]
            paths = [(p, k) for p, k in paths if p is not parent]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "name", "timeline", "keys", "etcd_benchmark", "guarantee"]))] = \
                draw(_VALUES)
    return yaml.safe_dump(doc, allow_unicode=True).encode()


@st.composite
def yaml_file(draw: st.DrawFn, own: list[bytes]) -> bytes:
    """A mutated file of this kind, sometimes of another kind (a scenario given to `run`)."""
    seeds = draw(st.sampled_from([own, own, own, ALL_YAML]))
    if draw(st.booleans()):
        return draw(tree_mutated(seeds))
    return draw(mutated(seeds, YAML_SCALARS, _YAML_PAIR))


@st.composite
def history_file(draw: st.DrawFn) -> tuple[bytes, bool]:
    """(content, gzip?): a mutated history, maybe gzip-compressed, maybe damaged after compression."""
    scalars, pair = draw(st.sampled_from([(JSON_SCALARS, _JSON_PAIR), (EDN_SCALARS, _EDN_PAIR)]))
    data = draw(mutated(HISTORY_SEEDS, scalars, pair))
    if not draw(st.booleans()):
        return data, False
    z = gzip.compress(data, mtime=0)
    damage = draw(st.sampled_from(["none", "none", "flip", "truncate", "append"]))
    if damage == "flip":
        i = draw(st.integers(0, len(z) - 1))
        z = z[:i] + bytes([z[i] ^ draw(st.integers(1, 255))]) + z[i + 1:]
    elif damage == "truncate":
        z = z[:draw(st.integers(0, len(z) - 1))]
    elif damage == "append":
        z += draw(st.binary(min_size=1, max_size=20))
    return z, True


# -- the properties -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``workloads/`` so that mutants beside the real files resolve their relative paths."""
    root = tmp_path_factory.mktemp("inputs")
    shutil.copytree(WORKLOADS, root / "workloads")
    return root / "workloads"


def _refused_or_parsed(parse: Callable[[Path], Any], path: Path) -> None:
    try:
        parse(path)
        event("parsed")
    except GbenchError as e:
        event(f"refused: {type(e).__name__} {getattr(e, 'field', None) or getattr(e, 'reason', '')[:24]}")
        msg = str(e)
        assert msg and len(msg) <= MAX_MESSAGE, f"{len(msg)} characters: {msg[:300]}..."
        assert getattr(e, "file", None), msg


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@PROFILE
@given(data=yaml_file(WORKLOAD_SEEDS))
def test_workload_parser_never_raises_anything_untyped(tree: Path, data: bytes) -> None:
    _refused_or_parsed(load_workload, _write(tree / "mutant.yaml", data))


@PROFILE
@given(data=yaml_file(SCENARIO_SEEDS))
def test_scenario_parser_never_raises_anything_untyped(tree: Path, data: bytes) -> None:
    _refused_or_parsed(load_scenario, _write(tree / "scenarios" / "mutant.yaml", data))


@PROFILE
@given(data=yaml_file(SUITE_SEEDS))
def test_suite_parser_never_raises_anything_untyped(tree: Path, data: bytes) -> None:
    _refused_or_parsed(load_suite, _write(tree / "suites" / "mutant.yaml", data))


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HISTORY_SEEDS:
        pytest.skip(f"no history files found (shared data under {reference.testdata_dir()}, results/)")
    return tmp_path_factory.mktemp("histories")


@PROFILE
@given(case=history_file(), fmt=st.sampled_from(["auto", *FORMATS]))
def test_history_parsers_never_raise_anything_untyped(history_dir: Path, case: tuple[bytes, bool],
                                                      fmt: str) -> None:
    data, gz = case
    path = _write(history_dir / ("mutant.jsonl.gz" if gz else "mutant.log"), data)
    _refused_or_parsed(lambda p: load_history(p, fmt), path)


@PROFILE
@given(case=history_file())
def test_gbench_check_exits_0_1_or_2(history_dir: Path, case: tuple[bytes, bool]) -> None:
    data, gz = case
    path = _write(history_dir / ("check.jsonl.gz" if gz else "check.log"), data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["check", str(path)])
    event(f"exit {rc}")
    assert rc in (0, 1, 2), f"exit {rc}: {err.getvalue()[:500]}"
    if rc == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and len(lines[0]) <= MAX_MESSAGE, err.getvalue()[:500]
    else:
        assert out.getvalue().startswith(f"{path} "), out.getvalue()[:500]
