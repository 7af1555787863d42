"""The results store: one directory per run under ``results/``, written atomically.

A run is built in ``results/.tmp-<run_id>/`` and renamed to ``results/<run_id>/`` only when
complete (rename is atomic on one filesystem), so a half-finished run never looks
complete. A run that fails or is interrupted is renamed ``results/<run_id>.incomplete/``
with an ``INCOMPLETE`` file saying why (its node logs help diagnose), and ``gbench ls``
marks it so. Run id = UTC timestamp + scenario name, e.g. ``20261124T061500Z-bench``.

Reading: :func:`read_run` checks a published run's manifest and results file and raises
``DamagedFile`` (file + reason, exit 1) when either is missing or malformed; :func:`find_run`
resolves what the user typed (id, prefix, 'latest', run directory) or raises ``ArgumentError``
(exit 2); :func:`list_runs` gives every run directory with its state.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from harness.errors import ArgumentError, DamagedFile

#: results/ at the top of the repository, unless GBENCH_RESULTS_DIR says otherwise.
REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_SCHEMA_VERSION = 1
# manifest.json changelog:
#   1 - first version (run, scenario, harness, host, software, cluster, workloads)


def results_root() -> Path:
    return Path(os.environ.get("GBENCH_RESULTS_DIR", REPO_ROOT / "results"))


def new_run_id(scenario: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario).strip("-") or "run"
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe}"


def git_commit(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """The harness's own commit and whether the work tree had uncommitted changes."""
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError) as e:
        return {"commit": None, "dirty": None, "error": str(e)}


