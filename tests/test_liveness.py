"""Liveness and shutdown: no worker outlives its manager, none is lost silently, none is left behind."""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from promp import ProManager, ProMPRemoteError, ProWorker_All

from .conftest import call, gone, pump_until, wait_until

ECHO = "def echo(x):\n    return x\n"

MANAGER_SCRIPT = """
import sys
from Pro.MP import *
m = ProManager(heartbeat_interval=0.2, heartbeat_timeout={timeout})
ids = [m.startWorker() for _ in range({workers})]
while any(m.workerState(w) != "ready" for w in ids):
    m.wait(50)
print(" ".join(str(m.workerPid(w)) for w in ids), m._port.endpoints["task"], flush=True)
{then}
"""


@pytest.fixture
def manager_process(tmp_path) -> Iterator:
    procs: list[subprocess.Popen] = []

    def start(workers: int = 2, timeout: float = 1.0, then: str = "sys.stdin.read()") -> tuple[subprocess.Popen, list[int]]:
        script = tmp_path / f"manager{len(procs)}.py"
        script.write_text(MANAGER_SCRIPT.format(workers=workers, timeout=timeout, then=then))
        proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the manager script did not start its workers in time"
        *pids, endpoint = proc.stdout.readline().split()
        proc.endpoint = endpoint
        return proc, [int(p) for p in pids]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()


def test_workers_exit_at_once_when_the_manager_process_is_killed(manager_process):
    proc, pids = manager_process(workers=3, timeout=30.0)  # heartbeats cannot be what ends them
    socket_dir = os.path.dirname(proc.endpoint[len("ipc://") :])
    assert os.path.isdir(socket_dir)
    proc.kill()
    wait_until(lambda: all(gone(p) for p in pids), timeout=3.0)
    wait_until(lambda: not os.path.exists(socket_dir), timeout=3.0)  # the workers removed what it left


def test_workers_exit_after_the_heartbeat_timeout_when_the_manager_is_frozen(manager_process):
    proc, pids = manager_process(workers=2, timeout=1.0)
    proc.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    assert not any(gone(p) for p in pids)
    wait_until(lambda: all(gone(p) for p in pids), timeout=1.0 + 4.0)
    assert time.monotonic() - stopped > 0.8  # it was the timeout, not something quicker


FLOOD = """
import os
m.setOptions(ProMPOpt_RedirectOutput)
for i in range(20000):
    m.evalPythonFunction(ProWorker_Any, "def f(i):\\n    print('x' * 40000)\\n    return i\\n", "f", [i], True)
print("flooding", flush=True)
sys.stdout = open(os.devnull, "w")
while m.isBusy():
    m.wait(50)
    while m.takeResult() is not None:
        pass
"""


def test_workers_of_a_manager_frozen_while_they_flood_it_with_output_still_exit(manager_process):
    # their output pipes fill up and their main threads block in print(); the heartbeat
    # timeout must not depend on those threads (nor on the locks they hold)
    proc, pids = manager_process(workers=2, timeout=1.0, then=FLOOD)
    assert proc.stdout.readline().strip() == "flooding"
    proc.send_signal(signal.SIGSTOP)
    wait_until(lambda: all(gone(p) for p in pids), timeout=1.0 + 9.0)


def test_workers_exit_when_the_manager_script_ends_normally_or_by_an_exception(manager_process):
    for then in ("print('bye')", "raise SystemExit(3)", "raise RuntimeError('boom')"):
        proc, pids = manager_process(workers=2, timeout=30.0, then=then)
        proc.wait(timeout=15)
        wait_until(lambda pids=pids: all(gone(p) for p in pids), timeout=3.0)


def test_a_manager_that_does_not_process_messages_for_a_while_keeps_its_workers(make_manager):
    m = make_manager(heartbeat_interval=0.1, heartbeat_timeout=0.5)
    wid = m.startWorker()
    pid = call(m, wid, "import os\ndef pid():\n    return os.getpid()\n", "pid")
    time.sleep(2.0)  # the behaviour under test: four heartbeat timeouts without a single call
    end = time.monotonic() + 1.5
    while time.monotonic() < end:  # and pure-Python computation holding the GIL between switches
        sum(range(1000))
    assert call(m, wid, "import os\ndef pid():\n    return os.getpid()\n", "pid") == pid
    assert m.workerState(wid) == "ready"


