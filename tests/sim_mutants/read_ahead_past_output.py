"""Planted bug (an executor's): reading ahead while tasks are given handles a done before the output its worker
printed first is written, so its result can be taken before that output is seen."""

from promp.core import *  # noqa: F403
from promp.manager import _executors


class UserExecutor(_executors.UserExecutor):
    def read_ahead(self):
        driver, port = self.driver, self.port
        now = port.now()
        while driver.backlog():
            batch = port.message()
            if batch is None:
                break
            self.read_output(batch[0], now)
            driver.receive(*batch, now)  # everything, whatever waits to be written
        self._after(driver.take_user(with_output=False), driver.keeper_needed())
