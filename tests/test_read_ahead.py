"""Reading ahead while tasks are given: workers get their next quick tasks during a long run of submissions,
and nothing the user sees comes out of order for it."""

from __future__ import annotations

import io
import sys
import time
from collections import deque
from contextlib import nullcontext, redirect_stdout

import msgpack
import pytest

from promp import ProManager, ProMPOpt_RedirectOutput, ProWorker_Any
from promp.manager._core import ManagerSession
from promp.manager._driver import ManagerDriver
from promp.manager._executors import UserExecutor
from promp.wire import Done, Hello, Message, Msg, WaitUpdate

QUICK = {"op": "func_code", "src": "def f(x):\n    return x\n", "fn": "f"}


class FakePort:
    """The task socket as a queue of decoded batches, pipes as lists; what is sent and written, recorded."""

    lock = nullcontext()

    def __init__(self) -> None:
        self.inbox: deque[tuple[int, list[Message]]] = deque()
        self.pipes: dict[int, list[bytes]] = {}
        self.sent: list[tuple[int, Message]] = []
        self.written: list[bytes] = []
        self.notes: list[tuple[int, str]] = []
        self.time = 0.0
        self.looks_again = False  # read_ahead_done was told that something was read

    def now(self) -> float:
        return self.time

    def messages(self, first=None):
        while self.inbox:
            yield self.inbox.popleft()

    def message(self):
        return self.inbox.popleft() if self.inbox else None

    def read_ahead_done(self, read: bool) -> None:
        self.looks_again = read

    def drain(self, wid: int):
        data, self.pipes[wid] = self.pipes.get(wid, []), []
        return [(1, chunk) for chunk in data]

    def send(self, wid: int, messages: list[Message]) -> None:
        self.sent += [(wid, m) for m in messages]

    def output(self, chunks) -> None:
        self.written += [data for _wid, _stream, data in chunks]
        chunks.close()

    def wait_note(self, wid: int, op: str, payload: bytes) -> None:
        self.notes.append((wid, op))

    def worker_gone(self, gone) -> None:
        pass

    def ignored(self, wid: int, reason: str) -> None:
        raise AssertionError(reason)

    def nudge_keeper(self) -> None:
        pass

    def give_way(self) -> None:
        pass


def user_with_a_busy_worker(queued: int) -> tuple[UserExecutor, FakePort, ManagerSession, list[int]]:
    """One ready worker that has run a quick task (so that its kind pipelines), holding all it may; ``queued`` more
    wait in the manager.  Returns the executor, its port, the core and the ids of the tasks the worker holds."""
    session = ManagerSession(heartbeat_interval=100.0, heartbeat_timeout=1000.0, pipeline_depth=4)
    port = FakePort()
    user = UserExecutor(ManagerDriver(session), port)
    wid = user.call(user.driver.add_worker, 0.0)
    user.driver.receive(wid, [Hello(1000, 1)], 0.0)
    user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    first = port.sent.pop()[1].t
    user.driver.receive(wid, [Done(first, True, 0.00001, msgpack.packb(0))], 0.0)  # learnt: quick
    session.take_result()
    for _ in range(4 + queued):
        user.submit(ProWorker_Any, QUICK, b"", True, 0.0)
    held = [m.t for _w, m in port.sent]
    port.sent.clear()
    assert len(held) == 4 and len(session.any_queue) == queued
    return user, port, session, held


def done(t: int) -> Done:
    return Done(t, True, 0.00001, msgpack.packb(t))


def give(user: UserExecutor, n: int) -> None:
    for _ in range(n):
        user.submit(ProWorker_Any, QUICK, b"", True, 0.0)


def test_while_tasks_wait_a_submission_reads_the_dones_in_and_gives_their_workers_the_next_tasks():
    user, port, session, held = user_with_a_busy_worker(queued=10)
    port.inbox.append((1, [done(held[0]), done(held[1])]))
    give(user, UserExecutor.READ_AHEAD_EVERY)
    assert [m.t for _w, m in port.sent] == [held[-1] + 1, held[-1] + 2]  # the two oldest waiting, at once
    assert [session.take_result(), session.take_result()] == held[:2]


def test_nothing_is_read_while_no_task_waits_for_a_worker():
    user, port, session, held = user_with_a_busy_worker(queued=0)
    port.inbox.append((1, [done(held[0])]))
    for _ in range(2 * UserExecutor.READ_AHEAD_EVERY):  # tasks for the worker by id: none waits in the manager's queue
        user.submit(1, QUICK, b"", True, 0.0)
    assert port.inbox and not session.has_results() and not port.looks_again


def test_the_start_of_a_line_printed_before_a_done_holds_it_too():
    """Text without its newline yet is output waiting to be written (an unfinished line): the done after it waits."""
    user, port, session, held = user_with_a_busy_worker(queued=40)
    port.pipes[1] = [b"progress: 50%"]
    port.inbox.append((1, [done(held[0])]))
    give(user, UserExecutor.READ_AHEAD_EVERY)
    assert user.held is not None and not session.has_results() and port.looks_again
    user.pump()
    assert port.written == [b"progress: 50%"] and session.take_result() == held[0]


def test_what_was_read_ahead_counts_as_events_of_the_next_pump():
    """A wait after a submission that read results in returns at once, as it would have for what came."""
    user, port, session, held = user_with_a_busy_worker(queued=40)
    port.inbox.append((1, [done(held[0]), done(held[1])]))
    give(user, UserExecutor.READ_AHEAD_EVERY)
    assert user.ahead == 2 and port.looks_again
    assert user.pump() >= 2 and user.ahead == 0


