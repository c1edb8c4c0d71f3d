"""Broken: a ui_wait's abort reaches the worker only through the wait object's processEvents(), not processMessages()."""

from promp import _manager, _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_serve = _manager.ProManager._serve_waits
_process_events = _wait.ProMPWait.processEvents


def _updates_only(self):
    updates, self._wait_updates = self._wait_updates, []
    for wid, op, payload in updates:
        wait = self._waits.get(wid)
        if wait is not None:
            wait.deliver(op, payload)
    return len(updates)


def _with_aborts(self):
    manager = self._manager()
    if manager is not None:
        manager._serve_waits = lambda: _serve(manager)  # this one call looks at aborts
    try:
        _process_events(self)
    finally:
        if manager is not None:
            del manager._serve_waits


_manager.ProManager._serve_waits = _updates_only
_wait.ProMPWait.processEvents = _with_aborts
