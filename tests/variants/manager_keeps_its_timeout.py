"""Broken: heartbeat settings reach the workers, but the manager keeps its own 5 s timeout for them."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_init = _core.ManagerSession.__init__


def _own_timeout(self, heartbeat_interval=0.5, heartbeat_timeout=5.0, *args, **kwargs):
    _init(self, 0.5, 5.0, *args, **kwargs)


_core.ManagerSession.__init__ = _own_timeout
