"""Planted bug: once a worker's exit is seen, the results still arriving from it are thrown away."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def on_dones(self, wid, dones, now):
        rec = self.workers.get(wid)
        if rec is not None and rec.state == _core.EXITING:
            return []
        return super().on_dones(wid, dones, now)
