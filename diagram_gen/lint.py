"""The literal-number lint: a number presented as a measurement must come from a measurement.

Why: the original diagram spec is full of plausible numbers ("~15 ms", "10K/sec") that were
never measured here. A diagram may print only bound figures, so spec text uses
placeholders (``{put_p99}``) and the renderer substitutes the resolved value.

Rules (each finding is a Problem naming file, field path, reason):
1. A number with a unit (``15ms``, ``2 s``, ``10K/sec``, ``99%``, ``1 MiB``, ``3x``) in any text
   -- title, purpose, key_insight, every string (and key) under ``layout``, a binding's
   ``label`` -- is an error. Allowed only inside a citation (``cited:``/``source:``).
   Claims are exempt: a claim's text quotes what is being checked and its ``holds_if``
   carries thresholds, not measurements.
2. A numeric literal where a measurement is expected: a figure bound to a bare number or
   number-like string (``put_p99: 15``, ``put_p99: "15ms"``) or carrying ``value: 15``; a
   ``layout`` entry whose key names a measurement (``latency``, ``p99``, ``*_ms``...) with a
   number as its value.
Plain counts without a unit ("5 nodes", "p99", "n3") and identifiers that contain digits
(``etcd-put-256B``, ``v3.5``) are not findings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from diagram_gen.spec import PLACEHOLDER_RE, iter_texts, numeric_literal_reason, read_spec_data, rel_to


@dataclass(frozen=True, order=True)
class Problem:
    """One thing ``--check`` reports: ``file: field: reason``."""
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


_UNITS = ("%", "ns", "us", "µs", "μs", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute",
          "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days", "B", "kB", "KB", "KiB", "MB", "MiB", "GB",
          "GiB", "TB", "TiB", "byte", "bytes", "Mbps", "Gbps", "ops", "qps", "rps", "tps", "k", "K", "M", "G")
_RATE = r"(?:[kKMG]?(?:ops?|req|reqs|requests|writes?|reads?|txns?)?\s?/\s?(?:s|sec|second)\b)"
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
#: A number (not part of an identifier such as p99, n5, v3.5, etcd-put-256B) followed by a unit.
NUMBER_WITH_UNIT_RE = re.compile(
    r"(?<![\w.])(?<![A-Za-z][-/])(?:[~≈<>≤≥]\s?)?\d+(?:[.,]\d+)*"
    r"(?:\s?(?:" + _RATE + r"|(?:" + _UNIT_ALT + r")(?![\w/]))|[x×](?![\w]))")
#: Layout keys that name a measurement: a number there is a measurement written by hand.
MEASUREMENT_KEY_RE = re.compile(r"(?:^|_)(?:p\d{2,3}|latency|throughput|fsync|rtt|duration|elapsed|timeout)(?:_|$)"
                                r"|_(?:ms|s|ns|us|pct|percent|ops_s|bytes|mib|kib)$", re.I)


def units_in(text: str) -> list[str]:
    """The number-with-unit literals in ``text`` (placeholders removed first)."""
    return [m.group(0) for m in NUMBER_WITH_UNIT_RE.finditer(PLACEHOLDER_RE.sub("", text))]


def _unit_problems(file: str, node: Any, path: str) -> list[Problem]:
    out = []
    for fld, text in iter_texts(node, path):
        found = units_in(text)
        if found:
            out.append(Problem(file, fld, f"number with a unit {', '.join(repr(f) for f in found)} outside a "
                                          "cited: text: bind it as a figure and write {figure_key} instead"))
    return out


def _layout_literals(file: str, node: Any, path: str) -> list[Problem]:
    out = []
    if isinstance(node, Mapping):
        for k, v in node.items():
            sub = f"{path}.{k}"
            if (isinstance(k, str) and MEASUREMENT_KEY_RE.search(k) and isinstance(v, (int, float))
                    and not isinstance(v, bool)):
                out.append(Problem(file, sub, f"numeric literal {v!r} where a measurement is expected: bind it in "
                                              "figures and refer to it by key"))
            out.extend(_layout_literals(file, v, sub))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_layout_literals(file, v, f"{path}.{i}"))
    return out


def lint_data(data: Any, file: str) -> list[Problem]:
    """Every literal-number finding in one parsed spec, sorted by field."""
    if not isinstance(data, Mapping):
        return []
    out: list[Problem] = []
    for sec in ("title", "purpose", "key_insight"):
        out.extend(_unit_problems(file, data.get(sec), sec))
    layout = data.get("layout")
    out.extend(_unit_problems(file, layout, "layout"))
    out.extend(_layout_literals(file, layout, "layout"))
    for sec in ("figures", "series"):
        bindings = data.get(sec)
        if not isinstance(bindings, Mapping):
            continue
        for k, b in bindings.items():
            if sec == "figures":
                reason = numeric_literal_reason(b)
                if reason:
                    out.append(Problem(file, f"{sec}.{k}", reason))
                    continue
            if isinstance(b, Mapping) and "label" in b:
                out.extend(_unit_problems(file, b["label"], f"{sec}.{k}.label"))
    return sorted(set(out))


def lint_file(path: Path, repo_root: Path) -> list[Problem]:
    """Lint one spec file; an unreadable file is one Problem (its load error)."""
    from harness.errors import ConfigError

    file = rel_to(Path(path), repo_root)
    try:
        data, _sha = read_spec_data(Path(path), file)
    except ConfigError as e:
        return [Problem(e.file, e.field, e.reason)]
    return lint_data(data, file)
