"""Planted bug (the reference's, issue 18): stopWorker's grace runs from the stop, so tasks queued before it are killed."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def _arm_stop_kill(self, rec, now):
        if rec.state in (_core.STOPPING, _core.STOP_PENDING) and rec.stop_kill_at is None:
            rec.stop_kill_at = now + self.stop_grace
            self.deadlines.add(("stop", rec.id), rec.stop_kill_at)
