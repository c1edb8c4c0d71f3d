"""Broken: an abort only sets the flag; nobody ever kills a task that ignores it."""

from promp.manager import _core as _manager_core
from promp.worker import _core as _worker_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_manager_core.ABORT_SAFETY = 10**9
_worker_core.WorkerSession.on_abort = lambda self, task, ms, now: self.aborted.__setitem__(task, None)
in_workers(__name__)
