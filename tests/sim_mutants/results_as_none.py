"""Planted bug: every result reaches the user as None (the simulator once crashed on such a value instead of reporting it)."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def on_done(self, wid, task_id, value, run_time, now, dispatch=True):
        return super().on_done(wid, task_id, None, run_time, now, dispatch)
