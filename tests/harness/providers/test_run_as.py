"""NodeLaunch.run_as: the data dir handed to the user, parents checked, the setpriv prefix."""
from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from harness.errors import EnvironmentProblem
from harness.providers.base import NodeLaunch
from harness.providers.run_as import blocking_parent, hand_over

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temp dir where the provider itself puts such node dirs (``OPEN_SCRATCH_ROOT``,
    /var/tmp): pytest's own and a clone's parents may be 0700, which nobody passes."""
    from harness.providers.netns import OPEN_SCRATCH_ROOT

    d = Path(tempfile.mkdtemp(prefix="gbench-run-as-test-", dir=OPEN_SCRATCH_ROOT))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def _tree(base: Path, mode: int) -> tuple[Path, Path]:
    outer = base / "outer"
    scratch = outer / "scratch"
    (scratch / "n1" / "conf").mkdir(parents=True)
    (scratch / "n1" / "conf" / "a.conf").write_text("x")
    outer.chmod(mode)
    scratch.chmod(0o700)
    return scratch, scratch / "n1"


def test_no_user_no_prefix_and_nothing_changed(tmp_path: Path) -> None:
    scratch, node = _tree(tmp_path, 0o755)
    assert hand_over(NodeLaunch(["x"], node), scratch) == []
    assert (scratch.stat().st_mode & 0o777) == 0o700 and node.stat().st_uid == 0


def test_the_data_dir_becomes_the_users_and_the_scratch_dir_passable(open_tmp: Path) -> None:
    scratch, node = _tree(open_tmp, 0o755)
    nobody = pwd.getpwnam("nobody")
    prefix = hand_over(NodeLaunch(["x"], node, run_as="nobody"), scratch)
    assert prefix == ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--init-groups", "--"]
    assert (scratch.stat().st_mode & 0o777) == 0o711 and scratch.stat().st_uid == 0
    for p in (node, node / "conf", node / "conf" / "a.conf"):
        assert (p.stat().st_uid, p.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid), p
    assert (node.stat().st_mode & 0o777) == 0o700


def test_a_closed_parent_refuses_with_its_path_and_changes_nothing(open_tmp: Path) -> None:
    scratch, node = _tree(open_tmp, 0o700)
    assert blocking_parent(node, scratch) == open_tmp / "outer"
    with pytest.raises(EnvironmentProblem, match=r"outer is mode 700"):
        hand_over(NodeLaunch(["x"], node, run_as="nobody"), scratch)
    assert node.stat().st_uid == 0 and (scratch.stat().st_mode & 0o777) == 0o700


def test_an_unknown_user_is_named(tmp_path: Path) -> None:
    scratch, node = _tree(tmp_path, 0o755)
    with pytest.raises(EnvironmentProblem, match="no-such-gbench-user"):
        hand_over(NodeLaunch(["x"], node, run_as="no-such-gbench-user"), scratch)
