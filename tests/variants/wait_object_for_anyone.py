"""Broken: createWaitObject accepts a worker id the manager never gave (its updates would never come)."""

from promp import _manager, _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_create = _manager.ProManager.createWaitObject


def _any_id(self, workerId, ui_wait):
    if workerId in self._shell.session.workers:
        return _create(self, workerId, ui_wait)
    return _wait.ProMPWait(self, workerId, ui_wait)


_manager.ProManager.createWaitObject = _any_id
