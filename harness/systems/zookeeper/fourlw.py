"""ZooKeeper's four-letter words: ask one server over its client port, parse what it says.

A four-letter word is a plain TCP exchange: connect to the client port, send the word, read
until the server closes. Only the whitelisted words answer (``config.FOUR_LETTER_WORDS``); a
server that is up but not part of a working quorum answers ``ruok`` with ``imok`` and every
other word with ``NOT_SERVING``'s sentence.

The parsers are pure (text in, values out) and tested on outputs captured from ZooKeeper 3.9.5
(``tests/harness/systems/zookeeper/test_fourlw.py``):

* ``srvr`` -> ``Srvr``: the version, the mode (``leader``, ``follower``, ``observer``,
  ``standalone``; ``None`` with ``serving=False`` when the server is not serving), the last
  zxid (epoch in the high 32 bits), latency min/avg/max in ms, counters;
* ``mntr`` -> ``dict``: ``key<TAB>value`` lines, values as int or float where they parse;
  ``latency_figures`` keeps the latency ones (``zk_*latency*``, the request and commit
  processors' summaries) as numbers.

Example::

    s = parse_srvr(ask("198.18.7.11", 2181, "srvr"))   # Srvr(mode="follower", zxid=0x100000003, ...)
    m = parse_mntr(ask("198.18.7.11", 2181, "mntr"))   # {"zk_server_state": "follower", ...}
"""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass

#: What 3.9 answers to every word but ``ruok`` while it is not serving (no quorum, syncing).
NOT_SERVING = "This ZooKeeper instance is not currently serving requests"
#: ``ruok``'s answer from a running server.
IMOK = "imok"
MAX_ANSWER_BYTES = 1 << 20


def ask(host: str, port: int, word: str, timeout_s: float = 1.0) -> str:
    """Send ``word`` to ``host:port`` and return the whole answer (OSError if it cannot)."""
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.settimeout(timeout_s)
        s.sendall(word.encode("ascii"))
        chunks, size = [], 0
        while size < MAX_ANSWER_BYTES:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
            size += len(data)
    return b"".join(chunks).decode("utf-8", "replace")


@dataclass(frozen=True)
class Srvr:
    """What ``srvr`` says about one server."""

    serving: bool
    mode: str | None = None  # leader | follower | observer | standalone
    version: str | None = None  # "3.9.5-293c895a..., built on 2026-02-11 20:14 UTC"
    zxid: int | None = None
    latency_min_ms: float | None = None
    latency_avg_ms: float | None = None
    latency_max_ms: float | None = None
    received: int | None = None
    sent: int | None = None
    connections: int | None = None
    outstanding: int | None = None
    node_count: int | None = None

    @property
    def epoch(self) -> int | None:
        """The leader epoch of the last zxid (its high 32 bits)."""
        return None if self.zxid is None else self.zxid >> 32


_SRVR_INT = {"Received": "received", "Sent": "sent", "Connections": "connections", "Outstanding": "outstanding",
             "Node count": "node_count"}


def parse_srvr(text: str) -> Srvr:
    """``srvr``'s answer as a ``Srvr``; ValueError when it is neither an answer nor NOT_SERVING."""
    if NOT_SERVING in text:
        return Srvr(serving=False)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if "Mode" not in fields:
        raise ValueError(f"not a srvr answer (no 'Mode:' line): {text[:200]!r}")
    kw: dict[str, object] = {"serving": True, "mode": fields["Mode"], "version": fields.get("Zookeeper version")}
    if "Zxid" in fields:
        kw["zxid"] = int(fields["Zxid"], 16)
    lat = fields.get("Latency min/avg/max")
    if lat:
        lo, avg, hi = (float(x) for x in lat.split("/"))
        kw.update(latency_min_ms=lo, latency_avg_ms=avg, latency_max_ms=hi)
    for key, name in _SRVR_INT.items():
        if key in fields:
            kw[name] = int(fields[key])
    return Srvr(**kw)  # type: ignore[arg-type]


def _number(value: str) -> int | float | str:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def parse_mntr(text: str) -> dict[str, int | float | str]:
    """``mntr``'s ``key<TAB>value`` lines; ValueError when the server is not serving or the
    text has no such line."""
    if NOT_SERVING in text:
        raise ValueError(NOT_SERVING)
    out: dict[str, int | float | str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep and key.strip():
            out[key.strip()] = _number(value.strip())
    if not out:
        raise ValueError(f"not a mntr answer: {text[:200]!r}")
    return out


_LATENCY = re.compile(r"latency|_time_ms$|_time$")
_SUMMARY_STAT = re.compile(r"^zk_(avg|min|max|p50|p95|p99|p999)_")


def latency_figures(mntr: dict[str, int | float | str]) -> dict[str, int | float]:
    """The latency and timing figures of a ``mntr`` answer: ``zk_avg_latency``,
    ``zk_min_latency``, ``zk_max_latency`` and, of every summary whose name says latency or
    time (``readlatency``, ``updatelatency``, ``proposal_latency``, ``*_time_ms`` ...), its
    ``avg``/``min``/``max``/``p50``/``p95``/``p99``/``p999`` (ms); counts and sums are left out."""
    return {k: v for k, v in mntr.items()
            if isinstance(v, (int, float)) and _LATENCY.search(k)
            and (k in ("zk_avg_latency", "zk_min_latency", "zk_max_latency") or _SUMMARY_STAT.match(k))}
