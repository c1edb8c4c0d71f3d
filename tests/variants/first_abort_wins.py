"""Broken: an abort given again for a task is ignored, even one with less time: the first abort's deadline stands."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_abort = _manager.ProManager.abortOperation


def _first_only(self, target, wait_ms=-1):
    session = self._session
    rec = session.workers.get(target) if isinstance(target, int) else None
    if rec is not None and rec.abort_task is not None and rec.abort_task == session.running_task(target):
        return  # this task was aborted already
    _abort(self, target, wait_ms)


_manager.ProManager.abortOperation = _first_only
