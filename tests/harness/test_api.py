"""The contracts' own logic: the one readiness loop and diagnosis, start stages (pure, fake nodes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pytest

from harness.api import ProbeRound, ReadinessCheck, Stage
from harness.errors import ClusterError
from harness.providers.base import Cluster, NodeAddress, ReadyReport, start_in_stages, start_stages


@dataclass
class _Node:
    name: str
    host: str
    log_path: Path
    running: bool = True
    returncode: int | None = None

    def is_running(self) -> bool:
        return self.running


@dataclass
class _System:
    name: str = "fake"
    client_port: int = 1234


@dataclass
class _Probe:
    """Ready after ``ready_after`` polls; n2 unhealthy until then; records close()."""

    ready_after: int
    polls: int = 0
    closed: bool = False
    kill: str | None = None
    nodes: list[_Node] = field(default_factory=list)

    def poll(self, cluster: Cluster, waited_s: float, deadline: float) -> ProbeRound:
        self.polls += 1
        if self.kill and self.polls == 2:
            victim = next(n for n in self.nodes if n.name == self.kill)
            victim.running, victim.returncode = False, 137
        if self.polls >= self.ready_after:
            return ProbeRound(report=ReadyReport(seconds=-1.0, leader="n1"))
        return ProbeRound(status={"n1": "healthy", "n2": "Status: UNAVAILABLE: connection refused"},
                          healthy=frozenset({"n1"}), why=None)

    def close(self) -> None:
        self.closed = True


def _cluster(tmp_path: Path) -> tuple[Cluster, list[_Node]]:
    nodes = []
    for i in (1, 2):
        log = tmp_path / f"n{i}.log"
        log.write_text("".join(f"line {j} of n{i}\n" for j in range(1, 26)))
        nodes.append(_Node(f"n{i}", f"10.0.0.{10 + i}", log))
    return Cluster(system=_System(), provider=None, nodes=nodes), nodes  # type: ignore[arg-type]


def test_ready_after_some_polls_closes_the_probe_and_times_the_wait(tmp_path: Path) -> None:
    cluster, nodes = _cluster(tmp_path)
    probe = _Probe(ready_after=3, nodes=nodes)
    report = ReadinessCheck("fake", "check the bridge", interval_s=0.01).wait(cluster, probe, timeout_s=10)
    assert (probe.polls, probe.closed, report.leader) == (3, True, "n1")
    assert 0.02 <= report.seconds < 5  # set by the check (the probe said -1)


def test_timeout_names_the_unhealthy_node_with_status_log_tail_and_hint(tmp_path: Path) -> None:
    cluster, nodes = _cluster(tmp_path)
    probe = _Probe(ready_after=10**9, nodes=nodes)
    with pytest.raises(ClusterError) as e:
        ReadinessCheck("fake", "check the bridge", interval_s=0.01).wait(cluster, probe, timeout_s=0.05)
    lines = str(e.value).splitlines()
    assert lines[0] == "fake cluster not ready after 0.05s: n2 not healthy"
    assert lines[1] == (f"--- n2 (10.0.0.12:1234): process running; status: Status: UNAVAILABLE: connection "
                        f"refused; last lines of {nodes[1].log_path}:")
    assert lines[2:22] == [f"    line {j} of n2" for j in range(6, 26)]  # the last 20 lines
    assert lines[22:] == ["Hint: check the bridge"]
    assert probe.closed


def test_an_exited_node_fails_at_once_not_at_the_timeout(tmp_path: Path) -> None:
    cluster, nodes = _cluster(tmp_path)
    probe = _Probe(ready_after=10**9, kill="n1", nodes=nodes)
    check = ReadinessCheck("fake", "h", interval_s=0.01, where=lambda c, n: n.host,
                           log_excerpt=lambda p: ["(excerpt)"])
    with pytest.raises(ClusterError) as e:
        check.wait(cluster, probe, timeout_s=60)
    assert str(e.value).splitlines() == [
        "fake cluster failed: n1 exited before the cluster was ready",
        f"--- n1 (10.0.0.11): process exited (code 137); status: healthy; last lines of {nodes[0].log_path}:",
        "    (excerpt)", "Hint: h"]
    assert probe.polls == 2 and probe.closed


def _addrs(n: int) -> list[NodeAddress]:
    return [NodeAddress(f"n{i}", f"10.0.0.{10 + i}") for i in range(1, n + 1)]


@dataclass
class _Staged:
    name: str
    stages_given: list[Stage]

    def stages(self, cluster: Sequence[NodeAddress]) -> Sequence[Stage]:
        return self.stages_given


def test_without_stages_every_node_starts_at_once() -> None:
    assert start_stages(_System(), _addrs(3)) == [Stage("member", ("n1", "n2", "n3"))]  # type: ignore[arg-type]


def test_stages_start_in_order_and_wait_for_each_stage() -> None:
    events: list[str] = []

    def primary_ready(started: Sequence[NodeAddress], timeout_s: float) -> None:
        events.append(f"ready {[a.name for a in started]} within {timeout_s:g}s")

    system = _Staged("fake", [Stage("primary", ("n2",), primary_ready), Stage("replica", ("n1", "n3"))])
    start_in_stages(system, _addrs(3), lambda names: events.append(f"start {names}"), 30.0)  # type: ignore[arg-type]
    assert events == ["start ['n2']", "ready ['n2'] within 30s", "start ['n1', 'n3']"]


@pytest.mark.parametrize("stages", [
    [Stage("primary", ("n1",)), Stage("replica", ("n2",))],                 # n3 never started
    [Stage("primary", ("n1",)), Stage("replica", ("n1", "n2", "n3"))],     # n1 twice
])
def test_stages_must_name_every_node_once(stages: list[Stage]) -> None:
    with pytest.raises(ClusterError, match="not every node of \\['n1', 'n2', 'n3'\\] exactly once"):
        start_in_stages(_Staged("fake", stages), _addrs(3), lambda names: None, 1.0)  # type: ignore[arg-type]
