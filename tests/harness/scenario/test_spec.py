"""Scenario files: the shipped ones load; every bad file is one clear ConfigError."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError, EnvironmentProblem
from harness.scenario.spec import PROCESS_BLOCK, check_environment, load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[3]
SCEN = REPO / "workloads" / "scenarios"

WL = {"name": "w", "keys": {"count": 3}, "mix": {"put": 1, "get": 1}, "load": {"mode": "closed", "concurrency": 2}}


def scenario(timeline: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": "s", "nodes": 5, "workloads": [dict(WL)], "timeline": timeline, "end": 30}
    d.update(top)
    return d


def bad(data: dict[str, Any], field: str, reason: str, tmp_path: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        parse_scenario(data, "s.yaml", base=tmp_path or Path("."))
    e = ei.value
    assert e.file.startswith("s.yaml"), e
    assert e.field == field, e
    assert reason in e.reason, e
    return e


def test_shipped_scenarios_load() -> None:
    full = load_scenario(SCEN / "etcd-leader-in-minority.yaml")
    assert full.end_s == 70 and full.nodes == 5
    assert [(e.at_s, e.fault, dict(e.params)) for e in full.timeline] == [
        (10.0, "partition", {"shape": "leader-in-minority"}), (40.0, "heal", {})]
    assert [w.read_consistency for w in full.workloads] == ["linearizable", "serializable"]
    assert all(w.duration_s == 70 and w.nodes == 5 and w.pin == "round-robin" for w in full.workloads)
    assert all(w.load.concurrency % 5 == 0 for w in full.workloads)  # both sides get clients
    assert full.keys() == ["reg0", "reg1", "reg2", "reg3", "reg4"]
    ci = load_scenario(SCEN / "etcd-leader-in-minority-ci.yaml")
    assert ci.end_s == 25 and [e.fault for e in ci.timeline] == ["partition", "heal"]
    assert PROCESS_BLOCK > 10_000_000  # workload k's processes (and preload's) stay in their own range


def test_redis_failover_scenarios_load() -> None:
    """Unique-key writes (each client its own 400 keys, fewer than it writes by the end at its
    share of the rate) and primary reads on 6 nodes; the primary killed and restarted, or cut
    off and healed; the third with min-replicas-to-write on both workloads."""
    from harness.systems.redis.options import RedisOptions

    got = {}
    for name in ("kill", "partition", "partition-min-replicas"):
        s = load_scenario(SCEN / f"redis-failover-{name}.yaml")
        writes, reads = s.workloads
        assert (s.system, s.nodes, s.final_reads, len(s.keys())) == ("redis", 6, True, 6400)
        assert (writes.keys.distribution, writes.mix, reads.mix, reads.read_consistency) == (
            "disjoint", {"put": 1}, {"get": 1}, "primary")
        assert [(w.load.mode, w.load.rate_ops_s, w.load.op_timeout_s) for w in s.workloads] == [
            ("open", 150, 2), ("open", 100, 2)]
        assert writes.load.rate_ops_s * s.end_s / writes.load.concurrency < writes.keys.count / writes.load.concurrency
        assert writes.options == reads.options
        got[name] = (s.end_s, [(e.at_s, e.fault, dict(e.params)) for e in s.timeline], writes.options)
    assert got == {
        "kill": (25.0, [(5.0, "kill", {"target": "leader"}), (15.0, "restart", {"target": "all"})], RedisOptions()),
        "partition": (30.0, [(5.0, "partition", {"shape": "isolate-leader"}), (15.0, "heal", {})], RedisOptions()),
        "partition-min-replicas": (30.0, [(5.0, "partition", {"shape": "isolate-leader"}), (15.0, "heal", {})],
                                   RedisOptions(min_replicas_to_write=1, min_replicas_max_lag_s=2))}


def test_workload_files_are_relative_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(yaml.safe_dump({**WL, "duration_s": 5}))
    s = parse_scenario(scenario([], workloads=["w.yaml"]), "s.yaml", base=tmp_path)
    assert s.workloads[0].duration_s == 30 and s.workloads[0].source.endswith("w.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        parse_scenario(scenario([], workloads=["missing.yaml"]), "s.yaml", base=tmp_path)


def test_partition_naming_an_unknown_node() -> None:
    bad(scenario([{"at": 5, "fault": "partition", "shape": "isolate-node", "node": "n7"}]),
        "timeline[0].node", "unknown node 'n7'")
    bad(scenario([{"at": 5, "fault": "partition", "shape": "groups", "groups": [["n1", "n9"], ["n2", "n3", "n4", "n5"]]}]),
        "timeline[0].groups", "unknown node 'n9'")


def test_cut_from_leader_takes_a_node_but_not_groups() -> None:
    s = parse_scenario(scenario([{"at": 5, "fault": "partition", "shape": "cut-from-leader", "node": "n1"},
                                 {"at": 10, "fault": "heal"}]), "s.yaml")
    assert s.timeline[0].params["node"] == "n1"
    bad(scenario([{"at": 5, "fault": "partition", "shape": "cut-from-leader", "node": "n8"}]),
        "timeline[0].node", "unknown node 'n8'")
    bad(scenario([{"at": 5, "fault": "partition", "shape": "cut-from-leader", "groups": [["n1"], ["n2"]]}]),
        "timeline[0].groups", "not a field of shape 'cut-from-leader'")


def test_events_out_of_order() -> None:
    bad(scenario([{"at": 10, "fault": "partition", "shape": "halves"}, {"at": 5, "fault": "heal"}]),
        "timeline[1].at", "events out of order")


def test_heal_with_nothing_to_heal() -> None:
    bad(scenario([{"at": 5, "fault": "heal"}]), "timeline[0]", "heal with nothing to heal")
    bad(scenario([{"at": 1, "fault": "loss", "probability": 0.1}, {"at": 5, "fault": "heal"}]),
        "timeline[1]", "'heal-link'")
    bad(scenario([{"at": 5, "fault": "heal-link"}]), "timeline[0]", "heal-link with nothing to heal")


def test_resume_without_pause_and_restart_without_kill() -> None:
    bad(scenario([{"at": 5, "fault": "resume"}]), "timeline[0]", "resume without pause")
    bad(scenario([{"at": 5, "fault": "restart", "target": "n2"}]), "timeline[0]", "restart without kill")
    bad(scenario([{"at": 1, "fault": "kill", "target": "n1"}, {"at": 5, "fault": "restart", "target": "n2"}]),
        "timeline[1].target", "not killed")
    bad(scenario([{"at": 1, "fault": "pause", "target": "n1"}, {"at": 2, "fault": "kill", "target": "n1"}]),
        "timeline[1].target", "already paused")


def test_a_systems_own_faults_are_known_only_to_its_scenarios() -> None:
    """A plugin's OwnFaults (PostgreSQL's promote, rejoin): checked by the plugin, unknown elsewhere."""
    pg = {"system": "postgres", "nodes": 3, "workloads": [{**WL, "system": "postgres"}]}
    s = parse_scenario(scenario([{"at": 1, "fault": "kill", "target": "leader"}, {"at": 2, "fault": "promote"},
                                 {"at": 3, "fault": "promote", "target": "n3"}, {"at": 4, "fault": "rejoin"}], **pg),
                       "s.yaml")
    assert [(e.fault, dict(e.params)) for e in s.timeline] == [("kill", {"target": "leader"}), ("promote", {}),
                                                               ("promote", {"target": "n3"}), ("rejoin", {})]
    bad(scenario([{"at": 1, "fault": "promote", "target": "n9"}], **pg), "timeline[0].target",
        "must be most-advanced or a node name (n1, n2, n3), got 'n9'")
    bad(scenario([{"at": 1, "fault": "rejoin", "target": "n2"}], **pg), "timeline[0].target",
        "unknown field for fault 'rejoin'")
    e = bad(scenario([{"at": 1, "fault": "promote"}]), "timeline[0].fault", "unknown fault 'promote'")
    assert "promote" not in e.reason.split("known: ")[1]


def test_at_beyond_end() -> None:
    bad(scenario([{"at": 31, "fault": "noop"}]), "timeline[0].at", "beyond the scenario's end (30s)")
    bad(scenario([{"at": -1, "fault": "noop"}]), "timeline[0].at", "must be >= 0")


def test_unknown_fault_and_fields() -> None:
    bad(scenario([{"at": 1, "fault": "explode"}]), "timeline[0].fault", "unknown fault 'explode'")
    bad(scenario([{"at": 1, "fault": "partition", "shape": "halves", "colour": "red"}]),
        "timeline[0].colour", "unknown field for fault 'partition'")
    bad(scenario([{"at": 1, "fault": "kill", "shape": "halves"}]), "timeline[0].shape", "unknown field for fault 'kill'")
    bad(scenario([{"at": 1, "fault": "partition", "shape": "triangle"}]), "timeline[0].shape", "unknown shape")
    bad(scenario([{"at": 1, "fault": "partition", "shape": "halves", "node": "n1"}]),
        "timeline[0].node", "not a field of shape 'halves'")
    bad(scenario([{"at": 1, "fault": "partition"}]), "timeline[0].shape", "required for fault 'partition'")
    bad(scenario([], colour="red"), "colour", "unknown field")


def test_other_mistakes() -> None:
    bad(scenario([{"at": 1, "fault": "partition", "shape": "halves"},
                   {"at": 2, "fault": "partition", "shape": "halves"}]), "timeline[1]", "already in place")
    bad(scenario([{"at": 1, "fault": "loss", "probability": 1.5}]), "timeline[0].probability", "must be <= 1")
    bad(scenario([{"at": 1, "fault": "kill", "target": "nobody"}]), "timeline[0].target", "unknown target 'nobody'")
    d = scenario([])
    del d["end"]
    bad(d, "end", "required")
    bad(scenario([], workloads=[dict(WL), dict(WL)]), "workloads", "must be distinct")
    e = bad(scenario([], workloads=[{**WL, "value_size": 1}]), "value_size", "must be >= 32")
    assert e.file == "s.yaml#workloads[0]"
    bad(scenario([], workloads=[{**WL, "warmup_s": 40}]), "warmup_s", "leaves no time")


def test_malformed_yaml_file(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError) as ei:
        load_scenario(p)
    assert ei.value.field == "(syntax)" and "line" in ei.value.reason


def test_latency_needs_netem(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.nemesis.link as link
    s = parse_scenario(scenario([{"at": 1, "fault": "latency", "delay_ms": 50, "jitter_ms": 10}]), "s.yaml")
    monkeypatch.setattr(link, "netem_available", lambda: (False, "Specified qdisc kind is unknown."))
    with pytest.raises(EnvironmentProblem, match="netem is not available in this kernel"):
        check_environment(s)


def test_network_faults_need_a_netns_provider() -> None:
    from harness.providers.external import ExternalProvider
    s = parse_scenario(scenario([{"at": 1, "fault": "partition", "shape": "halves"}, {"at": 2, "fault": "heal"}]),
                       "s.yaml")
    with pytest.raises(EnvironmentProblem, match="use --provider netns"):
        check_environment(s, ExternalProvider(["127.0.0.1:2379"]))
    k = parse_scenario(scenario([{"at": 1, "fault": "kill"}]), "s.yaml")
    with pytest.raises(EnvironmentProblem, match="kills/pauses"):
        check_environment(k, ExternalProvider(["127.0.0.1:2379"]))


def test_link_faults_are_refused_with_peer_links_through_toxiproxy() -> None:
    """loss/latency act on the nodes' own addresses, which Toxiproxy peer links bypass:
    refused for both providers that offer the links, before any cluster starts."""
    from harness.providers.docker import DockerOptions, DockerProvider
    from harness.providers.netns import NetnsProvider
    s = parse_scenario(scenario([{"at": 1, "fault": "loss", "probability": 0.1}, {"at": 2, "fault": "heal-link"}]),
                       "s.yaml")
    for provider in (NetnsProvider("t-links").with_peer_links("toxiproxy"),
                     DockerProvider("t-links", DockerOptions(peer_links="toxiproxy"))):
        with pytest.raises(EnvironmentProblem, match="heal-link, loss, iptables/netem faults .* bypass"):
            check_environment(s, provider)
    check_environment(s, NetnsProvider("t-links"))  # direct links: allowed


def test_client_link_faults() -> None:
    ok = parse_scenario(scenario([{"at": 1, "fault": "client-latency", "latency_ms": 50, "jitter_ms": 5},
                                  {"at": 2, "fault": "client-down", "nodes": ["n2"]},
                                  {"at": 3, "fault": "heal-client"}]), "s.yaml")
    assert [e.fault for e in ok.timeline] == ["client-latency", "client-down", "heal-client"]
    bad(scenario([{"at": 5, "fault": "heal-client"}]), "timeline[0]", "heal-client with nothing to heal")
    bad(scenario([{"at": 5, "fault": "client-down", "nodes": ["n9"]}]), "timeline[0].nodes", "unknown node 'n9'")
    bad(scenario([{"at": 5, "fault": "client-latency", "latency_ms": 0}]), "timeline[0].latency_ms", "must be >")
    bad(scenario([{"at": 5, "fault": "client-latency"}]), "timeline[0].latency_ms", "required")
    bad(scenario([{"at": 1, "fault": "client-reset"}, {"at": 2, "fault": "client-reset"}]), "timeline[1]",
        "already in place")


# -- issue 10: duplicate keys, bounded numbers, strict booleans, safe names, clear messages ---------
def load_text(tmp_path: Path, text: str) -> ConfigError:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_scenario(p)
    assert ei.value.file.startswith(str(p)), ei.value
    return ei.value


SCEN_TEXT = """\
name: s
nodes: 5
workloads:
  - {name: w, keys: {count: 3}, mix: {put: 1}, load: {mode: closed, concurrency: 2}}
