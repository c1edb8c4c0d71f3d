"""Broken: an Any task that failed before any worker took it is filed as the result of the lowest worker id."""

from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_put = _manager_core.Mailbox.put


def _to_a_worker(self, wid, item):
    _put(self, wid or 1, item)


_manager_core.Mailbox.put = _to_a_worker
