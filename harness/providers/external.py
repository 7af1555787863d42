"""The ``external`` provider: endpoints of a cluster someone else runs (docker compose, a lab).

It starts and stops nothing, so node faults (kill, pause, restart) are refused with a
clear error; workloads and checkers work unchanged.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from harness.api import System
from harness.errors import ConfigError, EnvironmentProblem
from harness.providers.base import Cluster


@dataclass
class ExternalNode:
    name: str
    host: str
    port: int
    log_path: Path = field(default_factory=lambda: Path("/dev/null"))

    def pid(self) -> int | None:
        return None

    def is_running(self) -> bool:
        return True

    def _refuse(self, what: str) -> None:
        raise EnvironmentProblem(f"the external provider cannot {what} node {self.name}: it does not own "
                                 "the processes (use --provider netns or docker for node faults)")

    def stop(self, timeout_s: float = 10.0) -> None:
        self._refuse("stop")

    def kill(self) -> None:
        self._refuse("kill")

    def pause(self) -> None:
        self._refuse("pause")

    def resume(self) -> None:
        self._refuse("resume")

    def restart(self) -> None:
        self._refuse("restart")


class ExternalProvider:
    name = "external"

    def __init__(self, endpoints: Sequence[str]) -> None:
        self.endpoints = list(endpoints)

    def check_environment(self) -> None:
        if not self.endpoints:
            raise ConfigError("--endpoints", "endpoints", "the external provider needs at least one host:port")
        for e in self.endpoints:
            host, _, port = e.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError("--endpoints", "endpoints", f"{e!r} is not host:port")

    def start(self, system: System, n_nodes: int, run_dir: Path) -> Cluster:
        nodes = []
        for i, e in enumerate(self.endpoints, 1):
            host, _, port = e.rpartition(":")
            nodes.append(ExternalNode(f"n{i}", host, int(port)))
        cluster = Cluster(system=system, provider=self, nodes=nodes)  # type: ignore[arg-type]
        t0 = time.monotonic()
        cluster.ready = system.wait_ready(cluster, timeout_s=30)
        cluster.time_to_ready_s = time.monotonic() - t0
        return cluster

    def teardown(self) -> None:
        return None

    def __enter__(self) -> "ExternalProvider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()
