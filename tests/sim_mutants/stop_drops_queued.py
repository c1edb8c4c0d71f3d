"""Planted bug: stopWorker on a worker that is still starting drops the tasks queued for it."""

from promp import _manager_core
from promp.core import *  # noqa: F403


class ManagerSession(_manager_core.ManagerSession):
    def on_hello(self, wid, pid, now):
        rec = self.workers.get(wid)
        if rec is not None and rec.state == _manager_core.STOPPING:
            rec.unsent = [send for send in rec.unsent if send.header["k"] != "task"]
        return super().on_hello(wid, pid, now)
