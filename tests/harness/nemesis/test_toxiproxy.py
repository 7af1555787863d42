"""The Toxiproxy client: exact request bodies per toxic type and local validation (no server),
then real behaviour against a real ``toxiproxy-server`` on 127.0.0.1 in front of a local TCP
echo server (marker ``cluster``): measured latency, disabled proxies refusing, reset_peer
resetting, and ``reset()`` healing everything.

Without the binary the real tests skip; under CI they fail instead when a Go toolchain is
there, because set-up then builds ``.cache/bin/toxiproxy-server`` (no Docker needed)."""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from harness.nemesis.toxiproxy import (BINARY_ENV, DEFAULT_BINARY, TOXIC_TYPES, Proxy, Toxic, ToxiproxyClient,
                                       ToxiproxyError, ToxiproxyServer, find_binary, proxy_body, toxic_body)

IO_TIMEOUT_S = 3.0


# -- request bodies (no network) ------------------------------------------------------------------

@pytest.mark.parametrize("type_, kwargs, body", [
    ("latency", {"latency": 200, "jitter": 20},
     {"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"latency": 200, "jitter": 20}}),
    ("latency", {"latency": 50},
     {"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"latency": 50, "jitter": 0}}),
    ("bandwidth", {"rate": 64, "stream": "upstream"},
     {"name": "bandwidth_upstream", "type": "bandwidth", "stream": "upstream", "toxicity": 1.0,
      "attributes": {"rate": 64}}),
    ("slow_close", {"delay": 1500, "name": "slow"},
     {"name": "slow", "type": "slow_close", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"delay": 1500}}),
    ("timeout", {"timeout": 0, "toxicity": 0.25},
     {"name": "timeout_downstream", "type": "timeout", "stream": "downstream", "toxicity": 0.25,
      "attributes": {"timeout": 0}}),
    ("reset_peer", {"timeout": 100},
     {"name": "reset_peer_downstream", "type": "reset_peer", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"timeout": 100}}),
    ("slicer", {"average_size": 64, "size_variation": 16, "delay": 10},
     {"name": "slicer_downstream", "type": "slicer", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"average_size": 64, "size_variation": 16, "delay": 10}}),
    ("slicer", {"average_size": 1},
     {"name": "slicer_downstream", "type": "slicer", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"average_size": 1, "size_variation": 0, "delay": 0}}),
    ("limit_data", {"bytes": 1024, "toxicity": 0},
     {"name": "limit_data_downstream", "type": "limit_data", "stream": "downstream", "toxicity": 0.0,
      "attributes": {"bytes": 1024}}),
    ("latency", {"latency": 300.0},  # an integral float is an integer
     {"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0,
      "attributes": {"latency": 300, "jitter": 0}}),
])
def test_toxic_body_is_exact(type_: str, kwargs: dict[str, Any], body: dict[str, Any]) -> None:
    got = toxic_body(type_, **kwargs)
    assert got == body
    assert all(type(v) is int for v in got["attributes"].values())
    assert type(got["toxicity"]) is float


def test_every_supported_type_has_a_body_test() -> None:
    assert set(TOXIC_TYPES) == {"latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
                                "limit_data"}


