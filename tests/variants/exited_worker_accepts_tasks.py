"""Broken: tasks for a worker that has exited are queued instead of refused."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _any_record(self, wid):
    rec = self.workers.get(wid)
    if rec is None:
        raise ValueError(f"no worker with id {wid}")
    return rec


_core.ManagerSession._live = _any_record
