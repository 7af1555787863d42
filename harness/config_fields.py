"""Checking one field of a declarative file (workload, scenario, suite): the value rules every
parser shares, each failure one ``ConfigError(file, field, reason)`` whose reason names the
allowed range.

- ``number``: an int/float (never a bool), finite, inside a stated interval, with its unit:
  ``must be a finite number in (0, 86400] seconds, got nan``. A YAML 1.1 quirk gets its own
  explanation: ``1e12`` (no dot, no exponent sign) is read as the *string* ``'1e12'``.
- ``boolean``: ``true`` or ``false`` only.
- ``safe_name``: a name that becomes a directory of a run (``NAME_PATTERN``, no ``..``).
- ``text``: an optional string (descriptions, notes).
- ``refuse_unknown``: an unknown field, or a whole file of another kind given where this
  kind belongs ("this looks like a scenario file (it has 'timeline') ...").
- ``shown`` / ``key_text``: a short repr for messages, never the whole of a huge or deeply
  nested value (or key).
"""
from __future__ import annotations

import math
import re
import reprlib
from typing import Any, Mapping

from harness.errors import ConfigError

#: Names of workloads, scenarios and suites become directories (``results/<run>/workloads/<name>``)
#: and part of the run id, so they may not hold a path separator, start with a dot or be long.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)

#: Per kind of file: fields only that kind has, and how such a file is used. The systems'
#: own fields are added by ``file_kinds`` from the registry.
FILE_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "workload": (("keys", "mix", "load", "value_size", "duration_s", "warmup_s", "read_consistency", "clients",
                  "preload", "max_ops", "checks"),
                 "run it with: gbench run {file} (or list it under 'workloads' of a suite or scenario)"),
    "scenario": (("timeline", "end", "workload", "final_reads", "poll_interval_s"),
                 "run it with: gbench scenario {file} (or list it under 'scenarios' of a suite)"),
    "suite": (("scenarios", "visibility"), "run it with: gbench bench --suite {file}"),
    "diagram spec": (("guarantee", "purpose", "key_insight", "figures", "series", "claims", "layout"),
                     "diagram specs live under diagram_gen/specs/ and are read by gbench diagrams"),
}


def file_kinds() -> dict[str, tuple[tuple[str, ...], str]]:
    """``FILE_KINDS`` with every registered system's own fields: a workload's options block
    (``SystemPlugin.options_field``, e.g. ``cassandra``) and a suite's peer-tool switches
    (``PeerTool.suite_field``, e.g. ``etcd_benchmark``)."""
    from harness.registry import system_names, system_plugin  # the registry imports this module

    plugins = [system_plugin(name) for name in system_names()]
    own = {"workload": tuple(p.options_field for p in plugins if p.options_field),
           "suite": tuple(t.suite_field for p in plugins for t in p.peer_tools)}
    return {kind: (only + own.get(kind, ()), advice) for kind, (only, advice) in FILE_KINDS.items()}

_repr = reprlib.Repr()
_repr.maxstring, _repr.maxother, _repr.maxlevel, _repr.maxlist, _repr.maxdict = 100, 100, 3, 6, 4


def shown(v: Any) -> str:
    """``repr(v)`` cut short (strings to ~100 characters, containers to a few items and levels)."""
    return _repr.repr(v)


def key_text(k: Any) -> str:
    """A mapping key as it appears in a field name: itself if a short string, else ``shown``."""
    return k if isinstance(k, str) and len(k) <= 64 else shown(k)


def _fmt(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _exponent_hint(s: str) -> str:
    """How to write a number YAML 1.1 read as text, or "" if ``s`` is not such a number."""
    try:
        x = float(s.replace("_", ""))
    except ValueError:
        return ""
    if not math.isfinite(x):
        return ""
    if "e" not in s.lower():
        return "; a number is written without quotes"
    mantissa, _, exp = s.lower().partition("e")
    dotted = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exp if exp[:1] in '+-' else '+' + exp}"
    plain = str(int(x)) if x.is_integer() and abs(x) < 1e21 else repr(x)
    return (f": YAML reads exponent notation without a dot and a signed exponent as text; write {plain} "
            f"or {dotted}")


