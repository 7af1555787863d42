"""Diagram spec files (``specs/<guarantee>/<kind>.yaml``): loaded, validated, turned into a DiagramSpec.

Why validate everything up front: a typo in a binding (``form: summary``, ``stat: p99ms``)
must fail as one line naming file, field and reason, not silently render "not measured".
Every error is a ``harness.errors.ConfigError`` (the same shape workload files use).

Example (``specs/linearizability/failure.yaml``, abridged)::

    id: G-LIN-FAILURE
    guarantee: linearizability
    kind: failure
    type: failure_scenario
    title: "Leader in the minority: what etcd does during a partition"
    purpose: "The majority elects a new leader after {elected_after}; the minority serves no writes."
    figures:
      elected_after: {from: failure_summary, scenario: etcd-leader-in-minority,
                      path: partition.election.elected_after_s, unit: s}
      put_p99: {from: etcd/put/256B, where: {workload: etcd-put-256B}, stat: p99, unit: ms}
      timeout_default: {cited: "etcd default --election-timeout=1000 ms", source: "https://etcd.io/docs/v3.5/tuning/"}
    series:
      ops: {from: history, scenario: etcd-leader-in-minority}
    claims:
      - {id: minority-writes, text: "writes on the minority side are never committed", status: corrected,
         figure: late_writes, holds_if: {eq: 0}, spec_ref: "G-LIN-FAILURE data_consistency"}
    layout:
      derived: [late_writes]     # keys the renderer computes with d.derive (placeholders/claims may name them)
      ...                        # the renderer's own section

Structural rules checked here (the literal-number rule is lint.py's):
- top-level keys: id, guarantee, kind, type, title, purpose (required), key_insight, figures,
  series, claims, layout; no duplicate keys anywhere in the file;
- ``type`` is the one ``model.KIND_TYPES`` pairs with ``kind``; the file lives at
  ``<guarantee>/<kind>.yaml``;
- every binding names a known ``from`` (or is a ``cited:``) and carries exactly the fields
  its kind takes (``BINDING_FIELDS``);
- every ``{placeholder}`` in title/purpose/key_insight/layout names a figure key or a key
  listed in ``layout.derived``; so does every claim's ``figure``;
- a timeline names its window rule (``layout.window_rule``, one of
  ``history_views.WINDOW_RULES``).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator, Mapping

from diagram_gen.model import DIAGRAM_TYPES, KIND_TYPES, Claim, DiagramSpec
from harness.errors import ConfigError
from harness.yamlfile import read_yaml_file

TOP_REQUIRED = ("id", "guarantee", "kind", "type", "title", "purpose")
TOP_OPTIONAL = ("key_insight", "figures", "series", "claims", "layout")

#: Fields every scalar binding may carry besides its own.
SCALAR_COMMON = ("run", "run_of", "run_compared", "compares", "unit", "scale", "label")
#: Fields every series binding may carry besides its own.
SERIES_COMMON = ("run", "run_of", "run_compared", "compares", "label")

#: Scalar binding kinds: (required fields, optional fields). ``from`` is implied.
SCALAR_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "summary": (("where", "stat"), ()),
    "manifest": (("path",), ()),
    "failure_summary": (("scenario", "path"), ()),
    "scenario_file": (("scenario", "file", "path"), ()),
    "run_file": (("file", "path"), ()),
    "comparison": (("where",), ("stat",)),
    # a system's own Prometheus-style histograms, per workload (the file its plugin writes, e.g.
    # etcd_metrics.json): {nodes: {node: {metric: {buckets, count, sum}}}, leader}
    "system_metrics": (("file", "workload", "metric", "stat"), ("node", "scenario")),
    "benchmark": (("file", "path"), ()),
}
#: Series binding kinds: (required, optional). ``history`` needs scenario and/or workload.
SERIES_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "history": ((), ("scenario", "workload")),
    "nemesis": (("scenario",), ()),
    "members": (("scenario",), ()),
    "hlog": (("workload", "file"), ("scenario",)),
    "summary_rows": (("where",), ()),
    # the rows at ``path`` (a list) in a run's JSON ``file``, optionally only those matching ``where``
    "run_rows": (("file", "path"), ("where",)),
    # one row per run that has scenarios/<scenario>/failure_summary.json: the same scenario
    # across runs (fields: {column: dotted path in the failure summary})
    "scenario_runs": (("scenario", "fields"), ()),
}
SYSTEM_METRIC_STATS = ("p50", "p90", "p99", "p999", "mean", "count", "sum")
CLAIM_STATUSES = ("asserted", "corrected", "cited")
CLAIM_OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "between")
CLAIM_FIELDS = ("id", "text", "status", "figure", "holds_if", "spec_ref", "cited", "spec_host")
#: what only a cited claim carries: the spec's figure and the spec's host, both citations
CITED_CLAIM_FIELDS = ("cited", "spec_host")

#: ``etcd/put/256B``: system / op / value size (B, KiB, MiB, KB, MB).
SHORTHAND_RE = re.compile(r"^(?P<system>[A-Za-z][\w-]*)/(?P<op>[A-Za-z]+)/(?P<size>\d+)(?P<unit>B|KiB|MiB|GiB|KB|MB|GB)$")
SIZE_FACTORS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}
#: A placeholder ``{figure_key}``; ``{{`` / ``}}`` are literal braces.
PLACEHOLDER_RE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def read_spec_data(path: Path, file: str) -> tuple[Any, str]:
    """(parsed YAML, sha256 of the raw bytes); ConfigError on unreadable/malformed/duplicate keys
    (``harness.yamlfile``: the same strict loader as workloads, scenarios and suites)."""
    return read_yaml_file(path, label=file)


def rel_to(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside it (posix), else the absolute path."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).resolve().as_posix()


# -- validation ----------------------------------------------------------------------------------
def shorthand_where(text: str) -> dict[str, Any] | None:
    """``etcd/put/256B`` -> the summary ``where`` it stands for, or None when not a shorthand."""
    m = SHORTHAND_RE.match(text)
    if not m:
        return None
    return {"system": m["system"], "op": m["op"], "value_size": int(m["size"]) * SIZE_FACTORS[m["unit"]],
            "tool": "harness", "outcome": "ok"}


def binding_kind(binding: Mapping[str, Any]) -> str:
    """The kind a (validated) scalar binding names: ``cited``, ``summary`` (also for the
    shorthand), or its ``from``."""
    if "cited" in binding:
        return "cited"
    frm = binding["from"]
    return "summary" if shorthand_where(str(frm)) is not None else str(frm)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _check_where(file: str, fld: str, where: Any) -> None:
    if not isinstance(where, Mapping) or not where:
        raise ConfigError(file, fld, "must be a non-empty mapping of column: value")
    for k, v in where.items():
        if not isinstance(k, str) or not _is_scalar(v):
            raise ConfigError(file, f"{fld}.{k}", f"must be a scalar (string, number, boolean), got {type(v).__name__}")


def _check_str(file: str, fld: str, v: Any) -> None:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(file, fld, f"must be a non-empty string, got {v!r}")


def _check_fields(file: str, prefix: str, b: Mapping[str, Any], kind: str, required: tuple[str, ...],
                  optional: tuple[str, ...], common: tuple[str, ...]) -> None:
    allowed = {"from", *required, *optional, *common}
    for k in b:
        if k not in allowed:
            raise ConfigError(file, f"{prefix}.{k}", f"unknown field for a {kind!r} binding "
                                                     f"(allowed: {', '.join(sorted(allowed))})")
    for k in required:
        if k not in b:
            raise ConfigError(file, f"{prefix}.{k}", f"required for a {kind!r} binding")


def numeric_literal_reason(b: Any) -> str | None:
    """Why ``b`` is a number presented as a measurement (``put_p99: 15``, ``{value: 15}``), or None."""
    hint = "bind it to a measurement ({from: ...}) or cite it ({cited: ..., source: ...})"
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        return f"numeric literal {b!r} where a measurement is expected: {hint}"
    if isinstance(b, str) and re.search(r"\d", b):
        return f"literal {b!r} where a measurement is expected: {hint}"
    if isinstance(b, Mapping):
        for k in ("value", "number", "measured"):
            if k in b and not isinstance(b[k], (Mapping, list)):
                return f"literal {k}: {b[k]!r} where a measurement is expected: {hint}"
    return None


def _check_compares(file: str, prefix: str, b: Mapping[str, Any]) -> None:
    """``compares: [system, ...]``: only comparison runs of exactly these systems (a comparison
    binding, or ``run_compared``); two or more distinct names."""
    if "compares" not in b:
        return
    c = b["compares"]
    if (not isinstance(c, list) or len(c) < 2 or len(set(c)) != len(c)
            or any(not isinstance(x, str) or not x for x in c)):
        raise ConfigError(file, f"{prefix}.compares", f"a list of two or more distinct system names, got {c!r}")
    if b.get("from") != "comparison" and "run_compared" not in b:
        raise ConfigError(file, f"{prefix}.compares", "chooses comparison runs: only for from: comparison or "
                                                      "with run_compared")
    if "run" in b:
        raise ConfigError(file, f"{prefix}.compares", "run: names one run already: drop compares")


def validate_scalar_binding(file: str, prefix: str, b: Any) -> None:
    reason = numeric_literal_reason(b)
    if reason:
        raise ConfigError(file, prefix, reason)
    if not isinstance(b, Mapping):
        raise ConfigError(file, prefix, f"a binding must be a mapping ({{from: ...}} or {{cited: ..., source: ...}}), "
                                        f"got {type(b).__name__}")
    if "cited" in b:
        for k in b:
            if k not in ("cited", "source", "label"):
                raise ConfigError(file, f"{prefix}.{k}", "unknown field for a citation (allowed: cited, label, source)")
        _check_str(file, f"{prefix}.cited", b["cited"])
        if "source" not in b:
            raise ConfigError(file, f"{prefix}.source", "required for a citation: where the cited fact is documented")
        _check_str(file, f"{prefix}.source", b["source"])
        return
    if "from" not in b:
        raise ConfigError(file, f"{prefix}.from", "required: a binding kind "
                                                  f"({', '.join(sorted(SCALAR_KINDS))}, a 'system/op/size' shorthand) "
                                                  "or a citation (cited: ..., source: ...)")
    frm = b["from"]
    if not isinstance(frm, str):
        raise ConfigError(file, f"{prefix}.from", f"must be a string, got {frm!r}")
    if "/" in frm:
        if shorthand_where(frm) is None:
            raise ConfigError(file, f"{prefix}.from", f"malformed shorthand {frm!r}: expected system/op/size, "
                                                      "e.g. <system>/put/256B (sizes in B, KiB, MiB)")
        _check_fields(file, prefix, b, "summary shorthand", ("stat",), ("where",), SCALAR_COMMON)
        if "where" in b:
            _check_where(file, f"{prefix}.where", b["where"])
    elif frm in SCALAR_KINDS:
        req, opt = SCALAR_KINDS[frm]
        _check_fields(file, prefix, b, frm, req, opt, SCALAR_COMMON)
        if "where" in b:
            _check_where(file, f"{prefix}.where", b["where"])
    elif frm in SERIES_KINDS:
        raise ConfigError(file, f"{prefix}.from", f"{frm!r} is a series binding: put it under 'series', not 'figures'")
    else:
        raise ConfigError(file, f"{prefix}.from", f"unknown binding kind {frm!r} (known: "
                                                  f"{', '.join(sorted(SCALAR_KINDS))}, or system/op/size)")
    for k in ("stat", "path", "scenario", "workload", "file", "metric", "run", "run_of", "run_compared", "unit",
              "label"):
        if k in b:
            _check_str(file, f"{prefix}.{k}", b[k])
    _check_compares(file, prefix, b)
    if "scale" in b and (isinstance(b["scale"], bool) or not isinstance(b["scale"], (int, float)) or b["scale"] == 0):
        raise ConfigError(file, f"{prefix}.scale", f"must be a non-zero number, got {b['scale']!r}")
    if frm == "system_metrics":
        if b["stat"] not in SYSTEM_METRIC_STATS:
            raise ConfigError(file, f"{prefix}.stat", f"one of {', '.join(SYSTEM_METRIC_STATS)}, got {b['stat']!r}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.json", str(b["file"])) or ".." in str(b["file"]):
            raise ConfigError(file, f"{prefix}.file", f"the metrics file's name in the workload's directory "
                                                      f"(e.g. <system>_metrics.json), got {b['file']!r}")
        node = b.get("node", "leader")
        if not (node in ("leader", "all") or re.fullmatch(r"n\d+", str(node))):
            raise ConfigError(file, f"{prefix}.node", f"leader, all or a node name (n1..), got {node!r}")


def validate_series_binding(file: str, prefix: str, b: Any) -> None:
    if not isinstance(b, Mapping):
        raise ConfigError(file, prefix, f"a series binding must be a mapping ({{from: history, ...}}), got {type(b).__name__}")
    frm = b.get("from")
    if frm is None:
        raise ConfigError(file, f"{prefix}.from", f"required: one of {', '.join(sorted(SERIES_KINDS))}")
    if frm not in SERIES_KINDS:
        where = " (a scalar binding: put it under 'figures')" if frm in SCALAR_KINDS or "/" in str(frm) else ""
        raise ConfigError(file, f"{prefix}.from", f"unknown series kind {frm!r}{where} (known: "
                                                  f"{', '.join(sorted(SERIES_KINDS))})")
    req, opt = SERIES_KINDS[frm]
    _check_fields(file, prefix, b, frm, req, opt, SERIES_COMMON)
    if frm == "history" and "scenario" not in b and "workload" not in b:
        raise ConfigError(file, f"{prefix}.scenario", "a history series needs a scenario or a workload (or both: "
                                                      "one workload of a scenario)")
    if "where" in b:
        _check_where(file, f"{prefix}.where", b["where"])
    if frm == "scenario_runs":
        f = b["fields"]
        if not isinstance(f, Mapping) or not f or not all(isinstance(k, str) and isinstance(v, str) for k, v in f.items()):
            raise ConfigError(file, f"{prefix}.fields", "a non-empty mapping {column: dotted.path.in.failure_summary}")
        if "run" in b:
            raise ConfigError(file, f"{prefix}.run", "scenario_runs reads every run (narrow it with run_of, not run)")
    for k in ("scenario", "workload", "file", "run", "run_of", "run_compared", "label"):
        if k in b:
            _check_str(file, f"{prefix}.{k}", b[k])
    _check_compares(file, prefix, b)


def _validate_claim(file: str, prefix: str, c: Any, keys: set[str], citations: set[str]) -> Claim:
    """One claim. ``citations``: the figure keys bound as ``cited:`` (what a cited claim's
    ``cited`` and ``spec_host`` must name)."""
    if not isinstance(c, Mapping):
        raise ConfigError(file, prefix, "a claim must be a mapping (id, text, status, figure, holds_if[, spec_ref]; "
                                        "cited claims: cited and spec_host instead of holds_if)")
    for k in c:
        if k not in CLAIM_FIELDS:
            raise ConfigError(file, f"{prefix}.{k}", f"unknown claim field (allowed: {', '.join(CLAIM_FIELDS)})")
    for k in ("id", "text", "status", "figure"):
        if k not in c:
            raise ConfigError(file, f"{prefix}.{k}", "required")
    for k in ("id", "text", "figure"):
        _check_str(file, f"{prefix}.{k}", c[k])
    if c["status"] not in CLAIM_STATUSES:
        raise ConfigError(file, f"{prefix}.status", f"asserted, corrected or cited, got {c['status']!r}")
    if c["figure"] not in keys:
        raise ConfigError(file, f"{prefix}.figure", f"{c['figure']!r} names no figure (bound in 'figures' or listed "
                                                    "in 'layout.derived')")
    if "spec_ref" in c:
        _check_str(file, f"{prefix}.spec_ref", c["spec_ref"])
    if c["status"] == "cited":
        if "holds_if" in c:
            raise ConfigError(file, f"{prefix}.holds_if", "a cited claim is not judged (the spec's figure comes from "
                                                          "other hardware): drop holds_if")
        for k in CITED_CLAIM_FIELDS:
            if k not in c:
                raise ConfigError(file, f"{prefix}.{k}", "required for a cited claim (a figure bound as cited: ...)")
            if c[k] not in citations:
                raise ConfigError(file, f"{prefix}.{k}", f"{c[k]!r} names no figure bound as a citation "
                                                         "({cited: ..., source: ...})")
        return Claim(id=c["id"], text=c["text"], status="cited", figure=c["figure"], holds_if=None,
                     spec_ref=c.get("spec_ref"), cited=c["cited"], spec_host=c["spec_host"])
    for k in CITED_CLAIM_FIELDS:
        if k in c:
            raise ConfigError(file, f"{prefix}.{k}", f"only a cited claim names {k} (status: cited)")
    if "holds_if" not in c:
        raise ConfigError(file, f"{prefix}.holds_if", f"required for an {c['status']} claim")
    h = c["holds_if"]
    if not isinstance(h, Mapping) or len(h) != 1:
        raise ConfigError(file, f"{prefix}.holds_if", f"exactly one of {', '.join(CLAIM_OPERATORS)}, got {h!r}")
    (op, arg), = h.items()
    if op not in CLAIM_OPERATORS:
        raise ConfigError(file, f"{prefix}.holds_if.{op}", f"unknown operator (allowed: {', '.join(CLAIM_OPERATORS)})")
    if op == "between":
        if (not isinstance(arg, list) or len(arg) != 2
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in arg) or arg[0] > arg[1]):
            raise ConfigError(file, f"{prefix}.holds_if.between", f"[low, high] numbers with low <= high, got {arg!r}")
    elif op in ("eq", "ne"):
        if not _is_scalar(arg) or arg is None:
            raise ConfigError(file, f"{prefix}.holds_if.{op}", f"a number, string or boolean, got {arg!r}")
    elif isinstance(arg, bool) or not isinstance(arg, (int, float)):
        raise ConfigError(file, f"{prefix}.holds_if.{op}", f"a number, got {arg!r}")
    return Claim(id=c["id"], text=c["text"], status=c["status"], figure=c["figure"], holds_if=dict(h),
                 spec_ref=c.get("spec_ref"))


def iter_texts(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a YAML tree (mapping keys included) with its dotted field path."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            if isinstance(k, str):
                yield f"{sub} (key)", k
            yield from iter_texts(v, sub)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from iter_texts(v, f"{path}.{i}")


def derived_keys(layout: Mapping[str, Any]) -> tuple[str, ...]:
    """Keys the renderer promises to compute with ``d.derive`` (``layout.derived``)."""
    d = layout.get("derived") or ()
    return tuple(d) if isinstance(d, list) else ()


def parse_spec(data: Any, file: str, expect_guarantee: str | None = None,
               expect_kind: str | None = None) -> DiagramSpec:
    """Validate parsed YAML into a DiagramSpec (first problem -> ConfigError)."""
    if not isinstance(data, Mapping):
        raise ConfigError(file, "(top level)", "a diagram spec must be a YAML mapping")
    allowed = set(TOP_REQUIRED) | set(TOP_OPTIONAL)
    for k in data:
        if k not in allowed:
            raise ConfigError(file, str(k), f"unknown field (allowed: {', '.join(sorted(allowed))})")
    for k in TOP_REQUIRED:
        if k not in data:
            raise ConfigError(file, k, "required")
        _check_str(file, k, data[k])
    if data.get("key_insight") is not None:
        _check_str(file, "key_insight", data["key_insight"])
    kind, typ = data["kind"], data["type"]
    if kind not in KIND_TYPES:
        raise ConfigError(file, "kind", f"one of {', '.join(KIND_TYPES)}, got {kind!r}")
    if typ not in DIAGRAM_TYPES:
        raise ConfigError(file, "type", f"one of {', '.join(DIAGRAM_TYPES)}, got {typ!r}")
    if KIND_TYPES[kind] != typ:
        raise ConfigError(file, "type", f"a {kind!r} diagram is a {KIND_TYPES[kind]!r}, not {typ!r}")
    if expect_guarantee is not None and data["guarantee"] != expect_guarantee:
        raise ConfigError(file, "guarantee", f"{data['guarantee']!r} but the file is in specs/{expect_guarantee}/")
    if expect_kind is not None and kind != expect_kind:
        raise ConfigError(file, "kind", f"{kind!r} but the file is named {expect_kind}.yaml")
    sections: dict[str, Mapping[str, Any]] = {}
    for sec in ("figures", "series", "layout"):
        v = data.get(sec)
        if v is None:
            v = {}
        if not isinstance(v, Mapping):
            raise ConfigError(file, sec, f"must be a mapping, got {type(v).__name__}")
        for k in v:
            if not isinstance(k, str) or not KEY_RE.match(k):
                raise ConfigError(file, f"{sec}.{k}", "keys are identifiers (letters, digits, _)")
        sections[sec] = v
    figures, series, layout = sections["figures"], sections["series"], sections["layout"]
    for k in sorted(set(figures) & set(series)):
        raise ConfigError(file, f"series.{k}", "the same key is bound in 'figures' too: keys must be unique")
    for k, b in figures.items():
        validate_scalar_binding(file, f"figures.{k}", b)
    for k, b in series.items():
        validate_series_binding(file, f"series.{k}", b)
    d = layout.get("derived")
    if d is not None and (not isinstance(d, list) or any(not isinstance(x, str) or not KEY_RE.match(x) for x in d)):
        raise ConfigError(file, "layout.derived", "a list of figure keys the renderer derives from series")
    derived = derived_keys(layout)
    for k in derived:
        if k in figures or k in series:
            raise ConfigError(file, "layout.derived", f"{k!r} is bound in figures/series already; a derived key is new")
    if typ == "timeline":
        from diagram_gen.shaping.history_views import WINDOW_RULES

        rule = layout.get("window_rule")
        if rule not in WINDOW_RULES:
            raise ConfigError(file, "layout.window_rule", f"required: the name of the rule that picks the window, "
                                                          f"one of {', '.join(sorted(WINDOW_RULES))}, got {rule!r}")
    keys = set(figures) | set(derived)
    for sec in ("title", "purpose", "key_insight", "layout"):
        for fld, text in iter_texts(data.get(sec), sec):
            for m in PLACEHOLDER_RE.finditer(text):
                if m.group(1) not in keys:
                    raise ConfigError(file, fld, f"placeholder {{{m.group(1)}}} names no figure (bound in 'figures' or "
                                                 "listed in 'layout.derived')")
    raw_claims = data.get("claims") or []
    if not isinstance(raw_claims, list):
        raise ConfigError(file, "claims", "must be a list of claims")
    citations = {k for k, b in figures.items() if isinstance(b, Mapping) and "cited" in b}
    claims = tuple(_validate_claim(file, f"claims.{i}", c, keys, citations) for i, c in enumerate(raw_claims))
    ids = [c.id for c in claims]
    for i, cid in enumerate(ids):
        if cid in ids[:i]:
            raise ConfigError(file, f"claims.{i}.id", f"duplicate claim id {cid!r}")
    return DiagramSpec(id=data["id"], guarantee=data["guarantee"], kind=kind, type=typ, title=data["title"],
                       purpose=data["purpose"], source_file=file, figures=dict(figures), series=dict(series),
                       claims=claims, layout=dict(layout), key_insight=data.get("key_insight"))


def load_spec(path: Path, repo_root: Path) -> DiagramSpec:
    """Read and validate one spec file; ``source_file`` is relative to ``repo_root``.

    The file must sit at ``<guarantee>/<kind>.yaml`` (its folder names the guarantee, its
    stem the kind) so the gallery can place it without reading it."""
    path = Path(path)
    file = rel_to(path, repo_root)
    data, _sha = read_spec_data(path, file)
    return parse_spec(data, file, expect_guarantee=path.parent.name, expect_kind=path.stem)
