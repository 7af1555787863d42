"""The ``cassandra:`` block of a workload file: replication, write and serial levels, routing.

Parsed and checked by the Cassandra plugin (``harness.systems.cassandra.plugin``) before any
cluster starts; every mistake is one ``ConfigError`` naming the file, the field
(``cassandra.routing``) and the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROUTINGS = ("pinned", "token-aware")


@dataclass(frozen=True)
class CassandraOptions:
    """Cassandra-only settings of a workload (the keyspace is per replication factor)."""

    replication_factor: int = 3
    write_consistency: str = "QUORUM"
    serial_consistency: str = "SERIAL"
    #: pinned: each client's requests go to the node it is assigned (``clients.pin``), so a
    #: partition's sides are attributable; token-aware: the driver sends each request to a
    #: replica of its key (what applications do), and the history records no node.
    routing: str = "pinned"

    @property
    def write_level(self) -> str | None:
        """Puts, deletes and the commit of a cas are made at ``write_consistency``."""
        return self.write_consistency

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()
