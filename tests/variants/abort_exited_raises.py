"""Broken: abortOperation on a worker that has exited raises, where a Stop button races the end it stops."""

from promp import _errors
from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_abort = _manager.ProManager.abortOperation


def _raising(self, target, wait_ms=-1):
    rec = self._session.workers.get(target) if isinstance(target, int) else None
    if rec is not None and rec.exit_code is not None:
        raise _errors.ProWorkerExited(f"worker {target} has exited")
    _abort(self, target, wait_ms)


_manager.ProManager.abortOperation = _raising
