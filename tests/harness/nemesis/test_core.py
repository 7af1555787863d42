"""Nemesis plumbing without a cluster: records, noop, compose, rules, probes' arithmetic."""
from __future__ import annotations

import subprocess
from typing import Any, Sequence

import pytest

from harness.nemesis.core import FaultRecord, NoopNemesis, compose
from harness.nemesis.link import netem_commands, sample_pairs
from harness.nemesis.probe import compare_matrix, expected_connect_failure, loss_consistent
from harness.nemesis.rules import RuleSet, drop_rules, loss_rules
from harness.nemesis.shapes import grouping


def test_fault_record_becomes_a_nemesis_op() -> None:
    rec = FaultRecord("partition", {"groups": [["n1"], ["n2"]]}, "ok", 10, 20, None, {"verification": {"ok": True}})
    op = rec.to_op(7)
    assert op.is_nemesis and op.process == "nemesis" and op.f == "partition" and op.type == "ok"
    assert (op.i, op.invoke_ns, op.complete_ns, op.key) == (7, 10, 20, None)
    assert '"process":"nemesis"' in op.to_json() and '"extra":{"verification":{"ok":true}}' in op.to_json()


def test_compose_routes_by_fault_and_refuses_collisions() -> None:
    a, b = NoopNemesis(("x", "y")), NoopNemesis(("z",))
    c = compose([a, b])
    assert c.faults == {"x", "y", "z"}
    c.setup(None)  # type: ignore[arg-type]
    rec = c.invoke("z", {"p": 1})
    assert rec.f == "z" and rec.value == {"p": 1} and rec.type == "ok"
    with pytest.raises(KeyError, match="no nemesis handles fault 'w'"):
        c.invoke("w", {})
    with pytest.raises(ValueError, match="fault 'y' is handled by both"):
        compose([NoopNemesis(("y",)), NoopNemesis(("y",))])
    assert c.teardown() == []


ADDR = {"n1": "10.0.0.11", "n2": "10.0.0.12", "n3": "10.0.0.13"}


def test_drop_rules_cut_both_input_and_output_and_only_peer_addresses() -> None:
    g = grouping("isolate-node", ["n1", "n2", "n3"], node="n1")
    rules = drop_rules(g.cut, ADDR, "run-1")
    specs = {(r.node, r.spec) for r in rules}
    c = ("-m", "comment", "--comment", "gbench:run-1")
    assert specs == {
        ("n2", ("INPUT", "-s", "10.0.0.11", *c, "-j", "DROP")), ("n1", ("OUTPUT", "-d", "10.0.0.12", *c, "-j", "DROP")),
        ("n3", ("INPUT", "-s", "10.0.0.11", *c, "-j", "DROP")), ("n1", ("OUTPUT", "-d", "10.0.0.13", *c, "-j", "DROP")),
        ("n1", ("INPUT", "-s", "10.0.0.12", *c, "-j", "DROP")), ("n2", ("OUTPUT", "-d", "10.0.0.11", *c, "-j", "DROP")),
        ("n1", ("INPUT", "-s", "10.0.0.13", *c, "-j", "DROP")), ("n3", ("OUTPUT", "-d", "10.0.0.11", *c, "-j", "DROP")),
    }
    # no rule ever names anything but a node address (the harness's gateway stays open)
    assert all(a in ADDR.values() for r in rules for a in r.spec if a.count(".") == 3)


def test_loss_rules_use_statistic_on_input_only() -> None:
    rules = loss_rules({("n1", "n2")}, ADDR, 0.25, "r")
    assert [(r.node, r.spec) for r in rules] == [("n2", ("INPUT", "-s", "10.0.0.11", "-m", "statistic", "--mode",
                                                          "random", "--probability", "0.250000", "-m", "comment",
                                                          "--comment", "gbench:r", "-j", "DROP"))]


