"""Tasks, targets, results and values through real worker processes."""

from __future__ import annotations

import os
import time

import pytest

from promp import NTVariantList, ProManager, ProMPError, ProMPRemoteError, ProWorker_All, ProWorker_Any, ProWorkerExited

from .conftest import call, pump_until, raised_in_another_thread, wait_until

PID = "import os, threading\ndef pid():\n    return os.getpid()\n"
ECHO = "def echo(x):\n    return x\n"
SLEEP = "import os, time\ndef nap(s):\n    time.sleep(s)\n    return os.getpid()\n"


def test_start_worker_returns_at_once_and_the_worker_comes_up_in_the_background(manager: ProManager):
    t = time.perf_counter()
    wid = manager.startWorker()
    assert time.perf_counter() - t < 0.5
    assert manager.workerState(wid) == "starting"
    pump_until(manager, lambda: manager.workerState(wid) == "ready")
    assert manager.workers() == [wid]


def test_tasks_sent_before_the_worker_is_up_run_in_order(manager: ProManager):
    wid = manager.startWorker()
    for i in range(20):
        manager.evalPythonFunction(wid, ECHO, "echo", [i], True)
    pump_until(manager, lambda: not manager.isBusy())
    assert [manager.takeResult(wid) for _ in range(20)] == list(range(20))
    assert manager.takeResult(wid) is None


QUICK = """import time
def quick():
    t = time.perf_counter()
    while time.perf_counter() - t < 0.0005:
        pass
    return 'quick'
"""


@pytest.mark.parametrize("when", ["before the worker is up", "on a running worker"])
def test_a_quick_result_is_not_held_back_by_a_long_task_queued_behind_it(manager: ProManager, when: str):
    # results of quick tasks may be batched while more work is waiting, but only for milliseconds
    wid = manager.startWorker()
    if when == "on a running worker":
        pump_until(manager, lambda: manager.workerState(wid) == "ready")
    manager.evalPythonFunction(wid, QUICK, "quick", None, True)
    manager.evalPythonCode(wid, "import time; time.sleep(30)")
    pump_until(manager, manager.hasResults, timeout=10)  # 30 s if the result waited for the sleep
    assert manager.takeResult(wid) == "quick" and manager.isBusy()


def test_tasks_run_on_the_workers_main_thread(manager: ProManager):
    code = "import threading\ndef main():\n    return threading.current_thread() is threading.main_thread()\n"
    assert call(manager, manager.startWorker(), code, "main") is True


def test_all_runs_once_on_every_live_worker(manager: ProManager):
    ids = [manager.startWorker() for _ in range(3)]
    manager.evalPythonFunction(ProWorker_All, PID, "pid", None, True)
    pump_until(manager, lambda: not manager.isBusy())
    pids = {manager.takeResult(w) for w in ids}
    assert pids == {manager.workerPid(w) for w in ids}
    assert not manager.hasResults()


def test_any_runs_on_exactly_one_worker_preferring_an_idle_one(manager: ProManager):
    a, b = manager.startWorker(), manager.startWorker()
    pump_until(manager, lambda: manager.workerState(a) == manager.workerState(b) == "ready")
    manager.evalPythonFunction(ProWorker_Any, SLEEP, "nap", [1.5], True)
    manager.evalPythonFunction(ProWorker_Any, SLEEP, "nap", [0], True)
    pump_until(manager, lambda: manager.hasResults())
    quick = manager.takeResult(ProWorker_Any)
    pump_until(manager, lambda: manager.hasResults())
    slow = manager.takeResult(ProWorker_Any)
    assert {quick, slow} == {manager.workerPid(a), manager.workerPid(b)}
    assert not manager.hasResults()


def test_any_waits_for_a_worker_to_free_up(manager: ProManager):
    wid = manager.startWorker()
    for i in range(5):
        manager.evalPythonFunction(ProWorker_Any, ECHO, "echo", [i], True)
    pump_until(manager, lambda: not manager.isBusy())
    assert sorted(manager.takeResult(wid) for _ in range(5)) == list(range(5))


