"""Numbers at their limits and strings that cannot cross: refused at the call, naming the problem; a call that
raises leaves nothing behind; no thread of the manager or the worker dies of what a caller passed (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from promp import ProManager, ProMPRemoteError, ProWorker_Any

from .conftest import call, pump_until

ECHO = "def echo(x):\n    return x\n"
PID = "import os\ndef pid():\n    return os.getpid()\n"


@pytest.mark.parametrize("wait_ms", [2**70, -(2**70), 2**31])
def test_an_abort_time_no_deadline_can_hold_is_refused_and_the_keeper_lives_on(manager: ProManager, wait_ms: int):
    wid = manager.startWorker()
    manager.evalPythonCode(wid, "import time\ntime.sleep(60)")
    with pytest.raises(ValueError, match="wait_ms"):
        manager.abortOperation(wid, wait_ms)
    pid = None
    pump_until(manager, lambda: manager.workerState(wid) == "ready", 30)
    pid = manager.workerPid(wid)
    os.kill(pid, 9)  # a worker killed from outside is still noticed: the keeper is alive
    pump_until(manager, lambda: manager.workerState(wid) == "exited", 10)
    assert not manager.isBusy()


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 1e300, 2**70, "10"])
def test_a_wait_with_a_timeout_no_clock_can_hold_is_refused_at_the_call(manager: ProManager, timeout: object):
    manager.startWorker()
    for wait in (lambda: manager.wait(timeout), lambda: manager.waitForMessage(ProWorker_Any, timeout)):
        with pytest.raises((ValueError, TypeError), match="timeout_ms"):
            wait()


@pytest.mark.parametrize(
    "settings",
    [
        {"heartbeat_timeout": float("inf")},
        {"heartbeat_timeout": 1e300},
        {"heartbeat_timeout": 2**70},
        {"heartbeat_interval": float("nan")},
        {"heartbeat_interval": True},
    ],
    ids=repr,
)
def test_heartbeat_settings_a_clock_cannot_hold_are_refused_at_construction(settings: dict):
    with pytest.raises((ValueError, TypeError), match="heartbeat"):
        ProManager(**settings)


def test_a_worker_side_wait_with_an_impossible_timeout_is_refused_in_the_task(manager: ProManager):
    wid = manager.startWorker()
    code = "from Pro.MP import *\ndef f(t):\n    return proWorkerObject().waitForMessage(t)\n"
    for timeout in (2**40, float("inf")):
        err = call(manager, wid, code, "f", timeout)
        assert isinstance(err, ProMPRemoteError) and err.type in ("ValueError", "TypeError") and "timeout_ms" in err.message
    assert call(manager, wid, ECHO, "echo", 1) == 1


@pytest.mark.parametrize("value", [{(1, 2): 3}, [{"ok": {(1, (2, "x")): b"y"}}], {("a",): {("b",): 1}}], ids=repr)
def test_a_dict_with_tuple_keys_crosses_both_ways_as_it_was(manager: ProManager, value: object):
    """It was accepted at the call and failed in the worker: a tuple key came as a list, which cannot be a key."""
    wid = manager.startWorker()
    assert call(manager, wid, ECHO, "echo", value) == value


def test_a_dict_key_that_cannot_cross_at_all_is_refused_at_the_call(manager: ProManager):
    wid = manager.startWorker()
    with pytest.raises(TypeError, match="frozenset"):
        manager.evalPythonFunction(wid, ECHO, "echo", [{frozenset(): 1}], True)
    assert not manager.isBusy()


@pytest.mark.parametrize("where", ["code", "name", "path"])
def test_a_string_that_is_not_utf_8_is_refused_at_the_call_and_leaves_nothing_queued(manager: ProManager, tmp_path, where: str):
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, PID, "pid", None, True)  # queued first, while the worker starts
    script = tmp_path / "ok.py"
    script.write_text(PID)
    with pytest.raises(ValueError, match="UTF-8"):
        if where == "code":
            manager.evalPythonFunction(wid, "x = '\udce9'\n" + PID, "pid", None, True)
        elif where == "name":
            manager.evalPythonFunction(wid, PID, "p\udce9d", None, True)
        else:
            bad = tmp_path / "caf\udce9.py"
            os.rename(script, bad)
            manager.executePythonFunction(wid, str(bad), "pid", None, True)
    pump_until(manager, lambda: not manager.isBusy(), 30)  # busy only with the good task, which ran
    assert isinstance(manager.takeResult(wid), int) and not manager.hasResults(wid)


def test_a_task_that_breaks_sys_stderr_or_closes_fd_2_does_not_turn_later_errors_into_crashes(manager: ProManager):
    wid = manager.startWorker()
    pid = call(manager, wid, PID, "pid")
    breakers = ["import sys\nclass Broken:\n    def write(self, s):\n        raise OSError('broken')\nsys.stderr = Broken()\n",
                "import os\nos.close(2)\n"]
    for breaker in breakers:
        manager.evalPythonCode(wid, breaker)
        err = call(manager, wid, "def f():\n    raise KeyError('later')\n", "f")
        assert isinstance(err, ProMPRemoteError) and err.type == "KeyError", err
    assert call(manager, wid, PID, "pid") == pid and manager.workerState(wid) == "ready"


def test_a_manager_that_ignores_sigchld_starts_workers_whose_tasks_see_their_childrens_exit_codes(tmp_path):
    """Workers start with default signal dispositions and an empty mask, whatever their manager has; and the warm
    start, which a manager ignoring SIGCHLD cannot adopt workers through, falls back to cold with a fresh secret."""
    script = tmp_path / "m.py"
    script.write_text(
        textwrap.dedent(
            """
            import signal, time
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
            from promp import ProManager
            m = ProManager()
            w = m.startWorker()
            code = (
                "import signal, subprocess\\n"
                "def f():\\n"
                "    return [subprocess.run(['sh', '-c', 'exit 7']).returncode,\\n"
                "            signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,\\n"
                "            sorted(signal.pthread_sigmask(signal.SIG_BLOCK, set()))]\\n"
            )
            m.evalPythonFunction(w, code, "f", None, True)
            started = time.monotonic()
            while m.isBusy() and time.monotonic() - started < 20:
                m.wait(100)
            print(m.takeResult(w), round(time.monotonic() - started) < 10)
            m.close()
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.split("\n")[0] == "[7, True, []] True", done.stdout + done.stderr
