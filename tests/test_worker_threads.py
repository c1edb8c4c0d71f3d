"""The worker's main thread and control thread over an in-process socket pair: what each may and may not do."""

from __future__ import annotations

import io
import os
import sys
import threading
import time

import msgpack
import pytest
import zmq

from promp.wire import Done, Hello, Signer, Stop, Task, decode, encode
from promp.worker._core import WorkerSession
from promp.worker._driver import WorkerDriver
from promp.worker._executors import ControlExecutor, MainExecutor
from promp.worker._main import MainThread
from promp.worker._port import WorkerPort


@pytest.fixture
def worker():
    """A main thread's executor on a PAIR socket, its driver and lock, and the manager's end of the pair."""
    ctx = zmq.Context()
    peer = ctx.socket(zmq.PAIR)
    peer.bind("inproc://worker-threads")
    sock = ctx.socket(zmq.PAIR)
    sock.connect("inproc://worker-threads")
    signer = Signer(os.urandom(32))
    spare = [ctx.socket(zmq.PAIR) for _ in range(3)]  # beat, ctrl, heard: unused here
    port = WorkerPort(sock, *spare, signer)
    driver = WorkerDriver(WorkerSession(0.5, 5.0, time.monotonic()), time.monotonic)
    driver.session.clock.next_ping = float("inf")  # no heartbeat here: nobody answers
    main = MainThread(MainExecutor(driver, port, threading.Lock(), driver.main(Hello(os.getpid(), 1))), port)
    main.lock = main.executor.lock
    main.control = ControlExecutor(driver, port, main.lock)
    try:
        yield main, peer, signer
    finally:
        port.close()
        for s in (sock, peer, *spare):
            s.close(linger=0)
        ctx.term()


def control_sends_overdue(main: MainThread, now: float) -> None:
    """One step of the control thread, at ``now``: it sends results held too long."""
    main.control.step(lambda: now)


class BlockedStream(io.StringIO):
    """A stdout whose flush does not return until ``release`` is set, like a print into a full pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def flush(self) -> None:
        self.release.wait()


def _in_thread(call) -> threading.Thread:
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_the_control_thread_sends_overdue_results_without_touching_the_std_streams(worker, monkeypatch):
    main, peer, signer = worker
    main.driver.post(Done(1, True, 0.0))
    main.driver.hold.watched = True
    stream = BlockedStream()
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        thread = _in_thread(lambda: control_sends_overdue(main, time.monotonic() + 1.0))
        thread.join(5)
        assert not thread.is_alive(), "the control thread waited on sys.stdout"
        assert peer.poll(5000)
        assert [m.t for m in decode(signer, *peer.recv_multipart())] == [1]
    finally:
        stream.release.set()


def test_results_younger_than_the_hold_limit_stay_held(worker):
    main, peer, _ = worker
    main.driver.post(Done(1, True, 0.0))
    main.driver.hold.watched = True
    control_sends_overdue(main, main.driver.hold.held_since)  # not yet overdue
    assert main.driver.outbox and not peer.poll(0)


def test_no_result_is_lost_when_the_control_thread_sends_while_the_main_thread_posts(worker):
    main, peer, signer = worker
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to hit any unguarded window
    stop = threading.Event()
    main.driver.hold.watched = True

    def control() -> None:
        while not stop.is_set():
            main.driver.hold.watched = True
            control_sends_overdue(main, time.monotonic() + 1.0)  # everything held counts as overdue
            time.sleep(0)  # the real one waits in a poll between two looks: the main thread gets the lock

    thread = _in_thread(control)
    try:
        for t in range(20000):
            with main.lock:
                main.driver.post(Done(t, True, 0.0))
    finally:
        stop.set()
        thread.join(10)
        sys.setswitchinterval(switch)
    with main.lock:
        main.port.send(main.driver.take())
    got = []
    while peer.poll(100):
        got += [m.t for m in decode(signer, *peer.recv_multipart())]
    assert got == list(range(20000))


class Recording(io.StringIO):
    """A std stream that knows whether what was written to it has been flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.unflushed = False

    def write(self, text: str) -> int:
        self.unflushed = True
        return super().write(text)

    def flush(self) -> None:
        self.unflushed = False


