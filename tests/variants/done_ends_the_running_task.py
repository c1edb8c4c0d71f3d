"""Broken: a `done` for a task the worker does not have ends the oldest task it has."""

from promp import _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_on_done = _manager_core.ManagerSession.on_done


def _any_done_will_do(self, wid, task_id, value, run_time, now):
    rec = self.workers.get(wid)
    if rec is not None and task_id not in rec.assigned and rec.assigned:
        task_id = next(iter(rec.assigned))
    return _on_done(self, wid, task_id, value, run_time, now)


_manager_core.ManagerSession.on_done = _any_done_will_do
