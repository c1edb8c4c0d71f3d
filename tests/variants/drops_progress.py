"""Broken: progress updates never reach ui_wait."""

from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_deliver = _wait.ProMPWait.deliver
_wait.ProMPWait.deliver = lambda self, op, payload: None if op == "progress" else _deliver(self, op, payload)
