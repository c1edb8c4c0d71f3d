"""Broken: a manager inside a worker forwards its workers' output even without an option ("the root decides")."""

from promp import _state
from promp.manager import _api as _manager
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_set = _manager.ProManager.setOptions


def _forward_when_nested(self, options):
    _set(self, options or (_manager.ProMPOpt_RedirectOutput if _state.level > 0 else 0))


_manager.ProManager.setOptions = _forward_when_nested
in_workers(__name__)
