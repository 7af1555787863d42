"""The ``postgres:`` block of a workload file: what commits wait for and which standbys count.

Parsed and checked by the PostgreSQL plugin before any cluster starts; a mistake is one
``ConfigError`` naming the file, the field (``postgres.synchronous_commit``) and the reason.

* ``synchronous_commit`` (the write level; PostgreSQL's default ``on``): ``off`` | ``local`` |
  ``remote_write`` | ``on`` | ``remote_apply``, sent by the clients as a session setting.
* ``synchronous_standbys`` (default 0: asynchronous replication, PostgreSQL's default): how many
  standbys must confirm a commit, as ``synchronous_standby_names = 'ANY k (n2, n3, …)'``
  (quorum commit over every standby). Set on the running primary before the workload
  (``ALTER SYSTEM`` + ``pg_reload_conf()``): no restart between workloads.
* ``hot_standby_feedback`` (default false): standbys tell the primary which rows their queries
  still need (fewer recovery-conflict cancellations on standby reads, more bloat on the primary).

Refused: ``remote_write`` or ``remote_apply`` with no synchronous standby (PostgreSQL would
quietly make them ``local``: the workload would not measure what it names), more synchronous
standbys than the cluster has (every commit would wait forever).

Example::

    postgres: {synchronous_commit: remote_apply, synchronous_standbys: 2}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from harness.config_fields import boolean, number, refuse_unknown, shown
from harness.errors import ConfigError

SYNCHRONOUS_COMMIT = ("off", "local", "remote_write", "on", "remote_apply")
#: the levels that wait for synchronous standbys, and need at least one to mean anything
NEEDS_STANDBY = ("remote_write", "remote_apply")


@dataclass(frozen=True)
class PostgresOptions:
    synchronous_commit: str = "on"
    synchronous_standbys: int = 0
    hot_standby_feedback: bool = False

    @property
    def write_level(self) -> str | None:
        return self.synchronous_commit

    def standby_names(self, standbys: Sequence[str]) -> str:
        """``synchronous_standby_names`` for these standbys ('' = asynchronous)."""
        if self.synchronous_standbys == 0:
            return ""
        return f"ANY {self.synchronous_standbys} ({', '.join(standbys)})"

    def to_dict(self) -> dict[str, Any]:
        return {"synchronous_commit": self.synchronous_commit, "synchronous_standbys": self.synchronous_standbys,
                "hot_standby_feedback": self.hot_standby_feedback}


def parse_options(file: str, data: Mapping[str, Any] | None) -> PostgresOptions:
    """The block (PostgreSQL's defaults when absent); unknown keys and bad values refused."""
    data = data or {}
    refuse_unknown(file, "postgres.", data, set(PostgresOptions.__dataclass_fields__))
    sc = data.get("synchronous_commit", "on")
    if not isinstance(sc, str) or sc not in SYNCHRONOUS_COMMIT:
        # YAML reads a bare on/off as a boolean
        got = (f"{str(sc).lower()} (quote it: YAML reads a bare on/off as true/false)" if isinstance(sc, bool)
               else shown(sc))
        raise ConfigError(file, "postgres.synchronous_commit",
                          f"must be one of {', '.join(SYNCHRONOUS_COMMIT)}, got {got}")
    k = int(number(file, "postgres.synchronous_standbys", data.get("synchronous_standbys", 0), 0, 98,
                   unit="standbys", integer=True))
    return PostgresOptions(sc, k, boolean(file, "postgres.hot_standby_feedback", data.get("hot_standby_feedback", False)))


def options_problem(o: PostgresOptions, nodes: int) -> tuple[str, str] | None:
    """(field, reason) when ``o`` cannot run on a cluster of ``nodes`` (a primary and
    ``nodes - 1`` standbys), else None."""
    if o.synchronous_standbys > nodes - 1:
        return ("postgres.synchronous_standbys", f"{o.synchronous_standbys} synchronous standbys, and a cluster of "
                f"{nodes} node(s) has {nodes - 1} standby(s): every commit would wait forever")
    if o.synchronous_commit in NEEDS_STANDBY and o.synchronous_standbys == 0:
        return ("postgres.synchronous_commit", f"{o.synchronous_commit} waits for synchronous standbys and "
                "synchronous_standbys is 0 (PostgreSQL would quietly commit as local); set synchronous_standbys")
    return None