def test_a_killed_worker_is_noticed_at_once_and_its_tasks_fail(manager: ProManager, caplog):
    wid = manager.startWorker()
    pump_until(manager, lambda: manager.workerState(wid) == "ready")
    manager.evalPythonFunction(wid, "import time\ndef f():\n    time.sleep(60)\n", "f", None, True)
    manager.evalPythonCode(wid, "pass")
    assert manager.isBusy()
    killed = time.monotonic()
    os.kill(manager.workerPid(wid), signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="promp"):
        pump_until(manager, lambda: manager.workerState(wid) == "exited", timeout=5)
    assert time.monotonic() - killed < 2.0
    assert manager.workerExitCode(wid) == -signal.SIGKILL
    assert not manager.isBusy()
    err = manager.takeResult(wid)
    assert isinstance(err, ProMPRemoteError) and err.type == "WorkerExited"
    assert f"worker {wid} exited with code -9; 2 unfinished task(s) failed" in caplog.text


def test_a_frozen_worker_is_killed_after_the_heartbeat_timeout_and_reported(make_manager, caplog):
    m = make_manager(heartbeat_interval=0.1, heartbeat_timeout=1.0)
    wid = m.startWorker()
    pump_until(m, lambda: m.workerState(wid) == "ready")
    m.evalPythonCode(wid, "pass")
    os.kill(m.workerPid(wid), signal.SIGSTOP)
    with caplog.at_level(logging.WARNING, logger="promp"):
        pump_until(m, lambda: m.workerState(wid) == "exited", timeout=6)
    assert "sent no heartbeat" in caplog.text
    assert not m.isBusy()


def test_a_worker_stuck_in_c_code_holding_the_gil_still_answers_heartbeats(make_manager):
    m = make_manager(heartbeat_interval=0.1, heartbeat_timeout=1.0)
    wid = m.startWorker()
    # catastrophic backtracking: one call into the re engine holds the GIL for about 3 s here,
    # three heartbeat timeouts; the C-level echo keeps answering all the same
    code = "import re\ndef f():\n    re.match(r'(a+)+$', 'a' * 26 + 'b')\n    return 'done'\n"
    assert call(m, wid, code, "f", timeout=60) == "done"
    assert m.workerState(wid) == "ready"


def test_close_ends_every_worker_and_the_manager_refuses_further_calls():
    m = ProManager()
    ids = [m.startWorker() for _ in range(3)]
    pump_until(m, lambda: all(m.workerState(w) == "ready" for w in ids))
    pids = [m.workerPid(w) for w in ids]
    m.evalPythonCode(ids[0], "import time\ntime.sleep(60)")
    m.close()
    assert all(gone(p) for p in pids)
    m.close()  # twice is harmless
    with pytest.raises(Exception, match="closed"):
        m.startWorker()


def test_context_manager_and_garbage_collection_end_workers():
    with ProManager() as m:
        wid = m.startWorker()
        pump_until(m, lambda: m.workerState(wid) == "ready")
        pid = m.workerPid(wid)
    assert gone(pid)
    m = ProManager()
    wid = m.startWorker()
    pump_until(m, lambda: m.workerState(wid) == "ready")
    pid = m.workerPid(wid)
    m = None
    gc.collect()
    wait_until(lambda: gone(pid), timeout=5)


def test_manager_killed_while_its_worker_runs_a_task_still_ends_the_worker(manager_process):
    proc, pids = manager_process(
        workers=1, timeout=30.0, then="m.evalPythonCode(ProWorker_Any, 'import time\\ntime.sleep(60)')\nm.wait(200)\nsys.stdin.read()"
    )
    proc.kill()
    wait_until(lambda: all(gone(p) for p in pids), timeout=3.0)


