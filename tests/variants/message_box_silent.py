"""Broken: testMessageBox without a display returns at once and shows nothing."""

from promp.worker import _tasks
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

for _name, _run in list(_tasks.OPERATIONS.items()):
    if _run is _tasks.test_message_box:
        _tasks.OPERATIONS[_name] = lambda task, args: None
in_workers(__name__)
