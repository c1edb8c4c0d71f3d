"""The manager's protocol core, driven by hand with a fake clock: no processes, no sleeping."""

from __future__ import annotations

import pytest

from promp import ProMPRemoteError, ProWorker_All, ProWorker_Any, ProWorkerExited
from promp.manager._actions import Control, Ignored, Kill, Ping, Send, Wake, WorkerGone
from promp.manager._core import Input, LifecycleError, ManagerSession, WorkerState


def task_ids(sends: list) -> list[tuple[int, int]]:
    return [(s.worker, s.message.t) for s in sends if isinstance(s, Send) and s.message.kind == "task"]


def kinds(actions: list) -> list[str]:
    return [a.message.kind for a in actions if isinstance(a, (Send, Control))]


def ready_session(workers: int = 2, **kwargs: float) -> tuple[ManagerSession, list[int]]:
    s = ManagerSession(**kwargs)
    ids = [s.add_worker() for _ in range(workers)]
    for wid in ids:
        s.on_hello(wid, 1000 + wid, 0.0)
    return s, ids


def settle(s: ManagerSession, now: float) -> tuple[list[WorkerGone], list[Send]]:
    actions = s.settle(now)
    return [a for a in actions if isinstance(a, WorkerGone)], [a for a in actions if isinstance(a, Send)]


def submit(s: ManagerSession, target: int, want: bool = True, now: float = 0.0) -> list[Send]:
    return s.submit(target, {"op": "code", "src": "pass"}, b"", want, now)


def test_tasks_before_hello_are_held_and_sent_in_order_at_hello():
    s = ManagerSession()
    w = s.add_worker()
    assert submit(s, w) == [] and submit(s, w) == []
    sends = s.on_hello(w, 42, 0.1)
    assert task_ids(sends) == [(w, 1), (w, 2)]
    assert s.workers[w].pid == 42


def test_all_targets_every_live_worker_once():
    s, ids = ready_session(3)
    assert sorted(w for w, _ in task_ids(submit(s, ProWorker_All))) == ids
    s.on_exit(ids[0], -9, 1.0)
    settle(s, 2.0)
    assert sorted(w for w, _ in task_ids(submit(s, ProWorker_All, now=2.0))) == ids[1:]


def test_any_goes_to_an_idle_worker_else_waits_for_one_to_free_up():
    s, (a, b) = ready_session(2)
    (first,) = task_ids(submit(s, ProWorker_Any))
    (second,) = task_ids(submit(s, ProWorker_Any))
    assert {first[0], second[0]} == {a, b}
    assert submit(s, ProWorker_Any) == []  # both busy, nothing known about task length: queued
    sends = s.on_done(first[0], first[1], 1, 0.5, 1.0)
    assert task_ids(sends) == [(first[0], 3)]


def test_any_pipelines_only_to_workers_running_quick_tasks():
    s, (a,) = ready_session(1, pipeline_depth=4)
    (t1,) = task_ids(submit(s, ProWorker_Any))
    for _ in range(6):
        submit(s, ProWorker_Any)
    sends = s.on_done(a, t1[1], None, 0.0001, 0.001)  # quick and just completed: pipeline
    assert len(task_ids(sends)) == 4
    s2, (b,) = ready_session(1, pipeline_depth=4)
    (u1,) = task_ids(submit(s2, ProWorker_Any))
    submit(s2, ProWorker_Any)
    submit(s2, ProWorker_Any)
    assert len(task_ids(s2.on_done(b, u1[1], None, 0.5, 0.6))) == 1  # a slow task: one at a time


