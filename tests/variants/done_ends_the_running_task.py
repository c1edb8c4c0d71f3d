"""Broken: a `done` for a task the worker does not have ends the oldest task it has."""

from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


class _AnyTaskWillDo(dict):
    """A worker's assigned tasks, where any task id finds the oldest one."""

    def pop(self, task_id, *default):
        if not dict.__contains__(self, task_id) and self:
            task_id = next(iter(self))
        return dict.pop(self, task_id, *default)


_add_worker = _manager_core.ManagerSession.add_worker


def _lenient_add_worker(self, now):
    wid = _add_worker(self, now)
    self.workers[wid].assigned = _AnyTaskWillDo(self.workers[wid].assigned)
    return wid


_manager_core.ManagerSession.add_worker = _lenient_add_worker
