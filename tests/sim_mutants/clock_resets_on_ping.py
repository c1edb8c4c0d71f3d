"""Planted bug: the worker's heartbeat clock restarts its wait whenever it sends a ping, not when one is answered."""

from promp import _liveness
from promp.core import *  # noqa: F403
from promp.worker import _core


class _Clock(_liveness.HeartbeatClock):
    __slots__ = ()

    def tick(self, now):
        if now >= self.next_ping:
            self.waiting_since = None
        return super().tick(now)


class WorkerSession(_core.WorkerSession):
    def __init__(self, interval, timeout, now):
        super().__init__(interval, timeout, now)
        self.clock = _Clock(interval, timeout, now)