def test_only_tasks_of_a_kind_known_to_be_quick_are_pipelined():
    s, (a,) = ready_session(1, pipeline_depth=4)
    quick = {"op": "func_code", "src": "def f(): pass", "fn": "f"}
    other = {"op": "func_code", "src": "def g(): pass", "fn": "g"}
    (first,) = task_ids(s.submit(ProWorker_Any, quick, b"", True, 0.0))
    assert s.on_done(a, first[1], None, 0.0001, 0.001) == []  # f is now known to be quick
    assert task_ids(s.submit(ProWorker_Any, quick, b"", True, 0.001))  # idle worker: sent
    assert task_ids(s.submit(ProWorker_Any, quick, b"", True, 0.001))  # busy, but f is quick: pipelined
    assert s.submit(ProWorker_Any, other, b"", True, 0.001) == []  # g was never run: waits for an idle worker
    assert s.submit(ProWorker_Any, quick, b"", True, 0.001) == []  # behind g, in order


def test_a_kind_that_ran_slowly_is_not_pipelined_even_to_a_worker_of_quick_tasks():
    s, (a, b) = ready_session(2, pipeline_depth=4)
    quick = {"op": "func_code", "src": "def f(): pass", "fn": "f"}
    slow = {"op": "func_code", "src": "def g(): sleep()", "fn": "g"}
    ((wa, tf),) = task_ids(s.submit(ProWorker_Any, quick, b"", True, 0.0))
    ((wb, tg),) = task_ids(s.submit(ProWorker_Any, slow, b"", True, 0.0))
    s.on_done(wa, tf, None, 0.0001, 0.001)
    s.on_done(wb, tg, None, 2.0, 2.0)  # g takes seconds
    s.submit(ProWorker_Any, quick, b"", True, 2.0)  # both idle: the two go to one worker each
    s.submit(ProWorker_Any, quick, b"", True, 2.0)
    assert s.submit(ProWorker_Any, slow, b"", True, 2.0) == []  # no idle worker: g waits


def test_nothing_is_pipelined_behind_a_task_that_may_be_long():
    s, (a,) = ready_session(1, pipeline_depth=4)
    quick = {"op": "func_code", "src": "def f(): pass", "fn": "f"}
    unknown = {"op": "func_code", "src": "def g(): pass", "fn": "g"}
    (first,) = task_ids(s.submit(ProWorker_Any, quick, b"", True, 0.0))
    s.on_done(a, first[1], None, 0.0001, 0.001)  # a has a quick history and f is known
    assert task_ids(s.submit(ProWorker_Any, unknown, b"", True, 0.001))  # a is idle: it runs g
    assert s.submit(ProWorker_Any, quick, b"", True, 0.001) == []  # f would be quick, but g might not be
    assert s.submit(a, unknown, b"", True, 0.001)  # a task for a by name is sent regardless


def test_busy_until_every_task_is_done_and_results_in_order():
    s, (a, b) = ready_session(2)
    assert not s.is_busy()
    (t1,) = task_ids(submit(s, a))
    (t2,) = task_ids(submit(s, a))
    assert s.is_busy()
    s.on_done(a, t1[1], "one", None, 0.1)
    s.on_done(a, t2[1], "two", None, 0.2)
    assert not s.is_busy()
    assert s.take_result(b) is None
    assert [s.take_result(a), s.take_result(a), s.take_result(a)] == ["one", "two", None]


def test_a_done_for_a_task_not_given_or_already_finished_changes_nothing_and_says_so():
    s, (a, _) = ready_session(2)
    (t1,) = task_ids(submit(s, a))
    assert s.on_done(a, t1[1], "one", None, 0.1) == []
    for stray in (t1[1], t1[1] + 1000):  # a replay, and a task never given
        (ignored,) = s.on_done(a, stray, "stray", None, 0.2)
        assert isinstance(ignored, Ignored) and ignored.worker == a and str(stray) in ignored.reason
    assert [s.take_result(a), s.take_result(a)] == ["one", None] and not s.is_busy()


def test_take_any_returns_results_in_arrival_order_across_workers():
    s, (a, b) = ready_session(2)
    (ta,) = task_ids(submit(s, a))
    (tb,) = task_ids(submit(s, b))
    s.on_done(b, tb[1], "b", None, 0.1)
    s.on_done(a, ta[1], "a", None, 0.2)
    assert s.has_results()
    assert [s.take_result(ProWorker_Any), s.take_result(ProWorker_Any)] == ["b", "a"]
    assert not s.has_results()