@dataclass
class RunDirectory:
    """A run being written. ``path`` is the temporary directory until ``complete()``."""

    root: Path
    run_id: str

    @classmethod
    def plan(cls, scenario: str, root: Path | None = None) -> "RunDirectory":
        """Choose a free run id without creating anything (checks run before ``open``)."""
        root = root or results_root()
        rd = cls(root, new_run_id(scenario))
        n = 1
        while rd.final_path.exists() or rd.path.exists():
            n += 1
            rd = cls(root, f"{new_run_id(scenario)}-{n}")
        return rd

    def open(self) -> "RunDirectory":
        """Create the temporary directory, recording this process as its owner (``OWNER_FILE``),
        so ``gbench ls`` can tell a run in progress from one whose process died."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.path.mkdir()
        me = psutil.Process()
        (self.path / OWNER_FILE).write_text(json.dumps({"pid": me.pid, "create_time": me.create_time()}))
        return self

    @classmethod
    def create(cls, scenario: str, root: Path | None = None) -> "RunDirectory":
        return cls.plan(scenario, root).open()

    @property
    def path(self) -> Path:
        return self.root / f".tmp-{self.run_id}"

    @property
    def final_path(self) -> Path:
        return self.root / self.run_id

    def write_json(self, name: str, data: Any) -> Path:
        p = self.path / name
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        tmp.rename(p)
        return p

    def complete(self) -> Path:
        """Atomically publish the run."""
        (self.path / OWNER_FILE).unlink(missing_ok=True)
        os.replace(self.path, self.final_path)
        return self.final_path

    def abandon(self, reason: str) -> Path | None:
        """Keep what was written, clearly marked incomplete."""
        if not self.path.exists():
            return None
        (self.path / "INCOMPLETE").write_text(reason.rstrip() + "\n")
        (self.path / OWNER_FILE).unlink(missing_ok=True)
        dest = self.root / f"{self.run_id}{INCOMPLETE_SUFFIX}"
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(self.path, dest)
        return dest


#: In a run being built: the pid and start time of the process building it.
OWNER_FILE = ".owner.json"
#: A published run's directory name: ``<UTC timestamp>-<name>`` (names sort by time).
RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[\w.-]+$")
#: A failed or interrupted run is renamed ``<run_id>.incomplete`` (``RunDirectory.abandon``).
INCOMPLETE_SUFFIX = ".incomplete"
#: Folders of the results root that are not runs.
NOT_RUNS = ("diagrams", "benchmarks")
#: What a run directory is: being built (``.tmp-``, its owner alive), crashed (``.tmp-``, its owner
#: gone), abandoned (``.incomplete``), published (complete), or published but unreadable (damaged).
IN_PROGRESS, CRASHED, INCOMPLETE, COMPLETE, DAMAGED = "in progress", "crashed", "incomplete", "complete", "damaged"

#: Per kind of run (manifest ``kind``; a measurement run has none): the manifest fields every
#: reader relies on, the file holding its results, and that file's fields, as (dotted path,
#: JSON type, required). Rows of a results file are objects; a comparison row has ROW_FIELDS.
MANIFEST_FIELDS: dict[str, tuple[tuple[str, type, bool], ...]] = {
    "measurement": (("run_id", str, True), ("started_utc", str, True), ("scenario", dict, True),
                    ("host", dict, True), ("software", dict, True), ("cluster", dict, True),
                    ("cluster.system", str, True), ("cluster.nodes", int, True), ("cluster.provider", str, True),
                    ("ended_utc", str, False)),
    "comparison": (("run_id", str, True), ("source_runs", dict, True)),
    "scenario-comparison": (("run_id", str, True), ("scenario", str, True), ("source_runs", list, True)),
}
RESULTS_FILES: dict[str, tuple[str, tuple[tuple[str, type, bool], ...]]] = {
    "measurement": ("summary.json", (("rows", list, True), ("comparisons", list, False))),
    "comparison": ("comparison.json", (("rows", list, True),)),
    "scenario-comparison": ("scenario-comparison.json", (("rows", list, True),)),
}
ROW_FIELDS: dict[str, tuple[tuple[str, type], ...]] = {
    "comparison": (("metric", str), ("system", str), ("unit", str), ("value", object))}
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true/false", type(None): "null"}


def json_type(value: Any) -> str:
    """What a JSON value is, in words ("an object", "a list", ...)."""
    return next((name for t, name in _JSON_TYPES.items() if type(value) is t), type(value).__name__)


def read_json(path: Path, expect: type = dict) -> Any:
    """The JSON document at ``path``, which must be ``expect`` (a dict by default).

    Raises DamagedFile naming the file and why: missing, unreadable, not UTF-8, not JSON,
    or the wrong type at the top."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DamagedFile(str(path), "missing") from None
    except UnicodeDecodeError as e:
        raise DamagedFile(str(path), f"not UTF-8 (byte {e.start})") from None
    except OSError as e:
        raise DamagedFile(str(path), f"cannot be read: {e.strerror or e}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DamagedFile(str(path), f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise DamagedFile(str(path), "not valid JSON: nested too deeply") from None
    if not isinstance(doc, expect):
        raise DamagedFile(str(path), f"must be {_JSON_TYPES[expect]} at the top, got {json_type(doc)}")
    return doc


def dig(doc: Any, path: str) -> Any:
    """The value at a dotted path of nested objects (a number indexes a list), or None
    where the path does not lead."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def _check_fields(file: Path, doc: dict[str, Any], fields: tuple[tuple[str, type, bool], ...]) -> None:
    for dotted, typ, required in fields:
        parent, _, key = dotted.rpartition(".")
        holder = dig(doc, parent) if parent else doc
        if not isinstance(holder, dict) or key not in holder:
            if required:
                raise DamagedFile(str(file), f"field '{dotted}' is missing")
            continue
        v = holder[key]
        if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
            raise DamagedFile(str(file), f"field '{dotted}' must be {_JSON_TYPES[typ]}, got {json_type(v)}")


@dataclass(frozen=True)
class Run:
    """A published run, read and checked: its manifest and its results document
    (summary.json, comparison.json or scenario-comparison.json, by ``kind``)."""

    path: Path
    kind: str  # measurement | comparison | scenario-comparison
    manifest: dict[str, Any]
    results: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def results_file(self) -> str:
        return RESULTS_FILES[self.kind][0]

    @property
    def system(self) -> str | None:
        """The system a measurement run measured (manifest ``cluster.system``); None for comparisons."""
        return self.manifest["cluster"]["system"] if self.kind == "measurement" else None

    def scenarios(self) -> list[str]:
        """Names of the fault scenarios the run holds (``scenarios/<name>/``)."""
        d = self.path / "scenarios"
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def read_run(path: Path) -> Run:
    """The run at ``path``, its manifest and results file checked (DamagedFile naming the
    file and reason when either is missing, unreadable or lacks a field readers rely on)."""
    path = Path(path)
    mf = path / "manifest.json"
    manifest = read_json(mf)
    kind = manifest.get("kind", "measurement")
    if not isinstance(kind, str) or kind not in MANIFEST_FIELDS:
        raise DamagedFile(str(mf), f"field 'kind': unknown kind of run {kind!r} "
                                   f"(known: {', '.join(MANIFEST_FIELDS)})")
    _check_fields(mf, manifest, MANIFEST_FIELDS[kind])
    name, fields = RESULTS_FILES[kind]
    results = read_json(path / name)
    _check_fields(path / name, results, fields)
    for i, row in enumerate(results["rows"]):
        if not isinstance(row, dict):
            raise DamagedFile(str(path / name), f"rows[{i}] must be an object, got {json_type(row)}")
        missing = [k for k, _ in ROW_FIELDS.get(kind, ()) if k not in row]
        if missing:
            raise DamagedFile(str(path / name), f"rows[{i}] lacks {', '.join(missing)}")
        for k, typ in ROW_FIELDS.get(kind, ()):
            if not isinstance(row[k], typ):
                raise DamagedFile(str(path / name), f"rows[{i}].{k} must be {_JSON_TYPES[typ]}, got "
                                                    f"{json_type(row[k])}")
    return Run(path, kind, manifest, results)


@dataclass(frozen=True)
class RunEntry:
    """One line of ``gbench ls``: a run directory, its state and, when readable, the run.

    ``why`` says why an incomplete run stopped (its INCOMPLETE file) or what is damaged
    (file and reason); ``run`` is set for complete runs only."""

    run_id: str
    path: Path
    state: str  # IN_PROGRESS | CRASHED | INCOMPLETE | COMPLETE | DAMAGED
    why: str = ""
    run: Run | None = None


def _builder_state(path: Path) -> tuple[str, str]:
    """(IN_PROGRESS or CRASHED, why) of a ``.tmp-`` run directory, from its OWNER_FILE: the
    recorded process still runs (same pid, same start time) or it is gone."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        pid, started = int(owner["pid"]), float(owner["create_time"])
    except FileNotFoundError:
        return IN_PROGRESS, "or crashed: no owner recorded"
    except (OSError, ValueError, KeyError, TypeError) as e:
        return IN_PROGRESS, f"or crashed: {OWNER_FILE} unreadable ({type(e).__name__})"
    try:
        alive = abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:  # no such process, or not ours to inspect
        alive = False
    if alive:
        return IN_PROGRESS, f"by pid {pid}"
    return CRASHED, f"pid {pid} is gone (killed before it could mark the run incomplete)"


def _incomplete_reason(path: Path) -> str:
    try:
        lines = (path / "INCOMPLETE").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError as e:
        return f"no reason recorded (INCOMPLETE: {e.strerror or e})"
    return lines[0] if lines else "no reason recorded (INCOMPLETE is empty)"


def _run_dirs(root: Path) -> list[tuple[str, Path, str]]:
    """(run id, directory, state by name) for every run directory under ``root``, oldest first.
    A published run is a directory with a manifest.json, or one named like a run id (then a
    missing manifest makes it damaged); other folders are not runs."""
    if not root.is_dir():
        raise ArgumentError(str(root), "not a results directory (" + ("a file" if root.exists() else "no such "
                                                                       "directory") + ")")
    out = []
    for p in root.iterdir():
        if not p.is_dir() or p.name in NOT_RUNS:
            continue
        if p.name.startswith(".tmp-"):
            out.append((p.name[len(".tmp-"):], p, IN_PROGRESS))
        elif p.name.endswith(INCOMPLETE_SUFFIX):
            out.append((p.name.removesuffix(INCOMPLETE_SUFFIX), p, INCOMPLETE))
        elif (p / "manifest.json").exists() or RUN_ID_RE.match(p.name):
            out.append((p.name, p, COMPLETE))
    return sorted(out, key=lambda x: (x[0], x[1].name))


def list_runs(root: Path | None = None) -> list[RunEntry]:
    """Every run directory under ``root``, oldest first, with its state: complete, incomplete
    (and why), in progress (by which pid), crashed (its process gone) or damaged (which file,
    and why). Every published run is read, so a damaged one shows here rather than when a
    command trips on it."""
    root = root or results_root()
    out = []
    for rid, p, state in _run_dirs(root):
        if state == INCOMPLETE:
            out.append(RunEntry(rid, p, state, why=_incomplete_reason(p)))
        elif state == IN_PROGRESS:
            builder, why = _builder_state(p)
            out.append(RunEntry(rid, p, builder, why=why))
        elif state == COMPLETE:
            try:
                out.append(RunEntry(rid, p, state, run=read_run(p)))
            except DamagedFile as e:
                out.append(RunEntry(rid, p, DAMAGED, why=str(e)))
    return out


def find_run(ref: str, root: Path | None = None, argument: str = "RUN") -> Path:
    """The directory of the run ``ref`` names: a run id, a unique prefix of one, 'latest' (the
    newest published run), or the path of a run directory (one with a manifest.json, inside or
    outside the results root). ArgumentError (exit 2) naming ``argument`` and ``ref`` when it
    names no published run.

    Only names and paths are resolved here; :func:`read_run` then reads the run, so 'latest'
    never skips a damaged newest run for an older one."""
    root = root or results_root()

    def refuse(reason: str) -> ArgumentError:
        return ArgumentError(argument, f"{ref!r} {reason}")

    if not ref.strip():
        raise ArgumentError(argument, "empty run reference (give a run id, a unique prefix of one, 'latest' or a "
                                      "run directory)")
    p = Path(ref)
    if p.is_dir():
        if not (p / "manifest.json").is_file():
            raise refuse("is a directory but not a run (no manifest.json in it)")
        if p.name.startswith(".tmp-") or p.name.endswith(INCOMPLETE_SUFFIX):
            raise refuse(f"is not a published run ({IN_PROGRESS if p.name.startswith('.tmp-') else INCOMPLETE})")
        return p
    if "/" in ref or ref in (".", ".."):
        raise refuse("is not a run directory" + (" (it is a file)" if p.exists() else " (no such directory)"))
    dirs = _run_dirs(root)
    published = [(rid, d) for rid, d, state in dirs if state == COMPLETE]
    if ref == "latest":
        if not published:
            raise refuse(f"names no run: there is no published run in {root}")
        return published[-1][1]
    matches = [(rid, d) for rid, d in published if rid.startswith(ref)]
    if len(matches) == 1:
        return matches[0][1]
    if matches:
        raise refuse(f"is ambiguous: {', '.join(rid for rid, _ in matches)}")
    unpublished = [f"{d.name} ({state})" for rid, d, state in dirs if state != COMPLETE and rid.startswith(ref)]
    raise refuse(f"matches no published run in {root}" + (f"; not published: {', '.join(unpublished)}"
                                                           if unpublished else ""))