def test_is_busy_while_tasks_run_and_take_result_on_nothing_is_none(manager: ProManager):
    wid = manager.startWorker()
    assert not manager.isBusy()
    assert manager.takeResult(wid) is None and manager.takeResult(ProWorker_Any) is None
    manager.evalPythonFunction(wid, SLEEP, "nap", [0.3])
    assert manager.isBusy()
    pump_until(manager, lambda: not manager.isBusy())
    assert not manager.hasResults()  # no result was asked for


VALUES = [None, True, False, 0, -(2**63), 2**64 - 1, 1.5, "héllo", b"\x00\xff", [1, [2, "x"]], {"a": {"b": [None]}, "n": 1}]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_round_trip_exactly(manager: ProManager, value: object):
    result = call(manager, manager.startWorker(), ECHO, "echo", value)
    assert result == value and type(result) is type(value)


def test_tuples_arrive_as_lists_and_ntvariantlist_args_work(manager: ProManager):
    wid = manager.startWorker()
    args = NTVariantList()
    args.append((1, 2))
    manager.evalPythonFunction(wid, ECHO, "echo", args, True)
    pump_until(manager, lambda: manager.hasResults(wid))
    assert manager.takeResult(wid) == [1, 2]


@pytest.mark.parametrize("bad, name", [({1}, "set"), (object(), "object"), (2**70, "int")])
def test_unsendable_arguments_raise_type_error_at_the_call_and_send_nothing(manager: ProManager, bad: object, name: str):
    wid = manager.startWorker()
    with pytest.raises(TypeError, match=name):
        manager.evalPythonFunction(wid, ECHO, "echo", [bad], True)
    assert not manager.isBusy()
    assert call(manager, wid, ECHO, "echo", 1) == 1  # the worker is untouched


def test_a_result_the_worker_cannot_send_is_an_error_result(manager: ProManager):
    wid = manager.startWorker()
    err = call(manager, wid, "def f():\n    return {1, 2}\n", "f")
    assert isinstance(err, ProMPRemoteError) and err.type == "TypeError" and "set" in err.message
    assert call(manager, wid, ECHO, "echo", 2) == 2


def test_a_remote_exception_is_an_error_value_and_the_worker_stays_usable(manager: ProManager, capfd):
    manager.setOptions(0x1)
    wid = manager.startWorker()
    err = call(manager, wid, "def boom():\n    raise KeyError('lost')\n", "boom")
    assert isinstance(err, ProMPRemoteError)
    assert (err.type, err.message, err.workerId) == ("KeyError", "'lost'", wid)
    assert "raise KeyError('lost')" in err.traceback and "boom" in err.traceback
    pump_until(manager, lambda: "KeyError: 'lost'" in capfd.readouterr().err)
    assert call(manager, wid, ECHO, "echo", 3) == 3


def test_a_remote_traceback_starts_at_the_users_code_not_the_workers_own(manager: ProManager, capfd):
    """How the worker called the task is noise to its reader: the traceback shows the task's frames (both copies)."""
    manager.setOptions(0x1)
    wid = manager.startWorker()
    err = call(manager, wid, "def inner():\n    raise KeyError('deep')\ndef boom():\n    inner()\n", "boom")
    frames = [line for line in err.traceback.splitlines() if line.lstrip().startswith("File ")]
    assert [f.split(", in ")[-1] for f in frames] == ["boom", "inner"], err.traceback
    pump_until(manager, lambda: "KeyError: 'deep'" in (shown := capfd.readouterr().err) and "promp/worker" not in shown)
    missing = call(manager, wid, ECHO, "missing")  # raised by the worker itself: its frame stays, the only one
    assert "File " in missing.traceback and "NameError" in missing.traceback


def test_unknown_function_names_fail_clearly(manager: ProManager):
    err = call(manager, manager.startWorker(), ECHO, "missing")
    assert isinstance(err, ProMPRemoteError) and err.type == "NameError" and "'missing'" in err.message