def test_results_not_wanted_are_not_stored():
    s, (a, _) = ready_session(2)
    (t,) = task_ids(submit(s, a, want=False))
    s.on_done(a, t[1], None, None, 0.1)
    assert not s.has_results() and not s.is_busy()


def test_a_dead_workers_tasks_fail_only_after_the_exit_grace_or_its_bye():
    s, (a, b) = ready_session(2, exit_grace=0.05)
    submit(s, a)
    submit(s, a, want=False)
    s.on_exit(a, -9, 1.0)
    assert settle(s, 1.01) == ([], [])  # its last messages may still be on the way
    assert s.is_busy()
    gone, _ = settle(s, 1.06)
    assert [(g.worker, g.code, g.expected, g.failed_tasks) for g in gone] == [(a, -9, False, 2)]
    assert not s.is_busy()
    err = s.take_result(a)
    assert isinstance(err, ProMPRemoteError) and err.type == "WorkerExited" and err.workerId == a
    with pytest.raises(ProWorkerExited):
        submit(s, a, now=2.0)
    s.on_bye(b)
    s.on_exit(b, 0, 3.0)
    gone, _ = settle(s, 3.0)  # bye seen: final at once
    assert [g.worker for g in gone] == [b]


def test_a_dead_workers_exit_is_final_at_once_when_its_connection_ended_whichever_came_first():
    s, (a, b) = ready_session(2, exit_grace=60.0, heartbeat_interval=100.0, heartbeat_timeout=1000.0)
    s.tick(0.0)
    submit(s, a)
    s.on_exit(a, -9, 1.0)
    assert settle(s, 1.0) == ([], []) and s.next_deadline() == 61.0  # the keeper wakes the user's thread then
    s.on_link(a, False)  # everything it sent has been read in
    assert s.next_deadline() == 1.0 and Wake() in s.tick(1.0)
    gone, _ = settle(s, 1.0)
    assert [g.worker for g in gone] == [a] and not s.is_busy()
    s.on_link(b, False)  # its connection ended first (a reconnect would say up again), then its exit is seen
    s.on_exit(b, -9, 2.0)
    assert [g.worker for g in settle(s, 2.0)[0]] == [b]


def test_any_tasks_fail_when_no_worker_is_left():
    s, (a,) = ready_session(1)
    submit(s, ProWorker_Any)
    submit(s, ProWorker_Any)
    s.on_exit(a, 1, 0.0)
    settle(s, 1.0)
    assert not s.is_busy()
    assert isinstance(s.take_result(), ProMPRemoteError) and isinstance(s.take_result(), ProMPRemoteError)
    with pytest.raises(ProWorkerExited):
        submit(s, ProWorker_Any, now=1.0)


def test_unknown_targets_are_rejected():
    s, _ = ready_session(1)
    with pytest.raises(ValueError, match="no worker with id 99"):
        submit(s, 99)
    with pytest.raises(ValueError, match="no worker with id"):
        s.submit(7, {"op": "test"}, b"", False, 0.0)


def kills_between(s: ManagerSession, start: float, end: float, answering: tuple[int, ...] = ()) -> list[tuple[float, int]]:
    """Tick every 0.25 s (as the keeper does) while ``answering`` workers echo each ping."""
    kills = []
    for i in range(int((end - start) / 0.25) + 1):
        now = start + i * 0.25
        actions = s.tick(now)
        if Wake() in actions:
            actions += s.settle(now)  # the user's thread, woken, reads the task channel through
        for action in actions:
            if isinstance(action, Kill):
                kills.append((now, action.worker))
            elif isinstance(action, Ping) and action.worker in answering:
                s.on_echo(action.worker, now + 0.01)
    return kills


