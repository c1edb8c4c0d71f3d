"""Broken: a string given as the argument list is taken as a list of its characters."""

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_arguments = _manager._arguments
_manager._arguments = lambda args: _arguments(list(args) if isinstance(args, str) else args)
