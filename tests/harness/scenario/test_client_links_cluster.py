"""Client link faults through a real Toxiproxy server on a real 3-node etcd cluster: the added
latency shows in the load's own service times, a downed link refuses that node's clients
only, the heal restores both, and the Toxiproxy process is gone afterwards."""
from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from harness.recorder.history import read_history
from harness.results.percentiles import nearest_rank
from harness.scenario import check_environment, load_scenario

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[3]


def test_client_latency_and_down_through_toxiproxy(tmp_path: Path, require_cluster: None) -> None:
    from harness.providers.netns import NetnsProvider
    from harness.scenario.runner import run_scenario
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem

    sc = load_scenario(REPO / "workloads" / "scenarios" / "etcd-client-links-ci.yaml")
    provider = NetnsProvider(f"links-{int(time.time() * 1000) % 10**9}").with_state_dir(tmp_path / "state") \
        .with_data_root(tmp_path / "data")
    check_environment(sc, provider)
    with provider:
        cluster = provider.start(EtcdSystem(find_etcd()), sc.nodes, tmp_path / "run")
        result = run_scenario(sc, cluster, tmp_path / "sc", time.monotonic_ns(), log=lambda s: None)
    assert not [p for p in psutil.process_iter(["name"]) if p.info["name"] == "toxiproxy-server"
                and str(tmp_path) in " ".join(p.cmdline())], "toxiproxy-server left running"
    ops = list(read_history(result.history_path))
    nem = [o for o in ops if o.is_nemesis]
    assert [(o.f, o.type) for o in nem] == [("client-latency", "ok"), ("heal-client", "ok"), ("client-down", "ok"),
                                            ("heal-client", "ok")]
    assert nem[2].extra["verification"]["refused"] == {"n1": True}
    t0 = result.load_start_ns
    assert t0 is not None

    def service_ms(lo: float, hi: float, node: str | None = None) -> list[float]:
        return sorted((o.complete_ns - o.invoke_ns) / 1e6 for o in ops
                      if not o.is_nemesis and not o.extra.get("final") and o.type == "ok" and o.complete_ns
                      and lo * 1e9 <= o.invoke_ns - t0 < hi * 1e9 and (node is None or o.node == node))

    before, during, after = service_ms(0.5, 2.8), service_ms(3.5, 7.8), service_ms(8.5, 9.8)
    assert before and during and after
    assert nearest_rank(during, 50) >= 90.0, nearest_rank(during, 50)  # 100 ms added per response
    assert nearest_rank(before, 50) < 60.0 and nearest_rank(after, 50) < 60.0
    assert service_ms(10.5, 13.8, "n1") == []  # n1's clients are refused while its link is down
    assert service_ms(10.5, 13.8, "n2") and service_ms(14.5, 17.5, "n1")  # others served; n1 back after heal
