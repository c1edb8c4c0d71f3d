"""Broken: abortOperation(ProWorker_Any) is taken to mean every worker."""

from promp import ProWorker_All, ProWorker_Any
from promp.manager import _api, _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_target = _api.ProManager._target
_abort = _core.ManagerSession.abort


def _any_allowed(self, target, any_allowed=True):
    return _target(self, target, True)


def _any_means_all(self, target, wait_ms, now):
    return _abort(self, ProWorker_All if target == ProWorker_Any else target, wait_ms, now)


_api.ProManager._target = _any_allowed
_core.ManagerSession.abort = _any_means_all
