"""Broken: stopWorker() asks and waits for ever: a worker that ignores its stop is never killed."""

from promp.manager import _core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_init = _core.ManagerSession.__init__


def _patient(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.stop_grace = 10**6


_core.ManagerSession.__init__ = _patient
