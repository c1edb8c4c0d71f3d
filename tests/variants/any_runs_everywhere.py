"""Broken: ProWorker_Any runs the task on every worker."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_submit = _core.ManagerSession.submit


def _everywhere(self, target, header, payload, want, now):
    return _submit(self, _core.ProWorker_All if target == _core.ProWorker_Any else target, header, payload, want, now)


_core.ManagerSession.submit = _everywhere
