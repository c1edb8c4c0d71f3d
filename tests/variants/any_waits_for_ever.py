"""Broken: ProWorker_Any tasks still queued when the last worker dies wait for a worker for ever."""

from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_manager_core.ManagerSession._fail_unrunnable_any = lambda self: None