def test_heartbeats_go_out_every_interval_and_silent_workers_are_killed_after_the_timeout():
    s, (a, b) = ready_session(2, heartbeat_interval=0.5, heartbeat_timeout=2.0)
    assert [type(x) for x in s.tick(0.0)] == [Ping, Ping]
    assert s.tick(0.25) == []
    assert len(s.tick(0.5)) == 2
    s.on_echo(a, 0.51)
    assert kills_between(s, 0.75, 4.0, answering=(a,)) == [(2.25, b)]  # b: unanswered since 0.0
    s.on_exit(b, -9, 4.0)
    assert kills_between(s, 4.25, 10.0, answering=(a,)) == []
    assert kills_between(s, 10.25, 13.0) == [(12.75, a)]  # a falls silent after its echo at 10.01


def test_silence_is_not_counted_while_the_manager_itself_was_asleep():
    s, (a,) = ready_session(1, heartbeat_interval=0.5, heartbeat_timeout=2.0)
    s.tick(0.0)  # a ping goes out, then the manager is frozen for a minute
    assert kills_between(s, 60.0, 62.0) == []
    assert kills_between(s, 62.25, 63.0) == [(62.25, a)]  # now it really was silent for the timeout


def test_a_worker_that_never_answers_is_killed_after_the_start_timeout():
    s = ManagerSession(heartbeat_interval=0.5, heartbeat_timeout=1.0, start_timeout=5.0)
    w = s.add_worker()
    assert kills_between(s, 0.0, 6.0) == [(5.0, w)]  # no hello was read by then, the user's thread being woken to look


def test_a_worker_that_answers_heartbeats_but_never_says_hello_is_killed_after_the_start_timeout():
    s = ManagerSession(heartbeat_interval=0.5, heartbeat_timeout=1.0, start_timeout=5.0)
    w = s.add_worker()
    assert kills_between(s, 0.0, 4.9, answering=(w,)) == []  # echoes alone do not make it started
    kills = kills_between(s, 5.0, 6.0, answering=(w,))
    assert kills == [(5.0, w)] or kills == [(5.25, w)]


def test_a_start_slowed_by_load_is_not_silence_until_the_start_timeout():
    """Reference bug (issue 12): 96 workers starting at once on 2 cores were killed after the heartbeat timeout."""
    s = ManagerSession(heartbeat_interval=0.5, heartbeat_timeout=1.0, start_timeout=10.0)
    w = s.add_worker()
    s.tick(0.0)
    s.on_echo(w, 0.1)  # its echo proxy is up early, then the machine is too busy for it to answer
    assert kills_between(s, 0.25, 9.0) == []
    s.on_hello(w, 42, 9.0)
    assert [k for k in kills_between(s, 9.25, 12.0)] == [(10.75, w)]  # past its hello the normal timeout applies


def test_a_hello_waiting_behind_a_busy_user_thread_is_read_before_a_start_kill():
    s = ManagerSession(heartbeat_interval=0.5, heartbeat_timeout=1.0, start_timeout=5.0)
    w = s.add_worker()
    s.tick(0.0)
    s.on_echo(w, 0.1)
    actions = s.tick(5.0)  # due; the channel was not read since: it asks for that first
    assert Wake() in actions and not any(isinstance(a, Kill) for a in actions)
    s.on_hello(w, 42, 5.1)  # what the reading thread found there
    s.settle(5.1)
    assert not any(isinstance(a, Kill) for a in s.tick(5.5))


def test_stop_worker_asks_then_kills_after_the_grace():
    s, (a, _) = ready_session(2, stop_grace=1.0)
    assert kinds(s.stop_worker(a, 0.0)) == ["stop"]
    with pytest.raises(ProWorkerExited, match="stopping"):
        submit(s, a)
    assert not any(isinstance(x, Kill) for x in s.tick(0.5))
    assert any(isinstance(x, Kill) and x.worker == a for x in s.tick(1.1))
    s.on_exit(a, -9, 1.2)
    (gone,), _ = settle(s, 2.0)
    assert not gone.expected and "did not exit within 1 s" in gone.reason  # killed, not stopped


