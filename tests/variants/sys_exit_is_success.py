"""Broken: a task that calls sys.exit() counts as a success (result None) and the worker goes on."""

from promp.worker import _main
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_run = _main.MainThread.run_user_code


def _exit_is_fine(self, task):
    ok, value = _run(self, task)
    return (True, None) if isinstance(value, SystemExit) else (ok, value)


_main.MainThread.run_user_code = _exit_is_fine
in_workers(__name__)
