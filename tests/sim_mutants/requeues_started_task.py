"""Planted bug: a dead worker's ProWorker_Any tasks all go back to the queue, the one it was running too."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def _retire(self, rec, now):
        started = next(iter(rec.assigned.values()), None)
        if started is not None and started.any:  # as if it had never begun: it runs again elsewhere
            del rec.assigned[started.t]
            started.worker = None
            self.any_queue.appendleft(started)
        return super()._retire(rec, now)
