"""Broken: a ui_wait's abort reaches the worker only when the user calls the wait object's processEvents(), not in processMessages()."""

from promp.manager import _api
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _updates_only(self, first=None):
    return self._user.pump(first)  # the ui_waits' aborts are not looked at


_api.ProManager._pump = _updates_only
