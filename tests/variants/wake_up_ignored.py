"""Broken: wakeUp() from another thread is dropped: the manager's wait sleeps on until something else arrives."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_manager.ProManager.wakeUp = lambda self: None
