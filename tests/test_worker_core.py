"""The worker's protocol core and the heartbeat clock both sides use, driven by hand with a fake clock."""

from __future__ import annotations

from promp._constants import EXIT_ABORTED
from promp._liveness import PING, SILENT, HeartbeatClock
from promp.worker._core import Exit, Interrupt, ResultHold, WorkerSession


def liveness_events(live: WorkerSession, start: float, end: float, answer_until: float = -1.0) -> list[tuple[float, str]]:
    events = []
    for i in range(int((end - start) / 0.25) + 1):
        now = start + i * 0.25
        for action in live.tick(now):
            if action == PING and now <= answer_until:
                live.on_echo(now + 0.01)
            events.append((now, "ping" if action == PING else "exit" if isinstance(action, Exit) else repr(action)))
            if isinstance(action, Exit):
                return events  # the process ends here
    return events


def test_worker_liveness_pings_every_interval_and_gives_up_after_the_timeout():
    live = WorkerSession(interval=0.5, timeout=2.0, now=0.0)
    events = liveness_events(live, 0.0, 5.0, answer_until=1.0)
    assert [t for t, e in events if e == "ping"] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert [t for t, e in events if e == "exit"][0] == 3.75  # unanswered since 1.5
    assert 0 <= WorkerSession(0.5, 2.0, 0.0).next_deadline() <= 0.5


def test_worker_liveness_restarts_its_clock_after_being_starved():
    live = WorkerSession(interval=0.5, timeout=2.0, now=0.0)
    assert live.tick(0.0) == [PING]
    events = liveness_events(live, 30.0, 33.0)  # a task held the GIL for 30 s: not the manager's fault
    assert [t for t, e in events if e == "exit"][0] == 32.25


def test_one_heartbeat_clock_serves_both_sides():
    clock = HeartbeatClock(interval=1.0, timeout=3.0, now=0.0)
    assert clock.tick(0.0) == PING and clock.next_deadline() == 1.0
    assert clock.tick(0.5) is None
    assert [clock.tick(t) for t in (1.0, 2.0, 3.0)] == [PING, PING, PING]
    assert clock.tick(3.0 + 1e-3) == SILENT  # unanswered since 0.0
    assert clock.silent_for(3.5) == 0.0  # one verdict per timeout: the wait starts over
    clock.answered()
    assert clock.next_deadline() == 4.0


def test_a_peer_heard_unasked_is_not_pinged_while_its_pings_keep_coming():
    clock = HeartbeatClock(interval=1.0, timeout=3.0, now=0.0)
    assert clock.tick(0.0) == PING
    clock.heard(0.9)  # its ping: it lives, whether or not ours was answered
    assert clock.silent_for(0.9) == 0.0 and clock.next_deadline() == 0.9 + 1.5
    assert clock.tick(2.0) is None
    clock.heard(1.9)  # the next one, a little late: still no ping of ours
    assert clock.tick(3.3) is None and clock.tick(3.4) == PING  # its pings stopped: ours resume


def test_an_abort_is_carried_out_on_its_task_at_half_and_at_all_of_wait_ms():
    w = WorkerSession(interval=10.0, timeout=100.0, now=0.0)
    w.tick(0.0)
    assert w.begin(7)
    w.on_abort(7, 1000, 0.0)
    assert w.was_aborted() and w.next_deadline() == 0.5
    (interrupt,) = w.tick(0.5)
    assert isinstance(interrupt, Interrupt) and interrupt.task == 7 and w.should_interrupt()
    assert w.next_deadline() == 1.0
    (exit_,) = w.tick(1.0)
    assert isinstance(exit_, Exit) and exit_.code == EXIT_ABORTED


def test_an_abort_that_arrives_after_its_task_ended_leaves_no_deadline_behind():
    """Reference bug: the control thread then polled every millisecond for good."""
    w = WorkerSession(interval=10.0, timeout=100.0, now=0.0)
    w.tick(0.0)
    assert w.begin(1)
    assert w.end(1) is False
    w.on_abort(1, 500, 0.001)  # the manager named task 1 while its result was held on the way
    assert w.next_deadline() == 10.0 and w.tick(5.0) == []
    assert w.begin(2) and not w.was_aborted()  # nor does it touch the next task


def test_an_abort_that_overtakes_its_task_applies_when_the_task_begins():
    w = WorkerSession(interval=10.0, timeout=100.0, now=0.0)
    w.tick(0.0)
    w.on_abort(3, 1000, 0.0)
    assert w.next_deadline() == 10.0  # nothing runs yet: nothing to time
    assert w.begin(3) and w.was_aborted() and w.has_deadline()
    assert [type(a) for a in w.tick(0.6)] == [Interrupt]
    assert w.end(3) is True and not w.aborted and not w.deadlines


def test_a_task_frame_that_arrives_twice_runs_once():
    w = WorkerSession(interval=10.0, timeout=100.0, now=0.0)
    assert w.begin(5)
    w.end(5)
    assert not w.begin(5)


def test_a_worker_remembers_at_least_the_last_REMEMBERED_task_ids_and_no_more_than_twice_that():
    from promp.worker._core import REMEMBERED

    w = WorkerSession(interval=10.0, timeout=100.0, now=0.0)
    for t in range(1, 5 * REMEMBERED + 1):
        assert w.begin(t)
        w.end(t)
        assert not w.begin(max(1, t - REMEMBERED + 1))  # each of the last REMEMBERED, repeated, is refused
        assert len(w._seen) <= 2 * REMEMBERED  # memory stays bounded
    assert w.begin(1)  # long forgotten: a frame that old is not a duplicate any more


def test_results_are_held_only_briefly_and_only_while_more_work_waits():
    hold = ResultHold()
    assert hold.send_at_once(0.002, aborted=False) and hold.send_at_once(0.0, aborted=True)
    assert not hold.send_at_once(0.0001, aborted=False)
    hold.posted(10.0, first=True)
    hold.posted(10.0005, first=False)  # the oldest held result sets the clock
    assert hold.hold(10.001, held=2) and not hold.hold(10.0021, held=2)  # old: send
    assert not hold.hold(10.001, held=ResultHold.MAX_BATCH)  # enough: send
    hold.watched = True
    assert not hold.overdue(10.0015, held=2) and hold.overdue(10.002, held=2)
    assert hold.next_look(10.0) == 10.0 + ResultHold.HOLD_AT_MOST
    assert not hold.overdue(10.5, held=0) and hold.watched  # nothing held, watched a while longer
    assert not hold.overdue(11.5, held=0) and not hold.watched and hold.next_look(11.5) is None


def test_an_abort_that_comes_again_never_postpones_the_interrupt_or_the_exit():
    """Reference bug: each abort reset both deadlines, so a re-sent abort kept a stubborn task running."""
    w = WorkerSession(interval=10.0, timeout=100.0, now=0.0)
    w.tick(0.0)
    assert w.begin(7)
    w.on_abort(7, 1000, 0.0)
    w.on_abort(7, 1000, 0.4)
    w.on_abort(7, 5000, 0.8)
    w.on_abort(7, -1, 0.9)
    assert w.next_deadline() == 0.5
    assert [type(a) for a in w.tick(0.5)] == [Interrupt]
    assert [type(a) for a in w.tick(1.0)] == [Exit]
