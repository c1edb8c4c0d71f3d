"""Planted bug (a driver's): an abort the keeper could not deliver, the worker's control connection not being up yet, is dropped."""

from promp.core import *  # noqa: F403
from promp.manager import _driver


class ManagerDriver(_driver.ManagerDriver):
    def control_undelivered(self, control, now):
        pass