def test_every_task_a_dead_worker_was_sent_fails_and_none_runs_again():
    """It may have run the pipelined ones and lost their results with it (promp-sim found a task run twice)."""
    s, (a,) = ready_session(1, pipeline_depth=4, exit_grace=0.0)
    (t1,) = task_ids(submit(s, ProWorker_Any))
    s.on_done(a, t1[1], None, 0.0001, 0.0005)  # a runs quick tasks: the next ones are pipelined
    held = [t for _, t in task_ids(submit(s, ProWorker_Any, now=0.0006) + submit(s, ProWorker_Any, now=0.0007))]
    held += [t for _, t in task_ids(submit(s, ProWorker_Any, now=0.0008) + submit(s, ProWorker_Any, now=0.00085))]
    assert len(held) == 4 and len(s.workers[a].assigned) == 4
    queued = submit(s, ProWorker_Any, now=0.0009)  # a is full: this one waits in the manager
    assert queued == []
    b = s.add_worker()
    s.on_exit(a, -9, 1.0)
    gone, sends = settle(s, 1.0)
    assert gone[0].failed_tasks == 4 and sends == []
    assert s.take_result(a) is None  # the first task's own result
    errors = [s.take_result(a) for _ in range(4)]
    assert all(isinstance(e, ProMPRemoteError) and e.type == "WorkerExited" for e in errors)
    ((_, first),) = task_ids(s.on_hello(b, 7, 1.1))  # only the task never sent runs elsewhere
    assert first not in held and s.on_done(b, first, None, 0.5, 1.6) == [] and not s.is_busy()


def test_a_fresh_assignment_does_not_count_as_completing_tasks():
    s, (a,) = ready_session(1, pipeline_depth=4)
    (t1,) = task_ids(submit(s, ProWorker_Any))
    s.on_done(a, t1[1], None, 0.0001, 0.001)  # quick history
    assert task_ids(submit(s, ProWorker_Any, now=1.0))  # idle: gets the task
    assert submit(s, ProWorker_Any, now=1.5) == []  # its head task has run 0.5 s: no pipelining


def test_pipelining_holds_less_behind_longer_tasks():
    for run_time, expected in ((0.00001, 8), (0.0005, 4)):
        s, (a,) = ready_session(1, pipeline_depth=8)
        (t1,) = task_ids(submit(s, ProWorker_Any))
        for _ in range(20):
            submit(s, ProWorker_Any)
        s.workers[a].avg_run = run_time
        sent = task_ids(s.on_done(a, t1[1], None, run_time, 0.0001))
        assert len(sent) == expected, (run_time, len(sent))


def test_worker_lifecycle_transitions_are_guarded():
    s, (a,) = ready_session(1)
    with pytest.raises(LifecycleError, match="settle is not a legal input in state ready"):
        s._fire(s.workers[a], Input.SETTLE, 1.0)
    assert s.workers[a].state == WorkerState.READY


def test_any_and_all_never_pick_a_worker_whose_exit_is_seen_but_not_final():
    """Reference bug: the task went to the dead worker, and failed, while another was idle."""
    s, (a, b) = ready_session(2, exit_grace=0.05)
    s.on_exit(a, -9, 1.0)  # a's exit is seen; its last messages may still come
    assert [w for w, _ in task_ids(submit(s, ProWorker_Any, now=1.01))] == [b]
    assert [w for w, _ in task_ids(submit(s, ProWorker_All, now=1.01))] == [b]
    assert s.workers[a].assigned == {}


def test_stop_worker_on_a_starting_worker_runs_its_queued_tasks_first_as_on_a_ready_one():
    """Reference bug: the tasks queued for a still-starting worker failed."""
    s = ManagerSession(stop_grace=1.0)
    w = s.add_worker()
    submit(s, w)
    assert s.stop_worker(w, 0.0) == []
    sends = s.on_hello(w, 42, 0.1)
    assert kinds(sends) == ["task", "stop"]
    (t,) = task_ids(sends)
    s.on_done(w, t[1], "ran", None, 0.2)
    s.on_bye(w)
    s.on_exit(w, 0, 0.3)
    gone, _ = settle(s, 0.3)
    assert gone[0].expected and gone[0].failed_tasks == 0 and s.take_result(w) == "ran"


