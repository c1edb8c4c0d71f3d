"""Broken: the worker applies an abort to whatever task it runs when the abort arrives, not the task it was for."""

from promp.worker import _core as _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_on_abort = _worker_core.WorkerSession.on_abort


def _to_the_current(self, task_id, wait_ms, now):
    _on_abort(self, self.current if self.current is not None else task_id, wait_ms, now)


_worker_core.WorkerSession.on_abort = _to_the_current
in_workers(__name__)
