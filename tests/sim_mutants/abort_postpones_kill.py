"""Planted bug (the reference's, issue 18): an abort given again pushes both sides' deadlines back; the latest wins."""

from promp.core import *  # noqa: F403
from promp.manager import _core
from promp.worker import _core as _worker_core


class ManagerSession(_core.ManagerSession):
    def abort(self, target, wait_ms, now):
        for rec in self.workers.values():
            rec.abort_kill_at = None  # forget the kill the last abort set
        return super().abort(target, wait_ms, now)


class WorkerSession(_worker_core.WorkerSession):
    def on_abort(self, task_id, wait_ms, now):
        self.deadlines.pop(task_id, None)
        super().on_abort(task_id, wait_ms, now)
