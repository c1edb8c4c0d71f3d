"""Broken: a relative script path is left for the worker to resolve, from its own directory."""

import os

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _unresolved(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such script: {path}")
    return path


_manager._script = _unresolved
