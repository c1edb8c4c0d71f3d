"""Broken: workers ignore the end of their manager, and closing a manager kills nobody."""

from promp import _liveness, _manager_shell, _worker_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _never_gives_up(self, now):
    if now >= self.next_ping:
        self.next_ping = now + self.interval
        return _liveness.PING
    return None


_worker_shell._die = lambda *args, **kwargs: None
_liveness.HeartbeatClock.tick = _never_gives_up
_manager_shell.kill_tree = lambda pid: None
_manager_shell.Shell.close = lambda self: setattr(self, "closed", True)
in_workers(__name__)
