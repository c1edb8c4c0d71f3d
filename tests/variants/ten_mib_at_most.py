"""Broken: code and arguments over 10 MiB are refused at the call (a frame limit under the spec's 16 MiB)."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

LIMIT = 10 * 2**20
_eval = _manager.ProManager.evalPythonFunction


def _limited(self, target, code, name, args=None, want_result=False):
    if len(code) > LIMIT or sum(len(a) for a in (args or []) if isinstance(a, (bytes, str))) > LIMIT:
        raise ValueError("a task over 10 MiB")
    return _eval(self, target, code, name, args, want_result)


_manager.ProManager.evalPythonFunction = _limited
