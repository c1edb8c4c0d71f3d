"""Planted bug: the deadlines of an abort outlive its task (the reference's control thread then polled every millisecond)."""

from promp.core import *  # noqa: F403
from promp.worker import _core


class WorkerSession(_core.WorkerSession):
    def on_abort(self, task_id, wait_ms, now):
        self.aborted[task_id] = None
        if wait_ms >= 0:
            self.deadlines[task_id] = (now + wait_ms / 2000, now + wait_ms / 1000)

    def end(self, task_id):
        deadlines = self.deadlines.pop(task_id, None)
        aborted = super().end(task_id)
        if deadlines is not None:
            self.deadlines[task_id] = deadlines
        return aborted

    def next_deadline(self):
        return min([self.clock.next_deadline(), *(step for steps in self.deadlines.values() for step in steps)])
