"""A thin, typed client for Toxiproxy's REST API (server v2.12), and ``ToxiproxyServer``, which
runs a ``toxiproxy-server`` on loopback for as long as a ``with`` block lasts.

Why our own client: ``toxiproxy-python`` is unmaintained, its HTTP calls have no timeouts (a
hung server would hang the harness, which must always be able to heal a fault), and it keeps
one module-level server per process (we may talk to several: one per run network, one per
test). This one uses only the standard library (``urllib.request``), so nothing new is pinned.

Two kinds of errors, on purpose:

- ``ValueError`` naming the field, raised *before* any request, for anything we can check
  locally (unknown toxic type, missing / negative / non-integer attribute, bad stream or
  toxicity): a typo in a scenario fails at once instead of leaving a half-applied fault.
- ``ToxiproxyError(status, method, path, body)`` for anything the server or the network
  refused; ``status`` is ``None`` when no HTTP answer came at all (refused, timed out).

Facts of the v2.12.0 server this follows (``api.go``, ``toxic_collection.go``, ``toxics/``):

- Proxy updates use ``PATCH /proxies/{name}``; ``POST`` is still routed but logs "HTTP method
  POST is deprecated. Use HTTP PATCH instead." Fields left out keep their current values.
- ``POST /reset`` re-enables every proxy and removes every toxic (204, no body).
- ``POST /populate`` creates or replaces the given proxies; it answers ``{"proxies": [...]}``,
  plus ``error`` / ``status`` (and that HTTP status) when one of them failed.
- Toxic attributes are Go ``int64`` / ``int``: a fractional value would be refused by the
  server's JSON decoder, so it is refused here, with the field's name.
- A toxic sent without a name is named ``{type}_{stream}`` by the server; we send that name
  explicitly so the body says exactly what the server will hold.
- User-Agents starting with ``Mozilla/`` get 403; we send our own.

    with ToxiproxyServer() as srv:
        c = srv.client()
        c.create_proxy("etcd1", "127.0.0.1:0", "127.0.0.1:2379")
        c.add_toxic("etcd1", "latency", latency=200, jitter=20)
        c.reset()
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Sequence

DEFAULT_BINARY = Path(__file__).resolve().parents[2] / ".cache" / "bin" / "toxiproxy-server"
BINARY_ENV = "GBENCH_TOXIPROXY_BIN"
USER_AGENT = "guarantees-bench-toxiproxy-client/1"
STREAMS = ("downstream", "upstream")


class ToxiproxyError(Exception):
    """The server answered with an error status, or did not answer at all (``status`` None)."""

    def __init__(self, status: int | None, method: str, path: str, body: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.body = body
        super().__init__(f"toxiproxy {method} {path}: {status if status is not None else 'no answer'}: "
                         f"{body.strip()[:500]}")


@dataclass(frozen=True)
class Proxy:
    """One proxy as the server holds it. ``listen`` is the real address once created
    (``127.0.0.1:0`` becomes ``127.0.0.1:<port the server picked>``)."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Proxy:
        return cls(str(d["name"]), str(d["listen"]), str(d["upstream"]), bool(d["enabled"]))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled}

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of ``listen``, for ``socket.create_connection``."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Toxic:
    """One toxic on one proxy. ``stream``: ``downstream`` = server -> client data,
    ``upstream`` = client -> server. ``toxicity``: share of connections it applies to."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Toxic:
        # toxicity is a float32 on the server: 0.3 comes back as 0.30000001192092896
        return cls(str(d["name"]), str(d["type"]), str(d["stream"]), round(float(d["toxicity"]), 6),
                   dict(d.get("attributes") or {}))


@dataclass(frozen=True)
class Attr:
    """One toxic attribute: required or not (optional ones are sent as 0, the server's
    default, so a record of the body says everything), its unit, and its smallest value."""

    required: bool
    unit: str
    minimum: int = 0


# Every toxic type of v2.12.0 but noop, with the attributes its Go struct decodes.
TOXIC_TYPES: dict[str, dict[str, Attr]] = {
    "latency": {"latency": Attr(True, "ms"), "jitter": Attr(False, "ms")},
    # rate <= 0 means *unlimited* on the server, which nobody asking for a bandwidth toxic means
    "bandwidth": {"rate": Attr(True, "KB/s", minimum=1)},
    "slow_close": {"delay": Attr(True, "ms")},
    "timeout": {"timeout": Attr(True, "ms (0: data is dropped and the connection held open; removing the toxic closes it)")},
    "reset_peer": {"timeout": Attr(True, "ms (0: reset at the first data)")},
    # average_size 0 makes the server's chunk() recurse forever; size_variation >= average_size
    # can slice out of range; both are refused here (checked in toxic_body)
    "slicer": {"average_size": Attr(True, "bytes", minimum=1), "size_variation": Attr(False, "bytes"),
               "delay": Attr(False, "us")},
    "limit_data": {"bytes": Attr(True, "bytes")},
}


def _int_attr(field_name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"toxic attribute {field_name!r} must be an integer, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"toxic attribute {field_name!r} must be an integer (the server's field is an int64), "
                         f"got {value!r}")
    if value < minimum:
        raise ValueError(f"toxic attribute {field_name!r} must be >= {minimum}, got {value!r}")
    return int(value)


def toxic_body(type: str, *, name: str | None = None, stream: str = "downstream", toxicity: float = 1.0,
               **attributes: Any) -> dict[str, Any]:
    """The JSON body of ``POST /proxies/{proxy}/toxics``, validated; ``ValueError`` names the field."""
    spec = TOXIC_TYPES.get(type)
    if spec is None:
        raise ValueError(f"toxic type {type!r} is unknown (known: {', '.join(sorted(TOXIC_TYPES))})")
    if stream not in STREAMS:
        raise ValueError(f"toxic field 'stream' must be 'downstream' or 'upstream', got {stream!r}")
    if isinstance(toxicity, bool) or not isinstance(toxicity, (int, float)) or not 0.0 <= toxicity <= 1.0:
        raise ValueError(f"toxic field 'toxicity' must be a number in [0, 1], got {toxicity!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"toxic field 'name' must be a non-empty string, got {name!r}")
    unknown = sorted(set(attributes) - set(spec))
    if unknown:
        raise ValueError(f"{type} toxic has no attribute {unknown[0]!r} (its attributes: {', '.join(spec)})")
    attrs: dict[str, int] = {}
    for key, a in spec.items():
        if key not in attributes or attributes[key] is None:
            if a.required:
                raise ValueError(f"{type} toxic needs attribute {key!r} ({a.unit})")
            attrs[key] = 0
        else:
            attrs[key] = _int_attr(key, attributes[key], a.minimum)
    if type == "slicer" and attrs["size_variation"] >= attrs["average_size"]:
        raise ValueError(f"slicer toxic attribute 'size_variation' must be < average_size "
                         f"({attrs['average_size']}), got {attrs['size_variation']}")
    return {"name": name if name is not None else f"{type}_{stream}", "type": type, "stream": stream,
            "toxicity": float(toxicity), "attributes": attrs}


def _check_address(key: str, value: Any) -> str:
    """host:port with a numeric port; the server would only fail later, at listen or dial time."""
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"proxy field {key!r} must be host:port, got {value!r}")
    return value


def proxy_body(name: str, listen: str, upstream: str, enabled: bool = True) -> dict[str, Any]:
    """The JSON body of ``POST /proxies``, validated (the server only checks name and upstream)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"proxy field 'name' must be a non-empty string, got {name!r}")
    _check_address("listen", listen)
    _check_address("upstream", upstream)
    if not isinstance(enabled, bool):
        raise ValueError(f"proxy field 'enabled' must be a bool, got {enabled!r}")
    return {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}


