"""Planted bug: once a worker's exit is seen, the results still arriving from it are thrown away."""

from promp import _manager_core
from promp.core import *  # noqa: F403


class ManagerSession(_manager_core.ManagerSession):
    def on_done(self, wid, task_id, value, run_time, now):
        rec = self.workers.get(wid)
        if rec is not None and rec.state == _manager_core.EXITING:
            return []
        return super().on_done(wid, task_id, value, run_time, now)
