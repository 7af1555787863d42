"""Which nodes a session's reads rotate over (``runner.session_read_targets``): exact values."""
from __future__ import annotations

from dataclasses import replace

from harness.workload.runner import session_read_targets
from harness.workload.spec import Workload
from harness.workload.worker import ClientAssignment


def _assign() -> list[list[ClientAssignment]]:
    # 5 clients over 2 workers, pinned round-robin to n2, n3, n1 (client i -> worker i % 2)
    nodes = ["n2", "n3", "n1", "n2", "n3"]
    per: list[list[ClientAssignment]] = [[], []]
    for i, n in enumerate(nodes):
        per[i % 2].append(ClientAssignment(100 + i, i, n, f"{n}:5432"))
    return per


def test_round_robin_reads_rotate_over_every_pinned_node_in_client_order() -> None:
    w = replace(Workload(name="t", duration_s=1), session_reads="round-robin")
    assert session_read_targets(w, _assign()) == (("n2", "n2:5432"), ("n3", "n3:5432"), ("n1", "n1:5432"))


def test_sticky_or_no_sessions_route_nothing() -> None:
    w = Workload(name="t", duration_s=1)
    assert session_read_targets(w, _assign()) == ()
    assert session_read_targets(replace(w, session_reads="sticky"), _assign()) == ()
