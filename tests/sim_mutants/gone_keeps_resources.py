"""Planted bug (a driver's): a worker whose exit is final keeps its descriptors until the manager closes (issue 18's bug 4)."""

from promp.core import *  # noqa: F403
from promp.manager import _actions, _driver


class ManagerDriver(_driver.ManagerDriver):
    def _route(self, actions):
        super()._route(actions)
        self.keeper = [a for a in self.keeper if not isinstance(a, _actions.Release)]
