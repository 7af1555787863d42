"""How long a run takes to exit after Ctrl-C or SIGTERM, with everything it created removed,
at every moment of a run, under CPU load (issue 10: at most 15 s on a 5-node etcd cluster
and 60 s on a 5-node Cassandra cluster, ``harness.interrupt.EXIT_BUDGET_S``).

    python -m harness.benchmarks.signal_exit --out results/benchmarks/signal-exit.json
        [--trials 10] [--systems etcd,cassandra] [--moments "cluster start,warm-up,load,nemesis,final reads"]

For each system, each moment and each trial: two busy loops run (started here, one per core
of this 2-core host, killed at the end), a real ``gbench scenario`` runs the benchmark-only
scenario ``workloads/scenarios/bench-signals-<system>.yaml`` (5 nodes, netns provider) with
its own results, data and state dirs, and the moment is detected from the run's own records:

- cluster start: the run's ledger lists a node process with its pid, and the run has not
  said ``cluster ready``;
- warm-up: the scenario said ``load started``; load: that plus the workloads' warm-up;
- nemesis: the scenario's ``nemesis.jsonl`` holds the partition (and not yet the heal);
- final reads: the scenario said ``final reads started``.

The signal goes at a point inside the moment (spread over trials: an offset after the
detection, by the golden-ratio sequence over the moment's length), SIGINT for most trials and
SIGTERM for every third (trials 2, 5, 8...); trial 0 of every moment first, then trial 1...,
so a benchmark cut short still covers every moment. The harness is never killed before its bound:
a trial over the bound is recorded as over, and the benchmark waits on (up to
``OVERRUN_WAIT_S``) to measure the real exit. Then it checks what is left of the run (the
namespaces, links and firewall rules that appeared during the trial; every process the
harness started, from snapshots of its process tree; the data dirs; the ledger; the run
directory, which must be ``<run_id>.incomplete`` with ``INCOMPLETE``), and runs
``gbench cleanup`` on the trial's state dir whenever something is left or the run was over.
The moment the harness itself says it was interrupted at (``INCOMPLETE``) is recorded
beside the intended one.

Every trial is one row (system, moment, signal, trial, seconds_to_exit, exit_code,
leftovers, ...); the file also has per-(system, moment) max and median, host facts, the git
commit and which cells were run with how many trials. It is rewritten after every trial, so
an interrupted benchmark keeps what it measured. Rows of cells this invocation does not run
are kept from an existing ``--out`` file (so etcd and Cassandra can be run separately).

Needs root (netns provider), etcd (and for Cassandra Java 17 and the Cassandra jars) from
``make setup``.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

REPO = Path(__file__).resolve().parents[2]
SYSTEMS = ("etcd", "cassandra")
MOMENTS = ("cluster start", "warm-up", "load", "nemesis", "final reads")
SCENARIO = {s: REPO / "workloads" / "scenarios" / f"bench-signals-{s}.yaml" for s in SYSTEMS}
#: How long a trial may wait for its moment (a 5-node Cassandra cluster takes ~45 s to start here).
MOMENT_TIMEOUT_S = {"etcd": 120.0, "cassandra": 400.0}
#: After the bound, how long the benchmark still waits to measure the real exit before it kills.
OVERRUN_WAIT_S = 180.0
#: The part of the cluster-start window the signal lands in (seconds after the first node
#: process is ledgered): 5 etcd members here are ready about 1 s after the first is spawned
#: (a 1.5 s window let 1 of 10 signals land after the cluster was ready), Cassandra's JVMs
#: take ~45 s.
CLUSTER_START_WINDOW_S = {"etcd": 0.6, "cassandra": 30.0}
#: Final reads: the signal lands within this many seconds of their start.
FINAL_READS_WINDOW_S = 1.0
GOLDEN = (math.sqrt(5) - 1) / 2
SCHEMA_VERSION = 1


# --------------------------------------------------------------------------- pure parts

def signal_for(trial: int) -> str:
    """SIGTERM for every third trial (2, 5, 8, ...), SIGINT for the others."""
    return "SIGTERM" if trial % 3 == 2 else "SIGINT"


def spread(trial: int, lo: float, hi: float) -> float:
    """A point of [lo, hi] for ``trial``: the golden-ratio sequence, so any number of trials
    covers the interval evenly without repeating."""
    if hi <= lo:
        return lo
    return lo + ((trial * GOLDEN) % 1.0) * (hi - lo)


def moment_confirmed(intended: str, reported: str | None) -> bool:
    """Does the moment the harness wrote into INCOMPLETE (``interrupted by SIGINT at
    <moment>``) match the intended one? (``nemesis`` matches ``nemesis (partition at 12s)``.)"""
    if not reported:
        return False
    m = re.match(r"interrupted by SIG\w+ at (.*)$", reported.strip())
    said = m.group(1) if m else reported.strip()
    return said == intended or said.startswith(intended + " (")


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (system, moment): trials, signals, max / median / min seconds to exit, how many
    were over the bound, left something behind, or did not reach their moment."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["system"], r["moment"]), []).append(r)
    out = []
    for (system, moment), rs in sorted(cells.items(), key=lambda kv: (SYSTEMS.index(kv[0][0]) if kv[0][0] in SYSTEMS
                                                                       else 99, _moment_rank(kv[0][1]))):
        secs = [r["seconds_to_exit"] for r in rs if r.get("seconds_to_exit") is not None]
        out.append({
            "system": system, "moment": moment, "trials": len(rs),
            "signals": {s: sum(1 for r in rs if r["signal"] == s) for s in ("SIGINT", "SIGTERM")},
            "measured": len(secs),
            "max_s": round(max(secs), 3) if secs else None,
            "median_s": round(statistics.median(secs), 3) if secs else None,
            "min_s": round(min(secs), 3) if secs else None,
            "bound_s": rs[0].get("bound_s"),
            "over_bound": sum(1 for r in rs if r.get("over_bound")),
            "with_leftovers": sum(1 for r in rs if r.get("leftovers")),
            "moment_not_reached": sum(1 for r in rs if r.get("error")),
            "moment_confirmed": sum(1 for r in rs if r.get("moment_confirmed")),
            "stuck_watchdog": sum(1 for r in rs if r.get("stuck_watchdog")),
        })
    return out


def _moment_rank(m: str) -> int:
    return MOMENTS.index(m) if m in MOMENTS else len(MOMENTS)


def merge_rows(old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]],
               cells: Iterable[tuple[str, str]], first_trial: int = 0,
               trials: int | None = None) -> list[dict[str, Any]]:
    """``old`` rows of cells this invocation does not run, and of the cells it runs the trials
    outside ``first_trial .. trials-1`` (an invocation that goes on where a cut-short one stopped,
    or redoes some trials), then ``new`` rows."""
    running = set(cells)
    end = float("inf") if trials is None else trials
    return [r for r in old if (r["system"], r["moment"]) not in running
            or not first_trial <= r["trial"] < end] + list(new)


# --------------------------------------------------------------------------- the run watcher

@dataclass
class RunWatch:
    """A running ``gbench scenario`` and what it has said so far."""

    proc: subprocess.Popen[bytes]
    results: Path
    state: Path
    lines: list[tuple[float, str]] = field(default_factory=list)
    pids: dict[int, float] = field(default_factory=dict)  # every process of its tree seen: pid -> create time
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reader: threading.Thread | None = None

    def start_reader(self) -> None:
        def read() -> None:
            assert self.proc.stderr is not None
            for raw in iter(self.proc.stderr.readline, b""):
                with self._lock:
                    self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))
        self._reader = threading.Thread(target=read, name="signal-bench-reader", daemon=True)
        self._reader.start()

    def run_id(self) -> str | None:
        """The run's id, from its directory (``.tmp-<id>`` while running, ``<id>.incomplete`` after)."""
        if not self.results.is_dir():
            return None
        for d in os.scandir(self.results):
            name = d.name.removeprefix(".tmp-").removesuffix(".incomplete")
            if name:
                return name
        return None

    def drain(self, timeout_s: float = 5.0) -> None:
        """After the exit: wait until everything the run wrote has been read."""
        if self._reader is not None:
            self._reader.join(timeout_s)

    def said(self, needle: str) -> float | None:
        with self._lock:
            return next((t for t, l in self.lines if needle in l), None)

    def text(self) -> str:
        with self._lock:
            return "\n".join(l for _, l in self.lines)

    def snapshot_tree(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            try:
                self.pids.setdefault(p.pid, p.create_time())
            except psutil.Error:
                pass

    def ledgered_node_pid(self) -> bool:
        for f in self.state.glob("*.json") if self.state.is_dir() else []:
            try:
                doc = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if any(r.get("kind") == "process" and r.get("pid") for r in doc.get("resources", [])):
                return True
        return False

    def nemesis_records(self) -> list[dict[str, Any]]:
        """The scenario's nemesis.jsonl (in the run's temporary directory while it runs)."""
        if not self.results.is_dir():
            return []
        for d in os.scandir(self.results):
            for f in Path(d.path).glob("scenarios/*/nemesis.jsonl"):
                try:
                    return [json.loads(l) for l in f.read_text().splitlines() if l.strip()]
                except (OSError, ValueError):
                    return []
        return []


@dataclass(frozen=True)
class ScenarioTimes:
    """What the benchmark scenario's file says about its timeline (seconds after load start)."""

    warmup_s: float
    fault_at_s: float
    heal_at_s: float

    @classmethod
    def of(cls, path: Path) -> "ScenarioTimes":
        from harness.scenario.spec import load_scenario

        sc = load_scenario(str(path))
        warm = max(w.warmup_s for w in sc.workloads)
        fault = next(e for e in sc.timeline if e.fault == "partition")
        heal = next(e for e in sc.timeline if e.fault == "heal")
        return cls(warm, fault.at_s, heal.at_s)


def wait_for_moment(w: RunWatch, system: str, moment: str, times: ScenarioTimes, trial: int,
                    timeout_s: float) -> tuple[float | None, str, float | None]:
    """Block until ``moment`` is reached (polling the run's records), then until the trial's
    point inside it; returns (monotonic time of that point, what detected the moment, when
    it was detected), or (None, why not, None) when the run ended or the moment did not come
    in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        w.snapshot_tree()
        if w.proc.poll() is not None:
            return None, f"the run exited (code {w.proc.returncode}) before the moment", None
        now = time.monotonic()
        at: float | None = None
        seen = now  # when the record that marks the moment appeared (a stderr line's own time)
        how = ""
        if moment == "cluster start":
            if w.said("cluster ready") is not None:
                return None, "the cluster was ready before a node process was seen in the ledger", None
            if w.ledgered_node_pid():
                at, how = now + spread(trial, 0.0, CLUSTER_START_WINDOW_S[system]), "ledger: a node process with its pid"
        elif moment in ("warm-up", "load"):
            t0 = w.said("load started at")
            if t0 is not None:
                seen = t0
                if moment == "warm-up":
                    at = t0 + spread(trial, 0.5, max(0.5, times.warmup_s - 1.0))
                else:
                    at = t0 + spread(trial, times.warmup_s + 0.5, max(times.warmup_s + 0.5, times.fault_at_s - 1.0))
                how = "stderr: '[scenario] load started' + the scenario's warm-up"
        elif moment == "nemesis":
            recs = w.nemesis_records()
            if any(r.get("f") == "partition" for r in recs):
                if any(r.get("f") == "heal" for r in recs):
                    return None, "the heal was recorded before the partition was seen", None
                at = now + spread(trial, 0.0, max(0.0, times.heal_at_s - times.fault_at_s - 3.0))
                how = "nemesis.jsonl: the partition record"
        elif moment == "final reads":
            t = w.said("final reads started")
            if t is not None:
                seen = t
                at, how = t + spread(trial, 0.0, FINAL_READS_WINDOW_S), "stderr: '[scenario] final reads started'"
        else:
            raise ValueError(f"unknown moment {moment!r} (known: {', '.join(MOMENTS)})")
        if at is not None:
            while time.monotonic() < at:
                w.snapshot_tree()
                if w.proc.poll() is not None:
                    return None, f"the run exited (code {w.proc.returncode}) before the signal", None
                time.sleep(0.02)
            return at, how, seen
        time.sleep(0.05)
    return None, f"moment not reached within {timeout_s:g}s", None


# --------------------------------------------------------------------------- host state

def host_names(run_id: str | None = None) -> set[str]:
    """The harness's host-wide names now: gb- namespaces, gb links, gbench: rules, /etc/netns/gb-*;
    with ``run_id``, only that run's (its short id in the name, or its id in the rule's comment),
    so a concurrent run of someone else is never counted as this one's leftover."""
    found = _all_host_names()
    if run_id is None:
        return found
    from harness.providers.netns import short_id

    sid = short_id(run_id)
    return {n for n in found if f"gb-{sid}-" in n or f"gb{sid}-" in n or f"gbench:{run_id}" in n}


