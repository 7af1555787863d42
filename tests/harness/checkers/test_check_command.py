"""``gbench check``: output lines, counterexamples, exit codes 0/1/2/3."""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import check_command
from harness.checkers.check_command import add_check_arguments, run_check

REPO = Path(__file__).resolve().parents[3]
LINE = re.compile(r"^(\S+) (linearizable|not-linearizable|unknown) (\d+\.\d{3})$")


def check(paths: list[Path], **kw: Any) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check([str(p) for p in paths], out=out, err=err, **kw)
    return code, out.getvalue().splitlines(), err.getvalue()


def good(hb: Any, path: Path) -> Path:
    return hb.put(1, "k", "a", 0, 10).get(2, "k", "a", 20, 30).write(path)


def bad(hb: Any, path: Path) -> Path:
    hb.ops.clear()
    return hb.put(1, "k", "a", 0, 10).put(1, "k", "b", 20, 30).get(2, "k", "a", 40, 50).write(path)


def test_all_linearizable_exits_0(tmp_path: Path, hb: Any) -> None:
    p = good(hb, tmp_path / "good.jsonl")
    code, lines, err = check([p])
    assert code == 0 and err == ""
    m = LINE.match(lines[0])
    assert m and m.group(1) == str(p) and m.group(2) == "linearizable"