def test_what_a_task_printed_is_flushed_before_its_report_can_be_posted(worker, monkeypatch):
    """Once a report is posted the control thread may send it at any moment: the output must already be out."""
    main, _, _ = worker
    out, err = Recording(), Recording()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = "import sys\nprint('no newline', end='')\nprint('nor here', end='', file=sys.stderr)"
    outcome = main.run_task(Task(1, "code", False, src=code))
    assert outcome.done.ok and not out.unflushed and not err.unflushed


def test_the_main_thread_never_holds_the_lock_while_it_waits_or_runs_a_task(worker):
    """The control thread takes the lock to send held results and to abort: it must never wait for a task."""
    main, peer, signer = worker
    free = []
    probe = "import time\ndef f():\n    time.sleep(0.2)\n    return 1\n"

    def look() -> None:
        time.sleep(0.1)  # the main thread is inside the task by now
        free.append(main.lock.acquire(timeout=0.05) and (main.lock.release() or True))

    loop = _in_thread(main.run)
    assert peer.poll(5000) and decode(signer, *peer.recv_multipart())[0].kind == "hello"
    time.sleep(0.05)  # waiting for a task now
    free.append(main.lock.acquire(timeout=0.05) and (main.lock.release() or True))
    looker = _in_thread(look)
    peer.send(encode(signer, Task(1, "func_code", True, src=probe, fn="f")))
    assert peer.poll(5000)
    (done,) = decode(signer, *peer.recv_multipart())
    assert done.t == 1 and msgpack.unpackb(done.payload) == 1
    looker.join(5)
    peer.send(encode(signer, Stop()))
    loop.join(5)
    assert free == [True, True]


def test_a_wait_watches_the_task_socket_while_tasks_come_quickly_and_sleeps_at_once_after_a_slow_one(worker, monkeypatch):
    """A sequential caller's next task comes within a round trip: the worker looks for it rather than sleep (a wake-up
    costs tens of microseconds); once a task took longer than SPIN to come, the next wait blocks without looking."""
    from promp.worker import _port

    main, peer, signer = worker
    clock = [0.0]
    watched: list[float] = []
    arrives_in = [0.0]

    def fake_watch(sock, seconds):
        watched.append(seconds)
        clock[0] += arrives_in[0]  # the task comes that long after the wait began

    monkeypatch.setattr(_port, "watch", fake_watch)
    monkeypatch.setattr(_port, "readable", lambda sock: False)  # the socket looks empty when each wait begins
    monkeypatch.setattr(_port, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))

    def wait_for_task(t: int, after: float) -> None:
        arrives_in[0] = after
        peer.send(encode(signer, Task(t, "code", False, src="pass")))
        messages, waited = main.port.wait()
        assert [m.t for m in messages] == [t] and waited

    wait_for_task(1, 0.0)
    assert watched == []  # the first wait sleeps at once: workers started together do not all spin for nothing
    wait_for_task(2, _port.SPIN / 10)
    assert len(watched) == 1  # the first task came quickly: watching
    wait_for_task(3, _port.SPIN * 10)
    assert len(watched) == 2  # watched, and the task came late
    wait_for_task(4, 0.0)
    assert len(watched) == 2  # after a late task, the next wait sleeps at once
    wait_for_task(5, 0.0)
    assert len(watched) == 3  # that task came quickly: watching again
    assert watched == [_port.SPIN] * 3  # the worker's own bound, shorter than the manager's (workers take turns)
    monkeypatch.setattr(_port, "readable", lambda sock: True)  # a frame is there already when the wait begins
    peer.send(encode(signer, Task(6, "code", False, src="pass")))
    messages, waited = main.port.wait()
    assert [m.t for m in messages] == [6] and not waited and len(watched) == 3
