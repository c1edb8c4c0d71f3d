"""Broken: every worker starts as a fresh interpreter, and startWorker() waits until it is up."""

from promp.manager import _api as _manager
from promp.manager import _spawn
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_spawn.Spawner._fork = lambda self, env, secret_fd: None
_start = _manager.ProManager.startWorker


def _waiting(self):
    wid = _start(self)
    self.evalPythonCode(wid, "pass")
    while self.isBusy():
        self.processMessages()
    return wid


_manager.ProManager.startWorker = _waiting
