"""Hinted handoff as Cassandra itself reports it: the "Finished hinted handoff of file F to
endpoint E" lines of the nodes' own logs, with their times on the scenario's clock.

Why the logs: they are the server's own account (HintsDispatchExecutor logs each hints file
it finished replaying to a node), cost nothing to collect, and survive the run (node logs are
kept in the run directory). Times: the log's ISO-8601 timestamp (the JVM's local time zone;
``tz_offset_s`` = the host's UTC offset) minus the wall-clock time of the load start
(``timeline.json: load_start_epoch_s``).
"""
from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path
from typing import Any, Iterable

_LINE = re.compile(r"^\w+\s+\[[^\]]*\]\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\s.*?"
                   r"Finished hinted handoff of file (\S+) to endpoint (\S+?):? (\S+?)(, partially)?\s*$")


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
    if path.exists():
        return path.read_text(errors="replace").splitlines()
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        with gzip.open(gz, "rt", errors="replace") as fh:
            return fh.read().splitlines()
    return []


def hinted_handoff(node_logs: dict[str, str], load_start_epoch_s: float | None,
                   tz_offset_s: float = 0.0) -> dict[str, Any]:
    """Replays found in the node logs, times in seconds after the load start."""
    events: list[dict[str, Any]] = []
    for node, path in sorted(node_logs.items()):
        events += parse_hint_lines(_read_lines(Path(path)), node, tz_offset_s)
    events.sort(key=lambda e: e["epoch_s"])
    if load_start_epoch_s is not None:
        for e in events:
            e["at_s"] = round(e["epoch_s"] - load_start_epoch_s, 3)
    return {"replayed_files": len(events), "events": events,
            "method": "node logs: HintsDispatchExecutor's 'Finished hinted handoff of file F to endpoint E' "
                      "lines, one per hints file replayed; at_s = seconds after the load start"}
