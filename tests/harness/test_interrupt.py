"""``harness.interrupt``: the first SIGINT/SIGTERM of a run raises once with the moment, later
ones only say what is still being removed, helpers are killed, and without a run a teardown
block holds signals and re-raises them afterwards. Real signals to this process (main thread)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from harness import interrupt
from harness.interrupt import Interruption, RunInterrupted

REPO = Path(__file__).resolve().parents[2]


def _deliver(sig: int) -> None:
    """Send ``sig`` to this process and let the main thread run its handler."""
    os.kill(os.getpid(), sig)
    for _ in range(100):
        time.sleep(0.01)


def test_first_signal_raises_with_its_moment_and_later_ones_only_report() -> None:
    said: list[str] = []
    intr = Interruption(budget_s=15.0, log=said.append).install()
    try:
        intr.set_moment("warm-up")
        assert not interrupt.requested() and interrupt.remaining() == float("inf")
        with pytest.raises(RunInterrupted) as e:
            _deliver(signal.SIGTERM)
        assert (e.value.signal_name, e.value.moment) == ("SIGTERM", "warm-up")
        assert interrupt.requested() and intr.reason == "interrupted by SIGTERM at warm-up"
        assert 14.0 < interrupt.remaining() <= 15.0
        with intr.removing(lambda: ["netns gb-x-n1", "bridge gbx-br"]):
            _deliver(signal.SIGINT)  # a second signal: no exception
        assert said[-1].startswith("[gbench] SIGINT again: still removing netns gb-x-n1, bridge gbx-br; the teardown "
                                   "goes on (")
        _deliver(signal.SIGINT)  # after the teardown too: never raises again
        assert "still removing nothing (exiting)" in said[-1]
        assert intr.moment_at_signal == "warm-up"
    finally:
        intr.uninstall()
    assert interrupt.active() is None and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_moment_can_be_a_function_asked_at_the_signal() -> None:
    intr = Interruption(log=lambda s: None).install()
    try:
        state = {"phase": "load"}
        intr.set_moment(lambda: state["phase"])
        state["phase"] = "nemesis (partition at 12s)"
        with pytest.raises(RunInterrupted):
            _deliver(signal.SIGINT)
        assert intr.reason == "interrupted by SIGINT at nemesis (partition at 12s)"
    finally:
        intr.uninstall()


def test_share_takes_a_fraction_of_the_budget_left() -> None:
    intr = Interruption(budget_s=8.0, log=lambda s: None)
    assert intr.share(2.0) == 2.0  # no signal yet: the step's own cap
    intr.at = time.monotonic()  # as at a signal
    assert intr.share(5.0) == pytest.approx(2.0, abs=0.01)  # a quarter of 8 s
    assert intr.share(1.0) == 1.0
    intr.at = time.monotonic() - 100  # budget long gone: still a scheduling round
    assert intr.share(5.0) == 0.1


def test_tracked_helpers_are_killed_and_listed_until_then() -> None:
    intr = Interruption(log=lambda s: None).install()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        interrupt.track(sleeper)
        assert intr.still_removing() == [f"helper process {sleeper.pid}"]
        assert interrupt.kill_tracked() == [sleeper.pid]
        assert sleeper.poll() == -signal.SIGKILL and intr.still_removing() == []
    finally:
        sleeper.kill()
        sleeper.wait()
        intr.uninstall()


def test_run_tracked_from_a_thread_is_killed_by_the_teardown() -> None:
    """A nodetool-like helper run in a thread: the teardown kills it, the thread returns."""
    intr = Interruption(log=lambda s: None).install()
    out: dict[str, object] = {}

    def probe() -> None:
        out["p"] = interrupt.run_tracked([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=120)

    t = threading.Thread(target=probe)
    try:
        t.start()
        deadline = time.monotonic() + 10
        while not intr.still_removing() and time.monotonic() < deadline:
            time.sleep(0.01)
        t0 = time.monotonic()
        assert len(interrupt.kill_tracked()) == 1
        t.join(10)
        assert not t.is_alive() and time.monotonic() - t0 < 5
        assert out["p"].returncode == -signal.SIGKILL  # type: ignore[attr-defined]
    finally:
        intr.kill_tracked()
        t.join(10)
        intr.uninstall()


def test_without_a_run_a_teardown_block_holds_the_signal_then_raises_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert interrupt.active() is None
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt.removing(lambda: ["bridge gbx-br"]):
            _deliver(signal.SIGINT)
            done.append("rest of the teardown")
    assert done == ["rest of the teardown"]
    assert "SIGINT: finishing the teardown first (still removing bridge gbx-br)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


HELD_WITH_THREADS = textwrap.dedent("""
    import os, signal, sys, threading, time
    from harness import interrupt
    # other threads exist, as in a run (grpc, executors): masking the main thread's signals
    # would hand the signal to one of them and the handler would still run mid-block
    stop = threading.Event()
    for _ in range(4):
        threading.Thread(target=stop.wait, daemon=True).start()
    steps = []
    try:
        with interrupt.removing():
            os.kill(os.getpid(), signal.SIGINT)
            for i in range(50):
                time.sleep(0.01)
                steps.append(i)
    except KeyboardInterrupt:
        print("raised after", len(steps), "steps")
""")


def test_held_signals_wait_for_the_block_even_with_other_threads() -> None:
    p = subprocess.run([sys.executable, "-c", HELD_WITH_THREADS], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "raised after 50 steps", p.stdout + p.stderr


def test_sigint_ignored_by_the_parent_stays_ignored() -> None:
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    intr = Interruption(log=lambda s: None).install()
    try:
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) == intr._handle
    finally:
        intr.uninstall()
        signal.signal(signal.SIGINT, old)


STUCK_AT_EXIT = textwrap.dedent("""
    import threading, time
    from harness.interrupt import Interruption
    intr = Interruption(budget_s=15.0, log=lambda s: None).install()
    intr.at = time.monotonic()  # as after a signal and a teardown
    threading.Thread(target=time.sleep, args=(30,)).start()  # a driver thread that will not end soon
    intr.exit_watchdog()
""")


def test_the_exit_after_a_teardown_is_bounded_by_the_watchdog() -> None:
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", STUCK_AT_EXIT], cwd=REPO, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    assert p.returncode == 130 and took < interrupt.EXIT_AFTER_TEARDOWN_S + 5, (took, p.stderr)
    assert "ending the process" in p.stderr


STUCK_BEFORE_TEARDOWN = textwrap.dedent("""
    import os, signal, sys, time
    from harness.interrupt import Interruption
    intr = Interruption(budget_s=2.0, log=lambda s: print(s, file=sys.stderr, flush=True)).install()
    intr.on_stuck(lambda: open(sys.argv[1], "w").write("torn down by the watchdog"))
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        time.sleep(30)  # stuck (as in a C call that never returns): the teardown never starts here
""")


def test_a_main_thread_stuck_after_the_signal_is_torn_down_by_the_watchdog(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", STUCK_BEFORE_TEARDOWN, str(marker)], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    took = time.monotonic() - t0
    assert p.returncode == 130 and took < 10, (took, p.stderr)
    assert marker.read_text() == "torn down by the watchdog"
    assert "did not reach its teardown within 0.8 s of the SIGINT" in p.stderr
    assert "most recent call first" in p.stderr  # every thread's stack, to see where it was stuck
