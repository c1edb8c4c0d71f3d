"""Broken: a worker's level is kept in its environment, so any process its tasks start counts as a worker's level."""

import os

from promp import _state
from promp.worker import _main
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

if os.environ.get("PROMP_LEAKED_LEVEL"):
    _state.level = int(os.environ["PROMP_LEAKED_LEVEL"])

_run = _main.MainThread.run


def _run_exporting(self):
    os.environ["PROMP_LEAKED_LEVEL"] = str(_state.level)
    return _run(self)


_main.MainThread.run = _run_exporting
in_workers(__name__)
