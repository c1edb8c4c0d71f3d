"""Planted bug: an abort applies to whatever task is running when it arrives, not to the task it names."""

from promp.core import *  # noqa: F403
from promp.worker import _core


class WorkerSession(_core.WorkerSession):
    def on_abort(self, task_id, wait_ms, now):
        super().on_abort(self.current if self.current is not None else task_id, wait_ms, now)
