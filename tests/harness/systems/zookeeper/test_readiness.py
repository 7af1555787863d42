"""Readiness: when a cluster counts as ready (pure, on srvr answers), and what the error says
when it is not (a real server that cannot start)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.systems.zookeeper.fourlw import Srvr
from harness.systems.zookeeper.system import NodeProbe, quorum_view


def lead(n: str) -> NodeProbe:
    return NodeProbe(n, True, Srvr(serving=True, mode="leader", zxid=0x200000000))


def follow(n: str) -> NodeProbe:
    return NodeProbe(n, True, Srvr(serving=True, mode="follower", zxid=0x100000007))


def looking(n: str) -> NodeProbe:
    return NodeProbe(n, True, Srvr(serving=False))


def test_one_leader_and_the_rest_following_is_ready() -> None:
    assert quorum_view({"n1": follow("n1"), "n2": lead("n2"), "n3": follow("n3")}) == ("n2", None)


@pytest.mark.parametrize("probes, expected", [
    ({"n1": looking("n1"), "n2": lead("n2"), "n3": follow("n3")}, (None, "not serving: n1")),
    ({"n1": NodeProbe("n1", error="ConnectionRefusedError: [Errno 111] Connection refused"), "n2": lead("n2")},
     (None, "not serving: n1")),
    ({"n1": follow("n1"), "n2": follow("n2")}, (None, "0 leaders (none)")),
    ({"n1": lead("n1"), "n2": lead("n2")}, (None, "2 leaders (n1, n2)")),
    ({"n1": lead("n1"), "n2": NodeProbe("n2", True, Srvr(serving=True, mode="observer"))},
     ("n1", "not following: n2")),
])
def test_not_ready(probes: dict, expected: tuple) -> None:
    assert quorum_view(probes) == expected


def test_states_and_descriptions() -> None:
    assert [p.state for p in (lead("a"), follow("a"), looking("a"), NodeProbe("a", error="x"))] == \
        ["leading", "following", "looking", None]
    assert lead("a").describe() == "mode leader, epoch 2, zxid 0x200000000"
    assert looking("a").describe() == "ruok: imok; srvr: not serving (electing or syncing)"
    assert NodeProbe("a", error="timed out").describe() == "timed out"


@pytest.mark.cluster
def test_a_server_that_cannot_start_is_named_with_its_log_and_a_hint(tmp_path: Path) -> None:
    from harness.errors import ClusterError, EnvironmentProblem
    from harness.providers.netns import NetnsProvider
    from harness.systems.zookeeper.config import ZooKeeperConfig
    from harness.systems.zookeeper.system import ZooKeeperSystem

    try:
        NetnsProvider("zookeeper-test").check_environment()
        good = ZooKeeperSystem.from_environment()
    except EnvironmentProblem as e:
        if os.environ.get("CI"):
            pytest.fail(f"ZooKeeper cluster tests cannot run in CI: {e}")
        pytest.skip(str(e))
    bad = ZooKeeperSystem(good.distribution, good.java, ZooKeeperConfig(heap="1k"))  # the JVM refuses at once
    provider = NetnsProvider("zk-bad-start").with_state_dir(tmp_path / "state").with_data_root(tmp_path / "data")
    with pytest.raises(ClusterError) as e:
        with provider:
            provider.start(bad, 3, tmp_path / "run")
    msg = str(e.value)
    assert msg.startswith("zookeeper cluster failed: ") and "exited before the cluster was ready" in msg
    assert "process exited (code 1)" in msg and "Too small" in msg  # the JVM's own words, from the node's log
    assert "Hint: a server that exits at once usually has a bad zoo.cfg line or JVM option" in msg
    assert not any((tmp_path / "state").glob("*.json")) and not any((tmp_path / "data").iterdir())
