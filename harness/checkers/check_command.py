"""``gbench check FILE... [--format auto|jepsen-register|jepsen-kv|history] [--counterexample]``

Judges each file's linearizability and prints one line per file::

    <file> linearizable|not-linearizable <seconds>

``<seconds>`` (3 decimals) covers parsing and checking. With ``--counterexample`` a
violation is followed by indented lines: the failing key, then either the end of the
longest linearizable prefix found and the operations that cannot be placed after it, or,
for violations found by the real-time pre-check, the reason and the few operations that
contradict each other.

Exit status: 0 all linearizable; 1 some file is not linearizable; 2 some file could not be
read or parsed (one line on stderr naming the file and line; the other files are still
checked); 3 the checker could not decide (search budget exceeded or checker error: the file
is printed as ``unknown``). When several apply, the highest wins.

The library function ``run_check`` is what the ``gbench`` CLI mounts (``add_check_arguments``
declares the arguments); it prints, it never exits.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Sequence, TextIO

from harness.checkers.formats import FORMATS, load_history
from harness.checkers.linearizability import check_linearizability
from harness.checkers.model import check_safe
from harness.errors import HistoryParseError

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``files``, ``--format`` and ``--counterexample`` on a (sub)parser."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="history files to judge")
    parser.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                        help="input format (default: detected from the first line)")
    parser.add_argument("--counterexample", action="store_true",
                        help="after a violation, print the operations that cannot be linearized")


def run_check(paths: Sequence[str], fmt: str = "auto", show_counterexample: bool = False,
              out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Check each file's linearizability; print the per-file lines; return the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    status = EXIT_OK
    for path in paths:
        t0 = time.perf_counter()
        try:
            history = load_history(path, fmt)
        except HistoryParseError as e:
            where = f"{e.file}:{e.line}" if e.line else e.file
            print(f"gbench: error: {where}: {e.reason}", file=err)
            status = max(status, EXIT_BAD_INPUT)
            continue
        result = check_safe(check_linearizability, history)
        seconds = time.perf_counter() - t0
        if result.verdict is True:
            word = "linearizable"
        elif result.verdict is False:
            word, status = "not-linearizable", max(status, EXIT_VIOLATION)
        else:
            word, status = "unknown", max(status, EXIT_UNKNOWN)
            print(f"gbench: {path}: undecided: {result.evidence.get('error')}", file=err)
        print(f"{path} {word} {seconds:.3f}", file=out)
        if show_counterexample and result.verdict is False:
            for line in format_counterexample(result.evidence):
                print("  " + line, file=out)
        out.flush()
    return status


def _fmt_time(d: dict[str, Any]) -> str:
    if "invoke_ms" in d:
        end = "never" if d["complete_ms"] is None else f"{d['complete_ms']}"
        return f"[{d['invoke_ms']} .. {end} ms]"
    end = "never" if d["complete"] is None else f"{d['complete']}"
    return f"[lines {d['invoke']} .. {end}]"


def format_op(d: dict[str, Any]) -> str:
    """One operation (from ``Operation.describe``) as a line of text."""
    arg = "" if d.get("value") is None else f" {d['value']!r}"
    res = f" -> {d['result']!r}" if "result" in d else ""
    return f"op {d['index']} process {d['process']}: {d['f']}{arg}{res} {d['outcome']} {_fmt_time(d)}"


def format_counterexample(evidence: dict[str, Any]) -> list[str]:
    """Indentation-free lines describing ``check_linearizability``'s counterexample."""
    ce = evidence.get("counterexample")
    if not ce:
        return []
    key = "" if ce["key"] is None else f"key {ce['key']!r}: "
    if ce.get("reason"):
        lines = [f"{key}{ce['reason']}"]
    else:
        lines = [f"{key}longest linearizable prefix: {ce['prefix_length']} op(s), "
                 f"state after it: {ce['state_after_prefix']!r}"]
    others = [k for k in evidence.get("failed_keys", []) if k != ce["key"]]
    if others:
        lines.append(f"also not linearizable: {len(others)} other key(s): "
                     + ", ".join(repr(k) for k in others[:10]) + (" ..." if len(others) > 10 else ""))
    if ce["prefix_tail"]:
        lines.append(f"end of that prefix (last {len(ce['prefix_tail'])}):")
        lines += ["  " + format_op(d) for d in ce["prefix_tail"]]
    lines.append("these operations cannot all be linearized:" if ce.get("reason") else "cannot be linearized after it:")
    lines += ["  " + format_op(d) for d in ce["cannot_linearize"]]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.checkers.check_command`` (the same as ``gbench check``)."""
    p = argparse.ArgumentParser(prog="gbench check", description="judge history files (linearizability)")
    add_check_arguments(p)
    a = p.parse_args(argv)
    return run_check(a.files, fmt=a.format, show_counterexample=a.counterexample)


if __name__ == "__main__":
    sys.exit(main())
