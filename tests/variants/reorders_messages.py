"""Broken: the manager hands out messages newest first."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


class _NewestFirst(_core.Mailbox):
    def take(self, target=_core.ProWorker_Any):
        queues = [q for w, q in self._queues.items() if q and (target < 0 or w == target)]
        if not queues:
            return None
        self.count -= 1
        return queues[-1].pop()  # the newest of the last worker to send


_init = _core.ManagerSession.__init__


def _session(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.messages = _NewestFirst()


_core.ManagerSession.__init__ = _session
