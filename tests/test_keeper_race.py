"""The keeper may act on a worker between the core learning of it and its process being spawned."""

from __future__ import annotations

from promp import ProManager
from promp.wire import Abort


def test_a_ping_or_an_abort_for_a_worker_not_spawned_yet_is_skipped_and_the_keeper_lives_on(manager: ProManager):
    port = manager._port
    with port.lock:
        wid = manager._driver.add_worker(0.0)  # what startWorker does first; spawning comes next
    port.ping(wid, 1)  # raised KeyError in the keeper, which died, and close() then hung
    assert port.control(wid, Abort(1, -1)) is False  # not delivered: the driver tries again later
    assert port.keeper._thread.is_alive()
