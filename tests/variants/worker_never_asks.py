"""Broken: a worker never pings its manager, counting on the manager's pings alone (a frozen manager is never noticed)."""

from promp import _liveness
from promp.worker import _core as _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_tick = _worker_core.WorkerSession.tick


def _never_asks(self, now):
    actions = [a for a in _tick(self, now) if a != _liveness.PING]
    self.clock.waiting_since = None  # no ping went out: nothing is awaited
    return actions


_worker_core.WorkerSession.tick = _never_asks
in_workers(__name__)
