"""The ``zookeeper:`` block of a workload file: whether its clients accept a read-only server.

Parsed and checked by the ZooKeeper plugin (``harness.systems.zookeeper.plugin``) before any
cluster starts; a mistake is one ``ConfigError`` naming the file, the field
(``zookeeper.read_only``) and the reason.

Read-only mode (ZooKeeper Administrator's Guide, ``readonlymode.enabled``; ZOOKEEPER-784):
a server cut off from the quorum stops serving; with read-only mode it starts a read-only
server after a short grace period of looking for a leader and serves reads (from its own,
possibly stale, state) to clients that connected with ``canBeReadOnly`` (kazoo's
``read_only=True``), refusing their writes (``NotReadOnlyCallError``) and refusing other
clients' connections, as a server without read-only mode does. The servers always run with
read-only mode on (``config.ZooKeeperConfig.read_only_mode``), so only this client side
differs between workloads: a cluster's JVM options are fixed when it starts, before any
workload of the run is known (``SystemPlugin.make_system`` takes no workload).

Example::

    zookeeper: {read_only: true}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from harness.config_fields import boolean, refuse_unknown


@dataclass(frozen=True)
class ZooKeeperOptions:
    """ZooKeeper-only settings of a workload."""

    #: kazoo ``read_only=True``: the session may be served by a read-only server.
    read_only: bool = False

    @property
    def write_level(self) -> str | None:
        """ZooKeeper writes have no level (every write is a ZAB proposal)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"read_only": self.read_only}


def parse_options(file: str, data: Mapping[str, Any] | None) -> ZooKeeperOptions | None:
    """The block, or None when it is absent or empty (ZooKeeper's defaults: no read-only
    clients); an unknown key or a non-boolean ``read_only`` is a ConfigError."""
    if not data:
        return None
    refuse_unknown(file, "zookeeper.", data, set(ZooKeeperOptions.__dataclass_fields__))
    return ZooKeeperOptions(read_only=boolean(file, "zookeeper.read_only", data.get("read_only", False)))
