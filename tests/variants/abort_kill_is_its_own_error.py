"""Broken: tasks lost to an abort's kill fail with a type of their own ("Aborted"), not WorkerExited."""

from promp import _errors
from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _error(kind, message, traceback, worker):
    if kind == "WorkerExited" and "abortOperation" in message:
        kind = "Aborted"
    return _errors.ProMPRemoteError(kind, message, traceback, worker)


_manager_core.ProMPRemoteError = _error
