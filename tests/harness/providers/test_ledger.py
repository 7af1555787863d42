"""The crash-cleanup ledger: pure parts with exact values, cleanup of real processes and
directories (no root needed), and one real crash: a harness SIGKILLed mid-run, then
``cleanup_all`` removes exactly what it left and nothing foreign."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import EnvironmentProblem
from harness.providers.ledger import (CleanupReport, CleanupResult, Ledger, cleanup_all, cleanup_plan, cleanup_run,
                                      default_key, parse_start_time, parse_state, proc_start_time, proc_state,
                                      same_process)

REPO = Path(__file__).resolve().parents[3]

# A /proc/<pid>/stat line whose command name contains spaces and ')' (field 22 = 987654).
STAT = ("4242 (we ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 3 0 987654 "
        "12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")


def test_parse_stat_fields_after_a_command_name_with_parentheses() -> None:
    assert parse_start_time(STAT) == 987654
    assert parse_state(STAT) == "S"


def test_proc_helpers_on_this_process() -> None:
    me = os.getpid()
    st = proc_start_time(me)
    assert st == parse_start_time(Path("/proc/self/stat").read_text())
    assert proc_state(me) in ("R", "S")
    assert same_process(me, st) and same_process(me, None)
    assert not same_process(me, st + 1), "a different start time means a reused pid: not ours"


def test_default_keys() -> None:
    assert default_key("process", {"node": "n2"}) == "process:n2"
    assert default_key("netns", {"name": "gb-abc123-n1"}) == "netns:gb-abc123-n1"
    assert default_key("dir", {"path": "/x/y/z"}) == "dir:/x/y/z"
    assert default_key("iptables_rule", {"delete_argv": ["iptables", "-D", "FORWARD", "-j", "ACCEPT"]}) == \
        "iptables_rule:iptables -D FORWARD -j ACCEPT"


def test_ledger_is_written_ahead_and_atomically(tmp_path: Path) -> None:
    led = Ledger.create("20250101T000000Z-unit", directory=tmp_path, meta={"subnet": "198.18.7.0/24"})
    assert led.path == tmp_path / "20250101T000000Z-unit.json"
    led.record("bridge", name="gbabc123-br")
    led.record("process", node="n1", netns="gb-abc123-n1", pid=None, start_time=None)
    led.update("process:n1", pid=5151, start_time=777)
    led.record("process", node="n1", netns="gb-abc123-n1", pid=6161, start_time=888)  # a restart replaces
    led.record("veth", name="gone")
    led.forget("veth:gone")
    on_disk = json.loads(led.path.read_text())
    assert on_disk == {
        "schema_version": 1, "run_id": "20250101T000000Z-unit", "owner_pid": os.getpid(),
        "owner_start_time": proc_start_time(os.getpid()), "created_utc": led.created_utc,
        "meta": {"subnet": "198.18.7.0/24"},
        "resources": [
            {"kind": "bridge", "key": "bridge:gbabc123-br", "name": "gbabc123-br"},
            {"kind": "process", "key": "process:n1", "node": "n1", "netns": "gb-abc123-n1", "pid": 6161,
             "start_time": 888},
        ]}
    assert Ledger.load(led.path).to_dict() == on_disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20250101T000000Z-unit.json"], "no temp file left"
    with pytest.raises(EnvironmentProblem, match="already exists"):
        Ledger.create("20250101T000000Z-unit", directory=tmp_path)
    with pytest.raises(ValueError, match="unknown resource kind 'volume'"):
        led.record("volume", name="v")


def test_cleanup_plan_order(tmp_path: Path) -> None:
    led = Ledger.create("plan", directory=tmp_path)
    led.record("bridge", name="br")
    led.record("iptables_rule", delete_argv=["iptables", "-D", "X"], check_argv=["iptables", "-C", "X"])
    for n in ("n1", "n2"):
        led.record("netns", name=f"ns-{n}")
        led.record("veth", name=f"v-{n}")
    led.record("dir", path="/a/b/c")
    led.record("process", node="n1", pid=None, start_time=None)
    led.record("process", node="n2", pid=None, start_time=None)
    assert [r["key"] for r in cleanup_plan(led)] == [
        "process:n2", "process:n1", "iptables_rule:iptables -D X", "netns:ns-n2", "netns:ns-n1",
        "veth:v-n2", "veth:v-n1", "bridge:br", "dir:/a/b/c"]


def test_cleanup_run_kills_verified_processes_even_paused_and_removes_dirs(tmp_path: Path) -> None:
    state, data = tmp_path / "state", tmp_path / "data" / "run"
    led = Ledger.create("kill", directory=state)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        os.kill(sleeper.pid, signal.SIGSTOP)
        led.record("process", node="n1", pid=sleeper.pid, start_time=proc_start_time(sleeper.pid))
        # our own pid with a wrong start time stands for a pid the kernel reused: must survive
        led.record("process", node="n2", pid=os.getpid(), start_time=proc_start_time(os.getpid()) + 1)
        led.record("dir", path=str(data))
        (data / "member").mkdir(parents=True)
        result = cleanup_run(led)
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        sleeper.kill()
    assert result == CleanupResult("kill", removed=[f"killed process {sleeper.pid} (node n1)",
                                                    f"removed directory {data}"], errors=[])
    assert not data.exists() and not led.path.exists()
    with pytest.raises(RuntimeError, match="closed"):
        led.record("dir", path="/x/y/z")
    # idempotent: a second cleanup of the same resources finds everything gone and succeeds
    again = Ledger(path=led.path, run_id="kill", owner_pid=led.owner_pid, owner_start_time=led.owner_start_time,
                   created_utc=led.created_utc, resources=list(led.resources))
    assert cleanup_run(again) == CleanupResult("kill")


def test_cleanup_refuses_shallow_dirs_and_keeps_the_ledger(tmp_path: Path) -> None:
    led = Ledger.create("shallow", directory=tmp_path)
    led.record("dir", path="/tmp")
    result = cleanup_run(led)
    assert result.errors == ["refusing to remove /tmp: not an absolute path at least two levels deep"]
    assert led.path.exists() and Path("/tmp").exists()


def _dead_pid() -> tuple[int, int]:
    p = subprocess.Popen(["sleep", "0"])
    st = proc_start_time(p.pid)
    p.wait()
    return p.pid, st or 1


def test_cleanup_all_skips_live_owners_unless_forced(tmp_path: Path) -> None:
    state = tmp_path / "state"
    live_dir, dead_dir = tmp_path / "d" / "live", tmp_path / "d" / "dead"
    live = Ledger.create("live-run", directory=state)
    live.record("dir", path=str(live_dir))
    live_dir.mkdir(parents=True)
    dead = Ledger.create("dead-run", directory=state)
    dead.record("dir", path=str(dead_dir))
    dead_dir.mkdir(parents=True)
    # rewrite the dead run's owner as a process that has exited
    d = json.loads(dead.path.read_text())
    d["owner_pid"], d["owner_start_time"] = _dead_pid()
    dead.path.write_text(json.dumps(d))
    (state / "broken.json").write_text("{not json")

    report = cleanup_all(directory=state)
    assert [r.run_id for r in report.cleaned] == ["dead-run"]
    assert report.skipped_live == [("live-run", os.getpid())]
    assert report.unreadable == [str(state / "broken.json")]
    assert live_dir.exists() and not dead_dir.exists()
    assert str(report).splitlines() == [
        "run dead-run: removed 1 resource(s)", f"  - removed directory {dead_dir}",
        f"run live-run: skipped, its harness (pid {os.getpid()}) is still running (use --force to clean it anyway)",
        f"unreadable ledger {state / 'broken.json'} (left in place)"]

    forced = cleanup_all(only_dead_owners=False, directory=state)
    assert [r.run_id for r in forced.cleaned] == ["live-run"] and not live_dir.exists()
    assert sorted(p.name for p in state.glob("*.json")) == ["broken.json"]


def test_empty_report_and_missing_state_dir(tmp_path: Path) -> None:
    assert str(cleanup_all(directory=tmp_path / "none")) == "nothing to clean up"
    assert str(CleanupReport()) == "nothing to clean up"


# --------------------------------------------------------------------------- a real crash

CRASHING_HARNESS = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from harness.providers.netns import NetnsProvider
    from harness.systems.etcd.binaries import find_etcd
    from harness.systems.etcd.system import EtcdSystem
    p = NetnsProvider(sys.argv[1]).with_forward_rule(True)
    p.start(EtcdSystem(find_etcd()), 3, Path(sys.argv[2]))
    print("READY", flush=True)
    time.sleep(600)
""")


