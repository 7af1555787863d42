"""TCP connect probes from inside a node's network namespace: does traffic pass?

A probe runs a tiny Python program in the node's namespace (``exec_in_node_netns``) that
opens TCP connections to peers' ports, all in parallel, each bounded by a timeout:

- ``ok``: connected (the path works both ways: SYN out, SYN-ACK back);
- ``refused``: the peer answered with a RST (the path works; nothing listens, e.g. a
  killed node);
- ``timeout``: no answer in time (a DROP rule, or a paused/partitioned host);
- ``error:<errno name>``: anything else (no route...).

``reachable`` = ok or refused: the network passes packets. Partitions are verified with
one attempt per pair; packet loss with many attempts per pair (each attempt needs the SYN
and the SYN-ACK to survive, so with loss ``p`` on each direction about ``1-(1-p)^2`` of
them time out within one SYN retransmission interval).
"""
from __future__ import annotations

import json
import math
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

# Runs in the node's namespace: standard library only, prints one JSON object.
_SCRIPT = r"""
import errno, json, socket, sys, threading
targets, count, timeout = json.loads(sys.argv[1])
res = {f"{h}:{p}": [] for h, p in targets}
lock = threading.Lock()
def one(h, p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((h, p)); r = "ok"
    except ConnectionRefusedError:
        r = "refused"
    except (socket.timeout, TimeoutError):
        r = "timeout"
    except OSError as e:
        r = "error:" + (errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e))
    finally:
        s.close()
    with lock:
        res[f"{h}:{p}"].append(r)
ts = [threading.Thread(target=one, args=(h, p)) for h, p in targets for _ in range(count)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(res))
"""

REACHABLE = ("ok", "refused")


def probe_from_node(net: Any, node: str, targets: Sequence[tuple[str, int]], *, count: int = 1,
                    timeout_s: float = 1.0) -> dict[str, list[str]]:
    """Connect ``count`` times to each ``(host, port)`` from inside ``node``'s namespace.

    Returns ``{"host:port": [outcome, ...]}``. Raises ``ClusterError`` (from the provider)
    if the probe program itself cannot run.
    """
    arg = json.dumps([[list(t) for t in targets], count, timeout_s])
    p = net.exec_in_node_netns(node, [sys.executable, "-I", "-c", _SCRIPT, arg], check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def probe_matrix(net: Any, addresses: dict[str, str], port: int, *, timeout_s: float = 1.0,
                 sources: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
    """One connect from every source node to every other node's ``port``, all sources in
    parallel: ``{src: {dst: outcome}}``."""
    srcs = list(sources) if sources is not None else list(addresses)

    def run(src: str) -> tuple[str, dict[str, str]]:
        peers = [(d, h) for d, h in addresses.items() if d != src]
        r = probe_from_node(net, src, [(h, port) for _, h in peers], count=1, timeout_s=timeout_s)
        return src, {d: r[f"{h}:{port}"][0] for d, h in peers}

    with ThreadPoolExecutor(max_workers=max(1, len(srcs))) as ex:
        return dict(ex.map(run, srcs))


def probe_from_host(addresses: dict[str, str], port: int, timeout_s: float = 1.0) -> dict[str, str]:
    """One connect from the harness (host namespace) to each node's ``port``."""
    def one(item: tuple[str, str]) -> tuple[str, str]:
        name, host = item
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout_s)
        try:
            s.connect((host, port))
            return name, "ok"
        except ConnectionRefusedError:
            return name, "refused"
        except (socket.timeout, TimeoutError):
            return name, "timeout"
        except OSError as e:
            return name, f"error:{e.errno}"
        finally:
            s.close()

    with ThreadPoolExecutor(max_workers=max(1, len(addresses))) as ex:
        return dict(ex.map(one, addresses.items()))


def compare_matrix(observed: dict[str, dict[str, str]], expect_reachable: Any) -> dict[str, Any]:
    """Check a probe matrix against expectations (``expect_reachable(src, dst) -> bool``).

    Returns ``{"ok": bool, "checked": n, "mismatches": [{"src","dst","expected","observed"}]}``.
    """
    mismatches = []
    n = 0
    for src, row in sorted(observed.items()):
        for dst, outcome in sorted(row.items()):
            n += 1
            want = expect_reachable(src, dst)
            got = outcome in REACHABLE
            if want != got:
                mismatches.append({"src": src, "dst": dst, "expected": "reachable" if want else "blocked",
                                   "observed": outcome})
    return {"ok": not mismatches, "checked": n, "mismatches": mismatches}


def expected_connect_failure(loss_each_way: float) -> float:
    """Share of single-SYN connect attempts that time out with loss ``p`` on both directions."""
    return 1.0 - (1.0 - loss_each_way) ** 2


def loss_consistent(failed: int, attempts: int, expected_fraction: float, sigmas: float = 4.0) -> bool:
    """Is ``failed`` of ``attempts`` consistent with a binomial at ``expected_fraction``?

    Within ``sigmas`` standard deviations (plus one for discreteness); at the extremes
    (0 or 1) the count must match exactly.
    """
    if attempts <= 0:
        return False
    mean = attempts * expected_fraction
    sd = math.sqrt(attempts * expected_fraction * (1.0 - expected_fraction))
    return abs(failed - mean) <= sigmas * sd + (1.0 if 0.0 < expected_fraction < 1.0 else 0.0)
