"""Broken: workers run the tasks of a ``tasks`` message last first."""

from promp.wire import _frames
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_tasks_of = _frames.tasks_of


def _backwards(header, payload):
    return _tasks_of(header, payload)[::-1]


_frames.tasks_of = _backwards
in_workers(__name__)