def number(file: str, field: str, v: Any, lo: float, hi: float, *, unit: str = "", integer: bool = False,
           lo_open: bool = False) -> Any:
    """``v`` if it is a finite number (an int when ``integer``) in ``[lo, hi]`` (``(lo, hi]``
    when ``lo_open``); else ConfigError naming the interval and ``unit``."""
    what = "an integer" if integer else "a finite number"
    rng = f"{what} in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}]{' ' + unit if unit else ''}"
    if isinstance(v, str):
        raise ConfigError(file, field, f"must be {rng}, got the string {shown(v)}{_exponent_hint(v)}")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise ConfigError(file, field, f"must be {rng}, got {shown(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(file, field, f"must be {rng}, got {v}")
    got = shown(v) if isinstance(v, int) else f"{v:g}"
    if v < lo or (lo_open and v == lo):
        raise ConfigError(file, field, f"must be {'>' if lo_open else '>='} {_fmt(lo)} ({rng}), got {got}")
    if v > hi:
        raise ConfigError(file, field, f"must be <= {_fmt(hi)} ({rng}), got {got}")
    return v


def boolean(file: str, field: str, v: Any) -> bool:
    """``v`` if it is ``true`` or ``false``; else ConfigError."""
    if not isinstance(v, bool):
        hint = " (yes/no/on/off are not booleans here)" if isinstance(v, str) and v.lower() in (
            "yes", "no", "on", "off", "y", "n") else ""
        raise ConfigError(file, field, f"must be true or false, got {shown(v)}{hint}")
    return v


def safe_name(file: str, field: str, v: Any) -> str:
    """``v`` if it can name a directory of a run (``NAME_PATTERN``, no ``..``); else ConfigError."""
    if not isinstance(v, str) or not _NAME_RE.fullmatch(v) or ".." in v:
        raise ConfigError(file, field, f"must match {NAME_PATTERN} without '..' (it names a directory of "
                                       f"the run), got {shown(v)}")
    return v


def text(file: str, field: str, v: Any) -> str:
    """An optional free-text field: ``v`` if a string, "" if absent/null; else ConfigError."""
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ConfigError(file, field, f"must be text, got {shown(v)}")
    return v


def mapping(file: str, field: str, v: Any) -> Mapping[Any, Any]:
    """An optional mapping field: ``v``, or {} if absent/null; else ConfigError."""
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise ConfigError(file, field, f"must be a mapping, got {shown(v)}")
    return v


def document(file: str, data: Any, kind: str) -> Mapping[Any, Any]:
    """The top level of a ``kind`` file: a mapping; else ConfigError (empty files say so)."""
    if data is None:
        raise ConfigError(file, "(top level)", f"the file is empty: a {kind} file is a YAML mapping")
    if not isinstance(data, Mapping):
        raise ConfigError(file, "(top level)", f"a {kind} file must be a YAML mapping, got a "
                                               f"{type(data).__name__}")
    return data


def refuse_unknown(file: str, prefix: str, d: Mapping[Any, Any], allowed: set[str] | frozenset[str],
                   kind: str | None = None) -> None:
    """ConfigError for the first key of ``d`` not in ``allowed``. At the top level of a
    ``kind`` file, a key only another kind of file has says which kind this looks like."""
    for k in d:
        if k in allowed:
            continue
        if kind is not None:
            for key in d:
                for other, (only, advice) in file_kinds().items():
                    if other != kind and key in only and key not in allowed:
                        raise ConfigError(file, "(kind)", f"this looks like a {other} file (it has {key!r}), "
                                                          f"not a {kind} file: {advice.format(file=file)}")
        raise ConfigError(file, f"{prefix}{key_text(k)}", f"unknown field (allowed: {', '.join(sorted(allowed))})")
