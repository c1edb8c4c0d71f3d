"""Planted bug: ProWorker_Any may pick a worker whose exit is seen but not final."""

from promp import _manager_core
from promp.core import *  # noqa: F403


class ManagerSession(_manager_core.ManagerSession):
    def _pick_for_any(self, now):
        for rec in self.workers.values():
            if rec.state == _manager_core.EXITING and not rec.assigned:
                return rec
        return super()._pick_for_any(now)
