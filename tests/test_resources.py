"""A manager's descriptors: each worker's are released when its exit is final, and all of them at close()."""

from __future__ import annotations

import os

from promp import ProManager

from .conftest import pump_until, wait_until


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_closing_managers_releases_every_descriptor_of_their_workers():
    before = open_descriptors()
    for _ in range(3):
        m = ProManager()
        ids = [m.startWorker() for _ in range(4)]
        m.evalPythonCode(-2, "pass")
        pump_until(m, lambda m=m: not m.isBusy(), 30)
        assert all(m.workerState(w) == "ready" for w in ids)
        m.close()
    wait_until(lambda: open_descriptors() <= before, 5)


def test_an_exited_workers_descriptors_are_released_while_its_manager_goes_on(manager: ProManager):
    first = manager.startWorker()  # the first start brings the zygote's descriptors too
    pump_until(manager, lambda: manager.workerState(first) == "ready", 30)
    baseline = open_descriptors()
    for _ in range(10):
        wid = manager.startWorker()
        manager.evalPythonCode(wid, "import sys\nsys.exit(3)")
        pump_until(manager, lambda wid=wid: manager.workerState(wid) == "exited", 30)
    wait_until(lambda: open_descriptors() <= baseline, 5, step=lambda: manager.wait(20))
    assert manager.workerExitCode(first) is None and manager.workerState(first) == "ready"
