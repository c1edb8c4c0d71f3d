"""Broken: abortOperation(ProWorker_All) aborts the task of the first busy worker only."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_abort = _core.ManagerSession.abort


def _first_busy_only(self, target, wait_ms, now):
    if target == _core.ProWorker_All:
        busy = [r.id for r in self.workers.values() if r.running and r.assigned]
        return _abort(self, busy[0], wait_ms, now) if busy else []
    return _abort(self, target, wait_ms, now)


_core.ManagerSession.abort = _first_busy_only
