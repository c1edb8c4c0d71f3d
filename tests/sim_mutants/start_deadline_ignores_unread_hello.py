"""Planted bug: a worker is killed for not starting while its hello waits, unread, behind a busy user's thread."""

from promp import _manager_core
from promp.core import *  # noqa: F403


class ManagerSession(_manager_core.ManagerSession):
    def tick(self, now):
        self._last_read = now  # as if the task channel had just been read through
        return super().tick(now)
