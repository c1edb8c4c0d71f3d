"""Broken: results and messages taken from ProWorker_Any come by worker id, not oldest first."""

from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_take = _manager_core.Mailbox.take


def _lowest_worker_first(self, target=_manager_core.ProWorker_Any):
    if target in (_manager_core.ProWorker_Any, _manager_core.ProWorker_All):
        waiting = sorted(wid for wid, queue in self._queues.items() if queue)
        return _take(self, waiting[0]) if waiting else None
    return _take(self, target)


_manager_core.Mailbox.take = _lowest_worker_first
