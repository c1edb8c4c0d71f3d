"""Broken: the manager does not watch its workers' processes; it learns of a death from heartbeats only."""

import os

from promp import _manager_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_on_fd = _manager_shell.Shell._on_fd


def _exit_unseen(self, wid, what, fd, now):
    if what == 0:  # a worker's pidfd turned readable: its exit goes unnoticed
        os.close(fd)
        return False, False
    return _on_fd(self, wid, what, fd, now)


_manager_shell.Shell._on_fd = _exit_unseen
