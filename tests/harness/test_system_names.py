"""No code outside a system's folder names a system or its vocabulary (issue 11's measure).

Scans the code (not comments, not docstrings) of ``harness/`` and ``diagram_gen/`` outside
``harness/systems/<name>/`` and ``diagram_gen/specs/`` for system names and words only one
system uses, and compares what it finds with the places that keep one on purpose, each with
its reason. A new hit fails (move it into the plugin or ask the registry), and so does an
allowed place that no longer has its hit (take it off the list).

The same scan by hand: ``.venv/bin/python -m tests.harness.test_system_names``.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: System names, their clients, and words only one system uses (etcd's Raft and serializable
#: reads, Cassandra's SERIAL/QUORUM levels and hinted handoff, ZooKeeper's zxid).
VOCABULARY = re.compile(r"etcd|cassandra|zookeeper|kazoo|raft|serializable|serial|quorum|zxid|hinted|hints\b", re.I)

#: file -> why it names a system on purpose (every hit in the file is allowed).
ALLOWED_FILES = {
    "harness/benchmarks/docker_startup.py": "a benchmark of etcd's start-up in Docker (issue 9), written for etcd",
    "harness/benchmarks/load_generator_profile.py": "profiles the load generator against a 3-node etcd",
    "harness/benchmarks/signal_exit.py": "measures the exit budget of etcd and Cassandra runs by name",
    "harness/benchmarks/zookeeper_startup.py": "ZooKeeper's start-up benchmark (issue 11 acceptance)",
}
#: (file, token) -> why it stays.
ALLOWED_TOKENS = {
    ("harness/registry.py", '"etcd"'): "the registry's map, and DEFAULT_SYSTEM for files that name no system",
    ("harness/registry.py", '"harness.systems.etcd.plugin"'): "the registry's map",
    ("harness/registry.py", '"cassandra"'): "the registry's map",
    ("harness/registry.py", '"harness.systems.cassandra.plugin"'): "the registry's map",
    ("harness/registry.py", '"zookeeper"'): "the registry's map",
    ("harness/registry.py", '"harness.systems.zookeeper.plugin"'): "the registry's map",
    ("harness/scenario/members.py", '"raft_term"'): "the term's name in members.jsonl before issue 11 (read rule)",
    ("harness/checkers/reference.py", '"jepsen-etcd"'): "the folder of Jepsen's published etcd histories in "
                                                       "../shared/testdata (reference data, not a system)",
    ("diagram_gen/render/architecture.py", "quorum_of"): "a majority of n members, the generic quorum",
    ("diagram_gen/render/architecture.py", '"quorum"'): "the derived figure's name (a majority), bound by specs",
    ("diagram_gen/render/architecture.py", '"floor(nodes/2)+1 (Raft majority) of the rows\' nodes column"'):
        "the derivation text recorded in committed sidecars; changing it means re-rendering them",
}


def code_files(root: Path = REPO) -> list[Path]:
    files = list(root.glob("harness/**/*.py")) + list(root.glob("diagram_gen/**/*.py"))
    return sorted(p for p in files if not re.match(r"(harness/systems/[^/]+|diagram_gen/specs)/",
                                                   p.relative_to(root).as_posix()))


def hits(path: Path) -> list[tuple[int, str]]:
    """(line, token) of every token of code that matches ``VOCABULARY``: comments, docstrings
    and other bare string statements are skipped."""
    src = path.read_text(encoding="utf-8")
    bare = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            bare.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and tok.start[0] in bare):
            continue
        if tok.type in (tokenize.NAME, tokenize.STRING) and VOCABULARY.search(tok.string):
            out.append((tok.start[0], tok.string))
    return out


def scan(root: Path = REPO) -> dict[tuple[str, str], list[int]]:
    found: dict[tuple[str, str], list[int]] = {}
    for p in code_files(root):
        rel = p.relative_to(root).as_posix()
        for line, token in hits(p):
            found.setdefault((rel, token), []).append(line)
    return found


def test_the_scan_finds_a_system_name_in_code_and_not_in_comments_or_docstrings(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text('"""etcd in a docstring."""\n# cassandra in a comment\nx = "QUORUM"  # zxid\ndef f():\n'
                 '    """raft."""\n    return is_serializable(x)\n')
    assert hits(f) == [(3, '"QUORUM"'), (6, "is_serializable")]


def test_no_code_outside_the_plugins_names_a_system() -> None:
    found = scan()
    unexpected = {f"{file}:{','.join(map(str, lines))}: {token}" for (file, token), lines in found.items()
                  if file not in ALLOWED_FILES and (file, token) not in ALLOWED_TOKENS}
    assert not unexpected, "system names outside harness/systems/<name>/:\n" + "\n".join(sorted(unexpected))
    stale = {f"{file}: {token}" for file, token in ALLOWED_TOKENS if (file, token) not in found} | \
            {file for file in ALLOWED_FILES if not any(f == file for f, _ in found)}
    assert not stale, "allowed but no longer there (take them off the list):\n" + "\n".join(sorted(stale))


if __name__ == "__main__":
    for (file, token), lines in sorted(scan().items()):
        why = ALLOWED_FILES.get(file) or ALLOWED_TOKENS.get((file, token)) or "NOT ALLOWED"
        print(f"{file}:{','.join(map(str, lines))}: {token}  [{why}]")
