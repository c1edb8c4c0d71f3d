"""Broken: a message sent to ProWorker_All reaches each worker twice."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_send = _manager.ProManager.sendMessage


def _twice(self, target, msg):
    _send(self, target, msg)
    if target == _manager.ProWorker_All:
        _send(self, target, msg)


_manager.ProManager.sendMessage = _twice
