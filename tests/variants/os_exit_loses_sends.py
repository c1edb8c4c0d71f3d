"""Broken: a task's os._exit ends the worker at once, losing what ZeroMQ had not yet sent and unflushed output."""

from promp import _worker_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_worker_shell._exit_delivering = lambda loop, sock, ctx: _worker_shell._plain_exit
in_workers(__name__)