def test_next_deadline_covers_pings_kills_and_the_exit_grace():
    s, (a, b) = ready_session(2, heartbeat_interval=0.5, heartbeat_timeout=2.0, stop_grace=0.3, exit_grace=0.05)
    s.tick(0.0)
    assert s.next_deadline() == 0.5
    s.stop_worker(a, 0.1)
    assert s.next_deadline() == pytest.approx(0.4)  # a's stop grace (it has no task left)
    s.on_exit(b, -9, 0.2)
    assert s.next_deadline() == pytest.approx(0.25)  # b's exit grace: the keeper wakes the user's thread then
    assert s.tick(0.25) == [Wake()]
    settle(s, 0.25)
    s.on_exit(a, 0, 0.3)
    s.on_bye(a)
    settle(s, 0.4)
    s.tick(0.4)
    assert s.next_deadline() is None  # nothing running, nothing timed: block


def test_one_kill_clears_every_timer_of_its_worker():
    """Found by promp-sim: a stop kill left a due abort kill behind, and the keeper's deadline in the past."""
    s, (a,) = ready_session(1, stop_grace=0.3)
    submit(s, a)
    s.abort(a, 100, 0.0)  # its kill would be due at 1.1
    s.stop_worker(a, 0.1)  # this one at 0.4
    kills = [x for x in s.tick(2.0) if isinstance(x, Kill)]  # the manager was frozen past both
    assert len(kills) == 1 and (s.next_deadline() or 3.0) > 2.0




def test_everything_for_a_worker_that_has_not_said_hello_waits_at_its_gate_aborts_too():
    """Reference bug: an abort for a starting worker was sent at once, dropped by the socket, and its kill armed anyway."""
    s = ManagerSession()
    w = s.add_worker()
    assert submit(s, w) == []  # held: nothing out
    assert s.send_message(w, 5, b"m") == []
    assert s.abort(w, 1000, 0.0) == []
    assert s.running_task(w) == 1
    released = s.on_hello(w, 42, 0.1)
    assert [(type(a).__name__, a.message.kind) for a in released] == [("Send", "task"), ("Send", "msg"), ("Control", "abort")]
    assert released[2].message.t == 1 and released[2].message.ms == 1000


def test_an_abort_given_again_keeps_the_earliest_kill():
    """Reference bug: each abortOperation pushed the kill back; re-sent every 0.4 s a task never ended."""
    s, (a,) = ready_session(1, heartbeat_interval=100.0, heartbeat_timeout=1000.0)
    s.tick(0.0)
    submit(s, a)
    s.abort(a, 1000, 0.0)  # killed at 2.0 at the latest (1 s, then the manager's safety second)
    for now in (0.4, 0.8, 1.2, 1.6):
        assert kinds(s.abort(a, 1000, now)) == ["abort"]  # each reaches the worker, which keeps its own earliest
        assert not any(isinstance(x, Kill) for x in s.tick(now))
    s.abort(a, -1, 1.8)  # a flag-only abort does not take the kill away either
    assert s.next_deadline() == pytest.approx(2.0)
    assert [type(x) for x in s.tick(2.0)] == [Kill]


