"""Workload files: every bad input is one ConfigError naming file, field and reason."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.scenario.spec import load_scenario
from harness.workload.spec import check_against_system, load_workload
from harness.workload.suite import load_suite

GOOD = """
name: t
keys: {count: 10}
value_size: 256
mix: {put: 1, get: 1}
load: {mode: closed, concurrency: 4}
duration_s: 1
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "w.yaml"
    p.write_text(text)
    return p


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load_workload(write(tmp_path, text))
    return ei.value


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD))
    assert (w.name, w.nodes, w.keys.count, w.read_consistency, w.load.concurrency) == ("t", 5, 10, "linearizable", 4)
    assert len(w.sha256) == 64


def test_every_shipped_workload_is_valid() -> None:
    root = Path(__file__).resolve().parents[3] / "workloads"
    files = sorted(root.glob("*.yaml"))
    assert files
    for f in files:
        load_workload(f)


@pytest.mark.parametrize("text, field, reason", [
    ("name: t\nduration_s: [1\n", "(syntax)", "malformed YAML"),
    (GOOD + "colour: red\n", "colour", "unknown field"),
    (GOOD.replace("keys: {count: 10}", "keys: {count: 10, shape: round}"), "keys.shape", "unknown field"),
    (GOOD + "nodes: 0\n", "nodes", "must be >= 1"),
    (GOOD.replace("mode: closed", "mode: open, rate_ops_s: -5"), "load.rate_ops_s", "must be > 0"),
    (GOOD.replace("mode: closed", "mode: open"), "load.rate_ops_s", "required for open-loop"),
    (GOOD + "read_consistency: eventual\n", "read_consistency", "unknown read consistency 'eventual'"),
    (GOOD.replace("duration_s: 1", ""), "duration_s", "required"),
    (GOOD.replace("{put: 1, get: 1}", "{put: 0}"), "mix", "at least one operation"),
    (GOOD + "clients: {pin: [n1, n9]}\n", "clients.pin", "unknown node 'n9'"),
    (GOOD.replace("count: 10", "count: ten"), "keys.count", "must be an integer"),
    ("- just\n- a list\n", "(top level)", "must be a YAML mapping"),
])
def test_bad_input_names_file_field_reason(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert e.field == field
    assert reason in e.reason
    assert str(tmp_path / "w.yaml") in str(e)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_workload(tmp_path / "nope.yaml")
    assert ei.value.field == "(file)"


def test_value_larger_than_system_limit(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD.replace("value_size: 256", "value_size: 2000000")))
    with pytest.raises(ConfigError) as ei:
        check_against_system(w, 1_572_864 - 512)
    assert ei.value.field == "value_size" and "exceeds etcd's request limit" in ei.value.reason


def test_overrides_are_validated(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD))
    assert w.with_overrides(nodes=3, duration_s=2.5).nodes == 3
    with pytest.raises(ConfigError):
        w.with_overrides(nodes=0)


CASS = "name: c\nsystem: cassandra\nnodes: 3\nduration_s: 1\n"


def test_cassandra_defaults_and_levels(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, CASS))
    assert (w.read_consistency, w.write_consistency) == ("QUORUM", "QUORUM")
    assert w.options is not None and w.options.replication_factor == 3
    w = load_workload(write(tmp_path, CASS + "read_consistency: SERIAL\ncassandra: {write_consistency: ONE}\n"))
    assert (w.read_consistency, w.write_consistency) == ("SERIAL", "ONE")
    assert load_workload(write(tmp_path, GOOD)).write_consistency is None  # etcd has no write level


@pytest.mark.parametrize("extra, field, reason", [
    ("cassandra: {replication_factor: 1}\nread_consistency: QUORUM\ncassandra_x: 1\n", "cassandra_x", "unknown field"),
    ("read_consistency: linearizable\n", "read_consistency", "unknown read consistency"),
    ("cassandra: {replication_factor: 2, write_consistency: THREE}\n", "cassandra.write_consistency",
     "THREE needs 3 replicas but replication_factor is 2"),
    ("cassandra: {replication_factor: 4}\n", "cassandra.replication_factor", "the cluster has 3"),
    ("cassandra: {write_consistency: SERIAL}\n", "cassandra.write_consistency", "is not a write consistency level"),
    ("cassandra: {serial_consistency: QUORUM}\n", "cassandra.serial_consistency", "is not a serial consistency level"),
    ("cassandra: {consistency: ONE}\n", "cassandra.consistency", "unknown field"),
    ("cassandra: {routing: random}\n", "cassandra.routing", "must be pinned or token-aware"),
])
def test_cassandra_bad_levels(tmp_path: Path, extra: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, CASS + extra)
    assert e.field == field and reason in str(e), str(e)


