"""Broken: ProWorker_All and ProWorker_Any accept tasks and messages while every worker has exited (nothing runs)."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_submit = _core.ManagerSession.submit
_send = _core.ManagerSession.send_message


def _none_live(session, target):
    return target in (_core.ProWorker_All, _core.ProWorker_Any) and session.workers and not any(
        r.takes_tasks for r in session.workers.values()
    )


def _accept_quietly(self, target, header, payload, want, now):
    return [] if _none_live(self, target) else _submit(self, target, header, payload, want, now)


def _send_quietly(self, target, msg_id, data):
    return [] if _none_live(self, target) else _send(self, target, msg_id, data)


_core.ManagerSession.submit = _accept_quietly
_core.ManagerSession.send_message = _send_quietly