def _path_part(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    return urllib.parse.quote(name, safe="")


class ToxiproxyClient:
    """One server's API. Every call has ``timeout_s`` (per socket operation: connect, and each
    read), and never goes through an HTTP proxy from the environment (``http_proxy`` must not
    capture a loopback or run-network address)."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"ToxiproxyClient({self.base_url!r}, timeout_s={self.timeout_s})"

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        """JSON in, JSON out (None for an empty answer); ``ToxiproxyError`` for anything else."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                                              **({"Content-Type": "application/json"} if data else {})})
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                status, raw = int(resp.status), resp.read()
        except urllib.error.HTTPError as e:
            try:
                text = e.read().decode(errors="replace")
            except OSError:
                text = ""
            finally:
                e.close()
            raise ToxiproxyError(e.code, method, path, text) from None
        except (urllib.error.URLError, OSError) as e:  # refused, reset, timed out
            raise ToxiproxyError(None, method, path, str(getattr(e, "reason", e))) from e
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ToxiproxyError(status, method, path, f"not JSON: {raw[:200]!r}") from e

    # -- server ---------------------------------------------------------------------------------

    def version(self) -> str:
        """The server's version, e.g. ``"2.12.0"`` (also the cheapest liveness check)."""
        return str(self._request("GET", "/version")["version"])

    def wait_until_answers(self, timeout_s: float, alive: Callable[[], bool] = lambda: True,
                           step_s: float = 0.05) -> str | None:
        """Poll ``/version`` until the server answers, bounded in count and in time (and by
        ``alive``: a server process that died will not answer); None once it answered, else
        the last error."""
        deadline = time.monotonic() + timeout_s
        last = "not polled"
        for _ in range(int(timeout_s / step_s) + 1):
            if not alive() or time.monotonic() > deadline:
                break
            try:
                self.version()
                return None
            except ToxiproxyError as e:
                last = str(e)
                time.sleep(step_s)
        return last

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic (the heal-everything button)."""
        self._request("POST", "/reset")

    # -- proxies --------------------------------------------------------------------------------

    def proxies(self) -> dict[str, Proxy]:
        return {k: Proxy.from_json(v) for k, v in (self._request("GET", "/proxies") or {}).items()}

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        """Create a proxy (409 if the name exists). ``listen`` may use port 0; the returned
        ``Proxy.listen`` has the real port."""
        return Proxy.from_json(self._request("POST", "/proxies", proxy_body(name, listen, upstream, enabled)))

    def get_proxy(self, name: str) -> Proxy:
        return Proxy.from_json(self._request("GET", f"/proxies/{_path_part(name, 'proxy name')}"))

    def update_proxy(self, name: str, *, enabled: bool | None = None, listen: str | None = None,
                     upstream: str | None = None) -> Proxy:
        """Change only the given fields (PATCH, the non-deprecated method in v2.12). Disabling
        closes the listener *and* every open connection through the proxy."""
        body: dict[str, Any] = {}
        if enabled is not None:
            if not isinstance(enabled, bool):
                raise ValueError(f"proxy field 'enabled' must be a bool, got {enabled!r}")
            body["enabled"] = enabled
        for key, value in (("listen", listen), ("upstream", upstream)):
            if value is not None:
                body[key] = _check_address(key, value)
        if not body:
            raise ValueError("update_proxy needs at least one of enabled, listen, upstream")
        return Proxy.from_json(self._request("PATCH", f"/proxies/{_path_part(name, 'proxy name')}", body))

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{_path_part(name, 'proxy name')}")

    def populate(self, proxies: Sequence[Proxy]) -> list[Proxy]:
        """Create or replace these proxies in one call (what a run sets up at its start).
        A failure raises ``ToxiproxyError`` even though the proxies before it were applied."""
        body = [proxy_body(p.name, p.listen, p.upstream, p.enabled) for p in proxies]
        out = self._request("POST", "/populate", body) or {}
        return [Proxy.from_json(p) for p in out.get("proxies") or []]

    # -- toxics ---------------------------------------------------------------------------------

    def add_toxic(self, proxy: str, type: str, *, name: str | None = None, stream: str = "downstream",
                  toxicity: float = 1.0, **attributes: Any) -> Toxic:
        """Add one toxic; it applies to open connections too. Attributes per type: see
        ``TOXIC_TYPES`` (all integers: ms, KB/s, bytes, or us for slicer's delay)."""
        path = f"/proxies/{_path_part(proxy, 'proxy name')}/toxics"
        body = toxic_body(type, name=name, stream=stream, toxicity=toxicity, **attributes)
        return Toxic.from_json(self._request("POST", path, body))

    def toxics(self, proxy: str) -> list[Toxic]:
        out = self._request("GET", f"/proxies/{_path_part(proxy, 'proxy name')}/toxics") or []
        return [Toxic.from_json(t) for t in out]

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request("DELETE", f"/proxies/{_path_part(proxy, 'proxy name')}/toxics/{_path_part(name, 'toxic name')}")


# -- a server process on loopback ---------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (bound and released: a tiny race, which ``ToxiproxyServer.start``
    handles by retrying on a new port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_binary() -> Path | None:
    """``$GBENCH_TOXIPROXY_BIN``, else ``.cache/bin/toxiproxy-server`` (set-up builds it), else PATH."""
    env = os.environ.get(BINARY_ENV)
    if env:
        return Path(env) if os.access(env, os.X_OK) else None
    if os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    found = shutil.which("toxiproxy-server")
    return Path(found) if found else None


def require_binary(needed_by: str) -> Path:
    """``find_binary()``, or one EnvironmentProblem that begins with ``needed_by`` (e.g.
    "client link faults need") and says how to get the server."""
    binary = find_binary()
    if binary is None:
        from harness.errors import EnvironmentProblem

        raise EnvironmentProblem(f"{needed_by} toxiproxy-server (make setup builds it into .cache/bin from Go modules)")
    return binary


class ToxiproxyServer:
    """Runs ``toxiproxy-server -host 127.0.0.1 -port N`` (N free) for a ``with`` block.

    ``__enter__`` returns once ``/version`` answers (bounded by ``start_timeout_s``), or raises
    ``RuntimeError`` with the server's output. ``__exit__`` sends SIGTERM, then SIGKILL after
    ``stop_timeout_s``, and reaps the process. Where ``setpriv`` exists the server also gets
    ``--pdeathsig KILL``, so a SIGKILLed harness does not leave it behind either (the signal
    follows the thread that started it: start it from a thread that outlives it).
    """

    START_ATTEMPTS = 3  # the free port can be taken between free_port() and the server's bind

    def __init__(self, binary: str | Path | None = None, *, host: str = "127.0.0.1", start_timeout_s: float = 10.0,
                 stop_timeout_s: float = 5.0, client_timeout_s: float = 5.0, log_level: str = "info") -> None:
        self.binary = Path(binary) if binary is not None else (find_binary() or DEFAULT_BINARY)
        self.host = host
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.client_timeout_s = client_timeout_s
        self.log_level = log_level  # the default (trace) writes several lines per API call
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        assert self.port is not None, "not started"
        return f"http://{self.host}:{self.port}"

    def client(self, timeout_s: float | None = None) -> ToxiproxyClient:
        return ToxiproxyClient(self.base_url, timeout_s or self.client_timeout_s)

    def output(self) -> str:
        """What the server wrote so far (its log), for error messages."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def start(self) -> ToxiproxyServer:
        if not os.access(self.binary, os.X_OK):
            raise FileNotFoundError(f"toxiproxy-server not found or not executable: {self.binary}")
        last = ""
        for _ in range(self.START_ATTEMPTS):
            self.port = free_port(self.host)
            self._log = tempfile.TemporaryFile(prefix="toxiproxy-")
            cmd = [str(self.binary), "-host", self.host, "-port", str(self.port)]
            if shutil.which("setpriv"):
                cmd = ["setpriv", "--pdeathsig", "KILL", "--", *cmd]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "LOG_LEVEL": self.log_level})
            if self._wait_ready():
                return self
            last = self.output()
            self.stop()
        raise RuntimeError(f"toxiproxy-server did not answer /version within {self.start_timeout_s}s "
                           f"({self.START_ATTEMPTS} attempts); its output:\n{last[-2000:]}")

    def _wait_ready(self) -> bool:
        proc = self.proc
        assert proc is not None
        probe = ToxiproxyClient(self.base_url, timeout_s=1.0)
        return probe.wait_until_answers(self.start_timeout_s, alive=lambda: proc.poll() is None) is None

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL, wait; idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=self.stop_timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ToxiproxyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