class FakeNet:
    """Records commands; pretends to be iptables with a rule table per node."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[str, ...]]] = {}
        self.calls: list[tuple[str, list[str]]] = []

    def exec_in_node_netns(self, node: str, argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append((node, argv))
        t = self.tables.setdefault(node, [])
        op, spec = argv[3], tuple(argv[4:])
        rc = 0
        if op == "-I":
            t.insert(0, spec)
        elif op == "-C":
            rc = 0 if spec in t else 1
        elif op == "-D":
            if spec in t:
                t.remove(spec)
            else:
                rc = 1
        return subprocess.CompletedProcess(argv, rc, "", "")


class FakeLedger:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(self, kind: str, **fields: Any) -> None:
        self.entries.append({"kind": kind, **fields})


def test_ruleset_ledgers_before_adding_and_removes_exactly_its_rules() -> None:
    net, led = FakeNet(), FakeLedger()
    rs = RuleSet(net, led, {"n1": "gb-x-n1", "n2": "gb-x-n2", "n3": "gb-x-n3"})
    g = grouping("isolate-node", ["n1", "n2", "n3"], node="n3")
    rules = drop_rules(g.cut, ADDR, "r")
    net.tables["n1"] = [("INPUT", "-s", "1.2.3.4", "-j", "ACCEPT")]  # someone else's rule
    added, errs = rs.add(rules)
    assert not errs and len(added) == 8 and len(led.entries) == 8
    e = led.entries[0]
    assert e["kind"] == "iptables_rule" and e["check_argv"][:4] == ["ip", "netns", "exec", e["check_argv"][3]]
    assert e["check_argv"][4:8] == ["iptables", "-w", "5", "-C"] and e["delete_argv"][7] == "-D"
    removed, errs = rs.remove(added)
    assert not errs and len(removed) == 8
    assert net.tables["n1"] == [("INPUT", "-s", "1.2.3.4", "-j", "ACCEPT")]
    assert net.tables["n2"] == [] and net.tables["n3"] == []
    # removing again is not an error (already gone)
    assert rs.remove(added) == (added, [])


def test_compare_matrix() -> None:
    g = grouping("isolate-node", ["n1", "n2", "n3"], node="n1")
    observed = {"n1": {"n2": "timeout", "n3": "timeout"}, "n2": {"n1": "timeout", "n3": "ok"},
                "n3": {"n1": "timeout", "n2": "refused"}}
    assert compare_matrix(observed, g.reachable) == {"ok": True, "checked": 6, "mismatches": []}
    observed["n2"]["n1"] = "ok"
    r = compare_matrix(observed, g.reachable)
    assert not r["ok"] and r["mismatches"] == [{"src": "n2", "dst": "n1", "expected": "blocked", "observed": "ok"}]


def test_loss_arithmetic() -> None:
    assert expected_connect_failure(0.5) == 0.75
    assert expected_connect_failure(1.0) == 1.0
    assert loss_consistent(100, 100, 1.0) and not loss_consistent(99, 100, 1.0)
    assert loss_consistent(0, 20, 0.0) and not loss_consistent(1, 20, 0.0)
    assert loss_consistent(51, 100, 0.51) and loss_consistent(40, 100, 0.51)
    assert not loss_consistent(5, 100, 0.51) and not loss_consistent(0, 100, 0.51)


def test_sample_pairs() -> None:
    g = grouping("isolate-node", ["n1", "n2", "n3"], node="n2")
    faulty, control = sample_pairs(g)
    assert faulty == [("n1", "n2", 2.0), ("n2", "n3", 2.0)] and control == ("n1", "n3")
    assert sample_pairs(grouping("all", ["n1", "n2"]))[1] is None


def test_netem_commands_target_only_the_slowed_peers() -> None:
    cmds = netem_commands(["10.0.0.12"], 50, 10)
    assert cmds[0] == ["tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "prio", "bands", "4"]
    assert cmds[1][-5:] == ["delay", "50ms", "10ms", "distribution", "normal"]
    assert cmds[2][-4:] == ["dst", "10.0.0.12/32", "flowid", "1:4"] and len(cmds) == 3


def test_standard_nemesis_sets_up_without_namespaces_and_refuses_network_faults_at_invoke() -> None:
    import random
    from pathlib import Path

    from harness.errors import EnvironmentProblem
    from harness.nemesis import NemesisContext, standard_nemesis
    from harness.providers.base import Cluster
    from harness.providers.external import ExternalNode, ExternalProvider

    class Sys:
        name, client_port, peer_port = "etcd", 2379, 2380

    cluster = Cluster(system=Sys(), provider=ExternalProvider(["127.0.0.1:1"]),  # type: ignore[arg-type]
                      nodes=[ExternalNode("n1", "127.0.0.1", 1, Path("/dev/null"))])
    nem = standard_nemesis()
    assert nem.faults == {"partition", "heal", "loss", "latency", "heal-link", "kill", "restart", "pause", "resume",
                          "noop", "client-latency", "client-down", "client-reset", "heal-client"}
    nem.setup(NemesisContext(cluster, "r", 0, rng=random.Random(1), log=lambda s: None))
    with pytest.raises(EnvironmentProblem, match="--provider netns"):
        nem.invoke("partition", {"shape": "halves"})
    rec = nem.invoke("kill", {"target": "n1"})  # the external provider refuses: a failed record
    assert rec.type == "fail" and rec.error == "signal_failed" and "cannot kill" in rec.extra["reason"]
    assert nem.invoke("noop", {}).type == "ok"
    assert nem.teardown() == []
