"""Broken: workers never leave on their own (no end-of-file watch, no heartbeat verdict), and nobody kills them."""

from promp import _liveness
from promp.manager import _port
from promp.worker import _control
from promp.worker import _port as _worker_port
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _never_gives_up(self, now):
    if now >= self.next_ping:
        self.next_ping = now + self.interval
        return _liveness.PING
    return None


def _close_nothing(self):
    self.closed = True
    return {}


_control.die = lambda *args, **kwargs: None
_worker_port.die = lambda *args, **kwargs: None
_liveness.HeartbeatClock.tick = _never_gives_up
_port.kill_tree = lambda pid: None
_port.ZmqPort.close = _close_nothing
in_workers(__name__)
