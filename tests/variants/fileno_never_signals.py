"""Broken: fileno() is a descriptor of its own that nothing ever makes readable (an event loop waits for ever)."""

import os

from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_quiet = os.pipe()
_manager.ProManager.fileno = lambda self: _quiet[0]
