"""Broken: processMessages() waits 100 ms for the next message before it returns (blocks the seed's loops)."""

import time

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_process = _manager.ProManager.processMessages


def _blocking(self):
    _process(self)
    time.sleep(0.1)


_manager.ProManager.processMessages = _blocking
