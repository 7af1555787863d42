"""The four-letter-word parsers on answers captured from ZooKeeper 3.9.5 (data/, a 5-node
cluster on this host: srvr of the leader and a follower right after start, a follower's srvr,
ruok and mntr while it re-elected, and mntr of a follower before and after about 17,000 reads),
and ``ask`` against a local stand-in server."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from harness.systems.zookeeper.fourlw import Srvr, ask, latency_figures, parse_mntr, parse_srvr

DATA = Path(__file__).parent / "data"
VERSION = "3.9.5-293c895a8d966a3ecb92872be4a1daf87d725da2, built on 2026-02-11 20:18 UTC"


def text(name: str) -> str:
    return (DATA / name).read_text()


def test_srvr_of_the_leader() -> None:
    s = parse_srvr(text("leader-srvr.txt"))
    assert s == Srvr(serving=True, mode="leader", version=VERSION, zxid=0x100000000, latency_min_ms=0.0,
                     latency_avg_ms=0.0, latency_max_ms=0.0, received=6, sent=5, connections=1, outstanding=0,
                     node_count=5)
    assert s.epoch == 1


def test_srvr_of_a_follower() -> None:
    s = parse_srvr(text("follower-srvr.txt"))
    assert (s.serving, s.mode, s.zxid, s.epoch, s.received, s.sent, s.node_count) == \
        (True, "follower", 0x100000000, 1, 4, 3, 5)


def test_srvr_while_not_serving() -> None:
    assert parse_srvr(text("follower-srvr-not-serving.txt")) == Srvr(serving=False)
    assert Srvr(serving=False).epoch is None
    assert text("follower-ruok-not-serving.txt") == "imok"  # ruok answers even then


def test_srvr_refuses_what_is_not_an_answer() -> None:
    with pytest.raises(ValueError, match="no 'Mode:' line"):
        parse_srvr("imok")


def test_mntr_of_a_follower_after_reads() -> None:
    m = parse_mntr(text("follower-mntr-after.txt"))
    assert len(m) == 511
    assert m["zk_version"] == VERSION
    assert m["zk_server_state"] == "follower"
    assert (m["zk_cnt_readlatency"], m["zk_sum_readlatency"], m["zk_avg_readlatency"]) == (16986, 2457, 0.1446)
    assert (m["zk_p50_readlatency"], m["zk_p99_readlatency"], m["zk_max_readlatency"]) == (0, 2, 8)
    assert (m["zk_cnt_updatelatency"], m["zk_sum_updatelatency"]) == (5, 56)
    assert m["zk_packets_received"] == 16999


def test_mntr_while_not_serving_is_an_error() -> None:
    with pytest.raises(ValueError, match="not currently serving"):
        parse_mntr(text("follower-srvr-not-serving.txt"))
    with pytest.raises(ValueError, match="not a mntr answer"):
        parse_mntr("imok")


def test_latency_figures_keep_latencies_not_counts() -> None:
    lf = latency_figures(parse_mntr(text("follower-mntr-after.txt")))
    assert len(lf) == 203
    assert {k: v for k, v in lf.items() if k.endswith("_readlatency")} == {
        "zk_avg_readlatency": 0.1446, "zk_min_readlatency": 0, "zk_max_readlatency": 8, "zk_p50_readlatency": 0,
        "zk_p95_readlatency": 1, "zk_p99_readlatency": 2, "zk_p999_readlatency": 7}
    assert (lf["zk_avg_latency"], lf["zk_min_latency"]) == (0.1479, 0)
    assert "zk_cnt_readlatency" not in lf and "zk_sum_readlatency" not in lf and "zk_packets_received" not in lf


def test_ask_sends_the_word_and_reads_until_the_server_closes() -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            got.append(conn.recv(16))
            conn.sendall(b"Mode: follower\n" * 5000)  # more than one recv's worth
    t = threading.Thread(target=serve)
    t.start()
    try:
        answer = ask("127.0.0.1", port, "srvr", timeout_s=5)
    finally:
        t.join(5)
        srv.close()
    assert got == [b"srvr"] and answer == "Mode: follower\n" * 5000
