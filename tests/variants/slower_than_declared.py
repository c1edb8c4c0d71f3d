"""Broken: declares a 5-second heartbeat timeout but keeps 20 seconds (still within the 30 allowed)."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_init = _manager.ProManager.__init__


def _slow(self, *, heartbeat_timeout=20.0, **kwargs):
    _init(self, heartbeat_timeout=heartbeat_timeout, **kwargs)


_manager.ProManager.__init__ = _slow
