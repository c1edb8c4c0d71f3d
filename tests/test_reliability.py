"""Defects found by probing the reference as an attacker and a heavy user would (issue 12), each pinned."""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import zmq

from harness.helpers import gone
from promp import ProManager, ProMPError, ProMPOpt_RedirectOutput, ProMPRemoteError, ProWorker_Any
from promp._constants import EXIT_ABORTED, EXIT_MANAGER_GONE

from .conftest import call, pump_until, wait_until

CHILD = "import subprocess\ndef start():\n    return subprocess.Popen(['sleep', '60']).pid\n"


def test_code_far_over_64_kib_runs_instead_of_hanging_the_manager(manager: ProManager):
    big = "def f():\n    return len(DATA)\n" + f"DATA = {'x' * 300_000!r}\n"
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, big, "f", None, True)  # sent after the hello: on its own, not in a batch
    pump_until(manager, lambda: manager.workerState(wid) == "ready" and not manager.isBusy(), timeout=20)
    assert manager.takeResult(wid) == 300_000
    manager.evalPythonCode(wid, "X = " + repr("y" * 200_000))
    pump_until(manager, lambda: not manager.isBusy(), timeout=20)


@pytest.mark.parametrize("how", ["close", "stopWorker"])
def test_processes_a_task_started_end_with_its_worker(manager: ProManager, how: str):
    wid = manager.startWorker()
    child = call(manager, wid, CHILD, "start")
    spinner = "import os\ndef fork():\n    pid = os.fork()\n    if pid == 0:\n        while True:\n            pass\n    return pid\n"
    forked = call(manager, wid, spinner, "fork")
    assert not gone(child) and not gone(forked)
    if how == "close":
        manager.close()
    else:
        manager.stopWorker(wid)
        pump_until(manager, lambda: manager.workerState(wid) == "exited")
    wait_until(lambda: gone(child) and gone(forked), timeout=5)


