"""Broken: the manager's waitForMessage looks for a message only when its timeout is over."""

import time

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_wait = _manager.ProManager.waitForMessage


def _at_the_end(self, target=_manager.ProWorker_Any, timeout_ms=-1):
    if timeout_ms > 0 and not self.hasMessage(target):
        time.sleep(timeout_ms / 1000)
    return _wait(self, target, timeout_ms)


_manager.ProManager.waitForMessage = _at_the_end
