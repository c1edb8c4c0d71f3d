"""Broken: a manager can only be created on the main thread."""

import threading

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_init = _manager.ProManager.__init__


def _main_thread_only(self, *args, **kwargs):
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("a ProManager must be created on the main thread")
    _init(self, *args, **kwargs)


_manager.ProManager.__init__ = _main_thread_only
