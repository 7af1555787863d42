"""Reading a declarative YAML file (workload, scenario, suite) with one error shape.

Why one place: every file the user writes must fail the same way, naming the file, the
``(file)`` or ``(syntax)`` field and the reason with line and column, before any cluster starts.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError


def read_yaml_file(path: str | os.PathLike[str], *, label: str | None = None,
                   loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> tuple[Any, str]:
    """(parsed document, sha256 of the raw bytes); ConfigError on unreadable or malformed input.

    ``label`` names the file in errors (default: the path as given); ``loader`` may be a
    stricter SafeLoader subclass (the diagram specs refuse duplicate keys)."""
    f = label if label is not None else str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f, "(file)", f"cannot read: {e.strerror or e}") from e
    try:
        data = yaml.load(raw, Loader=loader)  # noqa: S506 - a SafeLoader (or subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f, "(syntax)", f"malformed YAML{where}: {getattr(e, 'problem', e)}") from e
    return data, hashlib.sha256(raw).hexdigest()
