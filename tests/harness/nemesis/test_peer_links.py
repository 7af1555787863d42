"""The per-directed-link Toxiproxy plan (pure; exact addresses) and the toxics a cut adds."""
from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from harness.nemesis.peer_links import cut_toxics, plan_peer_links

NET = IPv4Network("198.18.7.0/24")


def test_plan_addresses_and_hosts() -> None:
    plan = plan_peer_links(["n1", "n2", "n3"], NET, 2380)
    assert plan.toxiproxy_host == "198.18.7.9"
    assert [(lk.name, lk.listen, lk.upstream) for lk in plan.links] == [
        ("peer-n1-n2", "198.18.7.112:2380", "198.18.7.12:2380"),
        ("peer-n1-n3", "198.18.7.113:2380", "198.18.7.13:2380"),
        ("peer-n2-n1", "198.18.7.121:2380", "198.18.7.11:2380"),
        ("peer-n2-n3", "198.18.7.123:2380", "198.18.7.13:2380"),
        ("peer-n3-n1", "198.18.7.131:2380", "198.18.7.11:2380"),
        ("peer-n3-n2", "198.18.7.132:2380", "198.18.7.12:2380"),
    ]
    assert plan.hosts_for("n2") == {"n1": "198.18.7.121", "n2": "198.18.7.12", "n3": "198.18.7.123"}
    assert plan.hosts_file("n1").splitlines()[2:] == ["198.18.7.11\tn1", "198.18.7.112\tn2", "198.18.7.113\tn3"]
    assert len(plan_peer_links([f"n{i}" for i in range(1, 10)], NET, 2380).links) == 72


def test_limits() -> None:
    with pytest.raises(ValueError, match="1..9 nodes"):
        plan_peer_links([f"n{i}" for i in range(1, 11)], NET, 2380)
    with pytest.raises(ValueError, match="/24"):
        plan_peer_links(["n1", "n2"], IPv4Network("198.18.7.0/25"), 2380)


def test_a_directed_cut_drops_both_streams_that_carry_its_data() -> None:
    plan = plan_peer_links(["n1", "n2", "n3"], NET, 2380)
    # one direction only: n1 -> n2 data is what n1 sends on its own connections to n2
    # (upstream of n1->n2) and its replies on n2's connections (downstream of n2->n1)
    assert cut_toxics(plan, [("n1", "n2")]) == [("peer-n1-n2", "upstream"), ("peer-n2-n1", "downstream")]
    both = cut_toxics(plan, [("n1", "n2"), ("n2", "n1")])
    assert both == [("peer-n1-n2", "downstream"), ("peer-n1-n2", "upstream"),
                    ("peer-n2-n1", "downstream"), ("peer-n2-n1", "upstream")]


def test_members_that_dial_addresses_get_one_nat_rule_per_peer() -> None:
    plan = plan_peer_links(["n1", "n2", "n3"], NET, 7000)
    assert plan.redirect_rules("n2") == [
        ["iptables", "-w", "5", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "198.18.7.11/32", "--dport", "7000",
         "-m", "comment", "--comment", "gbench-peer-link peer-n2-n1", "-j", "DNAT", "--to-destination",
         "198.18.7.121:7000"],
        ["iptables", "-w", "5", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "198.18.7.13/32", "--dport", "7000",
         "-m", "comment", "--comment", "gbench-peer-link peer-n2-n3", "-j", "DNAT", "--to-destination",
         "198.18.7.123:7000"]]


def test_which_systems_dial_names() -> None:
    from harness.nemesis.peer_links import dials_names
    from harness.registry import system_plugin

    assert dials_names(system_plugin("etcd").make_system()) is True  # advertises http://n2:2380
    assert dials_names(system_plugin("cassandra").make_system()) is False  # gossip carries addresses
