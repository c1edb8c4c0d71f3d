"""Broken: ProWorker_Any takes workers in turn, busy or not, so a quick task can wait behind a slow one."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _next_in_turn(self, now):
    ready = [r for r in self.workers.values() if r.state == _core.READY]
    if not ready:
        return None
    turn = self.__dict__.get("_turn", 0)
    self._turn = turn + 1
    return ready[turn % len(ready)]


_core.ManagerSession._pick_for_any = _next_in_turn