def test_a_stopped_workers_grace_runs_from_its_last_task_not_from_the_stop():
    s, (a,) = ready_session(1, stop_grace=1.0, heartbeat_interval=100.0, heartbeat_timeout=1000.0)
    s.tick(0.0)
    (t1,) = task_ids(submit(s, a))
    (t2,) = task_ids(submit(s, a))
    assert kinds(s.stop_worker(a, 0.0)) == ["stop"]
    assert s.next_deadline() == 100.0  # tasks are queued: no kill is armed
    assert not any(isinstance(x, Kill) for x in s.tick(5.0))
    s.on_done(a, t1[1], 1, 5.0, 5.0)
    s.on_done(a, t2[1], 2, 5.0, 10.0)
    assert s.next_deadline() == 11.0  # its last task ended at 10: one second to exit
    assert not any(isinstance(x, Kill) for x in s.tick(10.5))
    assert [x.reason for x in s.tick(11.0) if isinstance(x, Kill)] == ["did not exit within 1 s of its last task after stopWorker"]


def test_a_clean_exit_after_a_stop_is_reported_as_stopped():
    """Reference bug: the kill's reason was set at the stop, so a clean exit read 'did not stop within the grace period'."""
    s, (a,) = ready_session(1)
    s.stop_worker(a, 0.0)
    s.on_bye(a)
    s.on_exit(a, 0, 0.5)
    (gone,), _ = settle(s, 0.5)
    assert gone.expected and gone.reason == "stopped"
    with pytest.raises(ProWorkerExited, match=r"worker 1 has exited \(stopped\)"):
        submit(s, a, now=1.0)


def test_any_goes_to_the_worker_idle_longest():
    """Reference bug: a worker that went idle again kept its old place, so one worker ran every task in turn."""
    s, ids = ready_session(3)
    order = []
    for i in range(6):
        ((w, t),) = task_ids(submit(s, ProWorker_Any, now=float(i)))
        order.append(w)
        s.on_done(w, t, None, 0.5, i + 0.5)
    assert order == ids + ids


def test_a_hello_that_comes_again_changes_nothing_and_says_so():
    s, (a,) = ready_session(1)
    (ignored,) = s.on_hello(a, 43, 1.0)
    assert isinstance(ignored, Ignored) and "ready" in ignored.reason and s.workers[a].pid == 1000 + a


class CountedWorkers(dict):
    """A session's worker table that counts the walks over it."""

    walks = 0

    def values(self):
        CountedWorkers.walks += 1
        return super().values()

    def __iter__(self):
        CountedWorkers.walks += 1
        return super().__iter__()


def test_a_task_for_any_worker_is_dispatched_without_walking_every_worker_however_many_are_busy():
    """Issue 20: with 1,024 workers all busy, each ProWorker_Any task used to look at every worker."""
    s, ids = ready_session(1024, pipeline_depth=4)
    s.workers = CountedWorkers(s.workers)
    now, sends = 0.0, []
    for _ in ids:  # every worker gets a quick task, done at once: quick tasks of this kind are known
        sends += task_ids(submit(s, ProWorker_Any, now=now))
    for wid, t in sends:
        now += 1e-6
        s.on_done(wid, t, None, 0.0001, now)
    for _ in ids:  # busy again
        submit(s, ProWorker_Any, now=now)
    CountedWorkers.walks = 0
    pipelined = [task_ids(submit(s, ProWorker_Any, now=now)) for _ in range(500)]
    assert all(pipelined), "every worker is completing quick tasks: each new one queues in one of them"
    assert len({w for (w, _t), in pipelined}) > 100  # and the load turns round the workers
    assert CountedWorkers.walks == 0
    submit(s, ProWorker_All, now=now)
    s.send_message(ProWorker_All, 1, b"")
    assert CountedWorkers.walks == 0


def test_busy_workers_whose_task_may_be_long_do_not_hide_those_completing_quick_ones():
    """Issue 20's review: eight workers whose running task had run long sat at the front of the candidates, and a
    quick task waited though four workers further on were completing quick ones."""
    s, ids = ready_session(12, pipeline_depth=4)
    warm = task_ids([a for _ in ids for a in submit(s, ProWorker_Any, now=0.0)])
    for wid, t in warm:
        s.on_done(wid, t, None, 0.0001, 0.001)  # quick: depth grows, the kind is known quick
    running = dict(task_ids([a for _ in ids for a in submit(s, ProWorker_Any, now=1.0)]))
    for wid in ids[8:]:  # these four complete theirs and take new ones at once; the first eight run on
        s.on_done(wid, running[wid], None, 0.0001, 2.0)
        task_ids(submit(s, ProWorker_Any, now=2.0))
    (pipelined,) = task_ids(submit(s, ProWorker_Any, now=2.0))
    assert pipelined[0] in ids[8:]


