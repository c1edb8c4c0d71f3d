"""Broken: ProWorker_All tasks are kept and replayed to every worker started later, as set-up code."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_submit = _core.ManagerSession.submit
_add = _core.ManagerSession.add_worker


def _remembering(self, target, header, payload, want, now):
    if target == _core.ProWorker_All:
        self.__dict__.setdefault("_for_all", []).append((header, payload, want))
    return _submit(self, target, header, payload, want, now)


def _replaying(self, now=0.0):
    wid = _add(self, now)
    for header, payload, want in self.__dict__.get("_for_all", []):
        self._assign(self.workers[wid], self._new_job(header, payload, want, self._room_for(header, payload, 1)), now)
    return wid


_core.ManagerSession.submit = _remembering
_core.ManagerSession.add_worker = _replaying
