"""The operation history: one immutable record per client operation, stored as JSON lines.

This is the contract between the load generator (which writes it), the checkers (which
judge it) and the diagrams (which draw it). Schema version 1, one JSON object per line:

    {"i": 17, "process": 3, "node": "n2", "f": "put", "key": "k0007",
     "value": "p3-17", "read_consistency": null, "value_size": 256,
     "invoke_ns": 1200345, "complete_ns": 1204511, "intended_ns": null,
     "type": "ok", "result": null, "error": null, "revision": 42}

Fields
- ``i``: sequence number within the run (unique, not ordered across workers).
- ``process``: logical client id (int). Nemesis records use the string ``"nemesis"``.
- ``node``: the node the client was talking to (pinned), or null.
- ``f``: ``put`` | ``get`` | ``cas`` | ``delete`` for clients; nemesis ``f`` names the fault.
- ``key``: the key (string).
- ``value``: the argument. ``put``: the write's unique token (the stored value starts with
  it, padded to ``value_size`` bytes; the token is what checkers compare). ``cas``:
  ``[expected_token, new_token]``. ``get``/``delete``: null. Tokens are unique per run.
- ``read_consistency``: for reads, ``linearizable`` or ``serializable`` (etcd); other
  systems use their own names (e.g. Cassandra consistency levels). null for writes
  unless the system has a write consistency level, which goes in ``write_consistency``.
- ``invoke_ns`` / ``complete_ns``: CLOCK_MONOTONIC nanoseconds relative to the run's
  time origin (``manifest.json: time_origin_monotonic_ns``). One host, one clock: no skew.
  ``complete_ns`` is when the client learned the outcome (for ``info``: when it gave up).
- ``intended_ns``: open-loop only: when the operation *should* have started. Latency
  is ``complete_ns - intended_ns`` (coordinated-omission corrected); closed loop: null
  and latency is ``complete_ns - invoke_ns``.
- ``type``: ``ok`` (happened, result known), ``fail`` (certainly did not take effect:
  rejected before being applied, or a cas whose compare failed), ``info`` (indeterminate:
  may have taken effect, now or later - a timeout, a dropped connection after sending).
- ``result``: ``get``: the token read, or null when the key is absent. ``cas``/``put``: null.
- ``error``: an error kind (e.g. ``timeout``, ``unavailable``, ``no_leader``), or null.
- ``revision``: the system's revision/version of the response if it has one, else null.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, TextIO

SCHEMA_VERSION = 1
_dumps = json.JSONEncoder(separators=(",", ":")).encode

Outcome = Literal["ok", "fail", "info"]
OUTCOMES: tuple[str, ...] = ("ok", "fail", "info")
CLIENT_OPS: tuple[str, ...] = ("put", "get", "cas", "delete")


@dataclass(frozen=True, slots=True)
class Op:
    """One completed (or abandoned) operation. Immutable; see module docstring for fields."""

    i: int
    process: int | str
    f: str
    key: str | None
    value: Any
    invoke_ns: int
    complete_ns: int | None
    type: Outcome
    node: str | None = None
    read_consistency: str | None = None
    write_consistency: str | None = None
    value_size: int | None = None
    intended_ns: int | None = None
    result: Any = None
    error: str | None = None
    revision: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ns(self) -> int | None:
        """Latency as a user experiences it: from intended start (open loop) or invoke."""
        if self.complete_ns is None:
            return None
        start = self.intended_ns if self.intended_ns is not None else self.invoke_ns
        return self.complete_ns - start

    @property
    def is_nemesis(self) -> bool:
        return self.process == "nemesis"

    def to_json(self) -> str:
        # Hand-built dict: dataclasses.asdict deep-copies and costs ~5x more on the hot path.
        d = {"i": self.i, "process": self.process, "node": self.node, "f": self.f, "key": self.key,
             "value": self.value, "read_consistency": self.read_consistency,
             "write_consistency": self.write_consistency, "value_size": self.value_size,
             "invoke_ns": self.invoke_ns, "complete_ns": self.complete_ns, "intended_ns": self.intended_ns,
             "type": self.type, "result": self.result, "error": self.error, "revision": self.revision}
        if self.extra:
            d["extra"] = self.extra
        return _dumps(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Op":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}  # type: ignore[attr-defined]
        return cls(**known)


def write_history(path: Path, ops: Iterable[Op]) -> int:
    """Write ops as JSON lines; returns the count. Caller handles atomicity (run dir rename)."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for op in ops:
            fh.write(op.to_json())
            fh.write("\n")
            n += 1
    return n


class HistoryWriter:
    """Append-only JSONL writer used by workers (one file per worker, merged at the end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO = open(path, "w", encoding="utf-8", buffering=1 << 20)
        self.count = 0

    def append(self, op: Op) -> None:
        self._fh.write(op.to_json())
        self._fh.write("\n")
        self.count += 1

    def close(self) -> None:
        self._fh.close()


def read_history(path: Path) -> Iterator[Op]:
    """Read a harness history file. Raises HistoryParseError with the line number."""
    from harness.errors import HistoryParseError

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
                yield Op.from_dict(d)
            except (ValueError, TypeError) as e:
                raise HistoryParseError(str(path), lineno, f"not a history record: {e}") from e
