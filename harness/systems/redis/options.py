"""The ``redis:`` block of a workload file: what a write waits for and when the primary refuses writes.

Parsed and checked by the Redis plugin before any cluster starts; a mistake is one
``ConfigError`` naming the file, the field (``redis.wait_replicas``) and the reason.

* ``wait_replicas`` (the write level; default 0): 0 = plain asynchronous writes, Redis's
  default (``async``); k > 0 = each write is followed, on the same connection, by
  ``WAIT k wait_timeout_ms`` (``wait``): the client hears back once k replicas acknowledged the
  write, or after the timeout with fewer (the client's ``wait_short``).
* ``wait_timeout_ms`` (default 100): WAIT's timeout. ``WAIT k 0`` blocks until k replicas
  acknowledge, forever when they never do, so 0 is refused rather than bounded silently.
* ``min_replicas_to_write`` (default 0, Redis's default: off) and ``min_replicas_max_lag_s``
  (default 10, Redis's default): the primary refuses writes (``NOREPLICAS``) while fewer than
  that many replicas have acknowledged within that many seconds. Set on every server by
  ``RedisSystem.prepare_workload`` (``CONFIG SET`` + ``CONFIG REWRITE``), so the promoted
  replica has it too after a failover.

The servers of a cluster are its nodes less the Sentinels: ``RedisConfig().sentinels`` (3,
the last nodes), since the plugin's system is always built with the default ``RedisConfig``
(``RedisPlugin.make_system``). Refused: fewer than 4 nodes (no server beside the Sentinels),
waiting for more replicas than the servers have (``WAIT`` would time out on every write),
``min_replicas_to_write`` above the replicas there are (every write refused with
``NOREPLICAS``), a zero WAIT timeout.

Example::

    redis: {wait_replicas: 2, wait_timeout_ms: 100}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from harness.config_fields import number, refuse_unknown
from harness.systems.redis.system import RedisConfig

#: The Sentinels of every cluster the plugin starts (the plugin builds its system with the
#: default ``RedisConfig``): the last this many nodes.
SENTINELS = RedisConfig().sentinels
#: WAIT's timeout and the lag bound, at most (a minute / an hour: far past any op timeout).
MAX_WAIT_TIMEOUT_MS = 60_000
MAX_LAG_S = 3600
MAX_REPLICAS = 64


@dataclass(frozen=True)
class RedisOptions:
    wait_replicas: int = 0
    wait_timeout_ms: int = 100
    min_replicas_to_write: int = 0
    min_replicas_max_lag_s: int = 10

    @property
    def write_level(self) -> str:
        """``async`` (no WAIT) or ``wait`` (WAIT for ``wait_replicas`` replicas)."""
        return "async" if self.wait_replicas == 0 else "wait"

    def to_dict(self) -> dict[str, Any]:
        return {"wait_replicas": self.wait_replicas, "wait_timeout_ms": self.wait_timeout_ms,
                "min_replicas_to_write": self.min_replicas_to_write,
                "min_replicas_max_lag_s": self.min_replicas_max_lag_s}


def parse_options(file: str, data: Mapping[str, Any] | None) -> RedisOptions:
    """The block (the defaults above when absent); unknown keys and bad values refused."""
    data = data or {}
    refuse_unknown(file, "redis.", data, set(RedisOptions.__dataclass_fields__))
    d = RedisOptions()
    return RedisOptions(
        wait_replicas=int(number(file, "redis.wait_replicas", data.get("wait_replicas", d.wait_replicas), 0,
                                 MAX_REPLICAS, unit="replicas", integer=True)),
        wait_timeout_ms=int(number(file, "redis.wait_timeout_ms", data.get("wait_timeout_ms", d.wait_timeout_ms),
                                   0, MAX_WAIT_TIMEOUT_MS, unit="ms", integer=True)),
        min_replicas_to_write=int(number(file, "redis.min_replicas_to_write",
                                         data.get("min_replicas_to_write", d.min_replicas_to_write), 0, MAX_REPLICAS,
                                         unit="replicas", integer=True)),
        min_replicas_max_lag_s=int(number(file, "redis.min_replicas_max_lag_s",
                                          data.get("min_replicas_max_lag_s", d.min_replicas_max_lag_s), 1, MAX_LAG_S,
                                          unit="seconds", integer=True)))


def servers_of(nodes: int) -> int:
    """The Redis servers of a cluster of ``nodes`` (the rest are the Sentinels)."""
    return nodes - SENTINELS


def options_problem(o: RedisOptions, servers: int) -> tuple[str, str] | None:
    """(field, reason) when ``o`` cannot run on ``servers`` Redis servers (a primary and
    ``servers - 1`` replicas), else None."""
    replicas = servers - 1
    if o.wait_replicas > replicas:
        return ("redis.wait_replicas", f"WAIT for more replicas than exist: {o.wait_replicas}, and {servers} "
                f"server(s) have {replicas} replica(s): every write would wait out its WAIT timeout")
    if o.min_replicas_to_write > replicas:
        return ("redis.min_replicas_to_write", f"{o.min_replicas_to_write}, and {servers} server(s) have {replicas} "
                f"replica(s): the primary would refuse every write with NOREPLICAS")
    if o.wait_timeout_ms == 0:
        return ("redis.wait_timeout_ms", "0 makes WAIT block until the replicas acknowledge, forever when they "
                "never do: give a timeout in ms (1 or more)")
    return None


def nodes_problem(nodes: int) -> str | None:
    """Why a workload of ``nodes`` nodes has no Redis server beside the Sentinels, or None."""
    if servers_of(nodes) < 1:
        return (f"{nodes} nodes leave no Redis server beside the {SENTINELS} Sentinels (the last {SENTINELS} nodes "
                f"run redis-sentinel): use at least {SENTINELS + 1}")
    return None