def _all_host_names() -> set[str]:
    found = set()
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    found |= {f"netns {l.split()[0]}" for l in ns.splitlines() if l.startswith("gb-")}
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=30).stdout
    for l in links.splitlines():
        name = l.split(":")[1].strip().split("@")[0]
        if name.startswith("gb"):
            found.add(f"link {name}")
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=30).stdout
    found |= {f"rule {l}" for l in rules.splitlines() if "gbench:" in l}
    etc = Path("/etc/netns")
    if etc.is_dir():
        found |= {f"dir {p}" for p in etc.iterdir() if p.name.startswith("gb-")}
    return found


def leftovers(w: RunWatch, before: set[str], data: Path) -> list[str]:
    """What is left of the watched run: its host-wide names that were not there ``before``,
    every process of its tree seen while it ran, its data dirs and its ledger."""
    import psutil

    found = sorted(host_names(w.run_id()) - before)
    for pid, created in sorted(w.pids.items()):
        if pid == w.proc.pid:
            continue
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                found.append(f"process {pid} ({' '.join(p.cmdline()[:3])[:120]})")
        except psutil.Error:
            pass
    if data.is_dir():
        found += [f"data dir {p}" for p in data.iterdir()]
    if w.state.is_dir():
        found += [f"ledger {p}" for p in w.state.iterdir()]
    return found


