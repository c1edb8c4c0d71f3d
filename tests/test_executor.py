"""promp.Executor: ProcessPoolExecutor's interface, and what it adds (a dead worker fails only its calls, abort)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

import promp
from promp.executor import RemoteTraceback, TaskAborted, WorkerExitedError, _pickling
from tests import executor_calls as calls
from tests.conftest import wait_until

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def ex():
    executor = promp.Executor(2)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def test_submit_map_and_keyword_arguments_give_what_the_function_returns(ex):
    assert ex.submit(calls.square, 7).result(timeout=30) == 49
    assert ex.submit(calls.kwargs_echo, 1, (2, 3), key={"a": b"b"}).result(timeout=30) == ((1, (2, 3)), {"key": {"a": b"b"}})
    assert list(ex.map(calls.square, range(50))) == [x * x for x in range(50)]
    assert list(ex.map(calls.square, range(50), chunksize=7)) == [x * x for x in range(50)]
    assert list(ex.map(pow, range(5), [2, 2, 2])) == [0, 1, 4]  # stops at the shortest, as map does


def test_a_failed_call_raises_its_exception_with_the_workers_traceback_as_cause(ex):
    future = ex.submit(calls.fail, "bad input")
    with pytest.raises(ValueError, match="bad input") as raised:
        future.result(timeout=30)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "in fail" in str(raised.value.__cause__) and "executor_calls.py" in str(raised.value.__cause__)
    assert ex.submit(calls.square, 3).result(timeout=30) == 9  # the pool goes on


def test_a_killed_worker_fails_only_its_own_calls_and_the_pool_goes_on(ex):
    slow = [ex.submit(calls.slow_pid, 0.5) for _ in range(2)]  # one on each worker
    victim = ex.submit(calls.kill_self)
    with pytest.raises(WorkerExitedError) as raised:
        victim.result(timeout=30)
    assert isinstance(raised.value, cf.process.BrokenProcessPool)  # what code written for the standard pool catches
    assert isinstance(raised.value.worker_id, int)
    assert f"worker {raised.value.worker_id} exited with code -9" in str(raised.value)  # killed by SIGKILL
    pids = {f.result(timeout=30) for f in slow}
    assert len(pids) == 2  # both slow calls finished, on their own workers
    assert ex.submit(calls.square, 5).result(timeout=30) == 25  # a replacement runs the next ones


def test_an_exit_in_a_call_names_the_worker_and_its_code(ex):
    with pytest.raises(WorkerExitedError, match="code 42") as raised:
        ex.submit(calls.die, 42).result(timeout=30)
    assert f"worker {raised.value.worker_id}" in str(raised.value)
    assert ex.submit(calls.square, 6).result(timeout=30) == 36


def test_cancel_removes_a_queued_call_and_running_ones_cannot_be_cancelled():
    with promp.Executor(1) as executor:
        running = executor.submit(calls.slow_pid, 1.0)
        queued = executor.submit(calls.square, 2)
        wait_until(running.running, 30)
        assert queued.cancel() and queued.cancelled()
        assert not running.cancel()
        running.result(timeout=30)
        with pytest.raises(cf.CancelledError):
            queued.result()


def test_abort_stops_a_running_call_for_real_and_the_pool_goes_on(tmp_path):
    with promp.Executor(1) as executor:
        started = tmp_path / "started"
        sleeping = executor.submit(calls.touch_then_sleep, str(started), 60)
        wait_until(started.exists, 30)
        begun = time.monotonic()
        assert executor.abort(sleeping, grace=1.0)
        with pytest.raises(TaskAborted):
            sleeping.result(timeout=30)
        assert time.monotonic() - begun < 5
        spinning = executor.submit(calls.spin_forever)  # no Python-level wait to interrupt: killed after the grace
        wait_until(spinning.running, 30)
        executor.abort(spinning, grace=0.4)
        with pytest.raises(TaskAborted):
            spinning.result(timeout=30)
        assert executor.submit(calls.square, 4).result(timeout=30) == 16
        assert not executor.abort(spinning)  # done already


def test_abort_refuses_graces_abortOperation_cannot_hold_and_futures_of_others(ex):
    running = ex.submit(calls.slow_pid, 0.5)
    for grace in (float("inf"), 1e9, 2**70, float("nan"), -1):
        with pytest.raises(ValueError, match="grace"):
            ex.abort(running, grace)
    with pytest.raises(TypeError, match="grace"):
        ex.abort(running, None)
    with promp.Executor(1) as other:
        foreign = other.submit(calls.square, 2)
        with pytest.raises(ValueError, match="future of this Executor"):
            ex.abort(foreign)
        with pytest.raises(ValueError, match="future of this Executor"):
            ex.abort(cf.Future())
        assert foreign.result(timeout=30) == 4
    assert running.result(timeout=30) > 0 and ex.submit(calls.square, 3).result(timeout=30) == 9  # nothing broke


def test_aborting_a_packed_call_fails_it_alone_and_its_neighbours_run(tmp_path):
    asleep = tmp_path / "asleep"
    with promp.Executor(1) as executor:
        assert list(executor.map(calls.sleep_if, range(500), [-1] * 500, [0] * 500)) == list(range(500))  # known quick
        futures = [executor.submit(calls.sleep_if, i, 300, 30, str(asleep)) for i in range(600)]
        wait_until(asleep.exists, 30)  # call 300 runs, in a pack with others
        assert executor.abort(futures[300], grace=0.4)
        with pytest.raises(TaskAborted):
            futures[300].result(timeout=30)
        others = [f.result(timeout=60) for i, f in enumerate(futures) if i != 300]
        assert others == [i for i in range(600) if i != 300]


def test_max_tasks_per_child_holds_for_quick_calls_too():
    with promp.Executor(1, max_tasks_per_child=3) as executor:
        pids = list(executor.map(calls.pid_of, range(40)))
    assert max(pids.count(p) for p in set(pids)) <= 3 and len(set(pids)) >= 14


def test_result_and_map_wait_for_their_timeout_once():
    with promp.Executor(1) as executor:
        slow = executor.submit(calls.slow_pid, 5)
        begun = time.monotonic()
        with pytest.raises(TimeoutError):
            slow.result(timeout=0.5)
        with pytest.raises(TimeoutError):
            slow.exception(timeout=0.5)
        assert time.monotonic() - begun < 1.5  # each waited 0.5 s, not 1 s
        executor.abort(slow, grace=0.2)


def test_an_exception_that_cannot_be_rebuilt_keeps_its_type_name_message_and_traceback(ex):
    with pytest.raises(RuntimeError, match="TwoArgumentError: 1 and 2") as raised:
        ex.submit(calls.raise_two_argument_error).result(timeout=30)
    assert isinstance(raised.value.__cause__, RemoteTraceback) and "raise_two_argument_error" in str(raised.value.__cause__)


def test_an_executor_copied_by_fork_refuses_calls_in_the_child():
    with promp.Executor(1) as executor:
        assert executor.submit(calls.square, 2).result(timeout=30) == 4
        pid = os.fork()
        if pid == 0:  # the child: a clear error at once, no hang
            try:
                executor.submit(calls.square, 3)
                code = 1
            except promp.ProMPError as exc:
                code = 0 if "os.fork()" in str(exc) else 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert executor.submit(calls.square, 5).result(timeout=30) == 25


def test_a_call_that_cannot_be_pickled_fails_its_future_and_not_the_pool(ex, monkeypatch):
    lock_future = ex.submit(calls.square, threading.Lock())
    # with cloudpickle (it comes with the bench extra) the call fails whole; without it, its argument is named
    said = "cannot send the call of square" if _pickling.cloudpickle is not None else "an argument of the call of square cannot be pickled"
    with pytest.raises(TypeError, match=said):
        lock_future.result(timeout=30)
    unpicklable_result = ex.submit(calls.return_unpicklable)
    with pytest.raises(TypeError, match="result of return_unpicklable cannot be sent back"):
        unpicklable_result.result(timeout=30)
    monkeypatch.setattr(_pickling, "cloudpickle", None)
    with pytest.raises(TypeError, match="<lambda> cannot be pickled.*install cloudpickle"):
        ex.submit(lambda: 1).result(timeout=30)
    with pytest.raises(TypeError, match="an argument of the call of square cannot be pickled"):
        ex.submit(calls.square, threading.Lock()).result(timeout=30)
    assert ex.submit(calls.square, 8).result(timeout=30) == 64


@pytest.mark.skipif(_pickling.cloudpickle is None, reason="cloudpickle is not installed")
def test_with_cloudpickle_lambdas_and_closures_go_by_value(ex):
    offset = 10
    assert ex.submit(lambda x: x + offset, 5).result(timeout=30) == 15


def test_a_pool_collected_without_shutdown_ends_its_workers_once_its_calls_are_done():
    import gc

    executor = promp.Executor(2)
    pending = executor.submit(calls.slow_pid, 0.3)
    pids = {executor.submit(calls.pid).result(timeout=30), pending.result(timeout=30)}
    thread = executor._pool.thread
    del executor
    gc.collect()
    thread.join(30)
    assert not thread.is_alive()
    wait_until(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids), 10)


def test_shutdown_without_wait_returns_at_once_and_the_calls_still_finish():
    executor = promp.Executor(1)
    futures = [executor.submit(calls.slow_pid, 0.2) for _ in range(3)]
    begun = time.monotonic()
    executor.shutdown(wait=False)
    assert time.monotonic() - begun < 0.2
    assert len({f.result(timeout=30) for f in futures}) == 1
    executor._pool.thread.join(30)
    assert not executor._pool.thread.is_alive()


def test_errors_of_the_standard_pool_after_shutdown_and_on_bad_arguments():
    executor = promp.Executor(1)
    executor.shutdown()
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        executor.submit(calls.square, 1)
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        promp.Executor(0)
    with pytest.raises(ValueError, match="max_tasks_per_child must be >= 1"):
        promp.Executor(1, max_tasks_per_child=0)
    with promp.Executor(1) as executor, pytest.raises(ValueError, match="chunksize must be >= 1"):
        executor.map(calls.square, [1], chunksize=0)
    with promp.Executor(1) as executor, pytest.raises(TimeoutError):
        list(executor.map(calls.slow_pid, [5], timeout=0.2))


def test_shutdown_cancel_futures_cancels_what_no_worker_has_yet():
    executor = promp.Executor(1)
    first = executor.submit(calls.slow_pid, 0.5)
    rest = [executor.submit(calls.square, i) for i in range(20)]
    wait_until(first.running, 30)
    executor.shutdown(wait=True, cancel_futures=True)
    assert first.result() > 0
    assert all(f.cancelled() for f in rest)


def test_the_initializer_runs_first_in_each_worker_and_a_failing_one_breaks_the_pool():
    with promp.Executor(1, initializer=calls.remember, initargs=("ready",)) as executor:
        assert executor.submit(calls.remembered).result(timeout=30) == ["ready"]
    executor = promp.Executor(1, initializer=calls.refuse_init)
    future = executor.submit(calls.square, 2)
    with pytest.raises(cf.process.BrokenProcessPool, match="will not start"):
        future.result(timeout=30)
    with pytest.raises(cf.process.BrokenProcessPool):
        executor.submit(calls.square, 3)
    executor.shutdown()


def test_max_tasks_per_child_replaces_the_worker_after_that_many_calls():
    with promp.Executor(1, max_tasks_per_child=2) as executor:
        pids = [executor.submit(calls.pid).result(timeout=30) for _ in range(6)]
    assert len(set(pids)) == 3 and pids[0] == pids[1] and pids[2] == pids[3]


def test_any_thread_submits_and_waits(ex):
    results: list[int] = []

    def client(base: int) -> None:
        futures = [ex.submit(calls.square, base + i) for i in range(200)]
        results.extend(f.result(timeout=60) for f in futures)

    threads = [threading.Thread(target=client, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted((k * 1000 + i) ** 2 for k in range(4) for i in range(200))


def test_wait_and_as_completed_need_no_one_to_call_result(ex):
    futures = [ex.submit(calls.square, i) for i in range(100)]
    done, not_done = cf.wait(futures, timeout=60)
    assert not not_done and sorted(f.result() for f in done) == [i * i for i in range(100)]
    assert sorted(f.result() for f in cf.as_completed([ex.submit(calls.square, i) for i in range(10)], timeout=60)) == [
        i * i for i in range(10)
    ]


@pytest.mark.parametrize("pool_thread", ["prompt", "preempted while it drives"])
def test_while_a_thread_drives_for_its_calls_the_pool_thread_keeps_off_the_managers_descriptor(monkeypatch, pool_thread):
    """Sequential ``submit().result()``: the caller reads each reply itself; the pool thread, which watches the
    manager's descriptor for calls nobody waits for, used to wake at each arrival, costing the caller the processor
    and the GIL on its next call.

    On a loaded machine the pool thread may lose the processor while it holds ``drive`` for a look of its own; a
    caller that then found ``drive`` taken left the reading to it, and from then on every call crossed the two
    threads (CI saw it: woken for 300 of 300).  Here the pool thread is made that slow at each of its looks."""
    import select as real_select
    import types

    from promp.executor import _pool

    wakes = []

    class CountedPoll:
        def __init__(self) -> None:
            self.poll_object = real_select.poll()

        def register(self, *args) -> None:
            self.poll_object.register(*args)

        def poll(self, timeout):
            events = self.poll_object.poll(timeout)
            wakes.append(bool(events))
            return events

    monkeypatch.setattr(_pool, "select", types.SimpleNamespace(poll=CountedPoll, POLLIN=real_select.POLLIN))
    if pool_thread != "prompt":
        step = _pool.Pool.step

        def slow_step(pool: _pool.Pool, limit: float | None) -> None:
            step(pool, limit)
            if threading.current_thread() is pool.thread:
                time.sleep(0.003)  # not a wait for anything: the pool thread descheduled while it holds ``drive``

        monkeypatch.setattr(_pool.Pool, "step", slow_step)
    with promp.Executor(1) as executor:
        assert [executor.submit(calls.square, i).result(timeout=60) for i in range(20)] == [i * i for i in range(20)]
        before = wakes.count(True)
        assert [executor.submit(calls.square, i).result(timeout=60) for i in range(300)] == [i * i for i in range(300)]
        woken = wakes.count(True) - before
    assert woken < 30, f"the pool thread woke for {woken} of 300 arrivals its callers read"


def test_the_pool_threads_rest_lasts_until_a_while_after_the_last_caller_let_go():
    """The pool thread rests while a caller drives and ``CALLERS_READ_FOR`` after it lets go: between two of its calls
    (pickling the next, submitting it) the caller holds nothing, and a rest that ended then had the pool thread wake
    at the reply the caller was about to read."""
    import select

    from promp.executor import _pool

    pool = _pool.Pool(1, None, None)  # its thread is not started: only the rest is exercised, on this thread
    let_go = []

    class CallerLetsGoDuringTheFirstPoll:
        def __init__(self) -> None:
            self.poll_object = select.poll()
            self.poll_object.register(pool.wake_fd, select.POLLIN)

        def poll(self, timeout):
            if not let_go:  # the caller's call ends while the pool thread rests, as drive_until leaves it
                let_go.append(time.monotonic())
                pool.caller_left_at, pool.callers_driving = let_go[0], 0
                return []  # this poll timed out
            return self.poll_object.poll(timeout)

    try:
        now = time.monotonic()
        pool.callers_driving = 1
        assert pool.rest_while_callers_drive(CallerLetsGoDuringTheFirstPoll(), (now - 0.02, now - 0.01)) is True
        assert let_go and time.monotonic() - let_go[0] >= _pool.CALLERS_READ_FOR
    finally:
        pool.close_wakes()


def test_a_done_callback_set_while_a_caller_drives_runs_at_once_on_the_pool_thread():
    """A thread in result() sets another future on its way and queues its callback for the pool thread; its own reads
    of the manager took the wake-up meant for the pool thread, which then slept up to 200 ms in its poll.  The pool
    thread is woken through a descriptor of its own."""
    delays = []
    with promp.Executor(1) as executor:
        executor.submit(calls.square, 0).result(timeout=60)
        for _ in range(150):
            ran = threading.Event()
            other = executor.submit(calls.square, 2)
            other.add_done_callback(lambda f, ran=ran: ran.set())
            assert executor.submit(calls.square, 3).result(timeout=60) == 9  # this thread drives, and sets `other`
            started = time.monotonic()
            assert ran.wait(30)
            delays.append(time.monotonic() - started)
    assert max(delays) < 0.15, f"{sum(d >= 0.15 for d in delays)} of 150 callbacks waited {max(delays):.3f} s at most"


def test_done_callbacks_run_and_may_submit_more(ex):
    seen = []
    finished = threading.Event()

    def again(future):
        seen.append(future.result())
        if len(seen) < 3:
            ex.submit(calls.square, len(seen) + 1).add_done_callback(again)
        else:
            finished.set()

    ex.submit(calls.square, 1).add_done_callback(again)
    assert finished.wait(30) and seen == [1, 4, 9]


def test_shutdown_from_a_done_callback_does_not_wait_for_itself():
    executor = promp.Executor(1)
    shut = threading.Event()

    def stop(future):
        executor.shutdown(wait=True)
        shut.set()

    future = executor.submit(calls.slow_pid, 0.3)
    future.add_done_callback(stop)
    assert future.result(timeout=30) > 0  # this thread waits, drives, collects it and runs the callback itself
    assert shut.wait(30)
    executor._pool.thread.join(30)
    assert not executor._pool.thread.is_alive()


def test_done_callbacks_run_on_the_pool_thread_so_a_lock_held_by_the_submitter_is_no_deadlock():
    lock = threading.Lock()
    ran_on = []
    with promp.Executor(1) as executor:
        first = executor.submit(calls.square, 2)

        def needs_the_lock(future):
            with lock:
                ran_on.append(threading.current_thread().name)

        first.add_done_callback(needs_the_lock)
        with lock:  # while this thread holds the lock it submits and waits, collecting results as it drives
            for i in range(50):
                assert executor.submit(calls.square, i).result(timeout=30) == i * i
        wait_until(lambda: ran_on, 30)
    assert ran_on == ["promp-executor"]


def test_a_callback_may_wait_for_a_call_that_travelled_in_the_same_pack():
    with promp.Executor(1) as executor:
        list(executor.map(calls.square, range(300)))  # known quick: what follows travels packed
        futures = [executor.submit(calls.square, i) for i in range(200)]
        seen = []
        futures[0].add_done_callback(lambda f: seen.append(futures[1].result(timeout=30)))
        assert [f.result(timeout=30) for f in futures] == [i * i for i in range(200)]
        wait_until(lambda: seen == [1], 30)


def test_cancel_from_another_thread_ends_a_wait_that_drives_for_it():
    with promp.Executor(1) as executor:
        busy = executor.submit(calls.slow_pid, 3)
        queued = executor.submit(calls.square, 2)
        wait_until(busy.running, 30)
        threading.Timer(0.3, queued.cancel).start()
        begun = time.monotonic()
        with pytest.raises(cf.CancelledError):
            queued.result(timeout=30)
        assert time.monotonic() - begun < 2
        executor.abort(busy, grace=0.2)


def test_callbacks_of_futures_cancelled_by_shutdown_may_submit():
    executor = promp.Executor(1)
    busy = executor.submit(calls.slow_pid, 0.5)
    refused = []

    def resubmit(future):
        try:
            executor.submit(calls.square, 1)
        except RuntimeError as exc:
            refused.append(str(exc))

    queued = [executor.submit(calls.square, i) for i in range(5)]
    for future in queued:
        future.add_done_callback(resubmit)
    wait_until(busy.running, 30)
    executor.shutdown(wait=True, cancel_futures=True)
    assert len(refused) == 5 and all("after shutdown" in r for r in refused)


def test_wake_up_ends_wait_but_not_wait_for_message(manager):
    w = manager.startWorker()
    code = "import time\nfrom Pro.MP import *\ndef f():\n    time.sleep(0.8)\n    proWorkerObject().sendMessage(ProMPMessage(5))\n"
    manager.evalPythonFunction(w, code, "f")
    threading.Timer(0.2, manager.wakeUp).start()
    assert manager.waitForMessage(w, 20000) and manager.getMessage(w).id == 5


def test_worker_output_is_shown(tmp_path):
    script = tmp_path / "prints.py"
    script.write_text(
        textwrap.dedent(
            """
            import promp
            from tests.executor_calls import print_line
            if __name__ == "__main__":
                with promp.Executor(1) as ex:
                    ex.submit(print_line, "from the worker").result(timeout=30)
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO, env=_env())
    assert out.returncode == 0, out.stderr
    assert "from the worker" in out.stdout


