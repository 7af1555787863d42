"""Running a node's process as another user (``NodeLaunch.run_as``): for servers that refuse
to run as root, such as PostgreSQL ("root execution of the PostgreSQL server is not permitted").

What must hold for the user to run the node: the node's data dir is the user's (mode 0700,
as the server wants), and every directory above it up to ``/`` lets the user pass (the
provider's scratch dir, which it owns, is opened to ``--x`` for others; a parent it did not
create is never changed: when one blocks the user, the start is refused with the path).

The command is prefixed with ``setpriv`` (util-linux), which execs: the provider's process is
still the server's, so kill and pause reach it.

    prefix = hand_over(launch, scratch_dir)   # ["setpriv", "--reuid=105", ...]
"""
from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from harness.errors import EnvironmentProblem
from harness.providers.base import NodeLaunch


def user_ids(user: str) -> tuple[int, int]:
    """(uid, gid) of ``user``; EnvironmentProblem when the host has no such user."""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise EnvironmentProblem(f"a node must run as user {user!r}, and this host has no such user "
                                 "(the system's package creates it)") from None
    return pw.pw_uid, pw.pw_gid


def blocking_parent(path: Path, owned: Path) -> Path | None:
    """The first directory above ``path`` (``owned`` excluded: the provider opens it) that
    users other than its owner cannot pass (no ``o+x``), or None."""
    for d in path.resolve().parents:
        if d == owned.resolve():
            continue
        if not (d.stat().st_mode & stat.S_IXOTH):
            return d
    return None


def hand_over(launch: NodeLaunch, scratch: Path) -> list[str]:
    """Give ``launch.data_dir`` (and everything in it) to ``launch.run_as`` and open
    ``scratch`` (the provider's own dir above it) for passing through; the argv prefix that
    runs the command as the user. [] when ``run_as`` is None. EnvironmentProblem, nothing
    changed, when the user is missing or a parent the provider does not own blocks it."""
    if launch.run_as is None:
        return []
    uid, gid = user_ids(launch.run_as)
    blocked = blocking_parent(launch.data_dir, scratch)
    if blocked is not None:
        raise EnvironmentProblem(f"user {launch.run_as} cannot reach its data dir {launch.data_dir}: {blocked} is "
                                 f"mode {stat.S_IMODE(blocked.stat().st_mode):o} (no search permission for others); "
                                 "use a data root under a directory others may pass through")
    scratch.chmod(0o711)
    for root, dirs, files in os.walk(launch.data_dir):
        for name in (root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)):
            os.chown(name, uid, gid, follow_symlinks=False)
    launch.data_dir.chmod(0o700)
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"]
