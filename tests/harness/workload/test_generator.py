from __future__ import annotations

import random
from collections import Counter

from harness.workload.generator import KeyChooser, OpGenerator, open_loop_schedule, token_of, value_for
from harness.workload.spec import KeySpec, LoadSpec, Workload


def test_value_roundtrip_and_size() -> None:
    v = value_for("3:17", 256)
    assert len(v) == 256 and v.startswith(b"3:17|")
    assert token_of(v) == "3:17"
    assert token_of(None) is None
    big = value_for("pre:k01", 1 << 20)
    assert len(big) == 1 << 20 and token_of(big) == "pre:k01"


def test_key_names_are_fixed_width() -> None:
    kc = KeyChooser(1000, "sequential", random.Random(0))
    assert [kc.next_key() for _ in range(3)] == ["k000", "k001", "k002"]


def test_disjoint_gives_each_client_its_own_block_in_order() -> None:
    # 10 keys over 3 clients: blocks of 3 (k9 unused); client 4 is block 4 % 3 = 1; a block wraps
    kc = [KeyChooser(10, "disjoint", random.Random(0), start=p, clients=3) for p in (0, 4, 2)]
    assert [[k.next_key() for _ in range(4)] for k in kc] == [["k0", "k1", "k2", "k0"], ["k3", "k4", "k5", "k3"],
                                                             ["k6", "k7", "k8", "k6"]]
    # a workload's clients never share a key
    w = Workload(name="t", duration_s=1, keys=KeySpec(count=64, distribution="disjoint"), mix={"put": 1},
                 load=LoadSpec(concurrency=4))
    gens = {p: OpGenerator(w, p) for p in range(4)}
    seen = {p: {g.next().key for _ in range(16)} for p, g in gens.items()}
    assert all(len(keys) == 16 for keys in seen.values())
    assert len(set().union(*seen.values())) == 64


def test_zipfian_skews_towards_first_keys() -> None:
    kc = KeyChooser(100, "zipfian", random.Random(1), theta=0.99)
    c = Counter(kc.next_index() for _ in range(20000))
    assert c[0] > c[10] > c[90]
    assert set(c) <= set(range(100))


def test_generator_is_deterministic_and_tokens_unique() -> None:
    w = Workload(name="t", duration_s=1, keys=KeySpec(count=5), mix={"put": 1, "get": 1, "cas": 1})
    a = [OpGenerator(w, 7).next() for _ in range(1)]
    g1, g2 = OpGenerator(w, 7), OpGenerator(w, 7)
    s1 = [g1.next() for _ in range(50)]
    s2 = [g2.next() for _ in range(50)]
    assert s1 == s2 and a[0] == s1[0]
    tokens = [p.value if p.f == "put" else p.value[1] for p in s1 if p.f in ("put", "cas")]
    assert len(tokens) == len(set(tokens)) and all(t.startswith("7:") for t in tokens)


def test_open_loop_schedule() -> None:
    assert open_loop_schedule(100.0, 4, 0) == (0.0, 0.04)
    off, iv = open_loop_schedule(100.0, 4, 3)
    assert iv == 0.04 and abs(off - 0.03) < 1e-12


def test_read_own_writes_gets_read_the_clients_latest_write() -> None:
    from harness.workload.generator import OpGenerator
    from harness.workload.spec import KeySpec, LoadSpec, Workload

    w = Workload(name="t", duration_s=1, keys=KeySpec(count=12, distribution="read-own-writes", prefix="k"),
                 mix={"put": 1, "get": 1}, load=LoadSpec(concurrency=3), seed=5)
    gen = OpGenerator(w, process=1)
    ops = [gen.next() for _ in range(40)]
    latest = None
    for op in ops:
        if op.f == "put":
            latest = op.key
            assert op.key in {"k04", "k05", "k06", "k07"}  # client 1 of 3: its own block of 4 keys
        else:
            assert op.key == (latest or op.key), (op, latest)  # a get before any write walks the block
    assert {op.f for op in ops} == {"put", "get"} and len({op.key for op in ops if op.f == "put"}) == 4
