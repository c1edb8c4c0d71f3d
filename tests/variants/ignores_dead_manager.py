"""Broken: workers do not watch the parent-alive pipe (heartbeats still end them, slowly)."""

from promp import _worker
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_die = _worker._die
_worker._die = lambda reason, *args, **kwargs: None if reason == "manager process ended" else _die(reason, *args, **kwargs)
in_workers(__name__)
