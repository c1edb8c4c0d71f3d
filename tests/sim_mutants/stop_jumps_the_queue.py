"""Planted bug (a driver's): the worker takes a stop before the tasks that came ahead of it."""

from promp.core import *  # noqa: F403
from promp.wire import Stop
from promp.worker import _driver


class WorkerDriver(_driver.WorkerDriver):
    def received(self, messages):
        super().received(messages)
        if any(isinstance(m, Stop) for m in messages):
            self.inbox = _driver.deque([m for m in self.inbox if isinstance(m, Stop)] + [m for m in self.inbox if not isinstance(m, Stop)])
