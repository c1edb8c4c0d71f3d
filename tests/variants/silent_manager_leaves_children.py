"""Broken: a worker whose manager fell silent exits without ending what its tasks started."""

from promp.worker import _port
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_die = _port.die


def _leaving(reason, code=_port.EXIT_MANAGER_GONE, leftover_dir=None):
    if "no heartbeat" in reason:
        _port._plain_exit(code)
    _die(reason, code, leftover_dir)


_port.die = _leaving
in_workers(__name__)
