"""Broken: setOptions adds the flags to those already set instead of replacing them."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_set = _manager.ProManager.setOptions
_manager.ProManager.setOptions = lambda self, options: _set(self, self.options() | options)