@pytest.mark.parametrize("other", [WaitUpdate("progress", msgpack.packb(5)), Msg(3, b"hi")], ids=["wait-update", "message"])
def test_messages_other_than_dones_are_held_for_the_next_pump_and_reading_stops_there(other):
    user, port, session, held = user_with_a_busy_worker(queued=40)
    port.inbox.extend([(1, [done(held[0])]), (1, [other, done(held[1])]), (1, [done(held[2])])])
    give(user, UserExecutor.READ_AHEAD_EVERY)
    assert session.take_result() == held[0] and not session.has_results()  # what came after the first is untouched
    assert user.held is not None and len(port.inbox) == 1 and not port.notes
    user.pump()
    assert [session.take_result(), session.take_result()] == held[1:3]  # in the order they came
    assert user.held is None and (port.notes == [(1, "progress")] or session.messages.take(1).data == b"hi")


def test_a_done_whose_worker_printed_first_waits_for_the_pump_that_writes_it():
    user, port, session, held = user_with_a_busy_worker(queued=40)
    port.pipes[1] = [b"printed before the result\n"]
    port.inbox.append((1, [done(held[0])]))
    give(user, UserExecutor.READ_AHEAD_EVERY)
    assert not session.has_results() and not port.written and user.held is not None
    user.pump()
    assert port.written == [b"printed before the result\n"] and session.take_result() == held[0]


def test_a_pump_handles_what_was_held_before_what_came_after_it():
    user, port, session, held = user_with_a_busy_worker(queued=40)
    port.inbox.append((1, [WaitUpdate("msg", msgpack.packb("a")), done(held[0])]))
    give(user, UserExecutor.READ_AHEAD_EVERY)
    port.inbox.append((1, [WaitUpdate("msg", msgpack.packb("b")), done(held[1])]))
    user.pump()
    assert [session.take_result(), session.take_result()] == held[:2]
    assert port.notes == [(1, "msg"), (1, "msg")]


# ---------------------------------------------------------------- real workers
N = 600


@pytest.mark.parametrize("end", ["\n", ""], ids=["lines", "no newline"])
def test_results_taken_between_submissions_come_after_their_output(end):
    """Tasks print, then return; results taken while giving more (no wait between) find their text written."""
    code = f"def f(i):\n    print('line', i, end={end!r})\n    return i\n"
    with ProManager() as m:
        m.setOptions(ProMPOpt_RedirectOutput)
        for _ in range(2):
            m.startWorker()
        m.evalPythonFunction(ProWorker_Any, code, "f", [-1], True)  # learnt as quick once it is done
        while m.isBusy():
            m.wait()
        m.takeResult()
        out = io.StringIO()
        early = 0
        with redirect_stdout(out):
            for i in range(N):
                m.evalPythonFunction(ProWorker_Any, code, "f", [i], True)
                while m.hasResults():
                    r = m.takeResult()
                    early += 1
                    assert f"line {r}{end}" in out.getvalue(), f"result {r} was there before its text"
            taken = early
            while taken < N:
                m.wait()
                while m.hasResults():
                    r = m.takeResult()
                    taken += 1
                    assert f"line {r}{end}" in out.getvalue()
    assert taken == N
    print(f"{early} results taken between submissions", file=sys.stderr)


@pytest.mark.parametrize("wake", ["keeper", "any thread"])
def test_a_wake_up_met_while_reading_ahead_is_not_lost(wake):
    """A wake-up is for the next wait: read ahead, it is sent again, so that the wait does not block past it."""
    from promp.wire._zmq import readable

    with ProManager() as m:
        port = m._port
        if wake == "keeper":
            port.wake_user()  # the keeper's: output to write, an exit to make final (no worker here: its thread is idle)
        else:
            port.alarm()
            port.take_alarm()
        assert readable(port.task)
        assert port.message() is None  # what a read ahead does: the wake-up is read, nothing else was there
        port.read_ahead_done(False)
        assert readable(port.task), "the wake-up was read and not sent again"
        m.processMessages()
        assert not readable(port.task)


def test_what_a_submission_read_ahead_wakes_whoever_watches_the_managers_descriptor():
    """The reads take ZeroMQ's descriptor's edge: a coroutine watching ``fileno()`` must still hear of what came."""
    import select

    from promp.wire._zmq import readable

    with ProManager() as m:
        busy = m.startWorker()
        deadline = time.monotonic() + 30
        while m.workerState(busy) != "ready":
            assert time.monotonic() < deadline, "the first worker never said hello"
            m.wait(100)
        m.evalPythonFunction(busy, "def f():\n    import time\n    time.sleep(30)\n", "f")  # busy for the test's time
        m.evalPythonFunction(ProWorker_Any, "pass", "f")  # waits in the queue: the only worker is busy
        second = m.startWorker()  # its hello comes, unread
        watch = select.poll()
        watch.register(m.fileno(), select.POLLIN)
        while not readable(m._port.task):  # the hello is in: the descriptor signalled it, and nobody read it yet
            assert time.monotonic() < deadline, "the second worker's hello never came"
            watch.poll(100)
        for _ in range(UserExecutor.READ_AHEAD_EVERY):  # read ahead: the hello is taken in, and held for the next wait
            m.evalPythonFunction(ProWorker_Any, "pass", "f")
        assert m._user.held is not None and m._user.held[0] == second
        assert watch.poll(5000), "the descriptor never said that something waits"
        assert m.wait(0) and m.workerState(second) == "ready"
        m.abortOperation(busy, 0)
