"""Broken: the manager does not watch its workers' processes; it learns of a death from heartbeats only."""

from promp import _manager_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_spawn = _manager_shell.Shell.spawn


def _spawn_unwatched(self, wid):
    proc = _spawn(self, wid)
    with self.lock:
        self._new_fds = [entry for entry in self._new_fds if entry[2] != 0]  # drop the pidfd
    return proc


_manager_shell.Shell.spawn = _spawn_unwatched
