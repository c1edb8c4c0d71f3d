"""Broken: a task that calls sys.exit() fails, but its worker catches the exit and goes on serving."""

from promp.worker import _main
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_run = _main.MainThread.run_task


def _stays(self, task):
    outcome = _run(self, task)
    outcome.exit_code = None
    return outcome


_main.MainThread.run_task = _stays
in_workers(__name__)