@pytest.mark.parametrize("cloudpickle", ["without cloudpickle", "with cloudpickle"])
def test_functions_classes_and_globals_of_a_scripts_main_work_as_with_spawn(tmp_path, cloudpickle):
    if cloudpickle == "with cloudpickle" and _pickling.cloudpickle is None:
        pytest.skip("cloudpickle is not installed")
    script = tmp_path / "main_functions.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import promp
            from promp.executor import _pickling
            if {cloudpickle!r} == "without cloudpickle":
                _pickling.cloudpickle = None

            STATE = None

            class Point:
                def __init__(self, x):
                    self.x = x

            def init(value):
                global STATE
                STATE = value

            def double(point):
                return Point(point.x * 2 + STATE)

            if __name__ == "__main__":
                with promp.Executor(1, initializer=init, initargs=(1,)) as ex:
                    result = ex.submit(double, Point(20)).result(timeout=30)
                    print(type(result).__name__, result.x, type(result) is Point)
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO, env=_env())
    assert out.returncode == 0 and out.stdout.split() == ["Point", "41", "True"], out.stderr


def test_an_unguarded_script_gets_a_clear_error_rather_than_pools_without_end(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            import promp
            from promp.executor import _pickling
            _pickling.cloudpickle = None

            def double(x):
                return 2 * x

            if promp.proWorkerProcessLevel() == 0:
                print("top level")
            with promp.Executor(1) as ex:
                try:
                    ex.submit(double, 1).result(timeout=30)
                except RuntimeError as exc:
                    print("refused:", exc)
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO, env=_env())
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "__name__" in out.stdout


