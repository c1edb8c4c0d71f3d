"""Broken: an abort only sets the flag; nobody ever kills a task that ignores it."""

from promp import _core, _worker
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_core.ABORT_SAFETY = 10**9
_worker.Control._enforce_aborts = lambda self, now: None
in_workers(__name__)
