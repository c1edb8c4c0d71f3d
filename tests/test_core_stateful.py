"""Hypothesis stateful tests of the small state machines: a second net under the simulator.

Each machine is driven by random sequences of its inputs against a model of what it must do.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from promp.core import (
    PING,
    SILENT,
    Exit,
    HeartbeatClock,
    Interrupt,
    ManagerSession,
    ProWorker_All,
    ProWorker_Any,
    ProWorkerExited,
    Send,
    WorkerGone,
    WorkerSession,
)
from promp.core import WorkerState as S

STEP = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)


class HeartbeatClockMachine(RuleBasedStateMachine):
    """Silent only after a ping went unanswered for the timeout while the clock was ticked."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.clock = HeartbeatClock(interval=0.5, timeout=2.0, now=0.0)
        self.unanswered_since: float | None = None  # the model: oldest ping not answered, restarted after a stall

    @rule(dt=STEP)
    def tick(self, dt: float) -> None:
        before, self.now = self.now, self.now + dt
        # a stall of half the timeout restarts the wait; measured as the clock measures it (now - last tick), since
        # the sum rounds: 0.1 + 1.0 - 0.1 is not 1.0, and comparing dt instead failed now and then on correct code
        if self.unanswered_since is not None and self.now - before >= 1.0:
            self.unanswered_since = self.now
        verdict = self.clock.tick(self.now)
        if verdict == SILENT:
            assert self.unanswered_since is not None and self.now - self.unanswered_since > 2.0
            self.unanswered_since = None
        else:
            assert self.unanswered_since is None or self.now - self.unanswered_since <= 2.0
        if verdict == PING and self.unanswered_since is None:
            self.unanswered_since = self.now
        assert self.clock.next_deadline() > self.now

    @rule()
    def answer(self) -> None:
        self.clock.answered()
        self.unanswered_since = None


class WorkerSessionMachine(RuleBasedStateMachine):
    """Aborts touch only the task they name; a task id runs once; no deadline is left behind."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.next_id = 1
        self._new_process()

    def _new_process(self) -> None:
        """A fresh worker (the last one exited); task ids go on, as the manager's do."""
        self.w = WorkerSession(interval=0.5, timeout=1e9, now=self.now)
        self.named: set[int] = set()  # tasks some abort named
        self.ended: set[int] = set()

    @precondition(lambda self: self.w.current is None)
    @rule(again=st.booleans())
    def begin(self, again: bool) -> None:
        if again and self.ended:
            assert not self.w.begin(max(self.ended))  # a duplicated frame does not run
            return
        assert self.w.begin(self.next_id)
        self.next_id += 1

    @precondition(lambda self: self.w.current is not None)
    @rule()
    def end(self) -> None:
        task = self.w.current
        assert self.w.end(task) == (task in self.named)
        self.ended.add(task)

    @rule(offset=st.integers(-3, 2), ms=st.sampled_from([-1, 0, 100, 1000]))
    def abort(self, offset: int, ms: int) -> None:
        task = self.next_id - 1 + offset  # a task that ended, runs, or has not come yet
        if task < 1:
            return
        self.w.on_abort(task, ms, self.now)
        if task not in self.ended:
            self.named.add(task)

    @rule(dt=STEP)
    def tick(self, dt: float) -> None:
        self.now += dt
        for action in self.w.tick(self.now):
            self.w.on_echo(self.now)
            if isinstance(action, (Interrupt, Exit)) and action != PING:
                assert self.w.current in self.named
                if isinstance(action, Interrupt):
                    assert action.task == self.w.current
                else:
                    self._new_process()
                    return
        assert self.w.next_deadline() > self.now

    @invariant()
    def aborted_only_if_named(self) -> None:
        assert not self.w.was_aborted() or self.w.current in self.named
        assert set(self.w.deadlines) <= set(self.w.aborted)
        assert not set(self.w.aborted) & self.ended  # nothing kept for tasks that ended