def test_processes_a_task_started_end_when_the_manager_is_killed():
    script = textwrap.dedent(
        f"""
        from promp import ProManager
        m = ProManager()
        w = m.startWorker()
        m.evalPythonFunction(w, {CHILD!r}, "start", None, True)
        while not m.hasResults(w):
            m.wait(100)
        print(m.takeResult(w), flush=True)
        while True:
            m.wait(100)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert select.select([proc.stdout], [], [], 30)[0]
        child = int(proc.stdout.readline())
        proc.kill()
        proc.wait()
        wait_until(lambda: gone(child), timeout=5)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_wait_for_message_returns_false_once_its_worker_has_exited(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonCode(wid, "import os\nos._exit(5)")
    started = time.monotonic()
    assert manager.waitForMessage(wid, -1) is False
    assert time.monotonic() - started < 10
    assert manager.waitForMessage(ProWorker_Any, -1) is False  # no worker is left to send one


def test_unknown_worker_ids_are_refused_alike(manager: ProManager):
    manager.startWorker()
    for call_ in (
        lambda: manager.takeResult(99),
        lambda: manager.hasResults(99),
        lambda: manager.getMessage(99),
        lambda: manager.hasMessage(99),
        lambda: manager.waitForMessage(99, -1),
        lambda: manager.abortOperation(99),
    ):
        with pytest.raises(ValueError, match="no worker with id 99"):
            call_()


@pytest.mark.parametrize("use", ["wait(500)", "hasResults()", "takeResult()", "evalPythonFunction(ProWorker_Any, 'def f(): pass', 'f')"])
def test_a_manager_used_in_a_forked_child_raises_instead_of_hanging(manager: ProManager, use: str):
    manager.startWorker()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what using the parent's manager does, then leave at once
        try:
            try:
                eval("manager." + use, {"manager": manager, "ProWorker_Any": ProWorker_Any})
                os.write(write, b"no error")
            except ProMPError as exc:
                os.write(write, f"ProMPError: {exc}".encode())
        finally:
            os._exit(0)
    os.close(write)
    assert select.select([read], [], [], 10)[0], "the child hung"
    said = os.read(read, 1000).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert said.startswith("ProMPError") and "fork" in said


def test_a_fork_after_close_leaves_the_descriptors_the_manager_used_to_others():
    """A closed manager's descriptor numbers are reused; a forked child (a multiprocessing pool's) must keep them."""
    m = ProManager()
    m.startWorker()
    m.close()
    pipes = [os.pipe() for _ in range(8)]  # take the numbers the manager gave back
    pid = os.fork()
    if pid == 0:
        try:
            for r, w in pipes:
                os.fstat(r)
                os.fstat(w)
            os._exit(0)
        except OSError:
            os._exit(1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    for fds in pipes:
        for fd in fds:
            os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, "the child found one of them closed"


@pytest.mark.timeout(300)
def test_many_workers_starting_at_once_all_come_up(make_manager):
    m = make_manager(heartbeat_interval=0.2, heartbeat_timeout=1.0)  # a short timeout: start-up under load must not count
    ids = [m.startWorker() for _ in range(48)]
    pump_until(m, lambda: all(m.workerState(w) == "ready" for w in ids), timeout=90)
    assert [w for w in ids if m.workerExitCode(w) is not None] == []


def test_sys_exit_in_a_task_is_a_failed_task_and_its_code_stays_apart_from_the_workers_own(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, "import sys\ndef f():\n    sys.exit(3)\n", "f", None, True)
    pump_until(manager, lambda: manager.workerState(wid) == "exited")
    err = manager.takeResult(wid)
    assert isinstance(err, ProMPRemoteError) and err.type == "SystemExit" and "sys.exit(3)" in err.message
    assert manager.workerExitCode(wid) == 3
    assert len({3, EXIT_MANAGER_GONE, EXIT_ABORTED}) == 3 and min(EXIT_MANAGER_GONE, EXIT_ABORTED) > 64


def test_bad_frames_are_counted_and_logged_without_flooding(manager: ProManager, caplog):
    manager.startWorker()
    ctx = zmq.Context()
    intruder = ctx.socket(zmq.DEALER)
    intruder.setsockopt(zmq.LINGER, 0)
    intruder.connect(manager._port.endpoints["task"])
    try:
        with caplog.at_level(logging.WARNING, logger="promp"):
            for i in range(200):
                intruder.send(b"garbage %d" % i)
            wait_until(lambda: manager._port.reject.count >= 200, step=lambda: manager.wait(20))
        lines = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert 1 <= len(lines) <= 15
    finally:
        intruder.close()
        ctx.term()


def test_after_close_nothing_is_busy_and_every_worker_has_exited(manager: ProManager):
    ids = [manager.startWorker() for _ in range(2)]
    manager.evalPythonCode(ProWorker_Any, "import time; time.sleep(60)")
    manager.evalPythonCode(ids[0], "pass")
    assert manager.isBusy()
    manager.close()
    assert not manager.isBusy()
    assert [manager.workerState(w) for w in ids] == ["exited", "exited"]


def test_a_manager_whose_stdout_is_ascii_still_forwards_non_ascii_lines():
    script = textwrap.dedent(
        """
        from Pro.MP import *
        m = ProManager()
        m.setOptions(ProMPOpt_AtomicOutput)
        m.evalPythonCode(m.startWorker(), "print('h\\u00e9llo w\\u00f6rld')")
        while m.isBusy():
            m.processMessages()
        print("done")
        """
    )
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60).stdout
    assert out.splitlines() == ["h\\xe9llo w\\xf6rld", "done"]


def test_abort_exit_code_is_the_documented_one_and_the_tree_ends(manager: ProManager):
    wid = manager.startWorker()
    child = call(manager, wid, CHILD, "start")
    manager.evalPythonCode(wid, "import time\nwhile True:\n    time.sleep(0.01)")
    manager.wait(200)
    manager.abortOperation(wid, 0)
    pump_until(manager, lambda: manager.workerState(wid) == "exited")
    assert manager.workerExitCode(wid) in (EXIT_ABORTED, -signal.SIGKILL)
    wait_until(lambda: gone(child), timeout=5)


def test_output_the_user_has_not_taken_is_held_within_a_bound_and_none_is_lost(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time, psutil
        from Pro.MP import *
        m = ProManager()
        m.setOptions(ProMPOpt_RedirectOutput)
        w = m.startWorker()
        while m.workerState(w) != "ready":
            m.wait(50)
        m.evalPythonCode(w, "line = 'x' * 999\\nfor i in range(100_000):\\n    print(line)")
        before = psutil.Process().memory_info().rss
        time.sleep(4)  # computing, not pumping: the worker prints 100 MB meanwhile
        grew = psutil.Process().memory_info().rss - before
        while m.isBusy():
            m.processMessages()
        sys.stderr.write(f"{grew}\\n")
        """
    )
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout:
        result = subprocess.run([sys.executable, "-c", script], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
    grew = int(result.stderr.strip().splitlines()[-1])
    assert grew < 16 * 2**20, f"the manager grew by {grew / 2**20:.1f} MiB"  # unbounded, it was about 100 MiB
    with open(out) as f:
        lines = f.read().splitlines()
    assert len(lines) == 100_000 and set(lines) == {"x" * 999}


def test_running_out_of_file_descriptors_refuses_a_worker_and_the_manager_goes_on():
    script = textwrap.dedent(
        """
        import resource
        from promp import ProManager, ProMPError
        resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))
        m = ProManager()
        started, error = [], None
        for _ in range(100):
            try:
                started.append(m.startWorker())
            except ProMPError as exc:
                error = exc
                break
        m.evalPythonFunction(started[0], "def f():\\n    return 'still serving'\\n", "f", None, True)
        while m.isBusy():
            m.wait(100)
        print(len(started) > 5, "file descriptors" in str(error), m.workers() == started, m.takeResult(started[0]))
        m.close()
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    # the refused worker is nowhere: its id was never given out (it used to linger, "exited with code None")
    assert result.stdout.split() == ["True", "True", "True", "still", "serving"], result.stderr[-2000:]
    assert "exited" not in result.stderr, result.stderr[-2000:]


def test_processes_a_task_started_end_even_when_the_worker_is_killed_from_outside(manager: ProManager):
    wid = manager.startWorker()
    child = call(manager, wid, CHILD, "start")
    os.kill(manager.workerPid(wid), signal.SIGKILL)  # no chance to clean up after itself
    pump_until(manager, lambda: manager.workerState(wid) == "exited")
    wait_until(lambda: gone(child), timeout=5)


@pytest.mark.parametrize("run", range(10))
def test_what_a_worker_sent_before_os_exit_reaches_the_manager(manager: ProManager, run: int, capfd):
    """ZeroMQ sends from its own thread: a plain os._exit right after a send would lose it."""
    manager.setOptions(ProMPOpt_RedirectOutput)
    wid = manager.startWorker()
    tiny = "def f(i):\n    return i\n"
    for i in range(3):  # quick results, which the worker holds a moment to send them together
        manager.evalPythonFunction(wid, tiny, "f", [i], True)
    last = "from Pro.MP import *\nimport os\nproWorkerObject().sendMessage(ProMPMessage(7, b'last words'))\n"
    manager.evalPythonCode(wid, last + "print('unflushed', end='')\nos._exit(4)")
    pump_until(manager, lambda: not manager.isBusy())
    assert [manager.takeResult(wid) for _ in range(3)] == [0, 1, 2]
    assert manager.waitForMessage(wid, 5000) and manager.getMessage(wid).data == b"last words"
    assert manager.workerExitCode(wid) == 4
    assert "unflushed" in capfd.readouterr().out


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_close_returns_even_when_the_keeper_thread_died_of_an_exception_it_could_not_catch(manager: ProManager):
    """The keeper goes on after an ``Exception`` (a bug, logged); a ``BaseException`` ends its thread.  Its sockets are
    closed however it ends, or the close's end of the ZeroMQ context would wait for them for ever."""
    w = manager.startWorker()
    assert call(manager, w, "def f():\n    return 1\n", "f") == 1
    keeper = manager._port.keeper

    class Fatal(BaseException):
        pass

    def dies(feed=None):
        raise Fatal("the keeper ends here")

    keeper.executor.step = dies
    manager._port.nudge_keeper()
    wait_until(lambda: not keeper._thread.is_alive(), 10)
    started = time.monotonic()
    manager.close()  # before the fix, it never returned (pytest-timeout ends the test)
    assert time.monotonic() - started < 30
    assert manager._port.handles[w].proc.returncode is not None  # its worker was reaped all the same


def test_a_descriptor_the_keeper_cannot_watch_is_said_and_the_next_workers_are_watched_all_the_same(manager: ProManager, caplog):
    """The keeper takes the descriptors other threads ask it to watch at its next nudge.  One it cannot watch (here a
    number that is not open) is logged; it used to stop the loop, stay first in line and fail every later nudge, so no
    worker started after it had its exit seen at once (its pidfd) or its output read as it came."""
    from promp.manager._keeper import ZYGOTE

    port = manager._port
    with port.lock:
        port.keeper._asked.append((10**6, None, ZYGOTE))
    port.nudge_keeper()
    w = manager.startWorker()
    pid = call(manager, w, "import os\ndef f():\n    return os.getpid()\n", "f")
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    pump_until(manager, lambda: manager.workerState(w) == "exited", timeout=10)
    assert time.monotonic() - started < 2  # by its pidfd, not the 5 s heartbeat timeout
    assert any("cannot watch descriptor" in r.getMessage() for r in caplog.records)
