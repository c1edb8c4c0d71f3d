"""Broken: a ProWorker_All task runs only on workers already up; those still starting never get it."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_submit = _core.ManagerSession.submit


def _ready_only(self, target, header, payload, want, now):
    if target != _core.ProWorker_All:
        return _submit(self, target, header, payload, want, now)
    ready = [r for r in self.workers.values() if r.state == _core.READY]
    if not ready:
        return _submit(self, target, header, payload, want, now)  # the same error when none is live
    return [s for rec in ready for s in self._assign(rec, self._new_job(header, payload, want, self._room_for(header, payload, 1)), now)]


_core.ManagerSession.submit = _ready_only
