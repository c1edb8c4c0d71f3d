"""The manager's side of the protocol as a state machine, free of I/O.

``ManagerSession`` is everything a manager knows: its workers and their
lifecycle, the task table, the queue for ``ProWorker_Any``, results and
messages, heartbeat clocks, and every deadline (pings, silence, stop and abort
kills, the grace that lets a dead worker's last messages arrive).  Each input
(a user call, a decoded message, a process exit, a tick of the clock) takes
the current time and returns a list of actions (``Send``, ``Ping``,
``Control``, ``Kill``, ``WorkerGone``) that the shell performs in one place;
``next_deadline()`` says when ``tick`` next has work and ``settle_at()`` when
``settle`` does, so no loop polls on a period.  It never reads a clock, touches a socket, starts a thread or calls
``os``: the pyzmq shell (``_manager_shell``), the tests and the simulator
(``harness.sim``) drive the very same object.

Worker lifecycle (``WorkerState``), one transition table, a guarded setter::

    STARTING --hello--> READY --stopWorker--> STOPPING
    STARTING --stopWorker--> STOPPING   (its queued tasks still go at hello, then the stop)
    any live state --process exit seen--> EXITING --bye, its connection's end, or the exit grace--> EXITED

Only READY workers take ``ProWorker_Any`` tasks; STARTING and READY ones take
tasks by id and ``ProWorker_All``.  EXITING exists because a process's exit
can be seen before its last messages are read: results that arrive during the
grace still count, and only then do the tasks it held fail.

Dispatch of ``ProWorker_Any``: a task goes to an idle ready worker when there
is one.  When none is idle it waits in the manager's queue, except that a task
of a kind known to run in under ``pipeline_threshold`` seconds (its kind: the
operation, the code or script, and the function) may go to a worker whose
recent tasks were just as quick and which is completing them right now, up to
``pipeline_depth`` tasks (fewer for longer tasks: about two thresholds' worth
of expected work), so that tiny tasks are not throttled to one round trip
each.  A task of a kind never run before, or known to be slow, waits for an
idle worker.  A task that turns out to be long stops further pipelining to its
worker once it has run for ten times the threshold; the tasks already
pipelined behind it wait for it (the cost of the bet).  When a worker dies,
every task it was sent fails, pipelined ones too: it may have run them and
lost their results with it, and a task runs at most once.  (Found by the
simulator: requeueing them ran a task twice when a partition held results
past the exit grace.)
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from . import _protocol as wire
from ._constants import EXIT_ABORTED, ProWorker_All, ProWorker_Any
from ._errors import ProMPRemoteError, ProWorkerExited
from ._liveness import PING, SILENT, HeartbeatClock

ABORT_SAFETY = 1.0  # the manager kills a worker that failed to end itself this long after


class WorkerState(str, enum.Enum):
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    EXITING = "exiting"  # the process is gone; its last messages may still be on the way
    EXITED = "exited"


STARTING, READY, STOPPING, EXITING, EXITED = WorkerState

_TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    STARTING: frozenset({READY, STOPPING, EXITING}),
    READY: frozenset({STOPPING, EXITING}),
    STOPPING: frozenset({EXITING}),
    EXITING: frozenset({EXITED}),
    EXITED: frozenset(),
}
_TAKES_TASKS = frozenset({STARTING, READY})  # by id and ProWorker_All
_RUNNING = frozenset({STARTING, READY, STOPPING})  # the process is (as far as we know) alive


class LifecycleError(RuntimeError):
    """An illegal worker state transition: a bug in the core, never a user error."""


# ---------------------------------------------------------------- actions
@dataclass(slots=True)  # not frozen: one per task, and a frozen dataclass is three times slower to make
class Send:
    """Send a message to a worker over the task channel."""

    worker: int
    header: dict
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Ping:
    """Send a heartbeat to a worker."""

    worker: int
    n: int


@dataclass(frozen=True, slots=True)
class Control:
    """Send a message to a worker's control thread (it reaches the worker while a task runs)."""

    worker: int
    header: dict


@dataclass(frozen=True, slots=True)
class Kill:
    """End a worker process (and what it started) now."""

    worker: int
    reason: str


