"""Planted bug: a worker is killed for not starting while its hello waits, unread, behind a busy user's thread."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def tick(self, now):
        actions = super().tick(now)
        for wid in list(self._unstarted):  # decided on the keeper, as if the task channel had just been read through
            rec = self.workers[wid]
            if rec.state in (_core.STARTING, _core.STOP_PENDING) and not rec.kill_reason and now >= rec.start_by:
                actions.append(self._kill(rec, f"did not start within {self.start_timeout:g} s"))
            self._unstarted.discard(wid)
        return actions
