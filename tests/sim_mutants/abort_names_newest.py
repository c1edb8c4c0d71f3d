"""Planted bug: the manager takes the task it gave a worker last for the one it runs, and aborts that one."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def running_task(self, wid):
        rec = self.workers.get(wid)
        if rec is None or not rec.running or not rec.assigned:
            return None
        return next(reversed(rec.assigned))