def _set_subreaper(on: bool) -> None:
    """Adopt orphans (PR_SET_CHILD_SUBREAPER), so the etcd processes killed by cleanup are
    reaped here at once instead of lingering as zombies until PID 1 gets round to them
    (seconds on the reference VM; never under some container inits)."""
    ctypes.CDLL(None, use_errno=True).prctl(36, int(on), 0, 0, 0)


def _leftovers(run_id: str, short: str, data: Path, state: Path) -> list[str]:
    found = []
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {l.split()[0]}" for l in ns.splitlines() if short in l]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found += [f"link {l.split(':')[1].strip()}" for l in links.splitlines() if short in l]
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    found += [f"rule {l}" for l in rules.splitlines() if f"gbench:{run_id}" in l]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if str(data) in (d / "cmdline").read_text() and proc_state(int(d.name)) not in (None, "Z"):
                    found.append(f"process {d.name}")
            except OSError:
                pass
    if data.exists():
        found += [f"dir {p}" for p in data.iterdir()]
    found += [f"ledger {p}" for p in state.glob("*.json")]
    return found


@pytest.mark.cluster
def test_cleanup_all_after_sigkill_removes_exactly_what_the_run_left(require_cluster: None, tmp_path: Path) -> None:
    from harness.providers.netns import short_id

    state, data = tmp_path / "state", tmp_path / "data"
    run_id = f"crash-{os.getpid()}-{time.time_ns()}"
    env = dict(os.environ, GBENCH_STATE_DIR=str(state), GBENCH_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    foreign = "gbtest-foreign"
    subprocess.run(["ip", "netns", "del", foreign], capture_output=True)
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    bystander = subprocess.Popen(["ip", "netns", "exec", foreign, "sleep", "120"])
    _set_subreaper(True)
    harness = subprocess.Popen([sys.executable, "-c", CRASHING_HARNESS, run_id, str(tmp_path / "run")],
                               env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert harness.stdout is not None
        line = harness.stdout.readline()
        assert line.strip() == "READY", harness.stderr.read() if harness.poll() is not None else line
        harness.send_signal(signal.SIGKILL)
        harness.wait(timeout=10)
        left = _leftovers(run_id, short_id(run_id), data, state)
        kinds = {x.split()[0] for x in left}
        assert kinds == {"netns", "link", "rule", "process", "dir", "ledger"}, left
        node_pids = [r["pid"] for r in json.loads(next(state.glob("*.json")).read_text())["resources"]
                     if r["kind"] == "process"]

        report = cleanup_all(directory=state)

        assert [r.run_id for r in report.cleaned] == [run_id] and report.ok, str(report)
        assert _leftovers(run_id, short_id(run_id), data, state) == []
        assert foreign in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert bystander.poll() is None, "a process in a namespace the run did not create was killed"
        for pid in node_pids:  # adopted by us (subreaper): reap the killed nodes
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    finally:
        _set_subreaper(False)
        if harness.poll() is None:
            harness.kill()
        bystander.kill()
        bystander.wait()
        subprocess.run(["ip", "netns", "del", foreign], capture_output=True)
        cleanup_all(only_dead_owners=False, directory=state)  # never leave a cluster behind on failure