class ManagerTableMachine(RuleBasedStateMachine):
    """Every task ends exactly once (result, error or death); nothing goes to a worker that is going away."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.s = ManagerSession(heartbeat_interval=0.5, heartbeat_timeout=1e6, exit_grace=0.05, stop_grace=1e6)
        self.inflight: dict[int, list[int]] = {}  # worker -> tasks sent to it, in order (the model of its socket)
        self.wanted = 0
        self.results = 0

    def _sent(self, actions: list) -> None:
        for action in actions:
            if isinstance(action, Send) and action.message.kind == "task":
                assert self.s.workers[action.worker].state in (S.READY, S.STOPPING)
                self.inflight.setdefault(action.worker, []).append(action.message.t)

    @rule()
    def start(self) -> None:
        if len(self.s.workers) < 4:
            self.s.add_worker(self.now)

    @rule(data=st.data())
    def hello(self, data) -> None:
        starting = [w for w, r in self.s.workers.items() if r.state in (S.STARTING, S.STOP_PENDING)]
        if starting:
            wid = data.draw(st.sampled_from(starting))
            self._sent(self.s.on_hello(wid, 100 + wid, self.now))

    @rule(where=st.sampled_from(["any", "all", "id"]), want=st.booleans(), data=st.data())
    def submit(self, where: str, want: bool, data) -> None:
        live = [w for w, r in self.s.workers.items() if r.takes_tasks]
        if where == "id":
            if not self.s.workers:
                return
            chosen = data.draw(st.sampled_from(sorted(self.s.workers)))
        else:
            chosen = ProWorker_Any if where == "any" else ProWorker_All
        try:
            self._sent(self.s.submit(chosen, {"op": "code", "src": "x"}, b"", want, self.now))
        except (ProWorkerExited, ValueError):
            assert not live or where == "id"
            return
        if want:
            self.wanted += len(live) if where == "all" else 1

    @rule(data=st.data())
    def complete(self, data) -> None:
        busy = [w for w, tasks in self.inflight.items() if tasks and self.s.workers[w].running]
        if busy:
            wid = data.draw(st.sampled_from(busy))
            task = self.inflight[wid].pop(0)
            self._sent(self.s.on_done(wid, task, "value", 0.01, self.now))

    @rule(data=st.data())
    def stop(self, data) -> None:
        live = [w for w, r in self.s.workers.items() if r.takes_tasks]
        if live:
            self._sent(self.s.stop_worker(data.draw(st.sampled_from(live)), self.now))

    @rule(data=st.data())
    def crash(self, data) -> None:
        running = [w for w, r in self.s.workers.items() if r.running]
        if running:
            self.s.on_exit(data.draw(st.sampled_from(running)), -9, self.now)

    @rule(dt=st.floats(0.0, 0.2))
    def settle(self, dt: float) -> None:
        self.now += dt
        for action in self.s.settle(self.now):
            if isinstance(action, Send):
                self._sent([action])
            elif isinstance(action, WorkerGone):
                self.inflight.pop(action.worker, None)

    @invariant()
    def every_task_accounted(self) -> None:
        while self.s.has_results():
            self.s.take_result()
            self.results += 1
        assert self.results <= self.wanted
        outstanding = sum(len(r.assigned) for r in self.s.workers.values()) + len(self.s.any_queue)
        assert self.s.unfinished == outstanding and self.s.is_busy() == (outstanding > 0)
        if not self.s.is_busy():
            assert self.results == self.wanted
        for rec in self.s.workers.values():
            assert rec.state != S.EXITED or not rec.assigned


for machine in (HeartbeatClockMachine, WorkerSessionMachine, ManagerTableMachine):
    machine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)

TestHeartbeatClock = HeartbeatClockMachine.TestCase
TestWorkerSession = WorkerSessionMachine.TestCase
TestManagerTable = ManagerTableMachine.TestCase


def test_the_heartbeat_model_measures_a_stall_as_the_clock_does():
    """0.1 + 0.1 + 0.2 + 1.0 - 0.4 is 0.9999999999999999: a dt of 1.0 is no stall to the clock, so none to the model."""
    machine = HeartbeatClockMachine()
    for dt in (0.1, 0.1, 0.2, 1.0, 0.9):
        machine.tick(dt)
