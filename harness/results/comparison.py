"""Systems side by side (the spec's Diagram 3), built from published runs of N systems.

What is compared is data: ``workloads/comparisons/metrics.yaml`` lists the metrics, each with its unit,
a note and, per system, the cell it is read from (:func:`load_metrics`); this module names no
system. Every cell is a measurement with its provenance: the run id, the file inside the run and the
query that picked it (``{"workload": ..., "op": ..., "outcome": "ok", "stat": "p99_ms"}``),
or ``"not measured: <reason>"``. Nothing is copied from the spec.

Output, a run directory of its own (``results/<ts>-comparison/``, published atomically):
``comparison.csv`` (tidy: one row per metric x system) and ``comparison.json`` (the same, plus
every run's hardware and software and the metrics file with its sha256), and a
``manifest.json`` naming the source runs.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.config_fields import document, mapping, refuse_unknown, text
from harness.errors import ConfigError
from harness.results.store import REPO_ROOT, RunDirectory, dig, git_commit, read_json, read_run
from harness.yamlfile import read_yaml_file

COLUMNS = ["metric", "system", "value", "unit", "run_id", "file", "query", "note"]


@dataclass(frozen=True)
class RowQuery:
    """One summary row (harness tool) and one of its columns."""

    workload: str
    op: str
    stat: str
    outcome: str = "ok"

    def pick(self, rows: list[dict[str, Any]]) -> Any:
        hits = [r for r in rows if r.get("tool") == "harness" and r.get("workload") == self.workload
                and r.get("op") == self.op and r.get("outcome") == self.outcome]
        if len(hits) != 1:
            return f"not measured: {len(hits)} summary rows match {vars(self)}"
        v = hits[0].get(self.stat)
        return v if v not in (None, "") else f"not measured: {self.stat} is empty in the matching row"


def _summary_cell(run: Path, q: RowQuery) -> dict[str, Any]:
    rows = read_json(run / "summary.json")["rows"]  # checked by read_run in comparison_rows
    return {"value": q.pick(rows), "file": "summary.json", "query": json.dumps(vars(q), sort_keys=True)}


def _json_cell(run: Path, file: str, path: list[Any], describe: str) -> dict[str, Any]:
    """A value inside a JSON file of the run, by key path. A file the run lacks is "not
    measured"; a file it has but that cannot be read is DamagedFile, never "not measured"."""
    p = run / file
    if not p.exists():
        return {"value": f"not measured: {file} is not in this run", "file": file, "query": describe}
    cur: Any = _reader(p)
    for k in path:
        if callable(k):
            cur = k(cur)
        elif isinstance(cur, dict) and k in cur:
            cur = cur[k]
        elif isinstance(cur, list) and isinstance(k, int) and 0 <= k < len(cur):
            cur = cur[k]
        else:
            return {"value": f"not measured: {file} has no {describe}", "file": file, "query": describe}
        if cur is None:
            return {"value": f"not measured: {file} has no {describe}", "file": file, "query": describe}
    return {"value": cur, "file": file, "query": describe}


def _reader(p: Path) -> Any:
    """The parsed file: a failure summary through its versioned reader (one of another schema
    is DamagedFile, never read by the wrong paths), any other file as plain JSON."""
    if p.name == "failure_summary.json":
        from harness.scenario.failure_summary import read_failure_summary

        return read_failure_summary(p)
    return read_json(p, expect=object)


def _objects(doc: Any, key: str) -> list[dict[str, Any]]:
    """The objects in the list ``doc[key]`` (nothing when ``doc`` is not an object or has no such list)."""
    items = doc.get(key) if isinstance(doc, dict) else None
    return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _ok_share(d: Any) -> Any:
    """ok / attempted of a counts object; None (not measured) unless both are finite numbers, attempted > 0."""
    ok, attempted = (d.get("ok"), d.get("attempted")) if isinstance(d, dict) else (None, None)
    return round(ok / attempted, 4) if _is_number(ok) and _is_number(attempted) and attempted > 0 else None


def _available_side(w: Any) -> Any:
    """An availability window's ``during`` entry of its available side."""
    side = w.get("available_side") if isinstance(w, dict) else None
    return dig(w, f"during.{side}") if isinstance(side, str) else None


#: The named path steps a metric file may use (``{fn: NAME}``).
PATH_FUNCTIONS: dict[str, Callable[[Any], Any]] = {"ok_share": _ok_share, "available_side": _available_side}


