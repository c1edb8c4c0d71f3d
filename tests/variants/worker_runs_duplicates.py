"""Broken: a worker runs a task again when its frame arrives twice."""

from promp.worker import _core as _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _always_new(self, task_id):
    self.current = task_id
    return True


_worker_core.WorkerSession.begin = _always_new
in_workers(__name__)
