"""Broken: a manager's exit handler kills its workers in whatever process runs it, a forked child's included."""

import atexit
import os
import signal

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_init = _manager.ProManager.__init__


def _with_exit_handler(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    session = self._session

    def kill_workers():
        for rec in list(session.workers.values()):
            if rec.pid:
                try:
                    os.kill(rec.pid, signal.SIGKILL)
                except OSError:
                    pass

    atexit.register(kill_workers)


_manager.ProManager.__init__ = _with_exit_handler