def run_directory(results: Path) -> tuple[str | None, str | None, list[str]]:
    """(the run's directory name, its INCOMPLETE text, problems)."""
    dirs = [p for p in results.iterdir()] if results.is_dir() else []
    if len(dirs) != 1:
        listing = {p.name: sorted(str(f.relative_to(p)) for f in p.rglob("*"))[:40] for p in dirs}
        problems = [f"results dir holds {sorted(listing)}, expected one <run_id>.incomplete; their files: {listing}"]
        done = next((p for p in dirs if p.name.endswith(".incomplete")), None)
        if done is None:
            return None, None, problems
        inc = done / "INCOMPLETE"
        return done.name, inc.read_text().strip() if inc.is_file() else None, problems
    d = dirs[0]
    problems = [] if d.name.endswith(".incomplete") else [f"run dir {d.name} is not <run_id>.incomplete"]
    inc = d / "INCOMPLETE"
    text = inc.read_text().strip() if inc.is_file() else None
    if text is None:
        problems.append(f"{d.name} has no INCOMPLETE file")
    return d.name, text, problems


# --------------------------------------------------------------------------- one trial

def gbench_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


def run_trial(system: str, moment: str, trial: int, scratch: Path, times: ScenarioTimes,
              log: Any = print) -> dict[str, Any]:
    from harness.interrupt import EXIT_BUDGET_S

    bound = EXIT_BUDGET_S[system]
    sig = signal_for(trial)
    tdir = Path(tempfile.mkdtemp(prefix=f"{system}-{moment.replace(' ', '-')}-{trial}-", dir=scratch))
    results, data, state = tdir / "results", tdir / "data", tdir / "state"
    env = dict(os.environ, GBENCH_RESULTS_DIR=str(results), GBENCH_DATA_DIR=str(data), GBENCH_STATE_DIR=str(state),
               PYTHONUNBUFFERED="1")
    before = host_names()
    argv = gbench_argv("scenario", str(SCENARIO[system].relative_to(REPO)), "--provider", "netns", "--quiet")
    row: dict[str, Any] = {"system": system, "moment": moment, "signal": sig, "trial": trial, "bound_s": bound,
                           "command": " ".join(["gbench", *argv[3:]])}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    w = RunWatch(proc, results, state)
    row["sigint_ignored_at_start"] = _ignores_sigint(proc.pid)
    w.start_reader()
    try:
        at, how, detected = wait_for_moment(w, system, moment, times, trial, MOMENT_TIMEOUT_S[system])
        row["moment_detected_by"] = how
        if at is None:
            row["error"] = how
            row.update(seconds_to_exit=None, exit_code=proc.poll(), over_bound=None)
        else:
            w.snapshot_tree()
            row["load_average_1m"] = round(os.getloadavg()[0], 2)
            row["signal_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
            t_sig = time.monotonic()
            os.kill(proc.pid, getattr(signal, sig))
            row["signal_after_moment_record_s"] = round(t_sig - (detected or t_sig), 3)
            exited = _wait_exit(w, t_sig + bound)
            over = not exited
            if over:  # never killed before its bound: wait on to measure the real exit
                exited = _wait_exit(w, t_sig + bound + OVERRUN_WAIT_S)
            t_exit = time.monotonic()
            row.update(seconds_to_exit=round(t_exit - t_sig, 3) if exited else None, exit_code=proc.poll(),
                       over_bound=over, killed_after_s=None if exited else round(t_exit - t_sig, 3))
    finally:
        if proc.poll() is None:  # the benchmark itself was interrupted (or the run never exited)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=bound)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            subprocess.run(gbench_argv("cleanup"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    w.drain()
    time.sleep(0.2)  # (orphans re-parented to init are reaped by it)
    row["leftovers"] = leftovers(w, before, data)
    name, text, problems = run_directory(results)
    row.update(run_dir=name, incomplete=text, run_dir_problems=problems,
               moment_confirmed=moment_confirmed(moment, text) if "error" not in row else False)
    row["harness_said"] = [l for _, l in w.lines if l.startswith("[gbench]") and ("SIG" in l or "removed" in l
                                                                                   or "still removing" in l)][-4:]
    if row["leftovers"] or row.get("over_bound") or row.get("error"):
        c = subprocess.run(gbench_argv("cleanup"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        row["cleanup"] = {"exit_code": c.returncode, "output": (c.stdout + c.stderr).strip()[-2000:]}
        row["left_after_cleanup"] = leftovers(w, before, data)
    row["stuck_watchdog"] = "tearing down from a watchdog" in w.text()
    if "error" in row or row.get("over_bound") or row["leftovers"] or row["stuck_watchdog"] or row["run_dir_problems"]:
        row["stderr_tail"] = w.text()[-8000:]  # (with the watchdog's dump of every thread's stack)
    shutil.rmtree(tdir, ignore_errors=True)
    log(f"[signal-exit] {system:9s} {moment:13s} trial {trial} {sig:7s} -> "
        f"{row.get('seconds_to_exit')} s (bound {bound:g}), exit {row.get('exit_code')}, "
        f"leftovers {len(row['leftovers'])}, harness: {text!r}" + (f", ERROR {row['error']}" if "error" in row else ""))
    return row


def _ignores_sigint(pid: int) -> bool | None:
    """Does ``pid`` ignore SIGINT (``SigIgn`` in /proc/<pid>/status)? None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    except (OSError, ValueError):
        return None
    return None


def _wait_exit(w: RunWatch, until: float) -> bool:
    while time.monotonic() < until:
        if w.proc.poll() is not None:
            return True
        w.snapshot_tree()
        time.sleep(0.01)
    return w.proc.poll() is not None


# --------------------------------------------------------------------------- the benchmark

class BusyLoops:
    """Two CPU busy loops (processes), for the benchmark's whole duration."""

    def __init__(self, n: int = 2) -> None:
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
                      for _ in range(n)]

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait(timeout=30)


def write_doc(out: Path, doc: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.rename(out)


def _csv(value: str, known: Sequence[str], flag: str) -> list[str]:
    items = [x.strip() for x in value.split(",") if x.strip()]
    bad = [x for x in items if x not in known]
    if bad or not items:
        raise SystemExit(f"{flag}: {', '.join(bad) or 'empty'} not in {', '.join(known)}")
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--out", required=True)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--first-trial", type=int, default=0,
                    help="run trials FIRST_TRIAL..TRIALS-1 and keep the other trials' rows of --out (to go on "
                         "where a cut-short invocation stopped, or to redo some trials)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--moments", default=",".join(MOMENTS))
    ap.add_argument("--busy-loops", type=int, default=2,
                    help="CPU busy loops for the whole benchmark (default 2: one per core here); 0 when another "
                         "invocation's loops already run")
    ap.add_argument("--refresh", action="store_true",
                    help="run nothing: recompute the summary and provenance of an existing --out from its rows")
    args = ap.parse_args(argv)
    if args.refresh:
        for c in refresh(Path(args.out))["summary"]:
            print(json.dumps(c))
        return 0
    if not 0 <= args.busy_loops <= 16:
        raise SystemExit("--busy-loops: between 0 and 16")
    if not 1 <= args.trials <= 100:
        raise SystemExit("--trials: between 1 and 100")
    if not 0 <= args.first_trial < args.trials:
        raise SystemExit("--first-trial: at least 0 and less than --trials")
    systems = _csv(args.systems, SYSTEMS, "--systems")
    moments = _csv(args.moments, MOMENTS, "--moments")
    if os.geteuid() != 0:
        raise SystemExit("the signal benchmark starts clusters in network namespaces: run it as root")
    # Started in the background of a non-interactive shell (nohup ... &), this process inherits
    # SIGINT ignored, and so would every gbench it starts, which then rightly keeps ignoring it
    # (measured: SIGINT trials ran on to the end of the run, exit 0). Each run must see SIGINT
    # as a terminal's Ctrl-C delivers it: a handled signal is reset to the default at exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from harness.interrupt import EXIT_BUDGET_S
    from harness.providers.netns import default_data_root
    from harness.results.hostfacts import collect_host_facts
    from harness.results.store import git_commit

    times = {s: ScenarioTimes.of(SCENARIO[s]) for s in systems}
    out = Path(args.out)
    cells = [(s, m) for s in systems for m in moments]
    invocation = {"argv": ["python", "-m", "harness.benchmarks.signal_exit", *(argv if argv is not None else sys.argv[1:])],
                  "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(), "git": git_commit(),
                  "busy_loops": args.busy_loops, "planned": {f"{s}/{m}": args.trials - args.first_trial for s, m in cells},
                  "first_trial": args.first_trial,
                  "finished_utc": None}
    data_root = default_data_root()
    data_root.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "what": "seconds from SIGINT/SIGTERM to the exit of `gbench scenario` (5 nodes, netns provider), with "
                "busy loops running, and what the run left behind; harness/benchmarks/signal_exit.py",
        "bounds_s": {s: EXIT_BUDGET_S[s] for s in SYSTEMS},
        "scenarios": {s: str(SCENARIO[s].relative_to(REPO)) for s in SYSTEMS},
        "load": "each invocation's busy loops (`python -c 'while True: pass'`, invocations[].busy_loops) for its "
                "whole duration, plus the cluster and its load; rows[].load_average_1m is the host's at the signal",
        "containers": "not checked: the netns provider starts no containers (and this host has no Docker engine)"
                      if shutil.which("docker") is None else "the netns provider starts no containers",
        "host": collect_host_facts(data_root),
    }
    new_rows: list[dict[str, Any]] = []

    def save() -> None:
        """Merge into ``out`` under a lock: rows of cells this invocation does not run stay
        (another invocation, perhaps running now, measures them)."""
        with _locked(out):
            current: dict[str, Any] = json.loads(out.read_text()) if out.is_file() else {}
            doc["invocations"] = sorted([i for i in current.get("invocations", []) if i.get("started_utc") !=
                                         invocation["started_utc"] or i.get("argv") != invocation["argv"]]
                                        + [invocation], key=lambda i: i.get("started_utc") or "")
            doc["rows"] = merge_rows(current.get("rows", []), new_rows, cells, args.first_trial, args.trials)
            doc["cells_run"] = {f"{s}/{m}": n for (s, m), n in _counts(doc["rows"]).items()}
            doc["summary"] = summarize(doc["rows"])
            doc["provenance"] = provenance(doc["invocations"], doc["rows"])
            doc["updated_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
            write_doc(out, doc)

    scratch = Path(tempfile.mkdtemp(prefix="gbench-signal-exit-"))
    busy = BusyLoops(args.busy_loops)
    try:
        save()
        for system in systems:
            for trial in range(args.first_trial, args.trials):  # trial-major: a cut-short run still has every moment
                for moment in moments:
                    new_rows.append(run_trial(system, moment, trial, scratch, times[system],
                                              log=lambda s: print(s, flush=True)))
                    save()
        invocation["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat()
        save()
    finally:
        busy.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    for c in doc["summary"]:
        print(f"{c['system']:9s} {c['moment']:13s} trials {c['trials']:2d}  max {c['max_s']} s  median "
              f"{c['median_s']} s  (bound {c['bound_s']} s)  over {c['over_bound']}  leftovers {c['with_leftovers']}")
    return 0


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on ``out``'s directory (two invocations may write ``out``; a lock on
    the directory itself leaves no lock file behind)."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def provenance(invocations: Sequence[dict[str, Any]], rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Which invocations measured each cell (the last one that planned it from trial 0, which
    replaced the cell's rows whole, and those after it that went on from a later --first-trial),
    and which invocations ran at the same time as which (by their recorded
    start and finish; one still running counts as running until now)."""
    cells = sorted({f"{r['system']}/{r['moment']}" for r in rows})
    source: dict[str, list[int]] = {c: [] for c in cells}
    for k, inv in enumerate(invocations):
        for c in inv.get("planned", {}):
            if c in source:
                source[c] = source[c] + [k] if inv.get("first_trial", 0) > 0 else [k]
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    spans = [(i.get("started_utc") or "", i.get("finished_utc") or now) for i in invocations]
    overlap = {k: [j for j, (a2, b2) in enumerate(spans) if j != k and a2 < b and a < b2]
               for k, (a, b) in enumerate(spans)}
    return {"cell_measured_by_invocation": source, "invocations_running_at_the_same_time": overlap}


def refresh(out: Path) -> dict[str, Any]:
    """Recompute an existing file's derived parts (summary, cells run, provenance) from its rows."""
    with _locked(out):
        doc = json.loads(out.read_text())
        doc["invocations"] = sorted(doc.get("invocations", []), key=lambda i: i.get("started_utc") or "")
        doc["cells_run"] = {f"{s}/{m}": n for (s, m), n in _counts(doc["rows"]).items()}
        doc["summary"] = summarize(doc["rows"])
        doc["provenance"] = provenance(doc.get("invocations", []), doc["rows"])
        write_doc(out, doc)
    return doc


def _counts(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        out[(r["system"], r["moment"])] = out.get((r["system"], r["moment"]), 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
