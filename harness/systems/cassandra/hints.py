"""Hinted handoff as Cassandra itself reports it: the "Finished hinted handoff of file F to
endpoint E" lines of the nodes' own logs, with their times on the scenario's clock. The
Cassandra plugin's ``harness.api.AfterFaultFindings``: per kill or pause window, the hints
the other nodes replayed to the node once it was back.

Why the logs: they are the server's own account (HintsDispatchExecutor logs each hints file
it finished replaying to a node), cost nothing to collect, and survive the run (node logs are
kept in the run directory). Times: the log's ISO-8601 timestamp (the JVM's local time zone,
the host's: ``tz_offset_s`` = its UTC offset) minus the wall-clock time of the load start
(``timeline.json: load_start_epoch_s``).
"""
from __future__ import annotations

import datetime as dt
import gzip
import re
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from harness.api import RestoredNodes
from harness.errors import DamagedFile

_LINE = re.compile(r"^\w+\s+\[[^\]]*\]\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\s.*?"
                   r"Finished hinted handoff of file (\S+) to endpoint (\S+?):? (\S+?)(, partially)?\s*$")
#: Replays listed per window (the count covers all of them).
MAX_EVENTS = 20
METHOD = ("node logs: HintsDispatchExecutor's 'Finished hinted handoff of file F to endpoint E' lines, one per "
          "hints file replayed; at_s = seconds after the load start")


def parse_hint_lines(lines: Iterable[str], node: str, tz_offset_s: float = 0.0) -> list[dict[str, Any]]:
    """Every finished hints-file replay in ``lines`` (one node's log): epoch seconds, file, target."""
    out = []
    for line in lines:
        m = _LINE.match(line.rstrip("\n"))
        if not m:
            continue
        ts = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=dt.timezone.utc)
        out.append({"from": node, "epoch_s": round(ts.timestamp() - tz_offset_s, 3), "file": m.group(2),
                    "to": m.group(3).lstrip("/"), "host_id": m.group(4), "partial": bool(m.group(5))})
    return out


def _read_lines(path: Path) -> list[str]:
    """The log's lines (or those of its ``.gz``, as the session compresses node logs);
    DamagedFile naming it when neither can be read: a missing log is never read as empty."""
    gz = path.with_name(path.name + ".gz")
    try:
        if path.exists() or not gz.exists():
            return path.read_text(errors="replace").splitlines()
        with gzip.open(gz, "rt", errors="replace") as fh:
            return fh.read().splitlines()
    except (OSError, EOFError) as e:
        raise DamagedFile(str(path if path.exists() or not gz.exists() else gz), f"cannot be read: {e}") from None


def hinted_handoff(node_logs: Mapping[str, Path], load_start_epoch_s: float | None,
                   tz_offset_s: float = 0.0) -> dict[str, Any]:
    """Replays found in the node logs, oldest first, times in seconds after the load start."""
    events: list[dict[str, Any]] = []
    for node, path in sorted(node_logs.items()):
        events += parse_hint_lines(_read_lines(Path(path)), node, tz_offset_s)
    events.sort(key=lambda e: e["epoch_s"])
    if load_start_epoch_s is not None:
        for e in events:
            e["at_s"] = round(e["epoch_s"] - load_start_epoch_s, 3)
    return {"replayed_files": len(events), "events": events, "method": METHOD}


def replays_to(events: Sequence[dict[str, Any]], window: RestoredNodes) -> dict[str, Any]:
    """The replays to ``window``'s nodes: how many, and how soon after they were back the first came."""
    to_it = [e for e in events if e["to"].split(":")[0] in window.hosts]
    end_s = window.restored_at_s
    after = [e for e in to_it if end_s is not None and e.get("at_s") is not None and e["at_s"] >= end_s]
    return {"files": len(to_it),
            "first_after_restore_s": round(after[0]["at_s"] - end_s, 3) if after and end_s is not None else
            "not measured: no replay to this node after it was back",
            "events": to_it[:MAX_EVENTS]}


def after_fault_findings(node_logs: Mapping[str, Path], windows: Sequence[RestoredNodes],
                         load_start_epoch_s: float | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``AfterFaultFindings.after_fault_findings`` for Cassandra: the log times are the host's
    local time (the JVM's zone), so the host's UTC offset now converts them."""
    hints = hinted_handoff(node_logs, load_start_epoch_s, tz_offset_s=time.localtime().tm_gmtoff)
    return ([replays_to(hints["events"], w) for w in windows],
            {k: v for k, v in hints.items() if k != "events"})
