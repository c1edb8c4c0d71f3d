"""Broken: waitForMessage gives up as soon as its worker (for ProWorker_Any: any worker) has exited,
even with a message from it waiting, or another worker still live."""

from promp.manager import _api as _manager
from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_wait = _manager.ProManager.waitForMessage


def _exits_first(self, target=_manager.ProWorker_Any, timeout_ms=-1):
    workers = self._session.workers
    if target in (_manager.ProWorker_Any, _manager.ProWorker_All):
        watched = list(workers.values())
    else:
        watched = [workers[target]] if target in workers else []
    if any(rec.state == _manager_core.EXITED for rec in watched):
        return False
    return _wait(self, target, timeout_ms)


_manager.ProManager.waitForMessage = _exits_first