@dataclass(frozen=True, slots=True)
class ReadThrough:
    """Have the thread that reads the task channel read it through and ``settle`` (a decision waits on it)."""


@dataclass(frozen=True, slots=True)
class WorkerGone:
    """A worker's exit is final: its pending tasks have been failed."""

    worker: int
    code: int | None
    expected: bool
    failed_tasks: int
    reason: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message from a worker that changes nothing (a replay, a confused worker): the shell says so."""

    worker: int
    reason: str


Action = Send | Ping | Control | Kill | ReadThrough | WorkerGone | Ignored


# ------------------------------------------------------------------ state
class Mailbox:
    """Per-worker FIFOs that also remember arrival order across workers (results, messages).

    Taking the oldest of any worker costs the same however many workers there are: ``_order``
    lists arrivals, and an entry whose item was taken by worker id is skipped when reached (and
    the list rebuilt when such entries pile up).
    """

    def __init__(self) -> None:
        self._queues: dict[int, deque[tuple[int, Any]]] = {}
        self._order: deque[tuple[int, int]] = deque()  # (seq, worker) of every item put, oldest first
        self._count = 0
        self._seq = 0

    def put(self, wid: int, item: Any) -> None:
        self._seq += 1
        self._queues.setdefault(wid, deque()).append((self._seq, item))
        self._order.append((self._seq, wid))
        self._count += 1
        if len(self._order) > 2 * self._count + 64:  # mostly taken by worker id: forget what was
            self._order = deque(sorted((seq, wid) for wid, q in self._queues.items() for seq, _ in q))

    def has(self, target: int = ProWorker_Any) -> bool:
        if target in (ProWorker_Any, ProWorker_All):
            return self._count > 0
        return bool(self._queues.get(target))

    def take(self, target: int = ProWorker_Any) -> Any:
        """The oldest item of ``target`` (a worker id, or any worker), or None."""
        if target in (ProWorker_Any, ProWorker_All):
            order = self._order
            while order:
                seq, wid = order.popleft()
                queue = self._queues[wid]
                if queue and queue[0][0] == seq:
                    break
            else:
                return None
        else:
            queue = self._queues.get(target)
            if not queue:
                return None
        self._count -= 1
        return queue.popleft()[1]


@dataclass(slots=True)
class Task:
    id: int
    header: dict
    payload: bytes
    want: bool
    worker: int | None = None
    any: bool = False  # given to ProWorker_Any: may move to another worker until it starts
    kind: tuple | None = None  # what it runs (operation, code or script, function): run times are learnt per kind


@dataclass(slots=True)
class WorkerRecord:
    id: int
    clock: HeartbeatClock
    state: WorkerState = STARTING
    pid: int | None = None
    assigned: dict[int, Task] = field(default_factory=dict)  # in dispatch order
    unsent: list[Send] = field(default_factory=list)  # tasks and messages waiting for hello
    start_by: float | None = None  # a worker with no hello by then is killed (once its hello could have been read)
    head_since: float = 0.0  # when the task now at the head of ``assigned`` began (at the latest)
    avg_run: float | None = None
    depth: int = 1  # how many tasks it may hold while completing them (pipelining)
    exit_code: int | None = None
    exit_seen_at: float | None = None
    bye: bool = False
    link_closed: bool = False  # its task connection ended: all it sent has been read in
    stop_requested: bool = False
    kill_at: float | None = None
    kill_reason: str = ""
    abort_task: int | None = None
    abort_kill_at: float | None = None
    abort_reason: str = ""

    def move_to(self, state: WorkerState) -> None:
        """The one place a worker's state changes: an illegal transition is a bug and says so."""
        if state not in _TRANSITIONS[self.state]:
            raise LifecycleError(f"worker {self.id}: {self.state.value} -> {state.value} is not a legal transition")
        self.state = state

    @property
    def running(self) -> bool:
        """The process is alive as far as the manager knows."""
        return self.state in _RUNNING

    @property
    def takes_tasks(self) -> bool:
        return self.state in _TAKES_TASKS


