"""A side that sends and will then wait for the answer gives the processor away at once (``give_way``).

ZeroMQ's I/O thread carries what was sent; woken by the send, it waits for the processor of the thread that sent,
which goes on in Python for microseconds before its wait.  Giving way right after the send took 6-8 us off
each direction of a round trip here (timed across both processes).  Only where the sender will wait:
while results stream, giving way after every send cost a third of the tiny-task throughput.
"""

from __future__ import annotations

import os
import threading
import time

import msgpack

from promp import ProWorker_All, ProWorker_Any
from promp.manager._core import ManagerSession
from promp.manager._driver import ManagerDriver
from promp.manager._executors import UserExecutor
from promp.wire import Done, Hello, Task
from promp.worker._core import ResultHold, WorkerSession
from promp.worker._driver import WAIT, Outcome, Run, WorkerDriver
from promp.worker._executors import MainExecutor

from .test_read_ahead import QUICK
from .test_read_ahead import FakePort as ManagerFakePort


class RecordingManagerPort(ManagerFakePort):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def send(self, wid, messages) -> None:
        super().send(wid, messages)
        self.events += ["send"] * len(messages)

    def give_way(self) -> None:
        self.events.append("give way")


def manager_with_ready_workers(n: int) -> tuple[UserExecutor, RecordingManagerPort, ManagerSession]:
    session = ManagerSession(heartbeat_interval=100.0, heartbeat_timeout=1000.0, pipeline_depth=4)
    port = RecordingManagerPort()
    user = UserExecutor(ManagerDriver(session), port)
    for _ in range(n):
        wid = user.call(user.driver.add_worker, 0.0)
        user.driver.receive(wid, [Hello(1000 + wid, 1)], 0.0)
    return user, port, session


def test_the_manager_gives_way_after_sending_the_only_task_it_has():
    user, port, session = manager_with_ready_workers(1)
    user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    assert port.events == ["send", "give way"]


def test_the_manager_gives_way_after_a_task_for_every_worker_when_nothing_else_was_unfinished():
    user, port, session = manager_with_ready_workers(2)
    user.submit(ProWorker_All, QUICK, b"", True, 0.0)
    assert port.events == ["send", "send", "give way"]


def test_the_manager_keeps_the_processor_while_other_tasks_are_unfinished():
    """A program giving many tasks goes on giving them: the I/O thread takes the sends in runs."""
    user, port, session = manager_with_ready_workers(1)
    user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    port.events.clear()
    user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    user.submit(1, QUICK, b"", True, 0.0)
    assert "give way" not in port.events and port.events.count("send") >= 1


def test_the_manager_gives_way_again_once_its_tasks_are_done():
    user, port, session = manager_with_ready_workers(1)
    user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    ((wid, task),) = port.sent
    user.driver.receive(wid, [Done(task.t, True, 0.001, msgpack.packb(1))], 0.0)
    port.events.clear()
    user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    assert port.events == ["send", "give way"]


class RecordingWorkerPort:
    def __init__(self) -> None:
        self.events: list[str] = []

    def send(self, messages) -> None:
        self.events.append(" ".join(m.__class__.__name__ for m in messages))  # one event per send

    def recv_nowait(self):
        return None  # nothing more at the socket

    def give_way(self) -> None:
        self.events.append("give way")

    def wake_control(self) -> None:
        self.events.append("wake control")

    def say(self, text: str) -> None:
        self.events.append(f"say {text}")


def worker_executor(port: RecordingWorkerPort) -> MainExecutor:
    driver = WorkerDriver(WorkerSession(100.0, 1000.0, time.monotonic()), time.monotonic)
    return MainExecutor(driver, port, threading.Lock(), driver.main(Hello(os.getpid(), 1)))


def task(t: int) -> Task:
    return Task(t, "func_code", True, QUICK["src"], None, QUICK["fn"], msgpack.packb([t]))


def run(executor: MainExecutor, request, took: float = 0.00001) -> object:
    """Perform a ``Run`` as the main thread would, in ``took`` seconds; the loop's next slow request."""
    assert request.__class__ is Run
    return executor.advance(Outcome(Done(request.task.t, True, took, msgpack.packb(request.task.t)), took, None))


def test_a_worker_gives_way_after_its_hello_and_after_a_result_it_then_waits_beyond():
    port = RecordingWorkerPort()
    executor = worker_executor(port)
    assert executor.advance() is WAIT
    assert port.events == ["Hello", "give way"]
    port.events.clear()
    assert run(executor, executor.advance(([task(1)], True))) is WAIT
    assert port.events == ["Done", "give way"]


def test_a_worker_with_tasks_at_hand_keeps_the_processor_until_it_runs_dry():
    """Two tasks that came together: the first one's result goes out at once (it was slow) while the second is at
    hand, and the worker gives way only after the second's, before it waits."""
    port = RecordingWorkerPort()
    executor = worker_executor(port)
    executor.advance()
    port.events.clear()
    request = executor.advance(([task(1), task(2)], True))
    while request is not WAIT:
        request = run(executor, request, took=2 * ResultHold.SEND_AT_ONCE_FROM)
    assert port.events == ["Done", "Done", "give way"]