@pytest.mark.parametrize("ending", ["exit without shutdown", "SIGKILL"])
def test_no_worker_outlives_its_interpreter(tmp_path, ending):
    script = tmp_path / "ends.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal, promp
            from tests.executor_calls import pid, slow_pid
            if __name__ == "__main__":
                ex = promp.Executor(2)
                busy = ex.submit(slow_pid, 0.3)
                print(ex.submit(pid).result(timeout=30), busy.result(timeout=30), flush=True)
                last = ex.submit(slow_pid, 0.5 if {ending!r} == "exit without shutdown" else 60)
                if {ending!r} == "SIGKILL":
                    os.kill(os.getpid(), signal.SIGKILL)
                # the interpreter ends here: the pool finishes the last call, as the standard one does, then ends
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO, env=_env())
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    assert out.returncode == (0 if ending == "exit without shutdown" else -signal.SIGKILL), out.stderr

    def ended(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(lambda: all(ended(p) for p in pids), 10)


def test_submit_async_never_waits_for_the_drive_on_the_event_loop():
    """A lone ``submit()`` may wait a few milliseconds for the pool thread's look to end, to give its call itself;
    ``submit_async`` runs on an event loop, which must never block: it leaves the call to whoever drives."""
    import asyncio

    acquires = []

    class RecordedDrive:
        """The pool's lock, with every acquire on this test's thread recorded."""

        def __init__(self, lock) -> None:
            self.lock = lock

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            if threading.current_thread() is threading.main_thread():
                acquires.append((blocking, timeout))
            return self.lock.acquire(blocking, timeout)

        def release(self) -> None:
            self.lock.release()

        def __enter__(self):
            return self.lock.__enter__()

        def __exit__(self, *exc) -> None:
            self.lock.__exit__(*exc)

        def _is_owned(self) -> bool:
            return self.lock._is_owned()

    with promp.Executor(1) as executor:
        assert executor.submit(calls.square, 1).result(timeout=60) == 1
        pool = executor._pool
        pool.drive = RecordedDrive(pool.drive)
        held, let_go = threading.Event(), threading.Event()

        def hold() -> None:  # a holder no caller counts, as the pool thread's look is
            with pool.drive:
                held.set()
                let_go.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert held.wait(10)

            async def submit_then_let_go() -> int:
                call = asyncio.ensure_future(executor.submit_async(calls.square, 3))
                await asyncio.sleep(0)  # the submit is made, up to its wait for the value
                let_go.set()
                return await call

            assert asyncio.run(submit_then_let_go()) == 9
        finally:
            let_go.set()
            holder.join(10)
    assert acquires and all(blocking is False for blocking, _timeout in acquires), acquires


def test_asyncio_run_in_executor_submit_async_and_aio_wait():
    import asyncio

    import promp.aio

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        with promp.Executor(1) as executor:
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(executor, calls.square, 3) == 9
            assert await executor.submit_async(calls.slow_pid, 0.2) > 0
        m = promp.ProManager()
        try:
            w = m.startWorker()
            m.evalPythonFunction(w, "import time\ndef f():\n    time.sleep(0.3)\n    return 7\n", "f", None, True)
            before = ticks
            while not m.hasResults():
                assert await promp.aio.wait(m, 5000)
            assert m.takeResult() == 7 and ticks - before >= 10  # the loop ran meanwhile
            assert not await promp.aio.wait_for_message(m, w, 50)
        finally:
            m.close()
            ticker.cancel()

    asyncio.run(main())


def test_results_and_exceptions_keep_their_python_types(ex):
    value = {"tuple": (1, 2), "set": {3}, "bytes": bytearray(b"x"), "nested": [(4,)]}
    assert ex.submit(pickle.loads, pickle.dumps(value)).result(timeout=30) == value


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "reference"), env.get("PYTHONPATH", "")])
    return env
