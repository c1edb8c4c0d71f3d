"""Broken: a new worker gets the id of one that has exited (the lowest free slot), as slot-based pools do."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_add = _core.ManagerSession.add_worker


def _lowest_free(self, now=0.0):
    for wid, rec in list(self.workers.items()):
        if rec.state == _core.EXITED:
            del self.workers[wid]
            self._next_worker, keep = wid, self._next_worker
            try:
                return _add(self, now)
            finally:
                self._next_worker = keep
    return _add(self, now)


_core.ManagerSession.add_worker = _lowest_free