class ManagerSession:
    KINDS_REMEMBERED = 256

    def __init__(
        self,
        heartbeat_interval: float = 0.5,
        heartbeat_timeout: float = 5.0,
        exit_grace: float = 0.05,
        stop_grace: float = 1.0,
        pipeline_depth: int = 32,
        pipeline_threshold: float = 0.001,
        start_timeout: float = 30.0,
    ) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.start_timeout = max(start_timeout, heartbeat_timeout)
        self.exit_grace = exit_grace
        self.stop_grace = stop_grace
        self.pipeline_depth = pipeline_depth
        self.pipeline_threshold = pipeline_threshold
        self.workers: dict[int, WorkerRecord] = {}
        self.any_queue: deque[Task] = deque()
        # Workers that were idle and ready when last seen, oldest first: a ProWorker_Any task finds one without
        # looking at every worker.  Checked when taken (one that has since got work or left is dropped then).
        self._idle: dict[int, WorkerRecord] = {}
        self.results = Mailbox()
        self.messages = Mailbox()
        self._next_task = 1
        self._next_worker = 1
        self._ping_n = 0
        self._ping_grid = 0.0  # every worker is pinged on one schedule: one wake-up per interval
        self.exits_pending = 0  # workers in EXITING
        self._run_times: dict[tuple, float] = {}  # task kind -> average run time, for pipelining
        self.unfinished = 0  # tasks queued or running
        self._last_read = float("-inf")  # when the task channel was last read through (``settle``)
        self._last_tick = float("-inf")

    # ----------------------------------------------------------- workers
    def add_worker(self, now: float = 0.0) -> int:
        wid = self._next_worker
        self._next_worker += 1
        clock = HeartbeatClock(self.heartbeat_interval, self.start_timeout, now, next_ping=max(now, self._ping_grid))
        self.workers[wid] = WorkerRecord(wid, clock, start_by=now + self.start_timeout)
        return wid

    def on_hello(self, wid: int, pid: int, now: float) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is None or rec.pid is not None or not rec.running:
            return []
        rec.pid = pid
        self._answered(rec)
        sends, rec.unsent = rec.unsent, []
        if rec.state == STOPPING:  # stopWorker came first: what was queued runs, then the stop
            rec.kill_at = now + self.stop_grace
            return [*sends, Send(wid, wire.stop())]
        rec.move_to(READY)
        if not rec.assigned:
            self._idle[wid] = rec
        return sends + self._dispatch_any(now)

    def stop_worker(self, wid: int, now: float) -> list[Action]:
        rec = self._live(wid)
        rec.stop_requested = True
        rec.kill_reason = "did not stop within the grace period"
        said_hello = rec.state == READY
        rec.move_to(STOPPING)
        if not said_hello:
            return []  # the stop follows its queued tasks at hello
        rec.kill_at = now + self.stop_grace
        return [Send(wid, wire.stop())]

    def on_echo(self, wid: int, now: float) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is not None:
            self._answered(rec)
        return []

    def _answered(self, rec: WorkerRecord) -> None:
        rec.clock.answered()
        if rec.pid is not None:  # past start-up (its hello came): the normal timeout applies
            rec.clock.timeout = self.heartbeat_timeout

    def on_bye(self, wid: int, now: float = 0.0) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is not None:
            rec.bye = True
        return []

    def on_link(self, wid: int, up: bool) -> list[Action]:
        """The worker's task connection opened, or ended (then everything it sent is in: its exit need not wait)."""
        rec = self.workers.get(wid)
        if rec is not None:
            rec.link_closed = not up
        return []

    def on_exit(self, wid: int, code: int | None, now: float) -> list[Action]:
        """The process is gone; its exit becomes final once its last messages had time to arrive."""
        rec = self.workers.get(wid)
        if rec is not None and rec.running:
            rec.move_to(EXITING)
            rec.exit_code = code
            rec.exit_seen_at = now
            self.exits_pending += 1
        return []

    def settle(self, now: float) -> list[Action]:
        """Call after reading the task channel through: makes exits final and fails what their workers held."""
        self._last_read = now
        if not self.exits_pending:
            return []
        actions: list[Action] = []
        for rec in self.workers.values():
            if rec.state == EXITING and (rec.bye or rec.link_closed or now >= rec.exit_seen_at + self.exit_grace):
                actions.append(self._retire(rec))
                self.exits_pending -= 1
        if actions:
            self._fail_unrunnable_any()
            actions += self._dispatch_any(now)
        return actions

    def close(self, codes: dict[int, int | None]) -> list[Action]:
        """The manager closed and ended every worker (``codes``: their exit codes): everything is final now."""
        actions: list[Action] = []
        for rec in self.workers.values():
            if rec.running:
                rec.move_to(EXITING)
                rec.exit_code = codes.get(rec.id)
                self.exits_pending += 1
            if rec.state == EXITING:
                rec.kill_reason = rec.kill_reason or "was closed with its manager"
                actions.append(self._retire(rec))
                self.exits_pending -= 1
        self._fail_unrunnable_any()
        return actions

    def settle_at(self) -> float | None:
        """When ``settle`` next has work (for the thread that reads the task channel)."""
        if not self.exits_pending:
            return None
        pending = [r.exit_seen_at + (0.0 if r.link_closed else self.exit_grace) for r in self.workers.values() if r.state == EXITING]
        return min(pending) if pending else None

    def _retire(self, rec: WorkerRecord) -> WorkerGone:
        expected = rec.stop_requested
        if rec.exit_code == EXIT_ABORTED and rec.abort_reason:
            rec.kill_reason = rec.abort_reason
        reason = rec.kill_reason or ("stopped" if expected else f"exited with code {rec.exit_code}")
        # Every task it was sent fails, never runs again: the worker may have run tasks whose results
        # were lost with it (a link that held them past the exit grace), and a task runs at most once.
        failed = list(rec.assigned.values())
        self.unfinished -= len(failed)
        for task in failed:
            if task.want:
                self.results.put(rec.id, ProMPRemoteError("WorkerExited", f"worker {rec.id} {reason} before the task finished", "", rec.id))
        rec.assigned.clear()
        rec.unsent.clear()
        rec.move_to(EXITED)
        return WorkerGone(rec.id, rec.exit_code, expected, len(failed), reason)

    def _fail_unrunnable_any(self) -> None:
        if self.any_queue and not any(r.takes_tasks for r in self.workers.values()):
            while self.any_queue:
                task = self.any_queue.popleft()
                self.unfinished -= 1
                if task.want:
                    self.results.put(0, ProMPRemoteError("WorkerExited", "no worker is left to run the task", "", None))

    def tick(self, now: float) -> list[Action]:
        """Heartbeats out; silent or overdue workers killed.

        A worker is silent when a heartbeat has gone unanswered for the timeout
        (``start_timeout`` until its hello); see ``HeartbeatClock`` for
        why silence counts only while the caller was awake.
        """
        actions: list[Action] = []
        self._last_tick = now
        if now >= self._ping_grid:
            self._ping_n += 1
            self._ping_grid = now + self.heartbeat_interval
        for rec in self.workers.values():
            if not rec.running:
                continue
            silent_for = rec.clock.silent_for(now)
            beat = rec.clock.tick(now)
            reason = None
            if rec.kill_at is not None and now >= rec.kill_at:
                reason = rec.kill_reason
            elif rec.abort_kill_at is not None and now >= rec.abort_kill_at and rec.abort_task in rec.assigned:
                reason = rec.abort_reason
            elif rec.pid is None and now >= rec.start_by and self._last_read >= rec.start_by:
                # No hello, and the task channel was read through since it was due: it never came.
                reason = f"did not start within {self.start_timeout:g} s"
            elif beat == SILENT:
                reason = f"sent no heartbeat for {silent_for:.1f} s"
            if reason is not None:
                # one kill ends every timer of the worker: none is left due (a keeper would spin on it)
                rec.kill_at = rec.abort_kill_at = None
                rec.start_by = float("inf")
                rec.kill_reason = reason
                actions.append(Kill(rec.id, reason))
                continue
            if beat == PING:
                actions.append(Ping(rec.id, self._ping_n))
            if rec.pid is None and now >= rec.start_by and ReadThrough() not in actions:
                # its hello may be waiting, unread, behind a user's thread that computes: read through first
                actions.append(ReadThrough())
        return actions

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has work: the keeper blocks until then, never polls.

        ``settle`` has its own (``settle_at``): it belongs to the thread that reads the task channel,
        and a keeper woken for it could not do it, so it would spin until that thread came.
        """
        deadlines = []
        for rec in self.workers.values():
            if rec.running:
                deadlines += (rec.clock.next_deadline(), rec.kill_at, rec.abort_kill_at if rec.abort_task in rec.assigned else None)
                if rec.pid is None and rec.start_by > self._last_tick:  # once past, the ping ticks look again
                    deadlines.append(rec.start_by)
        return min((d for d in deadlines if d is not None), default=None)

    # ------------------------------------------------------------- tasks
    def submit(self, target: int, header: dict, payload: bytes, want: bool, now: float) -> list[Action]:
        if target == ProWorker_Any:
            if not any(r.takes_tasks for r in self.workers.values()):
                raise ProWorkerExited("ProWorker_Any: there is no live worker to run the task")
            task = self._new_task(header, payload, want)
            task.any = True
            task.kind = (header.get("op"), header.get("src") or header.get("path"), header.get("fn"))
            self.any_queue.append(task)
            # tasks already waiting mean no worker could take one: only a done or a hello changes that
            return self._dispatch_any(now) if len(self.any_queue) == 1 else []
        if target == ProWorker_All:
            live = [r for r in self.workers.values() if r.takes_tasks]
            if not live:
                raise ProWorkerExited("ProWorker_All: there is no live worker to run the task")
            return [s for rec in live for s in self._assign(rec, self._new_task(header, payload, want), now)]
        return self._assign(self._live(target), self._new_task(header, payload, want), now)

    def on_done(self, wid: int, task_id: int, value: Any, run_time: float | None, now: float) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is None:
            return []
        task = rec.assigned.pop(task_id, None)
        if task is None:
            return [Ignored(wid, f"a done from worker {wid} for task {task_id}, which it was not given or already finished")]
        self.unfinished -= 1
        if task_id == rec.abort_task:
            rec.abort_task = rec.abort_kill_at = None
        rec.head_since = now
        if run_time is not None:
            if task.kind is not None:
                self._learn(task.kind, run_time)
            rec.avg_run = avg = run_time if rec.avg_run is None else 0.8 * rec.avg_run + 0.2 * run_time
            # hold no more than about two thresholds' worth of expected work behind the running task
            threshold = self.pipeline_threshold
            rec.depth = min(self.pipeline_depth, max(2, int(2 * threshold / max(avg, 1e-9)))) if avg < threshold else 1
        if task.want:
            self.results.put(wid, value)
        if not rec.assigned and rec.state == READY:
            self._idle[wid] = rec
        return self._dispatch_any(now) if self.any_queue else []

    # ---------------------------------------------------------- messages
    def send_message(self, target: int, msg_id: int, data: bytes) -> list[Action]:
        """A custom message for one worker, or a copy for each live one (``ProWorker_All``)."""
        if target == ProWorker_Any:
            raise ValueError("a message goes to a worker id or to ProWorker_All, not to ProWorker_Any")
        if target == ProWorker_All:
            recs = [r for r in self.workers.values() if r.takes_tasks]
            if not recs:
                raise ProWorkerExited("ProWorker_All: there is no live worker to send the message to")
        else:
            recs = [self._live(target)]
        sends: list[Action] = []
        for rec in recs:
            send = Send(rec.id, wire.msg(msg_id), data)
            if rec.pid is None:
                rec.unsent.append(send)
            else:
                sends.append(send)
        return sends

    def on_message(self, wid: int, message: Any) -> list[Action]:
        """A custom message from a worker, kept for ``getMessage``."""
        self.messages.put(wid, message)
        return []

    def abort(self, target: int, wait_ms: int, now: float) -> list[Action]:
        """Flag the running task of ``target`` (a worker id or every worker) as aborted.

        With ``wait_ms >= 0`` the worker ends itself if the task is still running after
        ``wait_ms``; should it be unable to, the manager kills it ``ABORT_SAFETY`` later.
        An idle worker has nothing to abort.
        """
        if target == ProWorker_Any:  # which running task would it mean? (messages refuse it too)
            raise ValueError("an abort goes to a worker id or to ProWorker_All, not to ProWorker_Any")
        if target == ProWorker_All:
            recs = [r for r in self.workers.values() if r.running]
        else:
            rec = self.workers.get(target) if isinstance(target, int) else None
            if rec is None:
                raise ValueError(f"no worker with id {target!r}")
            recs = [rec] if rec.running else []
        controls: list[Action] = []
        for rec in recs:
            if not rec.assigned:
                continue
            task_id = next(iter(rec.assigned))
            rec.abort_task = task_id
            if wait_ms >= 0:
                rec.abort_kill_at = now + wait_ms / 1000 + ABORT_SAFETY
                rec.abort_reason = f"was stopped: task {task_id} did not end within {wait_ms} ms of abortOperation"
            controls.append(Control(rec.id, wire.abort(task_id, wait_ms)))
        return controls

    def is_busy(self) -> bool:
        return self.unfinished > 0

    def _new_task(self, header: dict, payload: bytes, want: bool) -> Task:
        tid = self._next_task
        self._next_task += 1
        self.unfinished += 1
        return Task(tid, wire.task(header, tid, want), payload, want)

    def _live(self, wid: int) -> WorkerRecord:
        """The record of a worker that takes tasks, or the error that says why it does not."""
        if not isinstance(wid, int) or isinstance(wid, bool):
            raise TypeError(f"worker id must be an int, got {type(wid).__name__}")
        rec = self.workers.get(wid)
        if rec is None:
            raise ValueError(f"no worker with id {wid}")
        if rec.state in (EXITING, EXITED):
            raise ProWorkerExited(f"worker {wid} has exited ({rec.kill_reason or f'code {rec.exit_code}'})")
        if rec.state == STOPPING:
            raise ProWorkerExited(f"worker {wid} is stopping")
        return rec

    def _assign(self, rec: WorkerRecord, task: Task, now: float) -> list[Action]:
        task.worker = rec.id
        rec.assigned[task.id] = task
        send = Send(rec.id, task.header, task.payload)
        if rec.pid is None:
            rec.unsent.append(send)
            return []
        if len(rec.assigned) == 1:
            rec.head_since = now
        return [send]

    def _dispatch_any(self, now: float) -> list[Action]:
        sends: list[Action] = []
        while self.any_queue:
            rec = self._pick_for_any(now)
            if rec is None:
                break
            sends += self._assign(rec, self.any_queue.popleft(), now)
        return sends

    def _learn(self, kind: tuple, run_time: float) -> None:
        """Remember how long tasks of ``kind`` run (a moving average; the oldest kinds are forgotten)."""
        known = self._run_times.pop(kind, None)
        self._run_times[kind] = run_time if known is None else 0.8 * known + 0.2 * run_time
        if len(self._run_times) > self.KINDS_REMEMBERED:
            del self._run_times[next(iter(self._run_times))]

    def _pick_for_any(self, now: float) -> WorkerRecord | None:
        idle = self._idle
        while idle:
            rec = idle[next(iter(idle))]
            if rec.state == READY and not rec.assigned:
                return rec
            del idle[rec.id]
        if not self._known_quick(self.any_queue[0].kind):
            return None  # never run, or slow: only an idle worker may take it
        # Every worker is busy: a quick task may queue in one completing quick ones (a look at each worker).
        best: WorkerRecord | None = None
        best_load = 0
        flowing_since = now - self.pipeline_threshold * 10  # a head task older than this may be a long one
        for rec in self.workers.values():
            if rec.state != READY:
                continue
            load = len(rec.assigned)
            if load == 0:  # idle after all (every path to idle fills ``_idle``; this is the safety net)
                return rec
            if (
                load < rec.depth
                and (best is None or load < best_load)
                and rec.head_since > flowing_since
                and self._known_quick(next(iter(rec.assigned.values())).kind)  # nothing queues behind a task that may be long
            ):
                best, best_load = rec, load
        return best

    def _known_quick(self, kind: tuple | None) -> bool:
        """Whether tasks of ``kind`` are known to run in under the threshold (tasks for a named worker have none)."""
        return kind is not None and self._run_times.get(kind, self.pipeline_threshold) < self.pipeline_threshold

    # ----------------------------------------------------------- results
    def has_results(self, target: int = ProWorker_Any) -> bool:
        return self.results.has(target)

    def take_result(self, target: int = ProWorker_Any) -> Any:
        return self.results.take(target)