def test_cassandra_options_on_etcd_are_rejected(tmp_path: Path) -> None:
    e = error_of(tmp_path, GOOD + "cassandra: {replication_factor: 3}\n")
    assert e.field == "cassandra" and "etcd" in str(e)


# -- issue 10: duplicate keys, bounded numbers, strict booleans, safe names, clear messages ---------
def test_duplicate_keys_are_refused_naming_line_and_key(tmp_path: Path) -> None:
    e = error_of(tmp_path, GOOD + "value_size: 1048576\n")  # the second value_size used to win silently
    assert (e.field, e.reason) == ("value_size", "duplicate key at line 8: each key may appear once")
    e = error_of(tmp_path, GOOD.replace("concurrency: 4", "concurrency: 4, concurrency: 64"))
    assert (e.field, e.reason) == ("concurrency", "duplicate key at line 6: each key may appear once")
    assert str(e).startswith(f"{tmp_path / 'w.yaml'}: field 'concurrency': ")


OPEN = GOOD.replace("mode: closed, concurrency: 4", "mode: open, concurrency: 4, rate_ops_s: RATE")
EXP_HINT = ": YAML reads exponent notation without a dot and a signed exponent as text; write {} or {}"


@pytest.mark.parametrize("text, field, reason", [
    (GOOD.replace("duration_s: 1", "duration_s: .nan"), "duration_s",
     "must be a finite number in (0, 86400] seconds, got nan"),
    (GOOD.replace("duration_s: 1", "duration_s: .inf"), "duration_s",
     "must be a finite number in (0, 86400] seconds, got inf"),
    (GOOD.replace("duration_s: 1", "duration_s: 1e12"), "duration_s",
     "must be a finite number in (0, 86400] seconds, got the string '1e12'" + EXP_HINT.format("1000000000000",
                                                                                               "1.0e+12")),
    (GOOD.replace("duration_s: 1", "duration_s: 1.0e+12"), "duration_s",
     "must be <= 86400 (a finite number in (0, 86400] seconds), got 1e+12"),
    (GOOD.replace("duration_s: 1", "duration_s: 0"), "duration_s",
     "must be > 0 (a finite number in (0, 86400] seconds), got 0"),
    (GOOD.replace("duration_s: 1", "duration_s: '20'"), "duration_s",
     "must be a finite number in (0, 86400] seconds, got the string '20'; a number is written without quotes"),
    (GOOD + "warmup_s: -.inf\n", "warmup_s", "must be a finite number in [0, 86400] seconds, got -inf"),
    (GOOD + "warmup_s: 86401\n", "warmup_s", "must be <= 86400 (a finite number in [0, 86400] seconds), got 86401"),
    (OPEN.replace("RATE", "1e9"), "load.rate_ops_s", "must be a finite number in (0, 1000000] ops/s, got the "
                                                     "string '1e9'" + EXP_HINT.format("1000000000", "1.0e+9")),
    (OPEN.replace("RATE", "1000000000"), "load.rate_ops_s",
     "must be <= 1000000 (a finite number in (0, 1000000] ops/s), got 1000000000"),
    (OPEN.replace("RATE", ".nan"), "load.rate_ops_s", "must be a finite number in (0, 1000000] ops/s, got nan"),
    (GOOD.replace("concurrency: 4", "concurrency: 100000"), "load.concurrency",
     "must be <= 1024 (an integer in [1, 1024] clients), got 100000"),
    (GOOD.replace("concurrency: 4", "concurrency: 4.5"), "load.concurrency",
     "must be an integer in [1, 1024] clients, got 4.5"),
    (GOOD.replace("concurrency: 4", "concurrency: 8, workers: 65"), "load.workers",
     "must be <= 64 (an integer in [1, 64] processes), got 65"),
    (GOOD.replace("concurrency: 4", "concurrency: 4, op_timeout_s: .inf"), "load.op_timeout_s",
     "must be a finite number in (0, 600] seconds, got inf"),
    (GOOD.replace("value_size: 256", "value_size: 10000000000"), "value_size",
     "must be <= 67108864 (an integer in [32, 67108864] bytes), got 10000000000"),
    (GOOD.replace("count: 10", "count: 10000001"), "keys.count",
     "must be <= 1000000 (an integer in [1, 1000000] keys), got 10000001"),
    (GOOD.replace("count: 10", "count: 10, distribution: zipfian, zipf_theta: .nan"), "keys.zipf_theta",
     "must be a finite number in (0, 10], got nan"),
    (GOOD.replace("{put: 1, get: 1}", "{put: .inf}"), "mix.put",
     "must be a finite number in [0, 1000000] (a relative weight), got inf"),
    (GOOD + "nodes: 16\n", "nodes", "must be <= 15 (an integer in [1, 15] nodes on one host), got 16"),
    (GOOD + "nodes: true\n", "nodes", "must be an integer in [1, 15] nodes on one host, got True"),
    (GOOD + "max_ops: 0\n", "max_ops", "must be >= 1 (an integer in [1, 1000000000] operations), got 0"),
    (GOOD + "seed: -1\n", "seed", "must be >= 0 (an integer in [0, 9223372036854775807]), got -1"),
])
def test_numbers_must_be_finite_and_bounded(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert (e.field, e.reason) == (field, reason)


@pytest.mark.parametrize("value, reason", [
    ("maybe", "must be true or false, got 'maybe'"),
    ("yes", "must be true or false, got 'yes' (yes/no/on/off are not booleans here)"),
    ("1", "must be true or false, got 1"),
])
def test_booleans_are_true_or_false_only(tmp_path: Path, value: str, reason: str) -> None:
    e = error_of(tmp_path, GOOD + f"preload: {value}\n")
    assert (e.field, e.reason) == ("preload", reason)
    assert load_workload(write(tmp_path, GOOD + "preload: true\n")).preload is True


NAME_RULE = "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ without '..' (it names a directory of the run), got "


@pytest.mark.parametrize("name, shown", [
    ("../../x", "'../../x'"), ("/tmp/x", "'/tmp/x'"), ("a/b", "'a/b'"), ("a..b", "'a..b'"), (".hidden", "'.hidden'"),
    ("'has space'", "'has space'"), ("'x" + "y" * 64 + "'", repr("x" + "y" * 64)), ("''", "''"), ("7", "7"),
    ("[a]", "['a']"),
])
def test_names_become_paths_so_they_are_restricted(tmp_path: Path, name: str, shown: str) -> None:
    e = error_of(tmp_path, GOOD.replace("name: t", f"name: {name}"))
    assert (e.field, e.reason) == ("name", NAME_RULE + shown)


def test_names_that_are_safe_load(tmp_path: Path) -> None:
    for name in ("etcd-put-256B", "a", "A.b_c-9", "x" * 64):
        assert load_workload(write(tmp_path, GOOD.replace("name: t", f"name: {name}"))).name == name


def test_non_utf8_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "w.yaml"
    p.write_bytes(GOOD.replace("name: t", "name: t\ndescription: caf\xe9 au lait").encode("latin-1"))
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert (ei.value.field, ei.value.reason) == (
        "(encoding)", "not UTF-8 text: byte 0xe9 at line 3, column 17 (invalid continuation byte); save the file as UTF-8")
    p.write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(ConfigError) as ei:
        load_workload(p)
    assert ei.value.reason == ("not UTF-8 text: byte 0xff at line 1, column 1 (invalid start byte): the file starts "
                               "with a UTF-16 byte-order mark; save the file as UTF-8")


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "w.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_workload(p).name == "t"


@pytest.mark.parametrize("text, field, reason", [
    ("name: t\nduration_s: 1\ndescription: [not, text]\n", "description", "must be text, got ['not', 'text']"),
    ("name: t\nduration_s: 1\nsystem: [etcd]\n", "system", "unknown system ['etcd'] (known: etcd, cassandra, zookeeper, postgres, redis)"),
    ("name: t\nduration_s: 1\nclients: {pin: 3}\n", "clients.pin",
     "must be one of round-robin, leader, followers or a list of node names, got 3"),
    ("name: t\nduration_s: 1\nclients: {pin: [n1, [n2]]}\n", "clients.pin",
     "a list of node names (n1, n2, ...), got ['n1', ['n2']]"),
    ("name: t\nduration_s: 1\nchecks: [[linearizability]]\n", "checks",
     "a list of checkers, each one of linearizability, stale-reads, ryw, monotonic-reads, monotonic-writes, wfr, "
     "pram, causal, consistent-prefix; got [['linearizability']]"),
    ("name: t\nduration_s: 1\nchecks: [ryw]\n", "checks",
     "ryw judges sessions: the workload needs clients.session (e.g. clients: {session: {reads: sticky}})"),
    ("name: t\nduration_s: 1\nload: {mode: [open]}\n", "load.mode", "unknown load mode ['open'] (known: closed, open)"),
    ("name: t\nduration_s: 1\nkeys: {count: 1, prefix: ''}\n", "keys.prefix",
     "must be a non-empty string of at most 64 characters, got ''"),
    ("name: t\nduration_s: 1\nsystem: cassandra\nnodes: 3\ncassandra: {write_consistency: [ONE]}\n",
     "cassandra.write_consistency", "must be a consistency level name, got ['ONE']"),
    ("", "(top level)", "the file is empty: a workload file is a YAML mapping"),
    ("name: t\nduration_s: 1\nkeys: " + "[" * 40 + "]" * 40 + "\n", "(syntax)", "nested deeper than 32 levels at line 3"),
    ("name: t\nduration_s: 1\nkeys: &k [*k]\n", "(syntax)",
     "an alias at line 3 refers to a node that contains it (recursive data)"),
    ("name: t\nduration_s: !!float abc\n", "(syntax)",
     "malformed YAML: a value cannot be built: could not convert string to float: 'abc'"),
    ("name: t\nduration_s: 1\ndescription: \"a\x07b\"\n", "(syntax)",
     "malformed YAML at line 3, column 16: control character '\\x07' is not allowed in YAML"),
])
def test_values_of_the_wrong_shape_are_one_clear_error(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert (e.field, e.reason) == (field, reason)


REPO = Path(__file__).resolve().parents[3]


SCENARIO_FILE, SUITE_FILE = "workloads/scenarios/etcd-leader-in-minority-ci.yaml", "workloads/suites/etcd.yaml"
RUN_IT = {"workload": "run it with: gbench run {} (or list it under 'workloads' of a suite or scenario)",
          "scenario": "run it with: gbench scenario {} (or list it under 'scenarios' of a suite)",
          "suite": "run it with: gbench bench --suite {}",
          "diagram spec": "diagram specs live under diagram_gen/specs/ and are read by gbench diagrams"}


@pytest.mark.parametrize("loader, expected, path, kind, key", [
    (load_workload, "workload", SCENARIO_FILE, "scenario", "timeline"),
    (load_workload, "workload", SUITE_FILE, "suite", "etcd_benchmark"),
    (load_workload, "workload", "diagram_gen/specs/linearizability/failure.yaml", "diagram spec", "guarantee"),
    (load_scenario, "scenario", "workloads/etcd-put-256B.yaml", "workload", "keys"),
    (load_scenario, "scenario", SUITE_FILE, "suite", "etcd_benchmark"),
    (load_suite, "suite", "workloads/etcd-put-256B.yaml", "workload", "keys"),
    (load_suite, "suite", SCENARIO_FILE, "scenario", "timeline"),
])
def test_a_file_of_another_kind_says_what_it_is(loader: Any, expected: str, path: str, kind: str, key: str) -> None:
    with pytest.raises(ConfigError) as ei:
        loader(REPO / path)
    f = str(REPO / path)
    assert (ei.value.file, ei.value.field, ei.value.reason) == (
        f, "(kind)", f"this looks like a {kind} file (it has {key!r}), not a {expected} file: "
                     f"{RUN_IT[kind].format(f)}")


def test_overrides_name_their_origin(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD))
    with pytest.raises(ConfigError) as ei:
        w.with_overrides(duration_s=float("nan"), origin="--duration")
    assert (ei.value.file, ei.value.field, ei.value.reason) == (
        "--duration", "duration_s", f"must be a finite number in (0, 86400] seconds, got nan (overriding {w.source})")
    with pytest.raises(ConfigError) as ei:
        w.with_overrides(nodes=100, origin="--nodes")
    assert (ei.value.file, ei.value.field) == ("--nodes", "nodes")
    with pytest.raises(ConfigError) as ei:  # without an origin the workload file is named, as before
        w.with_overrides(duration_s=1e12)
    assert ei.value.file == w.source
    assert w.with_overrides(duration_s=3, origin="--duration").duration_s == 3


@pytest.mark.parametrize("args, field, reason", [
    (["run", "{wl}"], "duration_s", "must be a finite number in (0, 86400] seconds, got the string '1e12'"),
    (["run", "{scenario}"], "(kind)", "this looks like a scenario file (it has 'timeline'), not a workload file"),
    (["scenario", "{suite}"], "(kind)", "this looks like a suite file (it has 'etcd_benchmark'), not a scenario file"),
    (["bench", "--suite", "{wl}"], "(kind)", "this looks like a workload file (it has 'keys'), not a suite file"),
])
def test_bad_input_through_the_cli_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                           field: str, reason: str) -> None:
    from harness import cli

    files = {"wl": str(write(tmp_path, GOOD.replace("duration_s: 1", "duration_s: 1e12"))),
             "scenario": str(REPO / SCENARIO_FILE), "suite": str(REPO / SUITE_FILE)}
    argv = [a.format(**files) for a in args]
    code = cli.main(argv + ["--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    named = next(a for a in argv if a.endswith(".yaml"))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"gbench: error: {named}: field '{field}': {reason}"), err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("text, field, reason", [
    (GOOD + "clients: {session: {reads: token-wait}}\n", "clients.session.reads",
     "token-wait needs positions a read can wait for; etcd with read_consistency linearizable has none"),
    ("name: t\nduration_s: 1\nsystem: postgres\nnodes: 3\nread_consistency: primary\n"
     "clients: {session: {reads: token-wait}}\n", "clients.session.reads",
     "token-wait needs positions a read can wait for; postgres with read_consistency primary has none"),
])
def test_token_wait_needs_positions(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert (e.field, e.reason) == (field, reason)


@pytest.mark.parametrize("text, field, reason", [
    (GOOD + "clients: {session: {reads: random}}\n", "clients.session.reads",
     "unknown session read routing 'random' (known: sticky, round-robin, token-wait)"),
    (GOOD + "clients: {session: {reads: sticky, colour: red}}\n", "clients.session.colour", "unknown field"),
    (GOOD + "clients: {session: sticky}\n", "clients.session", "must be a mapping, got 'sticky'"),
    ("name: t\nduration_s: 1\nsystem: cassandra\nnodes: 3\ncassandra: {routing: token-aware}\n"
     "clients: {session: {reads: round-robin}}\n", "clients.session.reads",
     "round-robin routes each read through the next pinned node, but this cassandra workload's driver "
     "picks the node per request"),
])
def test_session_block_errors(tmp_path: Path, text: str, field: str, reason: str) -> None:
    e = error_of(tmp_path, text)
    assert e.field == field and reason in e.reason, (e.field, e.reason)


def test_session_block_parsed_and_kept_in_the_manifest_form(tmp_path: Path) -> None:
    plain = load_workload(write(tmp_path, GOOD))
    assert plain.session_reads is None and "session" not in plain.to_dict()
    w = load_workload(write(tmp_path, GOOD + "clients: {session: {}}\n"))
    assert w.session_reads == "sticky" and w.to_dict()["session"] == {"reads": "sticky"}
    w = load_workload(write(tmp_path, GOOD + "clients: {pin: followers, session: {reads: round-robin}}\n"))
    assert (w.pin, w.session_reads) == ("followers", "round-robin")