def _first(where: Mapping[str, Any]) -> Callable[[Any], Any]:
    """The first object of a list whose fields equal ``where`` (None when none does)."""
    def pick(doc: Any) -> Any:
        items = doc if isinstance(doc, list) else []
        return next((x for x in items if isinstance(x, dict) and all(k in x and x[k] == v for k, v in where.items())),
                    None)
    return pick


@dataclass(frozen=True)
class Cell:
    """Where one system's value of one metric is read: a summary row, a value inside a JSON
    file of the run (``path``: keys, indexes and callables), or a reason it is not measured."""

    summary: RowQuery | None = None
    file: str = ""
    path: tuple[Any, ...] = ()
    describe: str = ""
    not_measured: str | None = None

    def read(self, run: Path) -> dict[str, Any]:
        if self.not_measured is not None:
            return {"value": f"not measured: {self.not_measured}", "file": "", "query": ""}
        if self.summary is not None:
            return _summary_cell(run, self.summary)
        return _json_cell(run, self.file, list(self.path), self.describe)


@dataclass(frozen=True)
class Metric:
    """One compared quantity: its unit, what is compared, and each system's cell."""

    metric: str
    unit: str
    note: str
    cells: Mapping[str, Cell]


#: The metrics ``gbench compare`` and ``gbench bench`` compare (see the file's own header).
METRICS_FILE = REPO_ROOT / "workloads" / "comparisons" / "metrics.yaml"


def _step(file: str, field: str, s: Any) -> Any:
    if isinstance(s, bool) or not isinstance(s, (str, int, dict)):
        raise ConfigError(file, field, f"a key, a list index, {{first: {{...}}}} or {{fn: NAME}}, got {s!r}")
    if not isinstance(s, dict):
        return s
    if set(s) == {"first"} and isinstance(s["first"], dict) and s["first"]:
        return _first(dict(s["first"]))
    if set(s) == {"fn"} and s["fn"] in PATH_FUNCTIONS:
        return PATH_FUNCTIONS[s["fn"]]
    raise ConfigError(file, field, f"{{first: {{field: value, ...}}}} or {{fn: NAME}} with NAME one of "
                                   f"{', '.join(sorted(PATH_FUNCTIONS))}, got {s!r}")


def _cell(file: str, field: str, c: Any) -> Cell:
    c = mapping(file, field, c)
    kinds = [k for k in ("summary", "json", "not_measured") if k in c]
    if len(kinds) != 1:
        raise ConfigError(file, field, "exactly one of summary, json, not_measured")
    if kinds[0] == "not_measured":
        refuse_unknown(file, f"{field}.", c, {"not_measured"})
        return Cell(not_measured=text(file, f"{field}.not_measured", c["not_measured"]))
    if kinds[0] == "summary":
        refuse_unknown(file, f"{field}.", c, {"summary"})
        q = mapping(file, f"{field}.summary", c["summary"])
        refuse_unknown(file, f"{field}.summary.", q, {"workload", "op", "stat", "outcome"})
        for k in ("workload", "op", "stat"):
            if not isinstance(q.get(k), str) or not q[k]:
                raise ConfigError(file, f"{field}.summary.{k}", f"required text, got {q.get(k)!r}")
        return Cell(summary=RowQuery(*(text(file, f"{field}.summary.{k}", q[k]) for k in ("workload", "op", "stat")),
                                     outcome=text(file, f"{field}.summary.outcome", q.get("outcome", "ok"))))
    refuse_unknown(file, f"{field}.", c, {"json", "path", "describe"})
    path = c.get("path")
    if not isinstance(path, list) or not path:
        raise ConfigError(file, f"{field}.path", f"a non-empty list of steps, got {path!r}")
    for k in ("json", "describe"):
        if not isinstance(c.get(k), str) or not c[k]:
            raise ConfigError(file, f"{field}.{k}", f"required text (json: a file of the run; describe: what the "
                                                    f"value is, in words), got {c.get(k)!r}")
    return Cell(file=text(file, f"{field}.json", c["json"]),
                path=tuple(_step(file, f"{field}.path[{i}]", s) for i, s in enumerate(path)),
                describe=text(file, f"{field}.describe", c["describe"]))


