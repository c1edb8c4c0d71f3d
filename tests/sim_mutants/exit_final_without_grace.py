"""Planted bug: a worker's exit is made final as soon as it is seen, before what it sent last can arrive."""

from promp.core import *  # noqa: F403
from promp.manager import _core


class ManagerSession(_core.ManagerSession):
    def _settle_at(self, rec):
        return rec.exit_seen_at
