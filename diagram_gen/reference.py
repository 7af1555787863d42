"""The committed reference runs, and results trees made of chosen runs.

``results/reference-runs.txt`` pins the runs the committed diagrams and the diagram tests
are built from (one run id a line; ``#`` comments). Why pinned: ``make bench`` adds the
user's runs to ``results/`` and regenerates ``results/diagrams/`` from all of them, so a test
that judged "whatever is newest in results/" would check the user's run and fail (or pass)
for reasons that have nothing to do with the repository.

``link_runs`` builds a results tree holding only the chosen runs: a directory of symlinks to
the run directories (and ``benchmarks/``). Provenance paths resolve symlinks
(``spec.rel_to``), so a build from it names ``results/<run>/...`` exactly as a build from
``results/`` does, and gives the same bytes when the same runs are there.
"""
from __future__ import annotations

from pathlib import Path

from diagram_gen.sources import RUN_ID_RE
from harness.errors import ConfigError, GbenchError

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_RUNS = REPO_ROOT / "results" / "reference-runs.txt"
#: folders of a results root that are not runs but that bindings read (``from: benchmark``)
SHARED_FOLDERS = ("benchmarks",)


def read_run_list(path: Path = REFERENCE_RUNS) -> list[str]:
    """The run ids listed in ``path``; ConfigError naming the line for anything that is not a
    run id, for a run listed twice, or for an empty list."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), "(file)", f"cannot read: {e}") from e
    runs: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not RUN_ID_RE.match(line):
            raise ConfigError(str(path), f"line {n}", f"{line!r} is not a run id (<UTC timestamp>-<name>)")
        if line in runs:
            raise ConfigError(str(path), f"line {n}", f"run {line} is listed twice")
        runs.append(line)
    if not runs:
        raise ConfigError(str(path), "(file)", "lists no run")
    return runs


def link_runs(source_root: Path, run_ids: list[str], dest_root: Path) -> Path:
    """``dest_root`` (created) holding a symlink to each ``source_root/<run>`` and to the
    shared folders that exist there. GbenchError naming the run when one is not in
    ``source_root``: a tree silently missing a run would resolve figures from other runs."""
    source_root, dest_root = Path(source_root).resolve(), Path(dest_root)
    dest_root.mkdir(parents=True, exist_ok=True)
    for rid in run_ids:
        src = source_root / rid
        if not src.is_dir():
            raise GbenchError(f"run {rid}: not in {source_root}")
        (dest_root / rid).symlink_to(src, target_is_directory=True)
    for name in SHARED_FOLDERS:
        if (source_root / name).is_dir():
            (dest_root / name).symlink_to(source_root / name, target_is_directory=True)
    return dest_root
