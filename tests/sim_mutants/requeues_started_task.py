"""Planted bug: a dead worker's ProWorker_Any tasks all go back to the queue, the one it was running too."""

from promp import _manager_core
from promp.core import *  # noqa: F403


class ManagerSession(_manager_core.ManagerSession):
    def _retire(self, rec):
        started = next(iter(rec.assigned.values()), None)
        if started is not None and started.any:  # as if it had never begun: it runs again elsewhere
            del rec.assigned[started.id]
            started.worker = None
            self.any_queue.appendleft(started)
        return super()._retire(rec)