def test_scripts_run_as_main_and_functions_from_scripts_are_called(manager: ProManager, tmp_path, capfd):
    script = tmp_path / "remote.py"
    script.write_text("import sys\nprint('ran as', __name__, sys.argv[0].endswith('remote.py'))\ndef twice(x):\n    return 2 * x\n")
    manager.setOptions(0x2)
    wid = manager.startWorker()
    manager.executePythonScript(wid, str(script))
    manager.executePythonFunction(wid, script, "twice", [21], True)
    pump_until(manager, lambda: not manager.isBusy())
    assert manager.takeResult(wid) == 42
    out = capfd.readouterr().out
    assert "ran as __main__ True" in out and "ran as __mp_main__ True" in out


def test_missing_scripts_and_bad_arguments_are_rejected_at_the_call(manager: ProManager, tmp_path):
    wid = manager.startWorker()
    with pytest.raises(FileNotFoundError, match="nope.py"):
        manager.executePythonScript(wid, tmp_path / "nope.py")
    with pytest.raises(TypeError, match="code must be a str"):
        manager.evalPythonCode(wid, b"print(1)")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="args must be"):
        manager.evalPythonFunction(wid, ECHO, "echo", "abc")
    with pytest.raises(ValueError, match="no worker with id 42"):
        manager.evalPythonCode(42, "pass")
    with pytest.raises(TypeError, match="want_result"):
        manager.evalPythonFunction(wid, ECHO, "echo", [1], 1)  # type: ignore[arg-type]
    assert not manager.isBusy()


