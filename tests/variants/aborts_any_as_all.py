"""Broken: abortOperation(ProWorker_Any) aborts the running task of every worker."""

from promp import _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_abort = _manager_core.ManagerSession.abort


def _any_means_all(self, target, wait_ms, now):
    return _abort(self, _manager_core.ProWorker_All if target == _manager_core.ProWorker_Any else target, wait_ms, now)


_manager_core.ManagerSession.abort = _any_means_all