timeline:
  - {at: 5, fault: partition, shape: halves}
  - {at: 10, fault: heal}
end: 30
"""


def test_shipped_text_loads(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(SCEN_TEXT)
    assert [e.fault for e in load_scenario(p).timeline] == ["partition", "heal"]


@pytest.mark.parametrize("old, new, field, reason", [
    ("end: 30", "end: 30\nend: 3000", "end", "duplicate key at line 9: each key may appear once"),
    ("{at: 10, fault: heal}", "{at: 10, fault: heal, at: 1}", "at", "duplicate key at line 7: each key may appear once"),
    ("{name: w,", "{name: w, name: v,", "name", "duplicate key at line 4: each key may appear once"),
])
def test_duplicate_keys_are_refused(tmp_path: Path, old: str, new: str, field: str, reason: str) -> None:
    e = load_text(tmp_path, SCEN_TEXT.replace(old, new))
    assert (e.field, e.reason) == (field, reason)


@pytest.mark.parametrize("old, new, field, reason", [
    ("end: 30", "end: .nan", "end", "must be a finite number in (0, 86400] seconds, got nan"),
    ("end: 30", "end: .inf", "end", "must be a finite number in (0, 86400] seconds, got inf"),
    ("end: 30", "end: 1e12", "end", "must be a finite number in (0, 86400] seconds, got the string '1e12': YAML "
     "reads exponent notation without a dot and a signed exponent as text; write 1000000000000 or 1.0e+12"),
    ("end: 30", "end: 1.0e+12", "end", "must be <= 86400 (a finite number in (0, 86400] seconds), got 1e+12"),
    ("at: 5,", "at: .nan,", "timeline[0].at", "must be a finite number in [0, 86400] seconds after the load starts, "
                                              "got nan"),
    ("at: 5,", "at: 1e12,", "timeline[0].at", "must be a finite number in [0, 86400] seconds after the load starts, "
     "got the string '1e12': YAML reads exponent notation without a dot and a signed exponent as text; write "
     "1000000000000 or 1.0e+12"),
    ("nodes: 5", "nodes: 100", "nodes", "must be <= 15 (an integer in [1, 15] nodes on one host), got 100"),
    ("nodes: 5", "nodes: 5\nseed: .inf", "seed", "must be an integer in [0, 9223372036854775807], got inf"),
    ("nodes: 5", "nodes: 5\npoll_interval_s: .nan", "poll_interval_s",
     "must be a finite number in [0.05, 10] seconds, got nan"),
    ("nodes: 5", "nodes: 5\nfinal_reads: maybe", "final_reads", "must be true or false, got 'maybe'"),
    ("shape: halves}", "shape: halves}\n  - {at: 6, fault: latency, delay_ms: 1e9}", "timeline[1].delay_ms",
     "must be a finite number in (0, 60000] ms, got the string '1e9': YAML reads exponent notation without a dot "
     "and a signed exponent as text; write 1000000000 or 1.0e+9"),
    ("shape: halves}", "shape: halves}\n  - {at: 6, fault: loss, probability: .nan}", "timeline[1].probability",
     "must be a finite number in (0, 1], got nan"),
    ("concurrency: 2}", "concurrency: 100000}", "load.concurrency",
     "must be <= 1024 (an integer in [1, 1024] clients), got 100000"),
    ("concurrency: 2}", "concurrency: 2, rate_ops_s: 1e9}", "load.rate_ops_s", "must be a finite number in "
     "(0, 1000000] ops/s, got the string '1e9': YAML reads exponent notation without a dot and a signed exponent as "
     "text; write 1000000000 or 1.0e+9"),
])
def test_numbers_must_be_finite_and_bounded(tmp_path: Path, old: str, new: str, field: str, reason: str) -> None:
    text = SCEN_TEXT.replace(old, new)
    if "rate_ops_s" in new:
        text = text.replace("mode: closed", "mode: open")
    e = load_text(tmp_path, text)
    assert (e.field, e.reason) == (field, reason)


NAME_RULE = "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ without '..' (it names a directory of the run), got "


@pytest.mark.parametrize("old, new, file_suffix, shown", [
    ("name: s", "name: ../../x", "", "'../../x'"),
    ("name: s", "name: /tmp/x", "", "'/tmp/x'"),
    ("{name: w,", "{name: ../../x,", "#workloads[0]", "'../../x'"),
    ("{name: w,", "{name: /tmp/x,", "#workloads[0]", "'/tmp/x'"),
])
def test_names_become_paths_so_they_are_restricted(tmp_path: Path, old: str, new: str, file_suffix: str,
                                                   shown: str) -> None:
    e = load_text(tmp_path, SCEN_TEXT.replace(old, new))
    assert (e.file, e.field, e.reason) == (str(tmp_path / "s.yaml") + file_suffix, "name", NAME_RULE + shown)


@pytest.mark.parametrize("old, new, field, reason", [
    ("fault: heal}", "fault: [heal]}", "timeline[1].fault", "unknown fault ['heal'] (known: partition, heal, loss, "
     "latency, heal-link, kill, pause, restart, resume, client-latency, client-down, client-reset, heal-client, noop)"),
    ("fault: heal}", "fault: heal, note: [a]}", "timeline[1].note", "must be text, got ['a']"),
    ("shape: halves}", "shape: majority-minority, placement: [a]}", "timeline[0].placement",
     "unknown placement ['a'] (known: leader-in-minority, leader-in-majority, random)"),
    ("shape: halves}", "shape: isolate-node, node: " + "n" * 500 + "}", "timeline[0].node",
     "unknown node '" + "n" * 47 + "..." + "n" * 48 + "' (this cluster has n1, n2, n3, n4, n5)"),
    ("name: s", "name: s\ndescription: {a: 1}", "description", "must be text, got {'a': 1}"),
    ("name: s", "name: s\nsystem: {etcd: 1}", "system", "unknown system {'etcd': 1} (known: etcd, cassandra, zookeeper, postgres, redis)"),
    ("  - {name: w", "  - 7\n  - {name: w", "workloads[0]",
     "must be a workload file path or an inline workload mapping, got 7"),
])
def test_values_of_the_wrong_shape_are_one_clear_error(tmp_path: Path, old: str, new: str, field: str,
                                                       reason: str) -> None:
    e = load_text(tmp_path, SCEN_TEXT.replace(old, new))
    assert (e.field, e.reason) == (field, reason)


def test_workload_file_overridden_by_the_scenario_names_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(yaml.safe_dump({**WL, "duration_s": 5, "clients": {"pin": ["n5"]}}))
    with pytest.raises(ConfigError) as ei:
        parse_scenario(scenario([], nodes=3, workloads=["w.yaml"]), "s.yaml", base=tmp_path)
    assert (ei.value.file, ei.value.field, ei.value.reason) == (
        "s.yaml", "clients.pin", f"unknown node 'n5' (this cluster has n1, n2, n3) (overriding {tmp_path / 'w.yaml'})")


def test_non_utf8_and_byte_order_mark(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + SCEN_TEXT.encode())
    assert load_scenario(p).name == "s"
    p.write_bytes(SCEN_TEXT.replace("name: s", "name: s\ndescription: \xe9t\xe9").encode("latin-1"))
    with pytest.raises(ConfigError) as ei:
        load_scenario(p)
    assert (ei.value.field, ei.value.reason) == (
        "(encoding)", "not UTF-8 text: byte 0xe9 at line 2, column 14 (invalid continuation byte); save the file as UTF-8")
