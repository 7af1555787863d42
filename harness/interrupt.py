"""Ctrl-C and SIGTERM during a run: one time budget from the signal to the exit.

A run that gets SIGINT or SIGTERM does nothing but tear down: no final reads, no checkers,
no summary; its helper processes and nodes are killed and everything its ledger lists is
removed. Every step that can wait (load workers finishing, threads joining, node processes
being reaped, helper processes dying) takes its deadline from one budget that starts at the
signal: ``EXIT_BUDGET_S`` for the run's system, as its plugin declares (``exit_budget_s``:
15 s for etcd, 60 s for Cassandra, whose nodes are JVMs). ``harness.benchmarks.signal_exit`` measures how much of it a run uses, at
every moment of a run, under CPU load.

While a session runs, one ``Interruption`` owns SIGINT and SIGTERM (handlers run in the
main thread only, as Python delivers them there):

- the first signal records which signal and at what moment of the run (``set_moment``),
  sets ``requested()`` (threads poll it: a Python signal interrupts only the main thread)
  and raises ``RunInterrupted``, a ``KeyboardInterrupt``, in the main thread;
- a signal while the teardown runs (``removing``) raises nothing: it prints what is still
  being removed and how much of the budget is left, so a second Ctrl-C never cuts the
  teardown in half. This works whatever threads exist; blocking the signal in the main
  thread does not (the kernel then hands it to another thread, CPython sets its flag, and
  the main thread runs the handler at its next bytecode, in the middle of the teardown).

Helper processes the harness starts outside its ledger (load workers, nodetool JVMs) are
``track``ed, so ``kill_tracked`` can kill whatever is still alive when the teardown starts.

Module-level functions act on the active interruption (``install``), and are inert when
there is none (a provider used on its own, a unit test): ``requested()`` is then False and
``remaining()`` infinite.

Example::

    with Interruption(budget_s=15.0, log=log).install() as intr:
        intr.set_moment("cluster start")
        try:
            ...
        except KeyboardInterrupt:
            with removing(provider.remaining):    # later signals say what is left
                kill_tracked(); provider.teardown()
            intr.exit_watchdog()                  # the interpreter's own exit is bounded too
            raise
"""
from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator, Mapping, Protocol, runtime_checkable

class _ExitBudgets(Mapping[str, float]):
    """System name -> its plugin's ``exit_budget_s``, read from the registry when asked."""

    def __getitem__(self, system: str) -> float:
        from harness.registry import system_plugin

        return system_plugin(system).exit_budget_s

    def __iter__(self) -> Iterator[str]:
        from harness.registry import system_names

        return iter(system_names())

    def __len__(self) -> int:
        from harness.registry import system_names

        return len(system_names())


