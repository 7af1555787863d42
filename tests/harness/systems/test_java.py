"""The shared Java lookup (harness/systems/java.py): which executable wins, and the error naming the system."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import EnvironmentProblem
from harness.systems import java
from harness.systems.java import find_java


def _fake_java(path: Path, version: str) -> Path:
    path.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-16' >&2\n")
    path.chmod(0o755)
    return path


def test_java_17_is_found_with_its_version(tmp_path: Path) -> None:
    rt = find_java("ZooKeeper 3.9.5", env={"GBENCH_JAVA": str(_fake_java(tmp_path / "java", "17.0.9"))})
    assert (rt.path, rt.version, rt.major) == (tmp_path / "java", "17.0.9", 17)


def test_the_error_names_the_system_that_needs_java_and_what_was_tried(tmp_path: Path) -> None:
    fake = _fake_java(tmp_path / "java", "11.0.22")
    with pytest.raises(EnvironmentProblem) as e:
        find_java("ZooKeeper 3.9.5", env={"GBENCH_JAVA": str(fake)})
    assert str(e.value).startswith(f"ZooKeeper 3.9.5 needs Java 17 and none was found (tried: {fake} (Java 11.0.22))")


def test_an_explicit_gbench_java_that_is_missing_is_not_replaced_by_another(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=f"Cassandra 5.0 needs Java 17 .*{tmp_path}/nope \\(missing\\)"):
        find_java("Cassandra 5.0", env={"GBENCH_JAVA": str(tmp_path / "nope")})


def test_jvm_sizes_and_a_nodes_container_limit() -> None:
    assert [java.jvm_size_bytes(s) for s in ("1G", "256m", "512k", "1048576", " 2g ")] == \
        [1 << 30, 256 << 20, 512 << 10, 1 << 20, 2 << 30]
    for bad in ("1GB", "", "-1G", "1.5G", "G"):
        with pytest.raises(ValueError, match="is not a JVM size"):
            java.jvm_size_bytes(bad)
    # heap + direct memory (default: the heap) + 768 MiB for metaspace, code cache, stacks
    assert java.container_memory_limit("1G") == (1 << 30) * 2 + (768 << 20) == 2952790016
    assert java.container_memory_limit("1G", "256m") == (1 << 30) + (256 << 20) + (768 << 20)
    assert java.container_memory_limit("256m") == 1342177280
