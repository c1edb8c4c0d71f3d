"""stopWorker: what it asks of a worker, what happens to the tasks already given to it, and what is reported."""

from __future__ import annotations

import time

import pytest

from promp import ProManager, ProMPRemoteError, ProWorkerExited

from .conftest import pump_until

NAP = "import time, os\ndef nap(s):\n    time.sleep(s)\n    return os.getpid()\n"


@pytest.mark.parametrize("when", ["starting", "ready"])
def test_tasks_given_before_the_stop_all_run_however_long_they_take(manager: ProManager, when: str):
    wid = manager.startWorker()
    if when == "ready":
        pump_until(manager, lambda: manager.workerState(wid) == "ready", 30)
    for _ in range(2):
        manager.evalPythonFunction(wid, NAP, "nap", [0.8], True)  # 1.6 s in all: longer than the stop's grace
    manager.stopWorker(wid)
    with pytest.raises(ProWorkerExited, match="stopping"):
        manager.evalPythonFunction(wid, NAP, "nap", [0], True)  # none after the stop
    pump_until(manager, lambda: manager.workerState(wid) == "exited", 30)
    results = [manager.takeResult(wid), manager.takeResult(wid)]
    assert all(isinstance(r, int) for r in results), results
    assert manager.workerExitCode(wid) == 0 and not manager.isBusy()


def test_a_worker_that_exits_cleanly_after_a_stop_is_not_reported_as_killed(manager: ProManager):
    wid = manager.startWorker()
    pump_until(manager, lambda: manager.workerState(wid) == "ready", 30)
    manager.stopWorker(wid)
    pump_until(manager, lambda: manager.workerState(wid) == "exited", 30)
    assert manager.workerExitCode(wid) == 0
    with pytest.raises(ProWorkerExited) as refused:
        manager.evalPythonCode(wid, "pass")
    assert "grace" not in str(refused.value) and "stopped" in str(refused.value)


def test_a_stopped_worker_that_does_not_exit_after_its_last_task_is_killed_after_the_grace(manager: ProManager):
    wid = manager.startWorker()
    pump_until(manager, lambda: manager.workerState(wid) == "ready", 30)
    # a task that leaves a non-daemon thread behind: the worker cannot exit by itself
    manager.evalPythonCode(wid, "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()")
    manager.evalPythonFunction(wid, NAP, "nap", [0.3], True)
    pump_until(manager, lambda: manager.hasResults(wid), 30)
    done_at = time.monotonic()
    manager.stopWorker(wid)
    pump_until(manager, lambda: manager.workerState(wid) == "exited", 30)
    assert 0.8 < time.monotonic() - done_at < 5
    assert manager.workerExitCode(wid) != 0
    assert isinstance(manager.takeResult(wid), int)
    with pytest.raises(ProWorkerExited, match="did not exit within"):
        manager.evalPythonCode(wid, "pass")
    assert not isinstance(manager.takeResult(wid), ProMPRemoteError)
