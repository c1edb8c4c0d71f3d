"""abortOperation: the flag, the interrupt, the kill, and the races between them and a finishing task."""

from __future__ import annotations

import random
import time

import pytest

from promp import ProManager, ProMPRemoteError
from promp._constants import EXIT_ABORTED

from .conftest import call, pump_until

COOPERATIVE = """
import time

import pytest
from Pro.MP import *
def work():
    wo = proWorkerObject().waitObject()
    for i in range(3000):
        if wo.wasAborted():
            return ['aborted', i]
        time.sleep(0.01)
    return ['finished', 3000]
"""
ABORTED_AT_START = "from Pro.MP import *\ndef f():\n    return proWorkerObject().waitObject().wasAborted()\n"
PID = "import os\ndef pid():\n    return os.getpid()\n"


def ready(m: ProManager) -> int:
    wid = m.startWorker()
    pump_until(m, lambda: m.workerState(wid) == "ready")
    return wid


def test_cooperative_code_sees_the_flag_and_the_worker_stays_usable(manager: ProManager):
    wid = ready(manager)
    pid = manager.workerPid(wid)
    manager.evalPythonFunction(wid, COOPERATIVE, "work", None, True)
    manager.wait(300)
    manager.abortOperation(wid, 10000)
    pump_until(manager, lambda: manager.hasResults(wid))
    outcome, step = manager.takeResult(wid)
    assert outcome == "aborted" and step < 3000
    assert call(manager, wid, ABORTED_AT_START, "f") is False  # the flag resets for the next task
    assert manager.workerPid(wid) == pid and manager.workerState(wid) == "ready"


def test_busy_python_code_that_never_checks_is_interrupted(manager: ProManager):
    wid = ready(manager)
    pid = manager.workerPid(wid)
    manager.evalPythonFunction(wid, "def spin():\n    while True:\n        pass\n", "spin", None, True)
    manager.wait(200)
    manager.abortOperation(wid, 1000)
    pump_until(manager, lambda: manager.hasResults(wid), timeout=10)
    err = manager.takeResult(wid)
    assert isinstance(err, ProMPRemoteError) and err.type == "ProMPAborted"
    assert call(manager, wid, PID, "pid") == pid


def test_a_task_that_refuses_to_end_is_killed_after_wait_ms_with_its_queue(manager: ProManager):
    wid = ready(manager)
    manager.evalPythonCode(wid, "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass")
    manager.evalPythonFunction(wid, PID, "pid", None, True)  # queued behind it
    manager.wait(200)
    started = time.monotonic()
    manager.abortOperation(wid, 500)
    pump_until(manager, lambda: manager.workerState(wid) == "exited", timeout=10)
    assert 0.4 < time.monotonic() - started < 5
    err = manager.takeResult(wid)
    assert isinstance(err, ProMPRemoteError) and err.type == "WorkerExited" and "abortOperation" in err.message
    assert manager.workerExitCode(wid) == EXIT_ABORTED
    assert not manager.isBusy()
    other = manager.startWorker()  # the manager goes on
    assert isinstance(call(manager, other, PID, "pid"), int)


def test_blocking_python_code_is_interrupted_before_the_kill(manager: ProManager):
    wid = ready(manager)
    pid = manager.workerPid(wid)
    manager.evalPythonFunction(wid, "import time\ndef nap():\n    time.sleep(60)\n", "nap", None, True)
    manager.wait(200)
    started = time.monotonic()
    manager.abortOperation(wid, 3000)
    pump_until(manager, lambda: manager.hasResults(wid), timeout=10)
    err = manager.takeResult(wid)
    assert isinstance(err, ProMPRemoteError) and err.type == "ProMPAborted"
    assert time.monotonic() - started < 2.9  # interrupted at half the time, not killed at the end
    assert manager.workerPid(wid) == pid and call(manager, wid, PID, "pid") == pid


def test_a_task_in_c_code_that_ignores_signals_is_killed_with_what_it_started(manager: ProManager):
    wid = ready(manager)
    code = (
        "import os, signal, subprocess\n"
        "def f():\n"
        "    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})  # like C code that ignores signals\n"
        "    p = subprocess.Popen(['sleep', '60'])\n"
        "    os.waitpid(p.pid, 0)\n"
    )
    manager.evalPythonFunction(wid, code, "f", None, True)
    manager.wait(300)
    manager.abortOperation(wid, 600)
    pump_until(manager, lambda: manager.workerState(wid) == "exited", timeout=10)
    # the autouse fixture fails the test if the 'sleep 60' child survived


