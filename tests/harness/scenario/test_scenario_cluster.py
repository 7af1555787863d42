"""The short leader-in-minority scenario on a real 5-node etcd cluster produces a failure
summary whose figures were all measured, and leaves nothing behind."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from harness.recorder.history import read_history
from harness.scenario import check_environment, load_scenario

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[3]


def test_short_leader_in_minority_scenario(tmp_path: Path, require_cluster: None) -> None:
    from harness.nemesis.rules import RuleSet
    from harness.providers.netns import NetnsProvider
    from harness.scenario.runner import run_scenario
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem

    sc = load_scenario(REPO / "workloads" / "scenarios" / "etcd-leader-in-minority-ci.yaml")
    run_id = f"scenario-test-{int(time.time() * 1000) % 10**9}"
    provider = NetnsProvider(run_id).with_state_dir(tmp_path / "state").with_data_root(tmp_path / "data")
    check_environment(sc, provider)
    out = tmp_path / "run" / "scenario"
    with provider:
        cluster = provider.start(EtcdSystem(find_etcd()), sc.nodes, tmp_path / "run")
        origin = time.monotonic_ns()
        result = run_scenario(sc, cluster, out, origin, log=lambda s: None)
        # repaired before returning: no rule in any namespace, no paused or killed node
        rs = RuleSet(provider)
        assert [r for n in cluster.nodes for r in rs.present(n.name)] == []
        assert all(n.is_running() and n.state() not in ("T", "t") for n in cluster.nodes)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert provider.names.netns("n1") not in left
    assert not list((tmp_path / "state").glob("*.json"))

    assert not result.interrupted and result.summary_path is not None
    for f in ("history.jsonl", "nemesis.jsonl", "members.jsonl", "final_reads.jsonl", "timeline.json",
              "availability.json", "failure_summary.json", "scenario.json"):
        assert (out / f).exists(), f
    ops = list(read_history(out / "history.jsonl"))
    assert [o.i for o in ops] == list(range(len(ops)))
    nem = [o for o in ops if o.is_nemesis]
    assert [(o.f, o.type) for o in nem] == [("partition", "ok"), ("heal", "ok")]
    assert nem[0].extra["verification"]["ok"] and nem[1].extra["verification"]["ok"]
    assert abs(nem[0].extra["started_at_s"] - 5.0) < 0.5 and abs(nem[1].extra["started_at_s"] - 15.0) < 0.5
    finals = [o for o in ops if o.extra.get("final")]
    assert {(o.node, o.read_consistency) for o in finals} == {(f"n{i}", c) for i in range(1, 6)
                                                            for c in ("linearizable", "serializable")}
    # both workloads ran, with distinct process ids
    procs = {w: {o.process for o in read_history(out / "workloads" / w / "history.jsonl")}
             for w in ("register-linearizable", "register-serializable")}
    assert procs["register-linearizable"] and procs["register-serializable"]
    assert not procs["register-linearizable"] & procs["register-serializable"]

    s = json.loads((out / "failure_summary.json").read_text())
    p = s["partition"]
    assert p["shape"] == "leader-in-minority" and len(p["minority"]) == 2 and len(p["majority"]) == 3
    assert p["election"]["leader_at_fault"] in p["minority"]
    assert p["election"]["new_leader"] in p["majority"]
    assert 0 < p["election"]["elected_after_s"] < 10
    un = p["unavailability"]["writes"]["first_ok_after_s"]
    assert isinstance(un, float) and 0 < un < 10
    mb = p["minority_behaviour"]
    assert mb["writes"]["served"] is False and mb["writes"]["attempted"] > 0
    assert mb["reads"]["strong"]["linearizable"]["served"] is False
    assert mb["reads"]["weak"]["serializable"]["served"] is True
    assert isinstance(mb["staleness"]["weak"]["serializable"]["stale_reads"], int)
    rec = p["recovery_after_heal"]
    assert rec["every_node_recovered"] is True and 0 <= rec["full_service_after_s"] < 10
    assert s["lost_writes"]["verdict"] is True and s["lost_writes"]["count"] == 0
    assert s["late_writes"]["verdict"] in (True, False) and isinstance(s["late_writes"]["count"], int)
    lin = s["linearizability"]
    strong, weak = lin["strong"]["linearizable"], lin["weak"]["serializable"]
    assert strong["verdict"] is True, strong["evidence"]
    assert weak["verdict"] in (True, False)
    assert strong["reads"] > 0 and weak["reads"] > 0

    def walk(x: object) -> None:  # nothing is a silent null where a figure belongs at top level
        if isinstance(x, str) and x.startswith("not measured"):
            assert ": " in x  # always with a reason
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(s)