@pytest.mark.parametrize("type_, kwargs, field", [
    ("nope", {}, "'nope'"),
    ("noop", {}, "'noop'"),
    ("latency", {}, "'latency'"),
    ("latency", {"latency": -1}, "'latency'"),
    ("latency", {"latency": 10, "jitter": -5}, "'jitter'"),
    ("latency", {"latency": 10.5}, "'latency'"),
    ("latency", {"latency": "10"}, "'latency'"),
    ("latency", {"latency": True}, "'latency'"),
    ("latency", {"latency_ms": 10}, "'latency_ms'"),
    ("bandwidth", {}, "'rate'"),
    ("bandwidth", {"rate": 0}, "'rate'"),
    ("slow_close", {}, "'delay'"),
    ("timeout", {"timeout": -1}, "'timeout'"),
    ("reset_peer", {}, "'timeout'"),
    ("slicer", {}, "'average_size'"),
    ("slicer", {"average_size": 0}, "'average_size'"),
    ("slicer", {"average_size": 8, "size_variation": 8}, "'size_variation'"),
    ("limit_data", {"bytes": -1}, "'bytes'"),
    ("latency", {"latency": 1, "stream": "sideways"}, "'stream'"),
    ("latency", {"latency": 1, "toxicity": 1.5}, "'toxicity'"),
    ("latency", {"latency": 1, "toxicity": -0.1}, "'toxicity'"),
    ("latency", {"latency": 1, "name": ""}, "'name'"),
])
def test_bad_toxic_input_names_the_field(type_: str, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        toxic_body(type_, **kwargs)


def test_proxy_body_is_exact_and_validated() -> None:
    assert proxy_body("etcd1", "127.0.0.1:0", "10.0.0.2:2379") == {
        "name": "etcd1", "listen": "127.0.0.1:0", "upstream": "10.0.0.2:2379", "enabled": True}
    assert proxy_body("x", "[::1]:8000", "h:1", enabled=False)["enabled"] is False
    for kwargs, field in [({"name": ""}, "'name'"), ({"listen": "127.0.0.1"}, "'listen'"),
                          ({"upstream": "h:port"}, "'upstream'"), ({"upstream": "h:70000"}, "'upstream'"),
                          ({"enabled": 1}, "'enabled'")]:
        args: dict[str, Any] = {"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1", **kwargs}
        with pytest.raises(ValueError, match=field):
            proxy_body(**args)


def test_toxic_from_json_undoes_float32() -> None:
    t = Toxic.from_json({"name": "l", "type": "latency", "stream": "upstream", "toxicity": 0.30000001192092896,
                         "attributes": {"latency": 5, "jitter": 0}})
    assert t == Toxic("l", "latency", "upstream", 0.3, {"latency": 5, "jitter": 0})


class SpyClient(ToxiproxyClient):
    """Records what would be sent instead of sending it."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.calls: list[tuple[str, str, Any]] = []

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        self.calls.append((method, path, body))
        return {"name": "p", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "enabled": True}


BAD_CALLS: list[tuple[str, Callable[[ToxiproxyClient], Any]]] = [
    ("'bogus'", lambda c: c.add_toxic("p", "bogus")),
    ("'latency'", lambda c: c.add_toxic("p", "latency")),
    ("'latency'", lambda c: c.add_toxic("p", "latency", latency=-200)),
    ("'rate'", lambda c: c.add_toxic("p", "bandwidth", rate=-1)),
    ("'stream'", lambda c: c.add_toxic("p", "latency", latency=1, stream="both")),
    ("'bytes'", lambda c: c.add_toxic("p", "limit_data")),
    ("proxy name", lambda c: c.add_toxic("", "latency", latency=1)),
    ("'upstream'", lambda c: c.create_proxy("q", "127.0.0.1:0", "nowhere")),
    ("'enabled'", lambda c: c.update_proxy("p", enabled="no")),  # type: ignore[arg-type]
    ("at least one", lambda c: c.update_proxy("p")),
    ("'listen'", lambda c: c.populate([Proxy("q", "127.0.0.1", "127.0.0.1:1")])),
    ("toxic name", lambda c: c.remove_toxic("p", "")),
]


@pytest.mark.parametrize("field, call", BAD_CALLS)
def test_bad_input_raises_before_any_request(field: str, call: Callable[[ToxiproxyClient], Any]) -> None:
    c = SpyClient()
    with pytest.raises(ValueError, match=field):
        call(c)
    assert c.calls == []


def test_methods_and_paths() -> None:
    c = SpyClient()
    c.update_proxy("a b", enabled=False, upstream="127.0.0.1:5")
    c.remove_toxic("a b", "x/y")
    c.delete_proxy("p")
    assert c.calls == [("PATCH", "/proxies/a%20b", {"enabled": False, "upstream": "127.0.0.1:5"}),
                       ("DELETE", "/proxies/a%20b/toxics/x%2Fy", None),
                       ("DELETE", "/proxies/p", None)]


def test_no_answer_is_a_toxiproxy_error_with_status_none() -> None:
    with socket.socket() as s:  # bound, never listening: connects are refused at once
        s.bind(("127.0.0.1", 0))
        c = ToxiproxyClient(f"http://127.0.0.1:{s.getsockname()[1]}", timeout_s=1.0)
        with pytest.raises(ToxiproxyError) as e:
            c.version()
    assert (e.value.status, e.value.method, e.value.path) == (None, "GET", "/version")


def test_server_start_failure_is_bounded_and_leaves_nothing(tmp_path: Path) -> None:
    """A 'server' that ignores SIGTERM and never answers: start gives up within its bounds,
    escalates to SIGKILL, and reaps the process."""
    pidfile = tmp_path / "pid"
    fake = tmp_path / "fake-toxiproxy"
    fake.write_text(f"#!{sys.executable}\nimport os, signal, time\n"
                    f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
                    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(30)\n")
    fake.chmod(0o755)
    srv = ToxiproxyServer(fake, start_timeout_s=1.0, stop_timeout_s=0.3)
    srv.START_ATTEMPTS = 1
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="did not answer /version"):
        srv.start()
    assert time.monotonic() - t0 < 5
    assert srv.proc is None
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(FileNotFoundError):
        ToxiproxyServer(tmp_path / "missing").start()


# -- a real toxiproxy-server on loopback ----------------------------------------------------------

def go_available() -> bool:
    return shutil.which("go") is not None or os.access("/usr/local/go/bin/go", os.X_OK)


def require_binary() -> Path:
    binary = find_binary()
    if binary is not None:
        return binary
    reason = (f"needs toxiproxy-server ({DEFAULT_BINARY} or ${BINARY_ENV}); set-up builds it from "
              "harness/setup/docker/toxiproxy with Go")
    if os.environ.get("CI") and go_available():
        pytest.fail(f"CI has Go but no toxiproxy-server: set-up should have built it: {reason}")
    pytest.skip(reason)


@pytest.mark.parametrize("ci, go, outcome", [("", True, "skip"), ("true", False, "skip"), ("true", True, "fail")])
def test_missing_binary_skips_or_fails(monkeypatch: pytest.MonkeyPatch, ci: str, go: bool, outcome: str) -> None:
    """Under CI a missing binary is a failure only where set-up could have built it (Go present)."""
    monkeypatch.setenv(BINARY_ENV, "/nonexistent/toxiproxy-server")
    monkeypatch.setenv("CI", ci)
    monkeypatch.setitem(globals(), "go_available", lambda: go)  # what require_binary looks up
    with pytest.raises(pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception):
        require_binary()


class EchoServer:
    """A TCP echo server on 127.0.0.1 in a thread, bounded: at most ``max_conns`` connections,
    ``lifetime_s`` seconds, and a recv timeout per connection."""

    def __init__(self, max_conns: int = 100, lifetime_s: float = 300.0) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.max_conns, self.deadline = max_conns, time.monotonic() + lifetime_s
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="echo-accept", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        for _ in range(self.max_conns):
            conn = None
            while conn is None and not self.stopping.is_set() and time.monotonic() < self.deadline:
                try:
                    conn, _ = self.sock.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
            if conn is None:
                return
            threading.Thread(target=self._echo, args=(conn,), name="echo-conn", daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(IO_TIMEOUT_S * 2)
            try:
                for _ in range(10_000):
                    data = conn.recv(65536)
                    if not data:
                        return
                    conn.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        self.sock.close()


def round_trip(s: socket.socket, payload: bytes = b"ping") -> float:
    """Seconds to send ``payload`` and read all of it back."""
    t0 = time.perf_counter()
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(got)} of {len(payload)} bytes")
        got += chunk
    assert got == payload
    return time.perf_counter() - t0


def connect(p: Proxy) -> socket.socket:
    return socket.create_connection(p.address, timeout=IO_TIMEOUT_S)


def echo_works(p: Proxy) -> bool:
    with connect(p) as s:
        return round_trip(s) < IO_TIMEOUT_S


@pytest.fixture(scope="module")
def server() -> Iterator[ToxiproxyServer]:
    binary = require_binary()
    with ToxiproxyServer(binary) as srv:
        yield srv


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    e = EchoServer()
    yield e
    e.close()


@pytest.fixture
def client(server: ToxiproxyServer) -> Iterator[ToxiproxyClient]:
    c = server.client()
    yield c
    for name in c.proxies():
        c.delete_proxy(name)


@pytest.fixture
def proxy(client: ToxiproxyClient, echo: EchoServer, request: pytest.FixtureRequest) -> Proxy:
    p = client.create_proxy(request.node.name[:40].replace("[", "_").replace("]", ""), "127.0.0.1:0",
                            f"127.0.0.1:{echo.port}")
    assert p.enabled and p.address[1] != 0
    return p


@pytest.mark.cluster
def test_version_and_server_lifecycle(server: ToxiproxyServer) -> None:
    assert server.client().version() == "2.12.0"
    with ToxiproxyServer(server.binary) as other:
        assert other.port != server.port
        proc = other.proc
        assert proc is not None and other.client().version() == "2.12.0"
        url = other.base_url
    assert proc.poll() is not None and other.proc is None
    with pytest.raises(ToxiproxyError) as e:
        ToxiproxyClient(url, timeout_s=1.0).version()
    assert e.value.status is None


@pytest.mark.cluster
def test_latency_toxic_adds_measured_delay(client: ToxiproxyClient, proxy: Proxy) -> None:
    with connect(proxy) as s:
        round_trip(s)  # warm-up
        base = [round_trip(s) for _ in range(5)]
    t = client.add_toxic(proxy.name, "latency", latency=200)
    assert t == Toxic("latency_downstream", "latency", "downstream", 1.0, {"latency": 200, "jitter": 0})
    assert client.toxics(proxy.name) == [t]
    with connect(proxy) as s:
        slow = [round_trip(s) for _ in range(3)]
    added_ms = (min(slow) - statistics.median(base)) * 1000
    detail = f"baseline {[round(x * 1000, 1) for x in base]} ms, with toxic {[round(x * 1000, 1) for x in slow]} ms"
    assert added_ms >= 180, detail
    assert max(slow) < 2.0, detail  # one 200 ms delay per round trip (downstream only), not more


@pytest.mark.cluster
def test_disabled_proxy_refuses_and_reenabling_restores(client: ToxiproxyClient, proxy: Proxy) -> None:
    with connect(proxy) as open_conn:
        round_trip(open_conn)
        p = client.update_proxy(proxy.name, enabled=False)
        assert p == Proxy(proxy.name, proxy.listen, proxy.upstream, False)
        assert client.get_proxy(proxy.name).enabled is False
        with pytest.raises(ConnectionRefusedError):
            connect(proxy).close()
        with pytest.raises(ConnectionError):  # the open connection was closed too (not a timeout)
            round_trip(open_conn)
    assert client.update_proxy(proxy.name, enabled=True) == proxy
    assert echo_works(proxy)


@pytest.mark.cluster
def test_reset_peer_resets_and_remove_toxic_restores(client: ToxiproxyClient, proxy: Proxy) -> None:
    t = client.add_toxic(proxy.name, "reset_peer", name="rst", timeout=0)
    assert (t.name, t.attributes) == ("rst", {"timeout": 0})
    with connect(proxy) as s:
        with pytest.raises(ConnectionResetError):
            round_trip(s)
    client.remove_toxic(proxy.name, "rst")
    assert client.toxics(proxy.name) == []
    assert echo_works(proxy)
    with pytest.raises(ToxiproxyError) as e:
        client.remove_toxic(proxy.name, "rst")
    assert (e.value.status, e.value.method, e.value.path) == (404, "DELETE", f"/proxies/{proxy.name}/toxics/rst")
    assert "toxic not found" in e.value.body


@pytest.mark.cluster
def test_reset_clears_everything(client: ToxiproxyClient, proxy: Proxy, echo: EchoServer) -> None:
    other = client.create_proxy("other", "127.0.0.1:0", f"127.0.0.1:{echo.port}")
    client.add_toxic(proxy.name, "latency", latency=500)
    client.add_toxic(proxy.name, "slicer", stream="upstream", average_size=1)
    client.add_toxic(other.name, "timeout", timeout=0)
    client.update_proxy(other.name, enabled=False)
    client.reset()
    assert client.proxies() == {proxy.name: proxy, other.name: other}
    assert client.toxics(proxy.name) == [] and client.toxics(other.name) == []
    with connect(proxy) as s:
        assert round_trip(s) < 0.4  # the 500 ms toxic is gone
    assert echo_works(other)


@pytest.mark.cluster
def test_bad_input_changes_nothing_on_the_server(client: ToxiproxyClient, proxy: Proxy) -> None:
    for _, call in BAD_CALLS:
        with pytest.raises(ValueError):
            call(client)
    assert client.proxies() == {proxy.name: proxy}
    assert client.toxics(proxy.name) == []


@pytest.mark.cluster
def test_server_errors_and_proxy_management(client: ToxiproxyClient, proxy: Proxy, echo: EchoServer) -> None:
    with pytest.raises(ToxiproxyError) as e:
        client.get_proxy("nope")
    assert (e.value.status, e.value.method, e.value.path) == (404, "GET", "/proxies/nope")
    with pytest.raises(ToxiproxyError) as e:
        client.create_proxy(proxy.name, "127.0.0.1:0", proxy.upstream)
    assert e.value.status == 409 and "already exists" in e.value.body
    client.add_toxic(proxy.name, "bandwidth", rate=100)
    with pytest.raises(ToxiproxyError) as e:
        client.add_toxic(proxy.name, "bandwidth", rate=200)
    assert e.value.status == 409
    moved = client.update_proxy(proxy.name, upstream=f"127.0.0.1:{echo.port}")
    assert moved.upstream == proxy.upstream and moved.enabled
    made = client.populate([Proxy("pop1", "127.0.0.1:0", proxy.upstream),
                            Proxy("pop2", "127.0.0.1:0", proxy.upstream, enabled=False)])
    assert [(p.name, p.enabled) for p in made] == [("pop1", True), ("pop2", False)]
    assert set(client.proxies()) == {proxy.name, "pop1", "pop2"}
    assert echo_works(client.get_proxy("pop1"))
    client.delete_proxy("pop2")
    assert set(client.proxies()) == {proxy.name, "pop1"}
