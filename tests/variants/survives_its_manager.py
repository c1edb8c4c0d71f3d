"""Broken: workers ignore the end of their manager, and closing a manager kills nobody."""

from promp import _shell, _worker, _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _never_gives_up(self, now):
    if now >= self.next_ping:
        self.next_ping = now + self.interval
        return "ping"
    return None


_worker._die = lambda *args, **kwargs: None
_worker_core.WorkerLiveness.tick = _never_gives_up
_shell.kill_tree = lambda pid: None
_shell.Shell.close = lambda self: setattr(self, "closed", True)
in_workers(__name__)
