"""Planted bug: ProWorker_Any may pick a worker whose exit is seen but not final."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def _pick_for_any(self, now):
        for rec in self.workers.values():
            if rec.state == _core.EXITING and not rec.assigned:
                return rec
        return super()._pick_for_any(now)
