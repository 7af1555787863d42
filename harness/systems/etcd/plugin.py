"""etcd as a plugin (``harness.registry``): its read levels and their classes, its image, its
peer tool (etcd's own ``benchmark``), and how to build its system and client.

Cheap to import: gRPC and the etcd stubs are imported inside ``make_system`` / ``make_client``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.api import Client, ImageSpec, Level, PeerTool, System, SystemOptions
from harness.errors import ConfigError

#: etcd's reads (``RangeRequest.serializable``); writes have no level: every put, delete and
#: txn goes through Raft. Sources: etcd API guarantees, https://etcd.io/docs/v3.6/learning/api_guarantees/
LEVELS: tuple[Level, ...] = (
    Level("linearizable", "read", "strong",
          "The default. The member confirms with a quorum, through Raft's ReadIndex, that it has applied "
          "everything committed before the read started, so the read sees every write acknowledged before it; "
          "without a quorum it does not answer."),
    Level("serializable", "read", "weak",
          "Served from the member's own store without asking the leader: it may return an older revision than "
          "a write already acknowledged elsewhere, and a member cut off from the leader keeps answering. A client "
          "pinned to one member sees revisions that never go back while that member lives, nothing more."),
)


def etcd_image(version: str) -> ImageSpec:
    """The local image ``harness/setup/docker/images.sh`` builds, or the upstream one."""
    return ImageSpec(f"gbench/etcd:{version}-local", f"quay.io/coreos/etcd:v{version}", "/usr/local/bin/etcd")


@dataclass(frozen=True)
class EtcdBenchmarkTool:
    """etcd's ``tools/benchmark``, run beside each pure put or pure get closed-loop workload
    when the suite says ``etcd_benchmark: true`` (``harness.systems.etcd.peer``)."""

    name: str = "etcd_benchmark"
    suite_field: str = "etcd_benchmark"

    def facts(self) -> dict[str, Any] | None:
        from harness.systems.etcd.binaries import find_etcd_benchmark

        eb = find_etcd_benchmark()
        if eb is None:
            return None
        return {"path": str(eb.path), "version": eb.version, "source": eb.source}

    def run(self, workload: Any, cluster: Any, run_path: Path, run_id: str, all_rows: list[dict[str, Any]],
            workload_rows: list[dict[str, Any]], log: Callable[[str], None]) -> dict[str, Any] | None:
        from harness.systems.etcd.peer import run_peer_benchmark

        return run_peer_benchmark(workload, cluster, run_path, run_id, all_rows, workload_rows, log)


@dataclass(frozen=True)
class EtcdPlugin:
    name: str = "etcd"
    levels: tuple[Level, ...] = LEVELS
    default_read_level: str | None = "linearizable"
    options_field: str | None = None
    #: From SIGINT/SIGTERM to everything removed, for a 5-node cluster whatever the host
    #: load (issue 10's bound; ``harness.benchmarks.signal_exit`` measures it).
    exit_budget_s: float = 15.0
    peer_tools: tuple[PeerTool, ...] = (EtcdBenchmarkTool(),)
    default_suite: str | None = "workloads/suites/etcd.yaml"

    def parse_options(self, file: str, data: Mapping[str, Any] | None) -> SystemOptions | None:
        if data:
            raise ConfigError(file, "etcd", "etcd workloads have no options block")
        return None

    def validate_workload(self, workload: Any) -> None:
        """Nothing beyond the generic checks: etcd's read levels need no replication factor."""

    def image(self, version: str) -> ImageSpec:
        return etcd_image(version)

    def make_system(self) -> System:
        from harness.systems.etcd.binaries import find_etcd
        from harness.systems.etcd.system import EtcdSystem

        return EtcdSystem(find_etcd())

    def software_facts(self, system: System) -> dict[str, Any]:
        from harness.systems.etcd.system import EtcdSystem

        assert isinstance(system, EtcdSystem)
        b = system.binary
        return {"etcd": {"version": b.version, "path": str(b.path), "source": b.source, "warnings": list(b.warnings)}}

    def make_client(self, workload: Any, endpoint: str, all_endpoints: Sequence[str] = ()) -> Client:
        from harness.systems.etcd.client import EtcdClient

        return EtcdClient(endpoint, workload.value_size, workload.load.op_timeout_s)

    def routes_per_request(self, workload: Any) -> bool:
        return False

    def position_wait(self, workload: Any) -> str | None:
        """``SessionPositions``: a serializable read (the member's own state) is retried until
        the member's revision reaches the session's; a linearizable read needs no wait."""
        if workload.read_consistency != "serializable":
            return None
        return ("a position is the store revision a response carries; a serializable read is retried until its "
                "member's revision reaches the session's highest")


PLUGIN = EtcdPlugin()
