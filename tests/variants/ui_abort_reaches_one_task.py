"""Broken: a ui_wait's abort reaches only the first task it finds; later tasks run on while the ui_wait still says aborted."""

from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_abort_due = _wait.ProMPWait.abort_due


def _once(self, task):
    if self._aborted_task is not None:
        return False
    return _abort_due(self, task)


_wait.ProMPWait.abort_due = _once