def counting_picks(s: ManagerSession) -> list[int]:
    """Count the session's picks of a worker for ProWorker_Any tasks (one entry per pick)."""
    picks: list[int] = []
    pick = s._pick_for_any

    def counted(now: float):
        picks.append(1)
        return pick(now)

    s._pick_for_any = counted
    return picks


def quick_history(s: ManagerSession, ids: list[int]) -> None:
    """Each worker ran a quick task of the kind ``submit`` gives: it is known quick and they pipeline."""
    for wid, t in task_ids([a for _ in ids for a in submit(s, ProWorker_Any)]):
        s.on_done(wid, t, None, 0.00001, 0.0)


def test_a_worker_that_ran_all_it_held_is_refilled_to_its_depth_with_one_look():
    """A batch of dones that empties a worker, while tasks wait: it takes the queue's tasks up to its depth at once,
    not one pick per task (the other worker, full, takes none)."""
    s, (a, b) = ready_session(2, pipeline_depth=16)
    quick_history(s, [a, b])
    held = [task_ids(submit(s, ProWorker_Any)) for _ in range(32)]
    assert sorted(w for ((w, _t),) in held) == [a] * 16 + [b] * 16
    for _ in range(40):
        assert submit(s, ProWorker_Any) == []  # both full: queued
    picks = counting_picks(s)
    sends = task_ids(s.on_dones(a, [(t, None, 0.00001) for ((w, t),) in held if w == a], 0.001))
    assert [w for w, _t in sends] == [a] * 16 and len(s.any_queue) == 24
    assert len(picks) <= 3, f"{len(picks)} picks for 16 tasks"  # a's first as idle, the rest, and the one that finds none


def test_tasks_given_at_once_still_go_to_the_least_loaded_first():
    """Taking several tasks at a pick stops where another worker is as little loaded: the loads stay even."""
    s, (a, b) = ready_session(2, pipeline_depth=32)
    quick_history(s, [a, b])
    first = task_ids([x for _ in range(12) for x in submit(s, ProWorker_Any)])
    loads = {w: sum(1 for v, _t in first if v == w) for w in (a, b)}
    assert abs(loads[a] - loads[b]) <= 1, loads
    for _ in range(60):
        submit(s, ProWorker_Any)  # more than both may hold
    assert len(s.workers[a].assigned) == len(s.workers[b].assigned) == 32
    (wa, ta) = next(x for x in first if x[0] == a)
    s.on_done(a, ta, None, 0.00001, 0.001)  # room for one on a only: a takes one
    assert len(s.workers[a].assigned) == 32 and len(s.workers[b].assigned) == 32


def test_tasks_given_at_once_stop_where_another_worker_is_as_little_loaded():
    """Loads 3 and 4, two tasks waiting: one each (4 and 5), as one pick per task would give them."""
    s, (a, b) = ready_session(2, pipeline_depth=8)
    quick_history(s, [a, b])
    for w, load in ((a, 3), (b, 4)):
        for _ in range(load):
            (sent,) = task_ids(s.submit(w, {"op": "code", "src": "pass"}, b"", True, 0.0))  # by id: loads set by hand
    for rec in s.workers.values():
        for job in rec.assigned.values():
            job.task_kind = ("code", "pass", None)  # as ProWorker_Any's, for the look at their head
        s._flowing[rec.id] = rec
    s.any_queue.extend(s._new_job({"op": "code", "src": "pass"}, b"", True, 0, ("code", "pass", None)) for _ in range(2))
    s._dispatch_any(0.0)
    assert (len(s.workers[a].assigned), len(s.workers[b].assigned)) == (4, 5)