def load_metrics(path: Path = METRICS_FILE) -> list[Metric]:
    """The metrics of a comparison file, validated (ConfigError naming file and field)."""
    file = _rel(path)
    data, _ = read_yaml_file(path, label=file)
    doc = document(file, data, "comparison metrics")
    refuse_unknown(file, "", doc, {"metrics"})
    items = doc.get("metrics")
    if not isinstance(items, list) or not items:
        raise ConfigError(file, "metrics", "a non-empty list of metrics")
    out: list[Metric] = []
    for i, m in enumerate(items):
        f = f"metrics[{i}]"
        m = mapping(file, f, m)
        refuse_unknown(file, f"{f}.", m, {"metric", "unit", "note", "cells"})
        for k in ("metric", "unit"):
            if not isinstance(m.get(k), str) or not m[k]:
                raise ConfigError(file, f"{f}.{k}", f"required text, got {m.get(k)!r}")
        if not m.get("cells"):
            raise ConfigError(file, f"{f}.cells", "required: a mapping system -> cell")
        name = text(file, f"{f}.metric", m["metric"])
        if any(x.metric == name for x in out):
            raise ConfigError(file, f"{f}.metric", f"{name!r} is defined twice")
        cells = mapping(file, f"{f}.cells", m["cells"])
        out.append(Metric(name, text(file, f"{f}.unit", m["unit"]), text(file, f"{f}.note", m.get("note", "")),
                          {text(file, f"{f}.cells", s): _cell(file, f"{f}.cells.{s}", c) for s, c in cells.items()}))
    return out


def _host(run: Path) -> dict[str, Any]:
    m = read_json(run / "manifest.json")
    return {"run_id": m.get("run_id"), **{k: dig(m, f"host.{k}") for k in ("cpu_model", "logical_cores",
                                                                             "memory_total_bytes", "data_dir_filesystem")},
            "fsync_p50_ms": dig(m, "host.fsync_latency.p50_ms"), "nodes": dig(m, "cluster.nodes"),
            "software": m.get("software"), "harness": m.get("harness"), "time_to_ready_s": dig(m, "cluster.time_to_ready_s")}


def comparison_rows(runs: Mapping[str, Path | None], metrics: Sequence[Metric] | None = None
                    ) -> list[dict[str, Any]]:
    """Rows for every metric and system (``runs``: system -> published run dir, in column
    order); a missing run makes its cells 'not measured', and so does a metric that defines no
    cell for a system.

    Each run is read first (:func:`read_run`): a damaged run is DamagedFile naming the file,
    never a table of 'not measured'."""
    metrics = load_metrics() if metrics is None else metrics
    for run in runs.values():
        if run is not None:
            read_run(run)
    out = []
    for m in metrics:
        for system, run in runs.items():
            c = m.cells.get(system)
            if run is None:
                cell = {"value": f"not measured: no complete {system} run", "file": "", "query": ""}
            elif c is None:
                cell = {"value": f"not measured: {_rel(METRICS_FILE)} defines no {m.metric} cell for {system}",
                        "file": "", "query": ""}
            else:
                cell = c.read(run)
            out.append({"metric": m.metric, "system": system, "value": cell["value"], "unit": m.unit,
                        "run_id": run.name if run is not None else "", "file": cell["file"], "query": cell["query"],
                        "note": m.note})
    return out


def _rel(p: Path) -> str:
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def write_comparison(runs: Mapping[str, Path | None], root: Path | None = None) -> Path:
    """Publish ``results/<ts>-comparison/`` from the runs (system -> published run dir)."""
    rows = comparison_rows(runs)
    rd = RunDirectory.create("comparison", root)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    (rd.path / "comparison.csv").write_text(buf.getvalue())
    hosts = {s: _host(p) for s, p in runs.items() if p is not None}
    rd.write_json("comparison.json", {"schema_version": 1, "columns": COLUMNS, "rows": rows, "runs": hosts,
                                      "metrics_file": _rel(METRICS_FILE),
                                      "metrics_sha256": hashlib.sha256(METRICS_FILE.read_bytes()).hexdigest()})
    rd.write_json("manifest.json", {"schema_version": 1, "run_id": rd.run_id, "kind": "comparison",
                                    "source_runs": {s: (p.name if p else None) for s, p in runs.items()},
                                    "harness": git_commit()})
    return rd.complete()


def format_comparison(rows: list[dict[str, Any]]) -> str:
    """The rows as a table: one line per metric, one column per system (in row order)."""
    by: dict[str, dict[str, Any]] = {}
    systems: list[str] = []
    for r in rows:
        by.setdefault(r["metric"], {"unit": r["unit"]})[r["system"]] = r["value"]
        if r["system"] not in systems:
            systems.append(r["system"])

    def fmt(v: Any) -> str:
        s = str(v)
        return "not measured" if s.startswith("not measured") else s

    lines = [f"{'metric':40s} {'unit':12s} " + " ".join(f"{s:>22s}" for s in systems)]
    for m, d in by.items():
        lines.append(f"{m:40s} {d['unit']:12s} " + " ".join(f"{fmt(d.get(s)):>22s}" for s in systems))
    return "\n".join(lines)