def test_a_forked_child_neither_keeps_the_workers_alive_nor_ends_them(manager_process):
    then = (
        "import os\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    import time\n"
        "    time.sleep(30)  # outlives its parent: must not hold the workers' alive pipe\n"
        "    os._exit(0)\n"
        "print(pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc, pids = manager_process(workers=2, timeout=30.0, then=then)
    child = int(proc.stdout.readline())
    try:
        proc.kill()
        wait_until(lambda: all(gone(p) for p in pids), timeout=3.0)
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_forked_child_that_exits_normally_leaves_the_parents_workers_alone(tmp_path):
    script = tmp_path / "fork.py"
    script.write_text(
        "import os, sys\n"
        "from Pro.MP import *\n"
        "m = ProManager()\n"
        "w = m.startWorker()\n"
        "code = 'def f(x):\\n    return x\\n'\n"
        "def call(x):\n"
        "    m.evalPythonFunction(w, code, 'f', [x], True)\n"
        "    while m.isBusy():\n"
        "        m.processMessages()\n"
        "    return m.takeResult(w)\n"
        "print(call(1))\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    sys.exit(0)  # runs the atexit handlers, the manager's finalizer among them\n"
        "os.waitpid(child, 0)\n"
        "print(call(2))\n"
        "w = m.startWorker()  # the socket directory must still be there\n"
        "print(call(3))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.stdout == "1\n2\n3\n", result.stderr


def test_socket_directories_of_dead_managers_are_removed_by_the_next_manager(make_manager, manager_process):
    proc, pids = manager_process(workers=1, timeout=1.0)
    socket_dir = os.path.dirname(proc.endpoint[len("ipc://") :])
    proc.send_signal(signal.SIGSTOP)  # frozen first: its worker leaves without removing anything
    wait_until(lambda: all(gone(p) for p in pids), timeout=6)
    proc.kill()
    proc.wait()
    assert os.path.isdir(socket_dir)
    make_manager()
    assert not os.path.exists(socket_dir)


def test_a_new_managers_socket_directory_is_never_taken_for_a_dead_ones(monkeypatch):
    """Another process's new manager sweeps the temp directory at any moment: one that looked between the new
    directory's lock file appearing and its manager locking it took the lock, judged the directory a dead
    manager's, and removed it (the new manager's binds then failed, or its workers could not connect)."""
    from promp.manager import _socket_dir

    flock = fcntl.flock
    swept = []

    def flock_after_a_sweep(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and not swept:  # the new manager's own lock, about to be taken
            swept.append(True)
            _socket_dir.remove_stale()  # what another process's manager may do just then (a lock of its own)
        flock(fd, operation)

    monkeypatch.setattr(_socket_dir.fcntl, "flock", flock_after_a_sweep)
    made = _socket_dir.SocketDir()
    try:
        assert swept and os.path.isfile(os.path.join(made.path, _socket_dir.LOCK))
    finally:
        made.remove()


def test_a_worker_its_manager_pings_sends_no_pings_of_its_own_and_one_it_stops_pinging_does():
    """Half the heartbeat traffic: while the manager's pings come, they show the worker its manager lives."""
    from harness.wire import FakeManager, frame
    from promp import workerCommand

    fake = FakeManager(workerCommand(), heartbeat="0.1,1.0")
    try:
        fake.recv()  # hello

        def worker_pings(seconds: float, ping: bool) -> int:
            """Ping the worker every 0.1 s (or not) and answer its own pings; returns how many it sent."""
            counted, n, end = 0, 0, time.monotonic() + seconds
            while time.monotonic() < end:
                if ping:
                    n += 1
                    fake.send_raw(frame(fake.secret, {"k": "ping", "n": n}), socket="beat")
                counted += fake.echo_pings(0.1)
                while fake.sockets["beat"].poll(0):
                    fake.sockets["beat"].recv_multipart()
            return counted

        worker_pings(0.3, ping=True)  # its first ping may go before ours arrive
        assert worker_pings(1.0, ping=True) == 0
        assert worker_pings(1.0, ping=False) >= 7  # one every 0.1 s once ours stop
        assert fake.worker.poll() is None
    finally:
        fake.close()


@pytest.mark.parametrize("warm", [True, False])
def test_every_workers_connection_is_known_however_soon_it_connects(make_manager, warm: bool):
    """A forked worker may connect before its manager has learnt its pid: its connection must still be its own.

    Else the end of that connection says nothing, and a killed worker's exit waits for the grace.
    """
    for m in (make_manager(warm_start=warm) for _ in range(3)):
        workers = {m.startWorker() for _ in range(20)}
        m.evalPythonCode(ProWorker_All, "pass")
        pump_until(m, lambda m=m: not m.isBusy())
        pump_until(m, lambda m=m, workers=workers: set(m._port.links._link_of.values()) == workers, timeout=5)


def test_a_killed_workers_exit_is_final_once_its_connection_ended_not_after_the_grace(make_manager):
    """Everything a dead worker sent is in once its connection's end was read: no need to wait out the grace."""
    m = make_manager()
    m._session.exit_grace = 60.0  # were it waited for, the test would time out
    w = m.startWorker()
    pid = call(m, w, "import os\ndef f():\n    return os.getpid()\n", "f")
    m.evalPythonFunction(w, "def f():\n    return 'sent before the end'\n", "f", None, True)
    m.evalPythonCode(w, "import time\ntime.sleep(60)")
    pump_until(m, lambda: m.hasResults(w))
    os.kill(pid, signal.SIGKILL)
    pump_until(m, lambda: m.workerState(w) == "exited", timeout=20)
    assert not m.isBusy() and m.takeResult(w) == "sent before the end"