def test_each_task_gets_a_fresh_namespace(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonCode(wid, "leak = 1")
    assert call(manager, wid, "def f():\n    return 'leak' in globals()\n", "f") is False


def test_targets_without_live_workers_raise(manager: ProManager):
    with pytest.raises(ProWorkerExited, match="ProWorker_All"):
        manager.evalPythonCode(ProWorker_All, "pass")
    with pytest.raises(ProWorkerExited, match="ProWorker_Any"):
        manager.evalPythonCode(ProWorker_Any, "pass")


def test_the_manager_belongs_to_the_thread_that_created_it(manager: ProManager):
    errors = raised_in_another_thread(manager.startWorker)
    assert len(errors) == 1 and isinstance(errors[0], ProMPError) and "thread" in str(errors[0])
    assert manager.workers() == []


@pytest.mark.parametrize(
    "call",
    [
        "options()", "setOptions(0)", "isBusy()", "hasResults()", "takeResult()", "processMessages()", "wait(0)",
        "evalPythonCode(ProWorker_All, 'pass')", "workers()", "workerState(1)", "workerPid(1)", "workerExitCode(1)",
        "close()",
    ],
)
def test_every_call_refuses_another_thread(manager: ProManager, call: str):
    """Every call, reads too: the manager's tables change under its owner's thread, never guarded for others."""
    manager.startWorker()
    errors = raised_in_another_thread(lambda: eval("manager." + call, {"manager": manager, "ProWorker_All": ProWorker_All}))
    assert len(errors) == 1 and isinstance(errors[0], ProMPError) and "thread" in str(errors[0])
    assert manager.workerState(1) in ("starting", "ready")  # not closed by the refused call


HOT_CALLS = ["hasResults()", "takeResult()", "wait(0)", "wait()", "evalPythonFunction(ProWorker_Any, ECHO, 'echo', [1], True)"]


@pytest.mark.parametrize("call", HOT_CALLS)
def test_the_round_trip_calls_refuse_a_closed_manager(manager: ProManager, call: str):
    """The calls of a round trip check the manager in line (no call to ``_check``): they still say it is closed."""
    manager.startWorker()
    manager.close()
    with pytest.raises(ProMPError, match="closed"):
        eval("manager." + call, {"manager": manager, "ProWorker_Any": ProWorker_Any, "ECHO": ECHO})


def test_wait_returns_as_soon_as_something_arrives_or_on_timeout(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, SLEEP, "nap", [30])
    pump_until(manager, lambda: manager.workerState(wid) == "ready")
    t = time.perf_counter()
    assert manager.wait(300) is False
    assert 0.25 < time.perf_counter() - t < 5
    assert manager.isBusy()
    manager.stopWorker(wid)  # the nap is cut short by the kill after the grace period


def test_stop_worker_and_exit_codes(manager: ProManager):
    wid = manager.startWorker()
    pump_until(manager, lambda: manager.workerState(wid) == "ready")
    manager.stopWorker(wid)
    pump_until(manager, lambda: manager.workerState(wid) == "exited")
    assert manager.workerExitCode(wid) == 0
    with pytest.raises(ProWorkerExited):
        manager.evalPythonCode(wid, "pass")


def test_sys_exit_in_a_task_ends_the_worker_with_that_code(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonCode(wid, "import sys\nsys.exit(7)")
    pump_until(manager, lambda: manager.workerState(wid) == "exited")
    assert manager.workerExitCode(wid) == 7
    assert not manager.isBusy()


def test_tcp_transport_on_loopback(make_manager):
    m = make_manager(transport="tcp")
    assert call(m, m.startWorker(), ECHO, "echo", "tcp") == "tcp"
    assert m._port.endpoints["task"].startswith("tcp://127.0.0.1:")


def test_many_tiny_tasks_through_any_all_complete(manager: ProManager):
    ids = [manager.startWorker(), manager.startWorker()]
    for i in range(3000):
        manager.evalPythonFunction(ProWorker_Any, ECHO, "echo", [i], True)
    pump_until(manager, lambda: not manager.isBusy(), timeout=60)
    results = []
    while manager.hasResults():
        results.append(manager.takeResult(ProWorker_Any))
    assert sorted(results) == list(range(3000))
    pump_until(manager, lambda: all(manager.workerState(w) == "ready" for w in ids))  # none died on the way


def test_worker_environment_carries_no_secret(manager: ProManager):
    wid = manager.startWorker()
    env_keys = call(manager, wid, "import os\ndef keys():\n    return [k for k in os.environ if k.startswith('PROMP_')]\n", "keys")
    assert env_keys == []
    with open(f"/proc/{manager.workerPid(wid)}/cmdline", "rb") as f:
        assert manager._port.secret.hex().encode() not in f.read()
    directory = os.path.dirname(manager._port.endpoints["task"][len("ipc://") :])
    assert os.stat(directory).st_mode & 0o777 == 0o700


def _io_threads(pid: int) -> dict[int, int]:
    """The ZeroMQ I/O threads of a process: thread id -> scheduling policy."""
    import glob

    threads = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(f"{task}/comm") as f:
                if f.read().startswith("ZMQbg/IO"):
                    tid = int(os.path.basename(task))
                    threads[tid] = os.sched_getscheduler(tid)
        except (FileNotFoundError, ProcessLookupError):  # a thread of the test process that ended meanwhile
            continue
    return threads


def test_zmq_io_threads_run_sched_batch_so_they_never_preempt_the_sender(make_manager):
    before = _io_threads(os.getpid())  # other contexts of this process are not ours to judge
    manager = make_manager()
    wid = manager.startWorker()
    pump_until(manager, lambda: manager.workerState(wid) == "ready")
    ours = {tid: policy for tid, policy in _io_threads(os.getpid()).items() if tid not in before}
    workers = _io_threads(manager.workerPid(wid))
    assert set(ours.values()) == {os.SCHED_BATCH} and set(workers.values()) == {os.SCHED_BATCH}, (ours, workers)


def test_where_sched_batch_is_refused_the_context_keeps_the_default_policy(monkeypatch):
    import zmq

    from promp.wire import _zmq as _transport

    def refuse(*args: object) -> None:
        raise PermissionError("not here")

    monkeypatch.setattr(_transport, "_batch_allowed", None)
    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    before = _io_threads(os.getpid())
    ctx = _transport.new_context()
    try:
        sock = ctx.socket(zmq.PAIR)  # starts the I/O thread; libzmq would abort had it been told to set a refused policy
        sock.bind("inproc://probe")
        sock.close()
        new: dict[int, int] = {}

        def started() -> bool:  # the thread names itself once it runs
            new.update((tid, policy) for tid, policy in _io_threads(os.getpid()).items() if tid not in before)
            return bool(new)

        wait_until(started)
        assert list(new.values()) == [os.SCHED_OTHER]
    finally:
        ctx.term()


def test_long_tasks_of_a_new_kind_are_not_queued_behind_each_other_on_one_worker(manager: ProManager):
    # quick tasks are pipelined to busy workers; a kind never run before waits for an idle one
    ids = [manager.startWorker(), manager.startWorker()]
    pump_until(manager, lambda: all(manager.workerState(w) == "ready" for w in ids))
    for i in range(600):
        manager.evalPythonFunction(ProWorker_Any, ECHO, "echo", [-i - 1], True)  # negative: never a pid
        if i in (590, 595):
            manager.evalPythonFunction(ProWorker_Any, SLEEP, "nap", [0.5], True)
    pump_until(manager, lambda: not manager.isBusy(), timeout=30)
    results = []
    while manager.hasResults():
        results.append(manager.takeResult(ProWorker_Any))
    pids = {manager.workerPid(w) for w in ids}
    slow = [r for r in results if r > 0]  # nap returns its worker's pid
    assert set(slow) <= pids
    assert len(results) == 602 and len(slow) == 2 and slow[0] != slow[1], slow


def test_after_many_distinct_code_strings_tracebacks_still_show_their_own_lines(manager: ProManager):
    """Compiled code is cached; old sources are forgotten, lines and all, and names are never reused."""
    wid = manager.startWorker()
    for i in range(300):  # values formatted into the code: each string is new, past the cache's size
        manager.evalPythonCode(wid, f"x = {i}")
    failing = "def f():\n    raise ValueError('mine')  # the line of f\n"
    manager.evalPythonFunction(wid, failing, "f", None, True)
    manager.evalPythonFunction(wid, "def g():\n    pass  # a later source\n", "g")
    manager.evalPythonFunction(wid, failing, "f", None, True)  # from the cache
    pump_until(manager, lambda: not manager.isBusy(), timeout=60)
    first, second = manager.takeResult(wid), manager.takeResult(wid)
    assert "the line of f" in first.traceback and "the line of f" in second.traceback
    probe = "import linecache\ndef count():\n    return sum(1 for name in linecache.cache if name.startswith('<evalPython'))\n"
    assert call(manager, wid, probe, "count") <= 260


def test_waits_for_slow_replies_sleep_rather_than_spin(manager):
    """A wait watches for a quick reply for half a millisecond at most, then sleeps: a long wait costs no processor."""
    w = manager.startWorker()
    call(manager, w, "def f():\n    return 1\n", "f")  # replies were quick: the next wait starts by watching
    manager.evalPythonFunction(w, "import time\ndef f():\n    time.sleep(1.0)\n    return 2\n", "f", None, True)
    cpu, wall = time.process_time(), time.monotonic()
    while manager.isBusy():
        manager.wait()
    assert manager.takeResult(w) == 2 and time.monotonic() - wall >= 0.9
    assert time.process_time() - cpu < 0.25, "the wait used the processor while it waited"


def test_any_gives_each_task_to_the_worker_idle_longest(manager: ProManager):
    a, b = manager.startWorker(), manager.startWorker()
    pump_until(manager, lambda: manager.workerState(a) == manager.workerState(b) == "ready")
    pids = []
    for _ in range(6):  # one after another: both are idle each time
        manager.evalPythonFunction(ProWorker_Any, PID, "pid", None, True)
        pump_until(manager, lambda: manager.hasResults())
        pids.append(manager.takeResult(ProWorker_Any))
    first, second = manager.workerPid(a), manager.workerPid(b)
    assert set(pids) == {first, second}
    assert all(x != y for x, y in zip(pids, pids[1:], strict=False)), pids  # they take turns
