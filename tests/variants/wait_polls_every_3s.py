"""Broken: the manager's waitForMessage looks for a message every 3 seconds, not as soon as one comes."""

import time

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _polling(self, target=_manager.ProWorker_Any, timeout_ms=-1):
    deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
    while True:
        if self.hasMessage(target):
            return True
        left = 3.0 if deadline is None else deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(3.0, left))


_manager.ProManager.waitForMessage = _polling
