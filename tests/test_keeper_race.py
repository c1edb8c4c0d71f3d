"""The keeper may tick between the core learning of a worker and its process being spawned."""

from __future__ import annotations

from promp import ProManager
from promp._manager_core import Ping


def test_a_ping_for_a_worker_not_spawned_yet_is_skipped_and_the_keeper_lives_on(manager: ProManager):
    shell = manager._shell
    with shell.lock:
        wid = shell.session.add_worker(0.0)  # what startWorker does first; spawn comes next
    shell._ping(Ping(wid, 1))  # raised KeyError in the keeper, which died, and close() then hung
    shell._send_small(shell._ctrl, wid, {"k": "abort", "t": 1, "ms": -1})
    assert shell._keeper.is_alive()
