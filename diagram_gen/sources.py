"""Reading ``results/``: which runs exist, their JSON files, dotted paths into them, and the
tabular files (histories, nemesis and member logs, HDR logs) as rows.

Why separate from resolve.py: resolve decides *which* run and *what* a binding means; this
module only knows file formats.

Missing versus damaged: a reader returns ``(value, None)``, or ``(None, reason)`` when the
file does not exist (a "not measured", never a crash). A file that exists but cannot be
read or has the wrong shape (invalid or truncated JSON, a truncated gzip stream, a JSON
list where an object belongs, a required key missing: ``FILE_SHAPES``) raises
``DamagedFile`` naming the file and the reason: a damaged run is an error, and the resolver
must not quietly read an older run instead.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Any, Mapping

from harness.errors import DamagedFile
from harness.results import store

#: A run directory is named ``<UTC timestamp>-<name>`` (names sort by time); a failed or
#: interrupted one ``<run_id>.incomplete``: the store's own definitions.
RUN_ID_RE, INCOMPLETE_SUFFIX = store.RUN_ID_RE, store.INCOMPLETE_SUFFIX


def list_runs(results_root: Path) -> list[str]:
    """Run ids under ``results_root``, newest first: every timestamped directory. In-progress
    (``.tmp-*``), incomplete (``*.incomplete``) and non-run folders (``benchmarks``,
    ``diagrams``) are skipped. A published run without a manifest is listed: it is damaged
    (``run_files`` says so), not absent."""
    root = Path(results_root)
    if not root.is_dir():
        return []
    runs = [p.name for p in root.iterdir()
            if p.is_dir() and RUN_ID_RE.match(p.name) and not p.name.endswith(INCOMPLETE_SUFFIX)]
    return sorted(runs, reverse=True)


#: Files inside a run besides the manifest and its results file (which
#: ``harness.results.store.read_run`` checks): the fields the resolver relies on, as
#: (key, JSON type). A file of the right shape whose value is absent is a "not measured".
FILE_SHAPES: dict[str, tuple[tuple[str, type], ...]] = {
    "timeline.json": (("load_start_ns", int),),
}
#: A system's metrics file (``{from: system_metrics, file: ...}``: the name is the plugin's).
SYSTEM_METRICS_SHAPE: tuple[tuple[str, type], ...] = (("nodes", dict),)


def read_json(path: Path, shape: tuple[tuple[str, type], ...] | None = None) -> Any:
    """The parsed file (it must exist); DamagedFile naming it when it is not UTF-8 JSON, or
    for a file named in ``FILE_SHAPES`` or given a ``shape`` (and every ``*.json`` run file
    the store knows) when it is not an object or lacks a field the resolver relies on. A
    ``failure_summary.json`` is read by its versioned reader (another schema version is
    DamagedFile). Other files may hold any JSON."""
    path = Path(path)
    if path.name == "failure_summary.json":
        from harness.scenario.failure_summary import read_failure_summary

        return read_failure_summary(path)
    shape = FILE_SHAPES.get(path.name) if shape is None else shape
    known = shape is not None or path.name in ("manifest.json", "summary.json", "comparison.json")
    doc = store.read_json(path, expect=dict if known else object)
    for key, typ in shape or ():
        if key not in doc:
            raise DamagedFile(str(path), f"field '{key}' is missing")
        if not isinstance(doc[key], typ) or isinstance(doc[key], bool):
            raise DamagedFile(str(path), f"field '{key}' must be {store.json_type(typ())}, got {store.json_type(doc[key])}")
    return doc


class JsonCache:
    """Parsed JSON files, read once per build (a build reads the same manifest many times)."""

    def __init__(self) -> None:
        self._cache: dict[Path, Any] = {}

    def load(self, path: Path, shape: tuple[tuple[str, type], ...] | None = None) -> tuple[Any, str | None]:
        """(data, None), or (None, "no such file"); DamagedFile when the file is damaged
        (``shape``: the fields it must have, when its name does not say, see read_json)."""
        path = Path(path)
        if path in self._cache:
            return self._cache[path], None
        if not path.is_file():
            return None, "no such file"
        data = read_json(path, shape)
        self._cache[path] = data
        return data, None

    def put(self, path: Path, data: Any) -> None:
        """Record a file already read and checked elsewhere (``store.read_run``)."""
        self._cache[Path(path)] = data


_SEG_RE = re.compile(r"^(?P<name>[^\[\]]*)(?P<filters>(\[[^\]]*\])*)$")


def split_path(path: str) -> list[str]:
    """``a.b[node=n2].c`` -> ``['a', 'b[node=n2]', 'c']`` (dots inside brackets kept)."""
    out, cur, depth = [], "", 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "." and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _eq(a: Any, b: Any) -> bool:
    """Equality where a YAML ``256`` matches a JSON ``256`` and ``"256"``; booleans stay strict."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else str(a).lower() == str(b).lower()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if a is None or b is None:
        return a is None and b is None
    return str(a) == str(b)


