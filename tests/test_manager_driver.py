"""The manager's driver, driven by hand: one way in, one way out, actions sorted by the thread that performs them."""

from __future__ import annotations

import msgpack
import pytest

from promp import ProMPMessage, ProMPRemoteError
from promp.manager._actions import Control, Ignored, Output, Ping, ReadPipe, Release, Send, WaitNote, Wake, WorkerGone
from promp.manager._core import ManagerSession
from promp.manager._driver import ManagerDriver
from promp.manager._output import HELD_AT_MOST, UNFINISHED_LINE_WAIT, OutputBatch
from promp.wire import Bye, Done, Hello, Msg, Stop, Task, WaitUpdate


def driver_with(workers: int = 1, hello: bool = True, **settings: float) -> tuple[ManagerDriver, list[int]]:
    """A driver with workers (ready, if ``hello``); its heartbeat far off, unless asked for, and its first ping done."""
    settings = {"heartbeat_interval": 100.0, "heartbeat_timeout": 1000.0, **settings}
    driver = ManagerDriver(ManagerSession(**settings))
    ids = [driver.add_worker(0.0) for _ in range(workers)]
    driver.tick(0.0)
    if hello:
        for wid in ids:
            driver.receive(wid, [Hello(1000 + wid, 1)], 0.0)
        driver.take_user()
        driver.take_keeper()
    return driver, ids


def submit(driver: ManagerDriver, target: int, want: bool = True, now: float = 0.0) -> int:
    """A task, as the user's call does it (its output is left for processMessages()): the task's id."""
    driver.submit(target, {"op": "code", "src": "pass"}, b"", want, now)
    sends = [a for a in driver.take_user(with_output=False) if isinstance(a, Send)]
    return sends[-1].message.t if sends else -1


def test_what_comes_in_goes_to_the_core_by_kind():
    driver, (w,) = driver_with(1)
    t = submit(driver, w)
    driver.receive(w, [WaitUpdate("progress", msgpack.packb(5)), Msg(7, b"hi"), Done(t, True, 0.1, msgpack.packb("value"))], 1.0)
    assert driver.take_user() == [WaitNote(w, "progress", msgpack.packb(5))]
    assert driver.session.take_result(w) == "value" and driver.session.messages.take(w) == ProMPMessage(7, b"hi")


def test_a_failed_task_and_an_unreadable_result_become_error_values():
    driver, (w,) = driver_with(1)
    t1, t2 = submit(driver, w), submit(driver, w)
    driver.receive(w, [Done(t1, False, 0.1, msgpack.packb(["KeyError", "'k'", "tb"])), Done(t2, True, 0.1, b"\xc1")], 1.0)
    first, second = driver.session.take_result(w), driver.session.take_result(w)
    assert isinstance(first, ProMPRemoteError) and (first.type, first.message, first.traceback) == ("KeyError", "'k'", "tb")
    assert isinstance(second, ProMPRemoteError) and second.type == "ProtocolError"


def test_a_kind_workers_do_not_send_is_ignored_and_said():
    driver, (w,) = driver_with(1)
    driver.receive(w, [Task(1, "code", False, src="pass"), Stop()], 1.0)
    ignored = driver.take_user()
    assert [type(a) for a in ignored] == [Ignored, Ignored] and "workers do not send" in ignored[0].reason


def test_the_gate_holds_tasks_messages_and_aborts_until_hello_then_releases_each_to_its_thread():
    driver, (w,) = driver_with(1, hello=False)
    driver.take_keeper()  # its first ping: best effort, not gated (nothing is lost with it)
    submit(driver, w)
    driver.send_message(w, 3, b"m")
    driver.abort(w, 1000, 0.0)
    assert driver.take_user() == [] and driver.take_keeper() == []
    driver.receive(w, [Hello(42, 1)], 0.1)
    assert [a.message.kind for a in driver.take_user()] == ["task", "msg"]
    (control,) = driver.take_keeper()
    assert isinstance(control, Control) and control.message.t == 1


