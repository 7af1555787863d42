"""docker-compose.yml: a 5-node etcd cluster with the harness's own etcd flags, plus Toxiproxy
with one client proxy per member. (No Docker Compose here to run it; this checks its content.)"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from harness.systems.etcd.system import EtcdConfig

REPO = Path(__file__).resolve().parents[3]


def test_compose_is_five_etcd_members_with_the_harness_flags_and_toxiproxy() -> None:
    doc = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    svc = doc["services"]
    members = sorted(k for k in svc if k.startswith("etcd"))
    assert members == [f"etcd{i}" for i in range(1, 6)]
    want = EtcdConfig().argv()  # ["--heartbeat-interval", "100", ...]
    flags = {f"{want[i]}={want[i + 1]}" for i in range(0, len(want), 2)}
    cluster = ",".join(f"etcd{i}=http://etcd{i}:2380" for i in range(1, 6))
    for m in members:
        cmd = svc[m]["command"]
        assert flags <= set(cmd), sorted(flags - set(cmd))
        assert f"--initial-cluster={cluster}" in cmd and f"--name={m}" in cmd
        assert all(p.startswith("127.0.0.1:") for p in svc[m]["ports"])
    proxies = json.loads((REPO / "harness/setup/docker/toxiproxy-compose.json").read_text())
    assert [(p["name"], p["upstream"]) for p in proxies] == [(m, f"{m}:2379") for m in members]
    tp = svc["toxiproxy"]
    assert all(p.startswith("127.0.0.1:") for p in tp["ports"])
    assert {p["listen"].split(":")[1] for p in proxies} == {p.split(":")[-1] for p in tp["ports"]} - {"8474"}