#: Seconds from the signal to the exit, per system (issue 10: 15 s for a 5-node etcd
#: cluster, 60 s for a 5-node Cassandra cluster, whatever the host load), as each system's
#: plugin declares them.
EXIT_BUDGET_S: Mapping[str, float] = _ExitBudgets()
#: For an ``Interruption`` made without a budget (a provider used on its own, a test).
DEFAULT_EXIT_BUDGET_S = 15.0
#: What a step that waits for something to finish by itself (load workers writing their
#: files, threads joining) may use of the budget left, at most; the rest is for the teardown.
WAIT_SHARE = 0.25
#: Seconds a tracked helper process gets after SIGTERM before SIGKILL.
HELPER_TERM_GRACE_S = 0.5
#: The share of the budget the main thread has to reach the teardown after a signal; past it
#: (stuck in a C call: a driver, a channel) a watchdog thread dumps every thread's stack and
#: tears down itself (``on_stuck``), then ends the process.
STUCK_SHARE = 0.4
#: Seconds the interpreter's own exit may take once everything is removed, before the
#: watchdog ends the process: at exit Python joins executor threads, and the Cassandra driver
#: shuts its clusters down, still connecting to nodes that no longer exist (measured: 8.5 s
#: after an interrupt during Cassandra's final reads, on a 2-core host under load).
EXIT_AFTER_TEARDOWN_S = 3.0

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Raised in the main thread by the first SIGINT or SIGTERM of a run (``except
    KeyboardInterrupt`` catches it, as it does Ctrl-C without a session)."""

    def __init__(self, signal_name: str, moment: str) -> None:
        super().__init__(f"interrupted by {signal_name} at {moment}")
        self.signal_name, self.moment = signal_name, moment


class Killable(Protocol):
    """A helper process: ``subprocess.Popen`` (``Polled``) and ``multiprocessing.Process``
    (``Joined``) both fit."""

    pid: int | None

    def kill(self) -> None: ...


@runtime_checkable
class Polled(Protocol):
    """A process asked with ``poll`` (None while it runs) and reaped with ``wait``: ``subprocess.Popen``."""

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@runtime_checkable
class Joined(Protocol):
    """A process asked with ``is_alive`` and reaped with ``join``: ``multiprocessing.Process``."""

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...


@runtime_checkable
class ListsWhatIsLeft(Protocol):
    """A provider that can say what its teardown has not removed yet."""

    def still_removing(self) -> list[str]: ...


class Interruption:
    """The signal state of one run: see the module docstring."""

    def __init__(self, budget_s: float = DEFAULT_EXIT_BUDGET_S,
                 log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> None:
        self.budget_s = float(budget_s)
        self.log = never_raises(log)
        self.signal_name: str | None = None
        #: time.monotonic() of the first signal
        self.at: float | None = None
        self.moment_at_signal: str | None = None
        self._moment: str | Callable[[], str] = "start"
        self._event = threading.Event()
        self._tracked: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._describe: list[Callable[[], list[str]]] = []
        self._old: dict[int, Any] = {}
        self._pending: list[str] = []
        self._teardown_started = threading.Event()
        self._on_stuck: Callable[[], None] | None = None

    # -- the moment of the run
    def set_moment(self, moment: str | Callable[[], str]) -> None:
        """What the run is doing now (a string, or a function asked at the signal)."""
        self._moment = moment

    @property
    def moment(self) -> str:
        m = self._moment
        try:
            return m() if callable(m) else m
        except Exception as e:  # noqa: BLE001 - a moment is a label; never fail the handler for it
            return f"unknown ({type(e).__name__})"

    # -- state
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float) -> bool:
        """Sleep up to ``timeout_s``, waking at once on a signal; True when one came."""
        return self._event.wait(timeout_s)

    def remaining(self) -> float:
        """Seconds left of the budget (infinite before any signal)."""
        if self.at is None:
            return float("inf")
        return self.budget_s - (time.monotonic() - self.at)

    def elapsed(self) -> float | None:
        return None if self.at is None else time.monotonic() - self.at

    def share(self, cap_s: float, fraction: float = WAIT_SHARE) -> float:
        """A waiting step's timeout: ``cap_s``, or ``fraction`` of the budget left if less
        (never below 0.1 s: asking a process to finish costs at least a scheduling round)."""
        left = self.remaining()
        if left == float("inf"):
            return cap_s
        return max(0.1, min(cap_s, fraction * left))

    @property
    def reason(self) -> str:
        """What INCOMPLETE says: ``interrupted by SIGINT at <moment>``."""
        return f"interrupted by {self.signal_name} at {self.moment_at_signal}"

    # -- handlers
    def install(self) -> "Interruption":
        """Own SIGINT and SIGTERM (main thread only; elsewhere nothing is installed) and make
        this the active interruption. SIGINT that the parent set to be ignored (a background
        job of a non-interactive shell) stays ignored."""
        global _ACTIVE
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                old = signal.getsignal(s)
                if s == signal.SIGINT and old == signal.SIG_IGN:
                    continue
                self._old[s] = old
                signal.signal(s, self._handle)
        _ACTIVE = self
        return self

    def uninstall(self) -> None:
        global _ACTIVE
        if threading.current_thread() is threading.main_thread():
            for s, old in self._old.items():
                signal.signal(s, old)
        self._old.clear()
        if _ACTIVE is self:
            _ACTIVE = None

    def __enter__(self) -> "Interruption":
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.at is None and not self._describe:
            self.signal_name, self.at, self.moment_at_signal = name, time.monotonic(), self.moment
            self._event.set()
            self.log(f"[gbench] {name} at {self.moment_at_signal}: stopping; everything the run created is "
                     f"removed within {self.budget_s:g} s (a second {name} shows what is left)")
            self._start_stuck_watchdog()
            raise RunInterrupted(name, self.moment_at_signal)
        self._signal_during_teardown(name)

    # -- a main thread that never reaches the teardown
    def on_stuck(self, teardown: Callable[[], None]) -> None:
        """What a watchdog thread runs if the main thread has not started the teardown
        (``teardown_started``) within ``STUCK_SHARE`` of the budget after the signal: the
        run's teardown and marking (it must be safe beside a late teardown from the main
        thread). The process then ends with status 130."""
        self._on_stuck = teardown

    def teardown_started(self) -> None:
        self._teardown_started.set()

    def _start_stuck_watchdog(self) -> None:
        if self._on_stuck is None:
            return
        after = STUCK_SHARE * self.budget_s

        def watch() -> None:
            if self._teardown_started.wait(after):
                return
            self.log(f"[gbench] the run did not reach its teardown within {after:g} s of the {self.signal_name} "
                     "(the main thread is stuck; its stack and every thread's follow); tearing down from a watchdog")
            with contextlib.suppress(Exception):
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)

            def tear_down() -> None:
                try:
                    assert self._on_stuck is not None
                    self._on_stuck()
                except BaseException as e:  # noqa: BLE001 - the process ends either way
                    self.log(f"[gbench] the watchdog's teardown failed: {type(e).__name__}: {e} "
                             "(run `gbench cleanup`)")

            t = threading.Thread(target=tear_down, name="gbench-stuck-teardown", daemon=True)
            t.start()
            t.join(max(5.0, self.remaining()))  # (it may wait on a lock the stuck thread holds)
            if t.is_alive():
                self.log("[gbench] the watchdog's teardown did not finish in the budget; ending the process "
                         "(the ledger is kept: run `gbench cleanup`)")
            with contextlib.suppress(Exception):
                sys.stderr.flush()
                sys.stdout.flush()
            os._exit(130)

        threading.Thread(target=watch, name="gbench-stuck-watchdog", daemon=True).start()

    def _signal_during_teardown(self, name: str) -> None:
        if self.at is None:  # a failing run's teardown: the first signal only starts the clock
            self.signal_name, self.at, self.moment_at_signal = name, time.monotonic(), "teardown"
            self._event.set()
        self._pending.append(name)
        left = self.still_removing()
        left_s = self.remaining()
        self.log(f"[gbench] {name} again: still removing {', '.join(left) if left else 'nothing (exiting)'}; "
                 f"the teardown goes on ({max(0.0, left_s):.1f} s of the {self.budget_s:g} s budget left)")

    def still_removing(self) -> list[str]:
        """What the teardown has not removed yet (helper processes, then the providers' lists)."""
        out = [f"helper process {pid}" for pid, p in self._alive_tracked()]
        for fn in list(self._describe):
            try:
                out += fn()
            except Exception as e:  # noqa: BLE001 - a description must not break the handler
                out.append(f"(cannot list: {type(e).__name__}: {e})")
        return list(dict.fromkeys(out))  # (nested blocks may describe the same provider)

    @contextlib.contextmanager
    def removing(self, describe: Callable[[], list[str]] | None = None) -> Iterator[None]:
        """Within: a signal prints what is still being removed and never raises. ``describe``
        lists what is left (e.g. a provider's resources not yet removed)."""
        entry = describe or (lambda: [])
        self._describe.append(entry)
        try:
            yield
        finally:
            self._describe.remove(entry)

    # -- helper processes
    def track(self, proc: Killable) -> None:
        if proc.pid is not None:
            with self._lock:
                self._tracked[proc.pid] = proc

    def untrack(self, proc: Killable) -> None:
        with self._lock:
            if proc.pid is not None:
                self._tracked.pop(proc.pid, None)

    def _alive_tracked(self) -> list[tuple[int, Any]]:
        with self._lock:
            items = list(self._tracked.items())
        return [(pid, p) for pid, p in items if _alive(p)]

    def kill_tracked(self) -> list[int]:
        """SIGKILL every tracked process still alive and reap it (bounded); returns their pids."""
        victims = self._alive_tracked()
        for _, p in victims:
            with contextlib.suppress(Exception):
                p.kill()
        deadline = time.monotonic() + max(1.0, self.share(5.0))
        for _, p in victims:
            _reap(p, max(0.0, deadline - time.monotonic()))
        with self._lock:
            for pid, p in victims:
                if not _alive(p):
                    self._tracked.pop(pid, None)
        return [pid for pid, _ in victims]

    # -- after the teardown
    def exit_watchdog(self, exit_code: int = 130) -> None:
        """Everything is removed: if the interpreter's own exit (joins of driver and executor
        threads still closing connections to nodes that are gone) has not ended the process
        ``EXIT_AFTER_TEARDOWN_S`` from now (or when the budget runs out, if sooner), end it."""
        delay = max(0.5, min(EXIT_AFTER_TEARDOWN_S, self.remaining() - 0.5))
        # Nothing is left to remove: later signals are ignored. (Python's finalization resets a
        # Python-level handler to the default action, and a late Ctrl-C then killed the process
        # with -2 instead of its 130; an ignored signal stays ignored.)
        if threading.current_thread() is threading.main_thread():
            for sig in self._old:
                signal.signal(sig, signal.SIG_IGN)

        def fire() -> None:
            time.sleep(delay)
            with contextlib.suppress(Exception):
                sys.stderr.write(f"[gbench] exit took over {delay:.1f} s after the teardown (threads still "
                                 "closing connections); ending the process\n")
                sys.stderr.flush()
                sys.stdout.flush()
            os._exit(exit_code)

        threading.Thread(target=fire, name="gbench-exit-watchdog", daemon=True).start()


def never_raises(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log`` that cannot fail: a teardown must go on when stderr is a closed pipe (the reader
    of ``gbench ... 2>&1 | tee`` killed with the run, a closed terminal)."""
    def say(line: str) -> None:
        with contextlib.suppress(Exception):
            log(line)
    return say


def _alive(p: Any) -> bool:
    if isinstance(p, Polled):
        return p.poll() is None
    if isinstance(p, Joined):
        try:
            return bool(p.is_alive())
        except (AssertionError, ValueError):  # a multiprocessing.Process not started / closed
            return False
    return False


def _reap(p: Any, timeout_s: float) -> None:
    with contextlib.suppress(Exception):
        if isinstance(p, Polled):
            p.wait(timeout=timeout_s)
        elif isinstance(p, Joined):
            p.join(timeout_s)


_ACTIVE: Interruption | None = None


def active() -> Interruption | None:
    return _ACTIVE


def requested() -> bool:
    """Has the active run been interrupted? (False when no run is active.)"""
    return _ACTIVE is not None and _ACTIVE.requested()


def signal_and_moment() -> tuple[str, str]:
    """(signal name, moment) of the active run's interruption, for ``RunInterrupted``."""
    a = _ACTIVE
    if a is None or a.signal_name is None:
        return "a signal", "an unknown moment"
    return a.signal_name, a.moment_at_signal or "an unknown moment"


def remaining() -> float:
    return _ACTIVE.remaining() if _ACTIVE is not None else float("inf")


def share(cap_s: float, fraction: float = WAIT_SHARE) -> float:
    """``Interruption.share`` of the active run, or ``cap_s`` when there is none."""
    return _ACTIVE.share(cap_s, fraction) if _ACTIVE is not None else cap_s


def set_moment(moment: str | Callable[[], str]) -> None:
    if _ACTIVE is not None:
        _ACTIVE.set_moment(moment)


def track(proc: Killable) -> None:
    if _ACTIVE is not None:
        _ACTIVE.track(proc)


def untrack(proc: Killable) -> None:
    if _ACTIVE is not None:
        _ACTIVE.untrack(proc)


def run_tracked(argv: list[str], timeout_s: float, **popen: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)`` for a helper
    process run from a thread: tracked while it runs, so a teardown can kill it (a thread
    cannot be interrupted, and its helper would outlive the run)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    track(proc)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:  # as subprocess.run: kill, reap, re-raise (TimeoutExpired included)
        proc.kill()
        with contextlib.suppress(Exception):
            proc.communicate(timeout=5)
        raise
    finally:
        untrack(proc)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def kill_tracked() -> list[int]:
    return _ACTIVE.kill_tracked() if _ACTIVE is not None else []


@contextlib.contextmanager
def removing(describe: Callable[[], list[str]] | None = None) -> Iterator[None]:
    """The active interruption's ``removing``; with none active, SIGINT and SIGTERM are held
    (main thread: the handlers are swapped for one that only records them) until the block
    ends and then re-raised as KeyboardInterrupt, so a teardown is never cut in half."""
    if _ACTIVE is not None:
        with _ACTIVE.removing(describe):
            yield
        return
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = {s: signal.getsignal(s) for s in SIGNALS}

    def hold(signum: int, frame: Any) -> None:
        pending.append(signum)
        with contextlib.suppress(Exception):
            print(f"[gbench] {signal.Signals(signum).name}: finishing the teardown first"
                  + (f" (still removing {', '.join(describe())})" if describe else ""), file=sys.stderr, flush=True)

    for s in SIGNALS:
        if old[s] != signal.SIG_IGN:
            signal.signal(s, hold)
    try:
        yield
    finally:
        for s in SIGNALS:
            signal.signal(s, old[s])
        if pending:
            handler = old.get(pending[0])
            if callable(handler):
                handler(pending[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(pending[0])
