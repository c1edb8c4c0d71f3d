"""Broken: the coalesced progress still pending when a task ends is never sent (only a msg or the rate sends it)."""

from promp.worker import _api as _worker_api
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_Wait = _worker_api.ProWorkerWait
_send = _Wait.flush
_msg, _progress, _was_aborted = _Wait.msg, _Wait.progress, _Wait.wasAborted


def _with_sending(method):
    def call(self, *args):
        _Wait.flush = _send  # what the wait object itself sends goes
        try:
            return method(self, *args)
        finally:
            _Wait.flush = _dropped

    return call


def _dropped(self) -> None:  # the end of a task: what is pending stays there
    pass


_Wait.msg, _Wait.progress, _Wait.wasAborted = _with_sending(_msg), _with_sending(_progress), _with_sending(_was_aborted)
_Wait.flush = _dropped
in_workers(__name__)
