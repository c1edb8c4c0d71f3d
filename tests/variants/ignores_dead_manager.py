"""Broken: workers do not watch the parent-alive pipe (heartbeats still end them, slowly)."""

import os

from promp import _worker_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_init = _worker_shell.Control.__init__


def _watches_a_pipe_nobody_closes(self, ctx, identity, env, loop, alive_fd):
    never_closed, self._keep_open = os.pipe()
    _init(self, ctx, identity, env, loop, never_closed)


_worker_shell.Control.__init__ = _watches_a_pipe_nobody_closes
in_workers(__name__)
