"""Planted bug: stopWorker on a worker that is still starting drops the tasks queued for it."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def on_hello(self, wid, pid, now):
        rec = self.workers.get(wid)
        if rec is not None and rec.state == _core.STOP_PENDING:
            rec.gate = [a for a in rec.gate if a.message.kind != "task"]
        return super().on_hello(wid, pid, now)
