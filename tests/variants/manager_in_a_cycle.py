"""Broken: a manager keeps itself in a reference cycle, so dropping the last reference does not end it."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_init = _manager.ProManager.__init__


def _cyclic(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._myself = self


_manager.ProManager.__init__ = _cyclic
