"""Broken: a second createWaitObject for a worker is ignored; the first ui_wait keeps its updates and its abort."""

from promp.manager import _wait
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


def _add(self, wait):
    self.waits.setdefault(wait.worker, wait)


_wait.WaitRoutes.add = _add
