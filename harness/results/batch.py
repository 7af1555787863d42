"""A batch: runs of one configuration repeated on fresh clusters that together give one point
of the results history (``harness.results.changes``: the median of the batch's stable runs).

The session writes the manifest field ``batch: {"id": str, "index": int, "of": int}`` when the
environment sets ``GBENCH_BATCH_ID`` (``GBENCH_BATCH_INDEX``, ``GBENCH_BATCH_OF``: this run's
place, 1-based, and how many runs the batch was to have); the scheduled benchmark job sets them,
e.g. ``GBENCH_BATCH_ID=<CI run id>`` for each of its N repeats. A run without the field is a
point of its own. ``from_environment`` refuses a malformed setting before any cluster starts
(ArgumentError naming the variable, exit 2); ``of_manifest`` reads the field back (DamagedFile
naming the manifest when it has the wrong shape).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from harness.errors import ArgumentError, DamagedFile

ID_VAR, INDEX_VAR, OF_VAR = "GBENCH_BATCH_ID", "GBENCH_BATCH_INDEX", "GBENCH_BATCH_OF"
#: A batch id: letters, digits, '.', '_', '-' (a CI run id, a date, a name), at most 100.
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _whole(var: str, text: str | None) -> int:
    if text is None or not text.strip():
        raise ArgumentError(var, f"must be set when {ID_VAR} is (a whole number >= 1)")
    try:
        v = int(text)
    except ValueError:
        raise ArgumentError(var, f"must be a whole number >= 1, got {text!r}") from None
    if v < 1:
        raise ArgumentError(var, f"must be a whole number >= 1, got {v}")
    return v


def from_environment(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The manifest's ``batch`` field from ``env``, or None when ``GBENCH_BATCH_ID`` is unset
    or empty (then ``GBENCH_BATCH_INDEX``/``_OF`` must be unset too: a run that means to be in a
    batch and is not would silently become a point of its own)."""
    bid = env.get(ID_VAR, "")
    if not bid:
        stray = [v for v in (INDEX_VAR, OF_VAR) if env.get(v)]
        if stray:
            raise ArgumentError(stray[0], f"is set but {ID_VAR} is not; set both or neither")
        return None
    if not ID_PATTERN.fullmatch(bid):
        raise ArgumentError(ID_VAR, f"must be 1 to 100 letters, digits, '.', '_' or '-', got {bid!r}")
    index, of = _whole(INDEX_VAR, env.get(INDEX_VAR)), _whole(OF_VAR, env.get(OF_VAR))
    if index > of:
        raise ArgumentError(INDEX_VAR, f"{index} is past {OF_VAR}={of}")
    return {"id": bid, "index": index, "of": of}


def of_manifest(manifest: dict[str, Any], manifest_path: Path) -> str | None:
    """The batch id a run's manifest records, None when it has no ``batch`` field."""
    b = manifest.get("batch")
    if b is None:
        return None
    if not (isinstance(b, dict) and isinstance(b.get("id"), str) and ID_PATTERN.fullmatch(b["id"])
            and all(isinstance(b.get(k), int) and not isinstance(b.get(k), bool) for k in ("index", "of"))):
        raise DamagedFile(str(manifest_path), "field 'batch' must be {\"id\": str, \"index\": int, \"of\": int}, "
                                              f"got {b!r}")
    return str(b["id"])
