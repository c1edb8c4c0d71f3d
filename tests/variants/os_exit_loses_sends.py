"""Broken: a task's os._exit ends the worker at once, losing what ZeroMQ had not yet sent and unflushed output."""

from promp.worker import _main
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_main._exit_delivering = lambda main, ctx: _main._plain_exit
in_workers(__name__)
