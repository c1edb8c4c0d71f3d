"""Broken: createWaitObject accepts a worker id the manager never gave (its updates would never come)."""

from promp.manager import _api as _manager
from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_create = _manager.ProManager.createWaitObject


def _any_id(self, workerId, ui_wait):
    if workerId in self._session.workers:
        return _create(self, workerId, ui_wait)
    wait = _wait.ProMPWait(self._routes, workerId, ui_wait)
    self._routes.add(wait)
    return wait


_manager.ProManager.createWaitObject = _any_id