def test_any_violation_exits_1_with_counterexample(tmp_path: Path, hb: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    b = bad(hb, tmp_path / "bad.jsonl")
    code, lines, _ = check([g, b], show_counterexample=True)
    assert code == 1
    assert LINE.match(lines[0]).group(2) == "linearizable"  # type: ignore[union-attr]
    assert LINE.match(lines[1]).group(2) == "not-linearizable"  # type: ignore[union-attr]
    detail = lines[2:]
    assert detail and all(line.startswith("  ") for line in detail)
    assert any("key 'k'" in line for line in detail)
    assert any("get -> 'a'" in line and "[40.0 .. 50.0 ms]" in line for line in detail)
    code, lines, _ = check([b])
    assert code == 1 and len(lines) == 1  # no counterexample unless asked


def test_unreadable_input_exits_2_naming_file_and_line(tmp_path: Path, hb: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(g.read_text() + "{oops\n")
    code, lines, err = check([broken, g, tmp_path / "missing.jsonl"])
    assert code == 2
    assert f"{broken}:3:" in err and "missing.jsonl" in err and "cannot read" in err
    assert len(lines) == 1 and lines[0].startswith(f"{g} linearizable")  # other files still checked


def test_bad_input_wins_over_violation(tmp_path: Path, hb: Any) -> None:
    b = bad(hb, tmp_path / "bad.jsonl")
    junk = tmp_path / "junk.log"
    junk.write_text("hello\n")
    assert check([b, junk])[0] == 2


def test_forced_format_mismatch_is_bad_input(tmp_path: Path, hb: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    code, _, err = check([g], fmt="jepsen-kv")
    assert code == 2 and f"{g}:1:" in err


def test_undecided_exits_3(tmp_path: Path, hb: Any, monkeypatch: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    from harness.checkers import linearizability, registry

    def boom(history: Any) -> Any:
        raise RuntimeError("checker bug")

    monkeypatch.setitem(registry.CHECKERS, "linearizable",
                        dataclasses.replace(registry.CHECKERS["linearizable"], target=boom))
    code, lines, err = check([g])
    assert code == 3 and " unknown " in lines[0] and "checker bug" in err
    assert linearizability.check_linearizability is not boom


def test_a_checker_module_that_cannot_load_makes_every_file_unknown(tmp_path: Path, hb: Any,
                                                                      monkeypatch: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    from harness.checkers import registry

    monkeypatch.setitem(registry.CHECKERS, "sequential",
                        dataclasses.replace(registry.CHECKERS["sequential"], target="harness.checkers.gone:check"))
    code, lines, err = check([g], model="sequential")
    assert code == 3 and lines[0].startswith(f"{g} unknown ")
    assert err == f"gbench: {g}: undecided: RuntimeError: checker module harness.checkers.gone does not exist\n"


SEQ_LINE = re.compile(r"^(\S+) (sequential|not-sequential|unknown) (\d+\.\d{3})$")


def test_sequential_model(tmp_path: Path, hb: Any) -> None:
    # A stale read: not linearizable, sequential. Two readers seeing two writes in opposite
    # orders: neither.
    stale = hb.put(1, "k", "a", 0, 10).put(1, "k", "b", 20, 30).get(2, "k", "a", 40, 50).write(tmp_path / "s.jsonl")
    hb.ops.clear()
    opposite = (hb.put(1, "k", "1", 0, 10).put(2, "k", "2", 0, 10).get(3, "k", "1", 20, 30).get(3, "k", "2", 40, 50)
                .get(4, "k", "2", 20, 30).get(4, "k", "1", 40, 50).write(tmp_path / "o.jsonl"))
    code, lines, err = check([stale, opposite])
    assert (code, [LINE.match(x).group(2) for x in lines]) == (1, ["not-linearizable", "not-linearizable"])  # type: ignore[union-attr]
    code, lines, err = check([stale, opposite], model="sequential", show_counterexample=True)
    assert code == 1 and err == ""
    assert [SEQ_LINE.match(x).group(2) for x in lines[:2]] == ["sequential", "not-sequential"]  # type: ignore[union-attr]
    assert lines[2:] == [
        "  key 'k': these operations force a cycle: no single order respects every process's order and what each "
        "read returned",
        "  forced orders around the cycle:",
        "    op 0 before op 1: op 4 returned op 1's value and comes after op 0, which writes the same key: op 0 must "
        "come before op 1",
        "    op 1 before op 0: op 5 returned op 0's value and comes after op 1, which writes the same key: op 1 must "
        "come before op 0",
        "  operations involved:",
        "    op 0 process 1: put '1' ok [0.0 .. 10.0 ms]",
        "    op 1 process 2: put '2' ok [0.0 .. 10.0 ms]",
        "    op 2 process 3: get -> '1' ok [20.0 .. 30.0 ms]",
        "    op 4 process 3: get -> '2' ok [40.0 .. 50.0 ms]",
        "    op 3 process 4: get -> '2' ok [20.0 .. 30.0 ms]",
        "    op 5 process 4: get -> '1' ok [40.0 .. 50.0 ms]"]
    assert check([stale], model="sequential")[0] == 0


def test_unknown_model_is_one_line_exit_2(tmp_path: Path, hb: Any, capsys: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    code, out, err = gbench(capsys, str(g), "--model", "serializable")
    assert (code, out) == (2, "")
    assert err == ("gbench: error: --model: 'serializable' is not a registered checker (expected one of: "
                   "linearizable, bounded-staleness, causal, consistent-prefix, convergence, eventual, late-writes, "
                   "lost-writes, monotonic-reads, monotonic-writes, pram, ryw, sequential, stale-reads, wfr)\n")


def test_default_model_is_linearizable(tmp_path: Path, hb: Any, capsys: Any) -> None:
    g = good(hb, tmp_path / "good.jsonl")
    def verdicts(*args: str) -> list[str]:
        return [line.rsplit(" ", 1)[0] for line in gbench(capsys, str(g), *args)[1].splitlines()]

    assert verdicts() == verdicts("--model", "linearizable") == [f"{g} linearizable"]


def test_reference_files(references: list[Any]) -> None:
    code, lines, err = check([r.path for r in references])
    assert err == "" and len(lines) == len(references)
    for ref, line in zip(references, lines, strict=True):
        assert LINE.match(line).group(2) == ref.expected, line  # type: ignore[union-attr]
    assert code == 1


def test_arguments_mount_on_a_subparser() -> None:
    p = argparse.ArgumentParser()
    add_check_arguments(p.add_subparsers().add_parser("check"))
    a = p.parse_args(["check", "a", "b", "--format", "jepsen-kv", "--counterexample"])
    assert (a.files, a.format, a.counterexample, a.model) == (["a", "b"], "jepsen-kv", True, "linearizable")
    a = p.parse_args(["check", "a", "--model", "sequential"])
    assert a.model == "sequential"


def test_gbench_check_end_to_end(tmp_path: Path, hb: Any) -> None:
    b = bad(hb, tmp_path / "bad.jsonl")
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(tmp_path / "results"))
    r = subprocess.run([sys.executable, "-m", "harness.cli", "check", str(b), "--counterexample"], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert LINE.match(r.stdout.splitlines()[0]) and r.stdout.splitlines()[1].startswith("  ")


def gbench(capsys: Any, *args: str) -> tuple[int, str, str]:
    from harness import cli

    code = cli.main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


PUT = '{"process": 1, "f": "put", "key": "k", "value": "a", "invoke_ns": 0, "complete_ns": 10, "type": "ok"}\n'


@pytest.mark.parametrize("name, content, where, reason", [
    ("ns-string.jsonl", PUT + PUT.replace('"invoke_ns": 0', '"invoke_ns": "0"'), ":2",
     "invoke_ns must be an integer (nanoseconds), got '0'"),
    ("ns-null.jsonl", PUT + PUT.replace('"invoke_ns": 0', '"invoke_ns": null'), ":2",
     "invoke_ns must be an integer (nanoseconds), got None"),
    ("deep.jsonl", PUT + "[" * 100_000 + "]" * 100_000 + "\n", ":2", "not a history record: JSON nested too deep"),
    ("deep.edn", '{:process 0, :type :invoke, :f :get, :key "0", :value ' + "(" * 5000 + ")" * 5000 + "}\n", ":1",
     "not an EDN map: nested deeper than 32 levels at column 86"),
    ("empty.jsonl", "", "", "empty history file (no operation lines)"),
    ("garbage.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ":1", "not UTF-8 text: byte 0x89 at column 1 "
                                                                  "(invalid start byte)"),
    ("truncated.jsonl.gz", gzip.compress(PUT.encode() * 50, mtime=0)[:-8], ":51",
     "damaged or truncated gzip data after line 50: Compressed file ended before the end-of-stream marker was "
     "reached"),
])
def test_bad_history_exits_2_with_one_line(tmp_path: Path, capsys: Any, name: str, content: str | bytes,
                                           where: str, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = gbench(capsys, str(p))
    assert (code, out, err) == (2, "", f"gbench: error: {p}{where}: {reason}\n")


def test_byte_order_mark_is_accepted(tmp_path: Path, capsys: Any) -> None:
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + PUT.encode())
    code, out, err = gbench(capsys, str(p))
    assert code == 0 and err == "" and LINE.match(out.strip()).group(2) == "linearizable"  # type: ignore[union-attr]


def test_sequential_counterexample_of_a_single_register_log(tmp_path: Path) -> None:
    # A Jepsen register log (one register, no key): two readers see 1 and 2 in opposite orders.
    events = [(0, "invoke", "write", "1"), (0, "ok", "write", "1"), (1, "invoke", "write", "2"), (1, "ok", "write", "2"),
              (2, "invoke", "read", "nil"), (2, "ok", "read", "1"), (3, "invoke", "read", "nil"), (3, "ok", "read", "2"),
              (2, "invoke", "read", "nil"), (2, "ok", "read", "2"), (3, "invoke", "read", "nil"), (3, "ok", "read", "1")]
    p = tmp_path / "opposite.log"
    p.write_text("".join(f"INFO  jepsen.util - {proc}\t:{t}\t:{f}\t{v}\n" for proc, t, f, v in events))
    code, lines, err = check([p], model="sequential", show_counterexample=True)
    assert (code, err) == (1, "")
    assert SEQ_LINE.match(lines[0]).group(2) == "not-sequential"  # type: ignore[union-attr]
    assert lines[1] == ("  these operations force a cycle: no single order respects every process's order and what "
                        "each read returned")
    assert lines[-6:] == ["    op 0 process 0: write 1 ok [lines 1 .. 2]", "    op 1 process 1: write 2 ok [lines 3 .. 4]",
                          "    op 2 process 2: read -> 1 ok [lines 5 .. 6]", "    op 4 process 2: read -> 2 ok [lines 9 .. 10]",
                          "    op 3 process 3: read -> 2 ok [lines 7 .. 8]", "    op 5 process 3: read -> 1 ok [lines 11 .. 12]"]
