"""The manager's private directory for its ipc sockets, and the cleanup of those dead managers left behind.

ipc endpoints live in a directory only the manager's user can enter (``mkdtemp`` makes it 0700).  A killed
manager cannot remove its own; its workers remove it when they see it die, but not when they left because
it was frozen first, so each new manager removes those whose manager is gone.

Which those are is told by a lock, not by pids or clocks: a manager holds ``flock`` on the ``lock`` file of
its directory for its whole life, and the kernel lets it go when the process ends, however it ends.  A
directory whose lock can be taken is a dead manager's.  A process start time moves when the wall clock is
stepped, and a pid means another process in another pid namespace sharing the temp directory (containers):
both once had the live manager's directory removed under it.

The temp directory belongs to every user, so the cleanup opens nothing it has not checked first: only
directories (never a link to one) that this user owns, and in them a ``lock`` that is a regular file this
user owns, opened without following links and without blocking (a FIFO there hung every new manager, a
link to ``/dev/zero`` made it read until memory ran out).  Another user's directory is never touched, root's
manager included.  Directories of older versions (no ``lock``) are left alone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import tempfile

from .._constants import SOCKET_DIR_LOCK

log = logging.getLogger("promp")

PREFIX = "promp-"
LOCK = SOCKET_DIR_LOCK  # held (flock) by the live manager; holds its pid, for people
MAX_IPC_PATH = 100  # sun_path is 108 bytes on Linux: room for the socket's name
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _ours(st: os.stat_result, kind: int) -> bool:
    return stat.S_IFMT(st.st_mode) == kind and st.st_uid == os.getuid()


def _dead(path: str) -> bool:
    """Whether ``path`` is a socket directory of ours whose manager is gone (its lock can be taken)."""
    try:
        dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not _ours(os.fstat(dir_fd), stat.S_IFDIR):
            return False
        try:
            fd = os.open(LOCK, _OPEN, dir_fd=dir_fd)
        except OSError:  # none (an older version's, or not ours to judge), or a link
            return False
        try:
            if not _ours(os.fstat(fd), stat.S_IFREG):
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held: its manager lives
                return False
            return True
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def remove_stale() -> None:
    """Remove the socket directories of this user's managers whose process is gone."""
    root = tempfile.gettempdir()
    try:
        entries = [entry.name for entry in os.scandir(root) if entry.name.startswith(PREFIX)]
    except OSError:
        return
    for name in entries:
        path = os.path.join(root, name)
        if _dead(path):
            shutil.rmtree(path, ignore_errors=True)  # fd-based on Linux: it never follows a link placed inside


class SocketDir:
    """A new private directory for one manager's sockets, locked for the manager's life."""

    def __init__(self) -> None:
        remove_stale()
        self.path = tempfile.mkdtemp(prefix=PREFIX)
        # locked under another name, then renamed: a sweep by another process's new manager must never see the
        # lock file unlocked (it would take the lock, judge the directory a dead manager's and remove it)
        unnamed = os.path.join(self.path, LOCK + ".new")
        self._lock = os.open(unnamed, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        os.write(self._lock, f"{os.getpid()}\n".encode())
        os.rename(unnamed, os.path.join(self.path, LOCK))

    def fits_ipc(self) -> bool:
        """Whether sockets named in it fit an ipc endpoint (else the manager uses tcp on loopback, and says so)."""
        if len(self.path) + 8 <= MAX_IPC_PATH:
            return True
        log.warning("the temp directory's path is too long for ipc sockets (%d bytes of %d): tcp on loopback", len(self.path), MAX_IPC_PATH)
        return False

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        """Let the lock go (a forked child's copy of it, or the manager's at the end)."""
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1
