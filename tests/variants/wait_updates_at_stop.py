"""Broken: a wait object's updates reach ui_wait only when the wait object is stopped, not while messages are processed."""

from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_deliver, _stop = _wait.ProMPWait.deliver, _wait.ProMPWait.stop
_held: dict[int, list] = {}


def _hold(self, op, payload):
    _held.setdefault(id(self), []).append((op, bytes(payload)))


def _deliver_then_stop(self):
    for op, payload in _held.pop(id(self), []):
        _deliver(self, op, payload)
    _stop(self)


_wait.ProMPWait.deliver = _hold
_wait.ProMPWait.stop = _deliver_then_stop
