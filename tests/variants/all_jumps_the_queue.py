"""Broken: ProWorker_All tasks overtake the tasks given to the worker by id before it (a separate broadcast path)."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_submit = _core.ManagerSession.submit


def _broadcast_first(self, target, header, payload, want, now):
    actions = _submit(self, target, header, payload, want, now)
    if target == _core.ProWorker_All:
        for rec in self.workers.values():
            if rec.gate and rec.state == _core.STARTING:  # still starting: the broadcast goes out ahead of its queue
                rec.gate.insert(0, rec.gate.pop())
    return actions


_core.ManagerSession.submit = _broadcast_first
