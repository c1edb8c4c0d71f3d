"""Broken: a worker keeps the time an abort gave after its task ended, and ends the next task by it."""

from promp.worker import _core as _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_on_abort = _worker_core.WorkerSession.on_abort
_begin = _worker_core.WorkerSession.begin


def _remember_deadlines(self, task_id, wait_ms, now):
    _on_abort(self, task_id, wait_ms, now)
    if task_id in self.deadlines:
        self.__dict__["_kept"] = self.deadlines[task_id]


def _carry_over(self, task_id, *args, **kwargs):
    began = _begin(self, task_id, *args, **kwargs)
    kept = self.__dict__.get("_kept")
    if began and kept is not None:
        self.deadlines[task_id] = kept  # the old deadline applies to whatever runs next
    return began


_worker_core.WorkerSession.on_abort = _remember_deadlines
_worker_core.WorkerSession.begin = _carry_over
in_workers(__name__)
