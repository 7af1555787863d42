"""``gbench check FILE... [--model NAME] [--bound B] [--format auto|jepsen-register|jepsen-kv|history] [--counterexample]``

Judges each file with the checker ``--model`` names (``harness.checkers.registry``; default
``linearizable``) and prints one line per file::

    <file> linearizable|not-linearizable <seconds>       (--model linearizable, the default)
    <file> sequential|not-sequential <seconds>           (--model sequential)
    <file> causal|causal-violated <seconds>              (--model causal; the session models alike)

(each registered checker has its two words; ``unknown`` when undecided). ``--bound``
(``3v``, ``100ms``) goes to the checkers that take one (``bounded-staleness``) and is bad
input for the others. ``<seconds>`` (3
decimals) covers parsing and checking. With ``--counterexample`` a violation is followed by
indented lines. Linearizability: the failing key, then either the end of the longest
linearizable prefix found and the operations that cannot be placed after it, or, for
violations found by the real-time pre-check, the reason and the few operations that
contradict each other. Session guarantees (``ryw``, ``monotonic-reads``, ``monotonic-writes``,
``wfr``, ``pram``, ``causal``, ``consistent-prefix``): how many reads (or writes) were judged
and violate it, per 10,000, then the first violations with the operations involved.
Sequential consistency: the failing key (or the whole history), the
reason, the cycle of forced orders with why each holds, and the operations involved (or the
end of the longest prefix the search found and the operations that could not follow it).
An unknown ``--model`` is bad input (``ArgumentError``: exit 2 from the CLI) before any file
is read.

Exit status: 0 all linearizable; 1 some file is not linearizable; 2 some file could not be
read or parsed (one line on stderr naming the file and line; the other files are still
checked); 3 the checker could not decide (search budget exceeded or checker error: the file
is printed as ``unknown``). When several apply, the highest wins.

The library function ``run_check`` is what the ``gbench`` CLI mounts (``add_check_arguments``
declares the arguments); it prints, it never exits.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from harness.checkers import registry
from harness.checkers.formats import FORMATS, load_history
from harness.checkers.model import CheckResult, History, check_safe
from harness.errors import ArgumentError, HistoryParseError

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``files``, ``--model``, ``--format`` and ``--counterexample`` on a (sub)parser."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="history files to judge")
    parser.add_argument("--model", default=registry.DEFAULT, metavar="NAME",
                        help=f"the checker: {', '.join(registry.names())} (default: {registry.DEFAULT})")
    parser.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                        help="input format (default: detected from the first line)")
    parser.add_argument("--counterexample", action="store_true",
                        help="after a violation, print a small counterexample")
    parser.add_argument("--bound", metavar="BOUND",
                        help="--model bounded-staleness: K versions (3v) or a time (250us, 100ms, 5s)")


def _options(model: str, entry: registry.CheckerEntry, bound: str | None) -> dict[str, Any]:
    """The keyword arguments ``model`` takes from the command line (ArgumentError when one
    it needs is missing, one it does not take is given, or a value is malformed)."""
    if bound is not None and "bound" not in entry.options:
        raise ArgumentError("--bound", f"--model {model} takes no bound")
    if "bound" not in entry.options:
        return {}
    if bound is None:
        raise ArgumentError("--bound", f"--model {model} needs --bound (3v, 100ms, 5s)")
    from harness.checkers.bounded_staleness import parse_bound

    try:
        return {"bound": parse_bound(bound)}
    except ValueError as e:
        raise ArgumentError("--bound", str(e)) from None


def run_check(paths: Sequence[str], fmt: str = "auto", show_counterexample: bool = False,
              out: TextIO | None = None, err: TextIO | None = None, model: str = registry.DEFAULT,
              bound: str | None = None) -> int:
    """Judge each file with checker ``model``; print the per-file lines; return the exit status.
    Raises ``ArgumentError`` for a ``model`` that is not registered, or a ``bound`` it does
    not take, lacks or cannot read."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if model not in registry.CHECKERS:
        raise ArgumentError("--model", f"{model!r} is not a registered checker "
                                       f"(expected one of: {', '.join(registry.names())})")
    entry = registry.entry(model)
    options = _options(model, entry, bound)
    check: Callable[[History], CheckResult]
    try:
        fn = registry.get_checker(model)
        check = functools.partial(fn, **options) if options else fn
    except registry.CheckerMissing as e:
        reason = str(e)

        def check(history: History) -> CheckResult:
            raise RuntimeError(reason)
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
        result = check_safe(check, history)
        seconds = time.perf_counter() - t0
        if result.verdict is True:
            word = entry.holds
        elif result.verdict is False:
            word, status = entry.violated, max(status, EXIT_VIOLATION)
        else:
            word, status = "unknown", max(status, EXIT_UNKNOWN)
            print(f"gbench: {path}: undecided: {result.evidence.get('error')}", file=err)
        print(f"{path} {word} {seconds:.3f}", file=out)
        if show_counterexample and result.verdict is False:
            for line in FORMATTERS.get(model, format_evidence)(result.evidence):
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
    rev = f" revision {d['revision']}" if "revision" in d else ""
    return f"op {d['index']} process {d['process']}: {d['f']}{arg}{res} {d['outcome']}{rev} {_fmt_time(d)}"


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


