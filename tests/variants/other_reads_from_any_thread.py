"""Broken: some reads (hasResults, options, hasMessage, getMessage) run from any thread; the other calls check it."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_original = {name: getattr(_manager.ProManager, name) for name in ("hasResults", "options", "hasMessage", "getMessage")}


def _unchecked(name):
    def call(self, *args):
        self._mine = lambda: None  # this call skips the owner check
        try:
            return _original[name](self, *args)
        finally:
            del self._mine
    return call


for _name in _original:
    setattr(_manager.ProManager, _name, _unchecked(_name))
