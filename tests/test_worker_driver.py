"""The worker's driver, driven by hand: its main loop as requests, what it holds and when it sends."""

from __future__ import annotations

import msgpack

from promp.wire import Abort, BadTask, Bye, Done, Hello, Msg, Stop, Task
from promp.worker._core import Exit, ResultHold, WorkerSession
from promp.worker._driver import PEEK, WAIT, WAKE_CONTROL, Outcome, Run, Say, SendNow, WorkerDriver


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Loop:
    """A worker's main loop, run by hand: ``answer`` the request it made, see the next ones up to a slow one."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.driver = WorkerDriver(WorkerSession(100.0, 1000.0, 0.0), self.clock)
        self.loop = self.driver.main(Hello(7, 1))
        self.sent: list = []
        self.said: list[str] = []
        self.request = self.advance(None)

    def advance(self, answer: object) -> object:
        request = self.loop.send(answer)
        while True:
            if isinstance(request, SendNow):
                self.sent.append(request.messages)
            elif isinstance(request, Say):
                self.said.append(request.text)
            elif request is not WAKE_CONTROL:
                return request
            request = self.loop.send(None)

    def answer(self, value: object, at_once: bool = False) -> object:
        """Answer the request; a ``WAIT`` had to wait for its frame, unless ``at_once`` (it was there already)."""
        if self.request == WAIT:
            self.clock.now += 0.001
            value = (value, not at_once)
        self.request = self.advance(value)
        return self.request


def task(t: int, want: bool = True) -> Task:
    return Task(t, "code", want, src="pass")


def test_hello_goes_first_then_tasks_run_one_at_a_time_in_order():
    loop = Loop()
    assert loop.request == WAIT and loop.sent == [[Hello(7, 1)]]
    run = loop.answer([task(1), Msg(3, b"m"), task(2)])
    assert isinstance(run, Run) and run.task.t == 1 and list(loop.driver.messages)[0].id == 3
    loop.clock.now = 1.0
    run = loop.answer(Outcome(Done(1, True, 0.5, msgpack.packb(1)), 0.5))
    assert loop.sent[-1] == [Done(1, True, 0.5, msgpack.packb(1))]  # a long task's result goes at once
    assert isinstance(run, Run) and run.task.t == 2


def test_a_task_that_comes_twice_runs_once():
    loop = Loop()
    loop.answer([task(1)])
    loop.answer(Outcome(Done(1, True, 0.5), 0.5))
    assert loop.answer([task(1)]) == WAIT and loop.said == ["task 1 arrived again; not run twice"]


def test_a_bad_task_is_answered_with_a_failed_done_naming_why():
    loop = Loop()
    assert loop.answer([BadTask(4, True, "unknown task operation 'warp'")]) == WAIT
    (done,) = loop.sent[-1]
    assert (done.t, done.ok) == (4, False) and msgpack.unpackb(done.payload)[:2] == ["ProtocolError", "unknown task operation 'warp'"]


def test_the_stop_comes_after_the_tasks_before_it_then_bye_and_exit():
    loop = Loop()
    run = loop.answer([task(1), Stop()])
    assert isinstance(run, Run)
    end = loop.answer(Outcome(Done(1, True, 0.5), 0.5))
    assert isinstance(end, Exit) and end.code == 0 and loop.sent[-1][-1] == Bye(0)


def test_quick_results_are_held_while_more_tasks_wait_and_sent_together():
    loop = Loop()
    loop.answer([task(1), task(2), task(3)])
    for t in (1, 2):
        loop.clock.now += 0.0001
        loop.answer(Outcome(Done(t, True, 0.0001), 0.0001))  # quick, and more is here: held
    assert loop.sent == [[Hello(7, 1)]] and loop.driver.hold.watched
    loop.clock.now += 0.0001
    assert loop.answer(Outcome(Done(3, True, 0.0001), 0.0001)) == WAIT  # nothing more here: all go, in one frame
    assert [m.t for m in loop.sent[-1]] == [1, 2, 3]


def test_held_results_go_when_their_time_is_up_even_while_the_next_task_runs():
    loop = Loop()
    loop.answer([task(1), task(2)])
    loop.answer(Outcome(Done(1, True, 0.0001), 0.0001))  # held: task 2 is running now
    driver = loop.driver
    since = driver.hold.held_since
    assert [a for a in driver.tick(since + ResultHold.HOLD_AT_MOST / 2) if isinstance(a, SendNow)] == []
    (send,) = [a for a in driver.tick(since + ResultHold.HOLD_AT_MOST) if isinstance(a, SendNow)]
    assert [m.t for m in send.messages] == [1]


def test_the_loop_peeks_at_the_socket_only_while_frames_come_faster_than_tasks_run():
    loop = Loop()
    loop.answer([task(1)], at_once=True)  # it was there already: frames are flowing
    assert loop.answer(Outcome(Done(1, True, 0.0001), 0.0001)) == PEEK
    assert loop.answer(None) == WAIT  # nothing waiting: the result goes, then it waits
    assert [m.t for m in loop.sent[-1]] == [1]


def test_an_abort_for_a_task_that_begins_later_wakes_the_control_thread_when_it_does():
    loop = Loop()
    loop.driver.on_control(Abort(1, 1000), 0.0)
    woken = []
    request = loop.loop.send(([task(1)], True))
    while not isinstance(request, Run):
        woken.append(request)
        request = loop.loop.send(None)
    assert WAKE_CONTROL in woken and loop.driver.session.was_aborted()


def test_a_task_that_asks_to_exit_says_bye_with_its_code():
    loop = Loop()
    loop.answer([task(1)])
    end = loop.answer(Outcome(Done(1, False, 0.1), 0.1, exit_code=3))
    assert isinstance(end, Exit) and end.code == 3 and "sys.exit(3)" in end.reason and loop.sent[-1][-1] == Bye(3)