def get_path(data: Any, path: str) -> tuple[Any, str | None]:
    """Follow a dotted path: mapping keys, list indexes (``faults.0.at_s``) and list filters
    (``leader_changes[leader=n2].t_s``, exactly one element must match; several filters on one
    segment, ``rows[condition=normal][delay_ms=0]``, must all hold for that element)."""
    cur = data
    walked: list[str] = []
    for seg in split_path(path):
        m = _SEG_RE.match(seg)
        if not m:
            return None, f"malformed path segment {seg!r}"
        name, filters = m["name"], re.findall(r"\[([^\]]*)\]", m["filters"] or "")
        if name:
            if isinstance(cur, Mapping):
                if name not in cur:
                    return None, f"no key {name!r} at {'.'.join(walked) or '(top)'}"
                cur = cur[name]
            elif isinstance(cur, list) and re.fullmatch(r"-?\d+", name):
                i = int(name)
                if not -len(cur) <= i < len(cur):
                    return None, f"index {i} out of range at {'.'.join(walked) or '(top)'} ({len(cur)} items)"
                cur = cur[i]
            else:
                return None, f"cannot take {name!r} of a {type(cur).__name__} at {'.'.join(walked) or '(top)'}"
        if filters:  # all of a segment's filters together: [a=1][b=2] is the element with a=1 and b=2
            if not isinstance(cur, list):
                return None, f"filter [{filters[0]}] needs a list at {'.'.join(walked + [name])}"
            bad = [flt for flt in filters if "=" not in flt]
            if bad:
                return None, f"malformed filter [{bad[0]}] (expected [field=value])"
            pairs = [flt.split("=", 1) for flt in filters]
            hits = [x for x in cur if isinstance(x, Mapping) and all(fk in x and _eq(x[fk], fv) for fk, fv in pairs)]
            if len(hits) != 1:
                shown = "".join(f"[{flt}]" for flt in filters)
                return None, f"{len(hits)} elements match {shown} at {'.'.join(walked + [name])} (need exactly 1)"
            cur = hits[0]
        walked.append(seg)
    return cur, None


def row_matches(row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(k in row and _eq(row[k], v) for k, v in where.items())


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]] | None, str | None]:
    """JSON lines (plain or .gz); one object per non-empty line. (None, "no such file") when
    absent; DamagedFile for a truncated or corrupt gzip stream, an invalid line or a line that
    is not a JSON object."""
    if not Path(path).is_file():
        return None, "no such file"
    opener = gzip.open if str(path).endswith(".gz") else open
    rows: list[dict[str, Any]] = []
    lineno = 0
    try:
        with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            for lineno, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise DamagedFile(str(path), f"line {lineno}: invalid JSON: {e}") from e
                if not isinstance(row, dict):
                    raise DamagedFile(str(path), f"line {lineno}: must be an object, got {store.json_type(row)}")
                rows.append(row)
    except EOFError as e:
        raise DamagedFile(str(path), f"truncated gzip stream after line {lineno}: {e}") from e
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DamagedFile(str(path), f"unreadable after line {lineno}: {e}") from e
    except UnicodeDecodeError as e:
        raise DamagedFile(str(path), f"not UTF-8 text after line {lineno}: {e.reason}") from e
    return rows, None


def history_file(directory: Path) -> Path | None:
    """``history.jsonl.gz`` or ``history.jsonl`` in a workload/scenario directory."""
    for name in ("history.jsonl.gz", "history.jsonl"):
        if (directory / name).is_file():
            return directory / name
    return None


#: HdrHistogram's default for ``outputPercentileDistribution`` (and its .hgrm files).
PERCENTILE_TICKS_PER_HALF_DISTANCE = 5


def hlog_spectrum(path: Path) -> tuple[list[dict[str, Any]] | None, str | None]:
    """All intervals of an .hlog merged, as HdrHistogram's percentile distribution: rows
    ``{percentile, value_ms, count, inverse_tail}`` (inverse_tail = 1/(1-p), the x axis of an
    HDR plot; null at 100%). Values are HDR bucket values (3 significant digits), not the
    exact percentiles of summary.json."""
    if not Path(path).is_file():
        return None, "no such file"
    from hdrh.iterators import PercentileIterator

    from harness.recorder.histograms import new_histogram, read_hlog

    try:
        intervals = read_hlog(Path(path))
    except Exception as e:  # noqa: BLE001 - hdrh's decoder raises whatever corrupt input trips
        raise DamagedFile(str(path), f"unreadable HdrHistogram log: {type(e).__name__}: {e}") from e
    total = new_histogram()
    for _start, _len, h in intervals:
        total.add(h)
    if total.get_total_count() == 0:
        return None, "the log holds no recorded values"
    rows = []
    for it in PercentileIterator(total, PERCENTILE_TICKS_PER_HALF_DISTANCE):
        p = float(it.percentile_level_iterated_to)
        rows.append({"percentile": round(p, 9),
                     "value_ms": round(total.get_highest_equivalent_value(it.value_iterated_to) / 1e6, 6),
                     "count": int(it.total_count_to_this_value),
                     "inverse_tail": None if p >= 100.0 else round(1.0 / (1.0 - p / 100.0), 6)})
    return rows, None