def test_a_workers_final_exit_releases_its_descriptors_on_the_keeper():
    driver, (w,) = driver_with(1)
    driver.on_exit(w, -9, 1.0)
    driver.receive(w, [Bye(0)], 1.0)
    driver.settle(1.0)
    (gone,) = driver.take_user()
    assert isinstance(gone, WorkerGone) and driver.take_keeper() == [Release(w)]


def test_output_lines_wait_for_their_end_then_go_out_whole_before_the_message_that_follows():
    driver, (w,) = driver_with(1)
    driver.on_output(w, 1, b"one\nhalf of a li", 1.0)
    assert driver.take_keeper() == [Wake()]  # something to write: the user's thread is woken
    assert driver.next_deadline() == pytest.approx(1.0 + UNFINISHED_LINE_WAIT)
    driver.on_output(w, 1, b"ne\nhalf", 1.005)
    driver.receive(w, [Msg(1, b"")], 1.006)  # it wrote "half" before it sent this: "half" is finished
    (output,) = driver.take_user()
    assert output == Output(OutputBatch([(w, 1, b"one\n"), (w, 1, b"half of a line\n"), (w, 1, b"half")]))


def test_an_unfinished_line_goes_out_as_it_is_once_it_waited_long_enough():
    driver, (w,) = driver_with(1)
    driver.on_output(w, 2, b"prompt> ", 1.0)
    driver.take_keeper()
    driver.tick(1.0 + UNFINISHED_LINE_WAIT / 2)
    assert driver.take_user(with_output=True) == []
    driver.tick(1.0 + UNFINISHED_LINE_WAIT)
    assert driver.take_keeper()[-1] == Wake()
    assert driver.take_user() == [Output(OutputBatch([(w, 2, b"prompt> ")]))]


def test_a_user_call_does_not_write_output_and_a_pipe_paused_at_the_bound_is_read_again_once_it_is_taken():
    driver, (w,) = driver_with(1)
    assert driver.on_output(w, 1, b"x" * (HELD_AT_MOST - 1) + b"\n", 1.0) is False  # the bound: stop reading it
    submit(driver, w, now=1.0)  # takes its Send, leaves the output for processMessages()
    assert driver.take_keeper() == [Wake()]
    (output,) = driver.take_user()
    assert isinstance(output, Output) and driver.take_keeper() == [ReadPipe(w, 1)]


def test_an_abort_the_keeper_could_not_deliver_is_tried_again_with_a_growing_wait_until_its_worker_is_gone():
    driver, (w,) = driver_with(1)
    submit(driver, w)
    driver.abort(w, -1, 0.0)
    (control,) = driver.take_keeper()
    driver.control_undelivered(control, 1.0)
    assert driver.keeper_needed() and driver.next_deadline() == pytest.approx(1.002)
    driver.tick(1.002)
    (again,) = [a for a in driver.take_keeper() if isinstance(a, Control)]
    driver.control_undelivered(again, 1.002)
    assert driver.next_deadline() == pytest.approx(1.006)  # twice the wait
    driver.on_exit(w, -9, 1.003)
    driver.tick(1.006)
    assert not [a for a in driver.take_keeper() if isinstance(a, Control)]  # a worker gone takes its aborts with it


def test_a_call_that_brings_a_deadline_forward_says_the_keeper_must_look_again():
    driver, (w,) = driver_with(1)
    driver.take_keeper()
    driver.keeper_needed()
    submit(driver, w, now=1.0)
    assert not driver.keeper_needed()  # nothing new for the keeper: the hot path wakes nobody
    driver.stop_worker(w, 1.0)  # its grace ends at 2.0, before the next ping
    assert driver.next_deadline() == 100.0  # a task is running: the grace has not begun
    driver.take_user()
    driver.receive(w, [Done(1, True, 0.0)], 1.5)
    assert driver.keeper_needed() and driver.next_deadline() == pytest.approx(2.5)


def test_every_action_is_for_one_thread_and_the_keepers_are_pings_controls_kills_wakes_and_releases():
    driver, (w,) = driver_with(1, heartbeat_interval=0.5, heartbeat_timeout=2.0)
    driver.tick(0.5)
    assert [type(a) for a in driver.take_keeper()] == [Ping]
    assert all(isinstance(a, (Send, Output, WaitNote, WorkerGone, Ignored)) for a in driver.take_user())
