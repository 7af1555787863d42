"""The load generator's client for a workload's system: one object per (worker, endpoint),
shared by that worker's clients pinned to the endpoint.

Every client has the same small async surface, so the worker never knows which database it
drives: ``await open()`` (connect before the start barrier, so connecting is never timed),
``await invoke(f, key, value, read_consistency) -> Outcome`` (never raises for database
errors) and ``await aclose()``.
"""
from __future__ import annotations

from typing import Any, Sequence

from harness.workload.spec import Workload


def routes_per_request(w: Workload) -> bool:
    """True when the driver, not the assignment, picks each request's node (token-aware)."""
    from harness.registry import system_plugin

    return system_plugin(w.system).routes_per_request(w)


def make_client(w: Workload, endpoint: str, all_endpoints: Sequence[str] = ()) -> Any:
    """A client bound to ``endpoint`` (host:port): every request goes to that node; with
    token-aware routing (Cassandra) a client over ``all_endpoints`` that picks a replica."""
    from harness.registry import system_plugin

    return system_plugin(w.system).make_client(w, endpoint, all_endpoints)
