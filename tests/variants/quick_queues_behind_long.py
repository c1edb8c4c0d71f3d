"""Broken: with every worker busy, a known-quick ProWorker_Any task queues on the least loaded worker, whatever it runs."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _pick_for_any(self, now):
    idle = self._idle
    while idle:
        rec = idle.pop(next(iter(idle)))
        if rec.state == _core.READY and not rec.assigned:
            return rec
    if not self._known_quick(self.any_queue[0].task_kind):
        return None
    best = None
    for rec in self.workers.values():
        if rec.state == _core.READY and len(rec.assigned) < rec.depth and (best is None or len(rec.assigned) < len(best.assigned)):
            best = rec
    return best


_core.ManagerSession._pick_for_any = _pick_for_any
