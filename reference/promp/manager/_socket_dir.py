"""The manager's private directory for its ipc sockets, and the cleanup of those dead managers left behind.

ipc endpoints live in a directory only the manager's user can enter (``mkdtemp`` makes it 0700).
A killed manager cannot remove its own; its workers remove it when they see it die, but not when
they left because it was frozen first, so each new manager removes those whose owner is gone.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

import psutil

PREFIX = "promp-"
OWNER = "owner"  # "pid start-time" of the manager's process, for cleaning up after dead ones
MAX_IPC_PATH = 100  # sun_path is 108 bytes on Linux: room for the socket's name


def process_stamp(pid: int) -> str:
    try:
        return f"{pid} {psutil.Process(pid).create_time()}"
    except psutil.Error:
        return ""


def remove_stale() -> None:
    """Remove the socket directories of managers whose process is gone."""
    pattern = os.path.join(tempfile.gettempdir(), PREFIX + "*", OWNER)
    for owner in glob.glob(pattern):
        try:
            with open(owner) as f:
                stamp = f.read().strip()
        except OSError:
            continue
        pid = stamp.split(" ", 1)[0]
        if pid.isdigit() and process_stamp(int(pid)) != stamp:
            shutil.rmtree(os.path.dirname(owner), ignore_errors=True)


def make() -> str:
    """A new private directory for this manager's sockets, stamped with its owner."""
    remove_stale()
    path = tempfile.mkdtemp(prefix=PREFIX)
    with open(os.path.join(path, OWNER), "w") as f:
        f.write(process_stamp(os.getpid()))
    return path


def fits_ipc(path: str) -> bool:
    """Whether sockets named in ``path`` fit an ipc endpoint (else the manager uses tcp on loopback)."""
    return len(path) + 8 <= MAX_IPC_PATH


def remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
