"""The JVM systems' local images (issue 13): a Debian base made by debootstrap from Debian's own
packages and ``docker import``ed, a JRE 17 layer from Debian's OpenJDK, and each system's
recipe from its plugin folder (harness/systems/<system>/image/recipe.env), built by
harness/setup/docker/jvm-images.sh. Tags come from the inputs (the same inputs, the same tags;
present images are not rebuilt), the JRE runs, and the Cassandra and ZooKeeper images hold
exactly the jars the netns provider runs.

Needs a Docker engine (started here under CI=true or GBENCH_START_DOCKERD=1, as the docker
provider's tests do), root, debootstrap and the Debian mirror; without an engine they skip."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from harness.benchmarks.jvm_images import parse_steps
from harness.providers.docker import DockerdHandle
from harness.systems.cassandra import distribution as cassandra
from harness.systems.zookeeper import distribution as zookeeper
from tests.harness.providers.test_docker import _may_set_up, _unavailable, engine  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "harness" / "setup" / "docker" / "jvm-images.sh"
TAG = re.compile(r"^gbench/(debian:bookworm-\d{8}-|jre17:|(cassandra|zookeeper):\d+\.\d+\.\d+-)[0-9a-f]{12}$")


def script(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)


def test_the_script_lines_parse_into_rows() -> None:
    out = ("[jvm-images] imported gbench/debian:x (packages sha256 c188db422080)\n"
           "[jvm-images] base image: 27.4 s, 117 MB\n[jvm-images] jre17 image: 0.0 s, 425 MB\n"
           "[jvm-images] cassandra image: 1.8 s, 494 MB\n[jvm-images] done\n")
    assert parse_steps(out) == [{"image": "base", "seconds": 27.4, "size_mb": 117},
                                {"image": "jre17", "seconds": 0.0, "size_mb": 425},
                                {"image": "cassandra", "seconds": 1.8, "size_mb": 494}]


@pytest.fixture(scope="module")
def tags(engine: DockerdHandle) -> list[str]:  # noqa: F811 (the fixture imported above)
    """This host's tags, the images built when missing (allowed under CI) and present."""
    first = script("--tags", timeout=120)
    if first.returncode != 0:
        _unavailable(f"jvm-images.sh --tags failed: {first.stderr.strip()[-500:]}")
    if script("--check", timeout=120).returncode != 0:
        if not _may_set_up():
            _unavailable("the JVM images are missing (run harness/setup/docker/jvm-images.sh)")
        built = script()
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return first.stdout.split()


@pytest.mark.cluster
def test_tags_come_from_the_inputs_and_a_warm_run_builds_nothing(tags: list[str]) -> None:
    assert len(tags) == 4 and all(TAG.match(t) for t in tags), tags
    assert script("--tags", timeout=120).stdout.split() == tags  # the same inputs, the same tags
    assert tags[2].startswith(f"gbench/cassandra:{cassandra.pinned_version()}-")
    assert tags[3].startswith(f"gbench/zookeeper:{zookeeper.pinned_version()}-")
    assert script("--check", timeout=120).returncode == 0
    for tag in tags[2:]:  # the name each plugin runs points at the image of these inputs
        assert inspect(tag.rsplit("-", 1)[0] + "-local")["Id"] == inspect(tag)["Id"]
    warm = script()
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert [line for line in warm.stdout.splitlines() if "up to date" in line] == [
        f"[jvm-images] {t} is up to date" for t in tags]
    assert not any(w in warm.stdout for w in ("debootstrap", "imported", "built"))


def inspect(tag: str) -> dict:
    return json.loads(subprocess.run(["docker", "image", "inspect", tag], capture_output=True, text=True,
                                     check=True).stdout)[0]


@pytest.mark.cluster
def test_the_base_is_labelled_and_the_jre_runs(tags: list[str]) -> None:
    base, jre = tags[:2]
    labels = inspect(base)["Config"]["Labels"]
    assert labels["gbench.image"] == "shared" and re.fullmatch("[0-9a-f]{12}", labels["gbench.packages.sha256"])
    assert base.split(":")[1].endswith(labels["gbench.inputs.sha256"])
    java = subprocess.run(["docker", "run", "--rm", "--network", "none", jre, "java", "-version"], capture_output=True,
                          text=True, timeout=120)
    assert java.returncode == 0 and re.search(r'openjdk version "17\.', java.stderr), java.stderr


@pytest.mark.cluster
@pytest.mark.parametrize("index, system", [(2, cassandra), (3, zookeeper)], ids=["cassandra", "zookeeper"])
def test_a_systems_image_holds_the_jars_the_netns_provider_runs(tags: list[str], index: int, system: object) -> None:
    tag, version = tags[index], system.pinned_version()
    name = tag.split("/")[1].split(":")[0]
    assert inspect(tag)["Config"]["Labels"][f"gbench.{name}.version"] == version
    listed = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "ls", tag,
                             f"/opt/{name}/lib"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(p.name for p in (system.CACHE_ROOT / version / "lib").glob("*.jar"))
