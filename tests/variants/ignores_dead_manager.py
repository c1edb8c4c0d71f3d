"""Broken: a worker does not watch its parent-alive pipe: it outlives a killed manager until its heartbeats give up."""

import os

from promp.worker import _control
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_init = _control.ControlThread.__init__


def _watches_a_pipe_nobody_closes(self, executor, port, alive_fd, socket_dir):
    never_closed, self._keep_open = os.pipe()
    _init(self, executor, port, never_closed, socket_dir)


_control.ControlThread.__init__ = _watches_a_pipe_nobody_closes
in_workers(__name__)
