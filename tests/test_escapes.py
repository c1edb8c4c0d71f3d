"""Processes a task starts end with its worker, even those that leave its process tree (issue 19, item 4).

Each escape is started by a task with a marker in its environment, which every process it makes
inherits: the test finds them all by that marker, whatever their parent, group or session.  Each is
tried under the three ends a worker can meet: its manager closes, its manager is killed (SIGKILL),
it is killed from outside (SIGKILL).  With a cgroup per worker every escape ends under all three;
without one (``PROMP_USE_CGROUPS=0``), the worker is a child subreaper, which catches every escape
when the worker gets to exit, and after a SIGKILL of the worker what stayed in its process group.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

from harness.helpers import MARK_VARIABLE, marked, readline

from .conftest import call, pump_until, wait_until

MARK = MARK_VARIABLE  # every process the task starts carries it: harness.helpers.marked finds them

ESCAPES = {
    # a shell's background job: the shell exits at once and its job is orphaned
    "background job": 'subprocess.run("sleep 120 >/dev/null 2>&1 &", shell=True)',
    # a classic daemon: fork, setsid, fork again, the middle process exits
    "daemon": textwrap.dedent(
        """\
        middle = os.fork()
        if middle == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "120"])
            os._exit(0)
        os.waitpid(middle, 0)"""
    ),
    "own process group": 'subprocess.Popen(["sleep", "120"], preexec_fn=os.setpgrp)',
    "own session": 'subprocess.Popen(["sleep", "120"], start_new_session=True)',
    # in a session of its own, forks a sleeper every 10 ms and hops to a new pid (its parent exits) each time
    "fork loop": (
        "subprocess.Popen([sys.executable, '-c', 'import os, time\\nos.setsid()\\nwhile True:\\n"
        "    if os.fork() == 0:\\n        time.sleep(120)\\n        os._exit(0)\\n    time.sleep(0.01)\\n"
        "    if os.fork():\\n        os._exit(0)\\n'])"
    ),
}
STAY_IN_GROUP = {"background job"}  # what a process-group kill reaches after the worker was SIGKILLed


def task_code(escape: str) -> str:
    body = textwrap.indent(ESCAPES[escape], "    ")
    return f"import os, subprocess, sys\ndef start(mark):\n    os.environ[{MARK!r}] = mark\n{body}\n    return os.getpid()\n"


@pytest.fixture
def mark() -> Iterator[str]:
    token = secrets.token_hex(8)
    yield token
    for _ in range(20):  # whatever a failing test left: a fork loop needs a few rounds
        pids = marked(token)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def may_make_cgroups() -> bool:
    """Whether this process may make a cgroup (v2) beside itself: judged here, not by the code under test."""
    try:
        directory = _cgroup_root() + open("/proc/self/cgroup").read().split("0::", 1)[1].split("\n", 1)[0]
        probe = os.path.join(directory, f"promp-test-probe-{os.getpid()}")
        os.mkdir(probe)
        os.rmdir(probe)
        return True
    except (OSError, IndexError, AssertionError):
        return False


def contain(how: str, monkeypatch: pytest.MonkeyPatch) -> str:
    if how == "cgroup" and not may_make_cgroups():
        pytest.skip("this system does not let this user make cgroups (v2): the process-group containment is tried")
    if how == "process group":
        monkeypatch.setenv("PROMP_USE_CGROUPS", "0")
    return how


@pytest.fixture(params=["cgroup", "process group"])
def containment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return contain(request.param, monkeypatch)


def started(mark: str, escape: str) -> None:
    wait_until(lambda: len(marked(mark)) >= (3 if escape == "fork loop" else 1), 10)


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_what_a_task_started_ends_when_its_manager_closes(escape, mark, containment, make_manager):
    m = make_manager()
    assert m.processContainment() == containment
    w = m.startWorker()
    call(m, w, task_code(escape), "start", mark)
    started(mark, escape)
    m.close()
    wait_until(lambda: not marked(mark), 5)


def test_what_a_task_started_ends_even_when_its_managers_close_is_cut_short(mark, containment, make_manager):
    """close() tells its workers it is an orderly close (they then leave the cgroup's removal to it): a Ctrl-C in the
    middle of that close must not leave a daemon of a task alive in the cgroup nobody removes."""
    m = make_manager()
    w = m.startWorker()
    call(m, w, task_code("daemon"), "start", mark)
    started(mark, "daemon")
    proc = m._port.handles[w].proc
    wait = proc.wait

    def cut_short(timeout=None):
        code = wait()  # the worker has ended, as an orderly close asked
        if threading.current_thread() is threading.main_thread():  # a Ctrl-C reaches close(); the keeper may reap too
            raise KeyboardInterrupt
        return code

    proc.wait = cut_short
    with pytest.raises(KeyboardInterrupt):
        m.close()
    wait_until(lambda: not marked(mark), 5)
    assert not marked(mark)


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_what_a_task_started_ends_when_its_manager_is_killed(escape, mark, containment):
    script = textwrap.dedent(
        f"""\
        from promp import ProManager
        m = ProManager()
        w = m.startWorker()
        m.evalPythonFunction(w, {task_code(escape)!r}, "start", [{mark!r}], True)
        while not m.hasResults(w):
            m.wait(100)
        print(m.processContainment(), m.takeResult(w), flush=True)
        while True:
            m.wait(1000)
        """
    )
    manager = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        how, _worker = readline(manager, 30).split(" ", 1)
        assert how == ("cgroup" if containment == "cgroup" else "process"), how
        started(mark, escape)
        manager.kill()
        manager.wait()
        wait_until(lambda: not marked(mark), 10)
    finally:
        manager.kill()
        manager.wait()


# Without a cgroup, what left the worker's process group outlives a SIGKILL of the worker (documented,
# spec FLT-11): only the escapes that stay in the group are tried under that containment.
HELD_AFTER_A_SIGKILL = [("cgroup", e) for e in ESCAPES] + [("process group", e) for e in ESCAPES if e in STAY_IN_GROUP]


@pytest.mark.parametrize("held_by, escape", HELD_AFTER_A_SIGKILL)
def test_what_a_task_started_ends_when_its_worker_is_killed_from_outside(held_by, escape, mark, make_manager, monkeypatch):
    containment = contain(held_by, monkeypatch)
    m = make_manager()
    assert m.processContainment() == containment
    w = m.startWorker()
    pid = call(m, w, task_code(escape), "start", mark)
    started(mark, escape)
    os.kill(pid, signal.SIGKILL)
    pump_until(m, lambda: not marked(mark), 5)


def test_a_worker_without_a_cgroup_is_a_child_subreaper_and_one_with_a_cgroup_is_in_it(containment, make_manager):
    m = make_manager()
    w = m.startWorker()
    code = (
        "import ctypes, os\n"
        "def f():\n"
        "    flag = ctypes.c_int(0)\n"
        "    ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)\n"
        "    return [bool(flag.value), open('/proc/self/cgroup').read().splitlines()[-1]]\n"
    )
    subreaper, cgroup = call(m, w, code, "f")
    if containment == "cgroup":
        assert cgroup.rsplit("/", 1)[-1].startswith("promp-") and not subreaper
    else:
        assert subreaper


def test_a_workers_cgroup_is_removed_once_the_worker_is_gone(make_manager):
    if not may_make_cgroups():
        pytest.skip("this system does not let this user make cgroups (v2)")
    m = make_manager()
    w = m.startWorker()
    assert m.processContainment() == "cgroup"
    line = call(m, w, "def f():\n    return open('/proc/self/cgroup').read().splitlines()[-1]\n", "f")
    directory = _cgroup_root() + line.split("::", 1)[1]
    assert os.path.isdir(directory)
    m.stopWorker(w)
    pump_until(m, lambda: m.workerState(w) == "exited")
    wait_until(lambda: not os.path.isdir(directory), 5)


def _cgroup_root() -> str:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    raise AssertionError("no cgroup2 mount")
