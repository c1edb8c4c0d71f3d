"""Planted bug (the reference's, issue 18): the reason of a kill is set when the stop is asked, so a clean exit reads as a kill."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def _queue_stop(self, rec, now):
        actions = super()._queue_stop(rec, now)
        rec.kill_reason = "did not stop within the grace period"
        return actions
