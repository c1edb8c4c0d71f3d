"""Broken: a terminal wait object's stop() leaves its Ctrl-C handler in place."""

import signal

from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_stop = _wait.TerminalWait.stop


def _keeping(self):
    self._previous_handler = signal.getsignal(signal.SIGINT)  # "restores" what is there now: its own handler
    _stop(self)


_wait.TerminalWait.stop = _keeping
