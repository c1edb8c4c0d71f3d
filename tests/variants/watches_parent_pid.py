"""Broken: a worker learns of its manager's end by its parent becoming process 1, not from the alive pipe
(under a subreaper the orphans are adopted by another process, and never leave)."""

import os
import threading
import time

from promp.worker import _control
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_init = _control.ControlThread.__init__


def _watch_ppid(self, executor, port, alive_fd, socket_dir):
    never_closed, self._keep_open = os.pipe()
    _init(self, executor, port, never_closed, socket_dir)

    def watch():
        while os.getppid() != 1:
            time.sleep(0.05)
        _control.die("parent became process 1")

    threading.Thread(target=watch, daemon=True).start()


_control.ControlThread.__init__ = _watch_ppid
in_workers(__name__)
