"""Broken: wait(timeout_ms) returns True at once instead of waiting."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _wait(self, timeout_ms=-1):
    self._pump()
    return True


_manager.ProManager.wait = _wait
