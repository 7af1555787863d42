"""Reading a declarative YAML file (workload, scenario, suite, diagram spec) with one error shape.

Why one place: every file the user writes must fail the same way, naming the file, the
field and the reason with line and column, before any cluster starts. The loader is
stricter than PyYAML's ``safe_load`` in four ways, the same for every kind of file:

- a mapping key given twice is an error (PyYAML silently keeps the last one: a workload's
  second ``value_size`` used to win), reported as ``ConfigError(file, key, "duplicate key
  at line N: ...")``;
- only ``true``/``false`` are booleans; YAML 1.1's ``yes``/``no``/``on``/``off`` stay
  strings, so a field that wants a boolean refuses them instead of guessing;
- the bytes must be UTF-8 (a leading UTF-8 byte-order mark is accepted and ignored, as
  for history files); a bad byte is reported with its line and column;
- data nested deeper than ``MAX_DEPTH`` levels, an alias that contains itself, or aliases
  that expand to more than ``MAX_VALUES`` values ("billion laughs") are refused before
  anything walks the data.
"""
from __future__ import annotations

import codecs
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml

from harness.config_fields import key_text
from harness.errors import ConfigError

#: Deepest nesting of mappings/sequences a file may have (the shipped files use at most 4).
MAX_DEPTH = 32
#: Most values (scalars, lists, mappings) a document may expand to through aliases.
MAX_VALUES = 100_000

_BOOL_TAG = "tag:yaml.org,2002:bool"
#: Characters YAML forbids in a document (its "printable" set, complemented).
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built: ~9x faster


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line
        super().__init__(f"duplicate key {key_text(key)} at line {line}")


class StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """A SafeLoader that refuses duplicate keys and reads only true/false as booleans."""


StrictLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for ch, resolvers in _Base.yaml_implicit_resolvers.items()}
StrictLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # '<<' merges: later keys override merged ones by design
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[arg-type]
        try:
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        except TypeError:
            pass  # an unhashable key: construct_mapping below reports it with its line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _cut(text: str, most: int = 200) -> str:
    return text if len(text) <= most else text[:most] + "..."


def line_column(data: bytes | str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``data``; columns count characters."""
    nl = b"\n" if isinstance(data, bytes) else "\n"
    start = data.rfind(nl, 0, offset) + 1  # type: ignore[arg-type]
    head = data[start:offset]
    column = len(head.decode("utf-8", "replace")) if isinstance(head, bytes) else len(head)
    return data.count(nl, 0, offset) + 1, column + 1  # type: ignore[arg-type]


def _decode_utf8(raw: bytes, f: str) -> str:
    """The text of ``raw`` (a leading UTF-8 byte-order mark dropped); ConfigError naming the
    line and column of the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, column = line_column(raw, e.start)
        hint = ": the file starts with a UTF-16 byte-order mark" if raw[:2] in (codecs.BOM_UTF16_LE,
                                                                                codecs.BOM_UTF16_BE) else ""
        raise ConfigError(f, "(encoding)", f"not UTF-8 text: byte 0x{raw[e.start]:02x} at line {line}, column "
                                           f"{column} ({e.reason}){hint}; save the file as UTF-8") from e


def _shape_problem(node: yaml.Node | None) -> str | None:
    """Why ``node`` nests too deep, contains itself or expands (through aliases) to too many
    values, or None. Iterative and memoised: a 'billion laughs' document costs its size to
    check, not its expansion."""
    if node is None:
        return None
    depth: dict[int, int] = {}
    size: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        n, done = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            depth[id(n)], size[id(n)] = 0, 1
            continue
        children = [c for kv in n.value for c in kv] if isinstance(n, yaml.MappingNode) else list(n.value)
        if done:
            open_.discard(id(n))
            depth[id(n)] = 1 + max((depth[id(c)] for c in children), default=0)
            size[id(n)] = 1 + sum(size[id(c)] for c in children)
            if depth[id(n)] > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels at line {n.start_mark.line + 1}"
            if size[id(n)] > MAX_VALUES:
                return (f"the data at line {n.start_mark.line + 1} expands through aliases to more than "
                        f"{MAX_VALUES} values")
            continue
        if id(n) in depth:
            continue
        open_.add(id(n))
        stack.append((n, True))
        for c in children:
            if id(c) in open_:
                return f"an alias at line {c.start_mark.line + 1} refers to a node that contains it (recursive data)"
            if id(c) not in depth:
                stack.append((c, False))
    return None


def _load(text: str, f: str) -> Any:
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        problem = _shape_problem(node)
        if problem:
            raise ConfigError(f, "(syntax)", problem)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml_file(path: str | os.PathLike[str], *, label: str | None = None) -> tuple[Any, str]:
    """(parsed document, sha256 of the raw bytes); ConfigError on unreadable or malformed input.

    ``label`` names the file in errors (default: the path as given)."""
    f = label if label is not None else str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:  # the name is cut short: it may be a whole line of garbage from a list of paths
        raise ConfigError(_cut(f), "(file)", f"cannot read: {e.strerror or e}") from e
    except ValueError as e:  # a NUL byte in the path
        raise ConfigError(_cut(f), "(file)", f"cannot read: {e}") from e
    text = _decode_utf8(raw, f)
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line, column = line_column(text, bad.start())
        raise ConfigError(f, "(syntax)", f"malformed YAML at line {line}, column {column}: control character "
                                         f"{bad.group()!r} is not allowed in YAML")
    try:
        data = _load(text, f)
    except _DuplicateKey as e:
        raise ConfigError(f, key_text(e.key), f"duplicate key at line {e.line}: each key may appear once") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(e, "problem", None) or e)
        raise ConfigError(f, "(syntax)", f"malformed YAML{where}: {_cut(problem)}") from e
    except (ValueError, TypeError, OverflowError) as e:
        # PyYAML's constructors raise these for an explicitly tagged value they cannot build
        # (``!!int abc``, ``!!timestamp 2024-13-45``) and for an impossible date.
        raise ConfigError(f, "(syntax)", f"malformed YAML: a value cannot be built: {_cut(str(e))}") from e
    return data, hashlib.sha256(raw).hexdigest()
