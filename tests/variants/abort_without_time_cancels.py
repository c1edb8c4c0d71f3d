"""Broken: an abort given again without a time (-1) takes back the kill an earlier abort of the task set."""

from promp.manager import _api as _manager
from promp.worker import _core as _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_abort = _manager.ProManager.abortOperation
_on_abort = _worker_core.WorkerSession.on_abort


def _cancelling(self, target, wait_ms=-1):
    _abort(self, target, wait_ms)
    if wait_ms < 0 and isinstance(target, int) and target in self._session.workers:
        self._session.workers[target].abort_kill_at = None  # its deadline now reads as none: never due


def _worker_cancelling(self, task_id, wait_ms, now):
    _on_abort(self, task_id, wait_ms, now)
    if wait_ms < 0:
        self.deadlines.pop(task_id, None)


_manager.ProManager.abortOperation = _cancelling
_worker_core.WorkerSession.on_abort = _worker_cancelling
in_workers(__name__)