def test_aborting_an_idle_worker_does_nothing(manager: ProManager):
    wid = ready(manager)
    manager.abortOperation(wid, 0)
    assert call(manager, wid, ABORTED_AT_START, "f") is False
    assert manager.workerState(wid) == "ready"


def test_a_late_abort_never_hits_the_next_task(manager: ProManager):
    wid = ready(manager)
    for _ in range(25):
        manager.evalPythonFunction(wid, PID, "pid", None, True)  # quick: often done before the abort lands
        manager.evalPythonFunction(wid, ABORTED_AT_START, "f", None, True)
        manager.abortOperation(wid, -1)
        pump_until(manager, lambda: not manager.isBusy())
        manager.takeResult(wid)
        assert manager.takeResult(wid) is False


def test_abort_racing_a_finishing_task_gives_exactly_one_outcome(manager: ProManager):
    rng = random.Random(7)
    code = "import time\ndef f(i, s):\n    time.sleep(s)\n    return i\n"
    wid = ready(manager)
    outcomes = {"finished": 0, "aborted": 0}
    for i in range(40):
        manager.evalPythonFunction(wid, code, "f", [i, rng.choice([0, 0.005, 0.02, 0.05])], True)
        if rng.random() < 0.5:
            manager.wait(rng.choice([0, 1, 5, 20]))
        manager.abortOperation(wid, rng.choice([0, 10, 40]))
        pump_until(manager, lambda: not manager.isBusy(), timeout=15)
        result = manager.takeResult(wid)
        assert manager.takeResult(wid) is None  # one outcome per task, never two
        if result == i:
            outcomes["finished"] += 1
        else:
            assert isinstance(result, ProMPRemoteError) and result.type in ("ProMPAborted", "WorkerExited"), result
            outcomes["aborted"] += 1
        if manager.workerState(wid) == "exited":
            wid = ready(manager)
    assert sum(outcomes.values()) == 40


def test_abort_targets_must_exist(manager: ProManager):
    import pytest

    with pytest.raises(ValueError, match="no worker"):
        manager.abortOperation(12, 100)
    with pytest.raises(TypeError, match="wait_ms"):
        manager.abortOperation(12, 1.5)  # type: ignore[arg-type]


def test_an_abort_for_proworker_any_is_refused_rather_than_hitting_every_worker(manager):
    from promp import ProWorker_Any

    w = manager.startWorker()
    code = "from Pro.MP import *\nimport time\ndef f():\n    time.sleep(0.5)\n    return proWorkerObject().waitObject().wasAborted()\n"
    manager.evalPythonFunction(w, code, "f", None, True)
    with pytest.raises(ValueError, match="ProWorker_Any"):
        manager.abortOperation(ProWorker_Any, -1)
    pump_until(manager, lambda: not manager.isBusy(), 30)
    assert manager.takeResult(w) is False  # nothing was aborted


@pytest.mark.parametrize("wait_ms", [-1, 5000])
def test_an_abort_given_while_the_worker_is_still_starting_reaches_its_task(manager: ProManager, wait_ms: int):
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, COOPERATIVE, "work", None, True)
    assert manager.workerState(wid) == "starting"  # what this test is about: the worker has not said hello yet
    manager.abortOperation(wid, wait_ms)
    pump_until(manager, lambda: manager.hasResults(wid), timeout=30)
    result = manager.takeResult(wid)
    assert isinstance(result, list) and result[0] == "aborted", result  # seen by the task, not lost, not killed
    assert manager.workerState(wid) == "ready"


def test_an_abort_given_again_never_postpones_the_kill_the_first_one_set(manager: ProManager):
    wid = ready(manager)
    stubborn = "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n    except BaseException:\n        pass"
    manager.evalPythonCode(wid, stubborn)
    manager.wait(200)
    first = time.monotonic()
    manager.abortOperation(wid, 1000)
    last = first
    while manager.workerState(wid) != "exited" and time.monotonic() - first < 8:
        manager.wait(20)
        if time.monotonic() - last >= 0.4 and manager.workerState(wid) != "exited":
            manager.abortOperation(wid, 1000)  # a dialog that re-sends its abort
            last = time.monotonic()
    ended = time.monotonic() - first
    assert manager.workerState(wid) == "exited", "still running 8 s after an abortOperation(w, 1000)"
    assert manager.workerExitCode(wid) == EXIT_ABORTED
    assert ended < 3.0  # the worker ends itself at 1 s, its manager kills it 1 s after that at the latest
