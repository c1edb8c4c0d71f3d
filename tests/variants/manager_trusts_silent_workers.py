"""Broken: the manager never ends a worker for leaving its pings unanswered (workers still watch theirs)."""

from promp import _liveness
from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


class _Trusting(_liveness.HeartbeatClock):
    __slots__ = ()

    def tick(self, now):
        verdict = super().tick(now)
        return None if verdict == _liveness.SILENT else verdict


_manager_core.HeartbeatClock = _Trusting
