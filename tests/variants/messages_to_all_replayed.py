"""Broken: a message sent to ProWorker_All is kept and sent again to every worker started later."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_send, _start = _manager.ProManager.sendMessage, _manager.ProManager.startWorker


def _remembering(self, target, msg):
    if target == _manager.ProWorker_All:
        self.__dict__.setdefault("_to_all", []).append(msg)
    _send(self, target, msg)


def _replaying(self):
    wid = _start(self)
    for msg in self.__dict__.get("_to_all", []):
        _send(self, wid, msg)
    return wid


_manager.ProManager.sendMessage, _manager.ProManager.startWorker = _remembering, _replaying