def format_sequential_counterexample(evidence: dict[str, Any]) -> list[str]:
    """Indentation-free lines describing ``check_sequential``'s counterexample."""
    ce = evidence.get("counterexample")
    if not ce:
        return []
    if ce.get("scope") != "key":
        where = "whole history (no key on its own showed a violation): "
    else:
        where = "" if ce["key"] is None else f"key {ce['key']!r}: "
    lines = [where + ce["reason"]]
    if ce.get("cycle"):
        lines.append("forced orders around the cycle:")
        lines += [f"  op {e['from']} before op {e['to']}: {e['why']}" for e in ce["cycle"]]
    if ce.get("operations"):
        lines.append("operations involved:")
        lines += ["  " + format_op(d) for d in ce["operations"]]
    if ce.get("prefix_tail"):
        lines.append(f"end of the longest prefix ({ce['prefix_length']} op(s), last {len(ce['prefix_tail'])}):")
        lines += ["  " + format_op(d) for d in ce["prefix_tail"]]
    if "cannot_place" in ce:
        lines.append(f"state after it: {ce['state_after_prefix']!r}; cannot be placed next:")
        lines += ["  " + format_op(d) for d in ce["cannot_place"]]
    return lines


def format_session_evidence(evidence: dict[str, Any], shown: int = 10) -> list[str]:
    """Indentation-free lines describing a session checker's violations (``harness.checkers.session``)."""
    lines = []
    for unit in ("reads", "writes"):
        n = evidence.get(f"{unit}_judged")
        if n:
            lines.append(f"{evidence[f'violating_{unit}']} of {n} {unit} judged violate it "
                         f"({evidence[f'violations_per_10k_{unit}']} per 10,000 {unit})")
    examples = evidence.get("violations") or [v for part in evidence.get("parts", {}).values()
                                              for v in part.get("violations", [])]
    for v in examples[:shown]:
        lines.append(f"{v['kind']}: session {v['session']!r}, key {v['key']!r}:")
        for label, d in v.items():
            if isinstance(d, dict) and "index" in d:
                lines.append(f"  {label.replace('_', ' ')}: {format_op(d)}")
            elif label == "returned_write" and d is None:
                lines.append("  returned write: none (the initial, absent value)")
    more = sum(evidence.get(f"violating_{u}", 0) for u in ("reads", "writes")) - min(shown, len(examples))
    if more > 0:
        lines.append(f"... and {more} more")
    skipped = evidence.get("skipped", {})
    if skipped.get("reads") or skipped.get("keys"):
        lines.append(f"not judged: {sum(skipped['reads'].values())} read(s), {sum(skipped['keys'].values())} key(s)")
    return lines


def format_evidence(evidence: dict[str, Any]) -> list[str]:
    """Any other checker's evidence: one line per field, compact JSON, at most 200 characters."""
    out = []
    for k, v in evidence.items():
        text = json.dumps(v, default=str, separators=(",", ":"))
        out.append(f"{k}: {text if len(text) <= 200 else text[:197] + '...'}")
    return out


FORMATTERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "linearizable": format_counterexample, "sequential": format_sequential_counterexample,
    **{m: format_session_evidence for m, e in registry.CHECKERS.items()
       if isinstance(e.target, str) and e.target.startswith("harness.checkers.session:")}}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.checkers.check_command`` (the same as ``gbench check``)."""
    p = argparse.ArgumentParser(prog="gbench check", description="judge history files")
    add_check_arguments(p)
    a = p.parse_args(argv)
    try:
        return run_check(a.files, fmt=a.format, show_counterexample=a.counterexample, model=a.model)
    except ArgumentError as e:
        print(f"gbench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
