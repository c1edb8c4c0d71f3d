"""Broken: a message for a worker that has exited is dropped without a word."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_send = _core.ManagerSession.send_message


def _drop_quietly(self, target, msg_id, data):
    rec = self.workers.get(target)
    if rec is not None and rec.state == _core.EXITED:
        return []
    return _send(self, target, msg_id, data)


_core.ManagerSession.send_message = _drop_quietly
