"""The manager's side of the protocol as a state machine, free of I/O.

``ManagerSession`` is everything a manager decides: its workers and their lifecycle, what may be
sent to each and when, the task table, the queue for ``ProWorker_Any``, results and messages,
heartbeat clocks, and every deadline (pings, silence, the start timeout, stop and abort kills, the
grace that lets a dead worker's last messages arrive).  Each input (a user call, a decoded message,
a process exit, a tick of the clock) takes the current time and returns actions (``_actions``:
``Send``, ``Ping``, ``Control``, ``Kill``, ``Wake``, ``WorkerGone``, ``Ignored``).  It never reads a
clock, touches a socket, starts a thread or calls ``os``: the driver (``_driver``) feeds it, for the
pyzmq shell and the simulator alike.

Worker lifecycle (``WorkerState``): one transition table keyed by (state, input), each entry naming
its side effect; a pair not in the table is a bug in the caller and raises ``LifecycleError``::

    STARTING --hello--> READY --stop--> STOPPING
    STARTING --stop---> STOP_PENDING --hello--> STOPPING
    STARTING, READY, STOP_PENDING, STOPPING --exit--> EXITING --settle--> EXITED

A hello that comes again, or after the exit was seen, changes nothing and is reported ``Ignored``.

The gate: a ROUTER socket drops what it is asked to send to a peer that has not connected, so
nothing for a worker that has not said hello (STARTING, STOP_PENDING) goes out: tasks, messages,
aborts and the stop all wait at its gate, in order, and leave together at its hello.  Every outbound
action for a worker goes through ``_out``, the gate's one door.

Tasks by id and ``ProWorker_All`` go to STARTING and READY workers; ``ProWorker_Any`` only to
READY ones: to the one idle longest when one is idle.  When none is idle a task waits in the
manager's queue, except that a task of a kind known to run in under ``pipeline_threshold`` seconds
(its kind: the operation, the code or script, and the function) may go to a worker whose recent
tasks were just as quick and which is completing them right now, up to ``pipeline_depth`` tasks
(fewer for longer tasks: about two thresholds' worth of expected work), so that tiny tasks are not
throttled to one round trip each.  A task that turns out to be long stops further pipelining to its
worker once it has run for ten times the threshold; the tasks already pipelined behind it wait for
it (the cost of the bet).  When a worker dies, every task it was sent fails, pipelined ones too: it
may have run them and lost their results with it, and a task runs at most once.  (Found by the
simulator: requeueing them ran a task twice when a partition held results past the exit grace.)

``stopWorker``: the worker runs every task it was given before the stop (the running one and those
queued), then exits; if it has not exited ``stop_grace`` after its last task ended (or after the
stop, when it had none), it is killed.  A task that runs too long is ``abortOperation``'s business.

``abortOperation``: aimed at the task a worker is running now, which is the oldest task it was
given and has not reported done (``running_task``); an abort given again for the same task never
postpones the kill the first one set: the earliest deadline wins.

The exit grace: a process's exit can be seen before its last messages are read.  An exit becomes
final (EXITED, its tasks failed) when the worker said ``bye``, when its task connection ended (all
it sent has been read in), or ``exit_grace`` after the exit was seen; and only in ``settle``, which
the user's thread calls after reading the task channel through.  The keeper, which owns every
deadline, wakes that thread (``Wake``) when a settle is due.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from .. import wire
from .._constants import EXIT_ABORTED, ProWorker_All, ProWorker_Any
from .._deadlines import Deadlines
from .._errors import ProMPQueueFull, ProMPRemoteError, ProWorkerExited
from .._liveness import PING, SILENT, HeartbeatClock
from ._actions import Action, Control, Ignored, Kill, Ping, Send, Wake, WorkerGone

ABORT_SAFETY = 1.0  # the manager kills a worker that failed to end itself this long after its abort's time


class WorkerState(str, enum.Enum):
    STARTING = "starting"  # started, no hello yet: what is for it waits at its gate
    READY = "ready"
    STOP_PENDING = "stop-pending"  # stopWorker came before its hello: the stop waits at the gate behind its tasks
    STOPPING = "stopping"  # the stop is sent, behind the tasks given before it
    EXITING = "exiting"  # the process is gone; its last messages may still be on the way
    EXITED = "exited"


class Input(str, enum.Enum):
    HELLO = "hello"  # the worker's first message
    STOP = "stop"  # stopWorker
    EXIT = "exit"  # its process was seen to end
    SETTLE = "settle"  # its last messages are in (bye, its connection ended, or the exit grace passed)


STARTING, READY, STOP_PENDING, STOPPING, EXITING, EXITED = WorkerState
HELLO, STOP, EXIT, SETTLE = Input

# (state, input) -> (next state, side effect: the name of a ManagerSession method taking (rec, now) and returning actions)
_TRANSITIONS: dict[tuple[WorkerState, Input], tuple[WorkerState, str]] = {
    (STARTING, HELLO): (READY, "_open_gate"),
    (STARTING, STOP): (STOP_PENDING, "_queue_stop"),
    (STARTING, EXIT): (EXITING, "_exit_seen"),
    (READY, HELLO): (READY, "_hello_again"),
    (READY, STOP): (STOPPING, "_queue_stop"),
    (READY, EXIT): (EXITING, "_exit_seen"),
    (STOP_PENDING, HELLO): (STOPPING, "_open_gate"),
    (STOP_PENDING, EXIT): (EXITING, "_exit_seen"),
    (STOPPING, HELLO): (STOPPING, "_hello_again"),
    (STOPPING, EXIT): (EXITING, "_exit_seen"),
    (EXITING, HELLO): (EXITING, "_hello_again"),
    (EXITING, SETTLE): (EXITED, "_retire"),
    (EXITED, HELLO): (EXITED, "_hello_again"),
}
# Tuples, not sets: a state is found by identity at C speed, where a set would call the enum's __hash__ in Python.
GATED = (STARTING, STOP_PENDING)  # no hello yet: nothing may be sent to it
_TAKES_TASKS = (READY, STARTING)  # by id and ProWorker_All
_RUNNING = (READY, STARTING, STOPPING, STOP_PENDING)  # the process is (as far as we know) alive


class LifecycleError(RuntimeError):
    """An illegal worker state transition: a bug in the core or its driver, never a user error."""


# ------------------------------------------------------------------ state
class Mailbox:
    """Per-worker FIFOs that also remember arrival order across workers (results, messages).

    Taking the oldest of any worker costs the same however many workers there are: ``_order``
    lists the worker of each arrival, oldest first.  Items taken by worker id are that worker's
    oldest, so their entries are its oldest in ``_order`` too: ``_stale`` counts them, and they are
    skipped when reached (and the list rebuilt when such entries pile up).  No record per item: a
    batch of results goes in with two calls in C.
    """

    def __init__(self) -> None:
        self._queues: dict[int, deque[Any]] = {}
        self._order: deque[int] = deque()  # the worker of every item put, oldest first
        self._stale: dict[int, int] = {}  # worker -> how many of its oldest entries in ``_order`` were taken by id
        self.count = 0  # items held

    def put(self, wid: int, item: Any) -> None:
        self.put_many(wid, (item,))

    def put_many(self, wid: int, items: list[Any] | tuple) -> None:
        queue = self._queues.get(wid)
        if queue is None:
            queue = self._queues[wid] = deque()
        n = len(items)
        if n == 1:  # the usual case (a result at a time): no ``repeat`` to make
            queue.append(items[0])
            self._order.append(wid)
        else:
            queue.extend(items)
            self._order.extend(repeat(wid, n))
        self.count += n
        if len(self._order) > 2 * self.count + 64:  # mostly taken by worker id: forget what was
            self._forget_stale()

    def has(self, target: int = ProWorker_Any) -> bool:
        if target in (ProWorker_Any, ProWorker_All):
            return self.count > 0
        return bool(self._queues.get(target))

    def take(self, target: int = ProWorker_Any) -> Any:
        """The oldest item of ``target`` (a worker id, or any worker), or None."""
        if target in (ProWorker_Any, ProWorker_All):
            order, stale = self._order, self._stale
            while order:
                wid = order.popleft()
                if not stale:
                    break
                skip = stale.get(wid)
                if not skip:
                    break
                if skip == 1:
                    del stale[wid]
                else:
                    stale[wid] = skip - 1
            else:
                return None
        else:
            wid = target
            if not self._queues.get(wid):
                return None
            self._stale[wid] = self._stale.get(wid, 0) + 1
        self.count -= 1
        return self._queues[wid].popleft()

    def _forget_stale(self) -> None:
        stale, kept = self._stale, deque()
        for wid in self._order:
            skip = stale.get(wid)
            if skip:
                stale[wid] = skip - 1
            else:
                kept.append(wid)
        self._order, self._stale = kept, {}


class Job(wire.Task):
    """A task as the manager keeps it until it is done: the message it sends, with what the manager knows of it.

    One object per task, not a record holding a message: a program giving many tasks keeps them all queued,
    and each object the collector must look at costs it time again and again while they wait."""

    __slots__ = ("worker", "any", "task_kind", "size")

    def __init__(
        self, t: int, op: str, want: bool, src: str | None, path: str | None, fn: str | None, payload: bytes | list,
        size: int, any_worker: bool = False,
    ) -> None:
        wire.Task.__init__(self, t, op, want, src, path, fn, payload)
        self.size = size  # what it costs until it is done, in bytes, as ``max_queued_bytes`` counts
        self.any = any_worker  # given to ProWorker_Any
        self.task_kind = (op, src or path, fn) if any_worker else None  # what it runs: run times are learnt per kind
        self.worker: int | None = None


@dataclass(slots=True)
class WorkerRecord:
    id: int
    clock: HeartbeatClock
    state: WorkerState = STARTING
    pid: int | None = None
    assigned: dict[int, Job] = field(default_factory=dict)  # sent (or at its gate), not yet done; in dispatch order
    gate: list[Action] = field(default_factory=list)  # what waits for its hello, in order
    start_by: float = 0.0  # a worker with no hello by then is killed (once its hello could have been read)
    head_since: float = 0.0  # when the task now at the head of ``assigned`` began (at the latest)
    avg_run: float | None = None
    depth: int = 1  # how many tasks it may hold while completing them (pipelining)
    exit_code: int | None = None
    exit_seen_at: float = 0.0
    bye: bool = False
    link_closed: bool = False  # its task connection ended: all it sent has been read in
    stop_requested: bool = False
    stop_kill_at: float | None = None  # stopWorker: killed if still there by then (armed once its last task ended)
    abort_task: int | None = None
    abort_kill_at: float | None = None
    abort_reason: str = ""
    kill_reason: str = ""  # set when the manager ends it: no timer of it is due after that
    end_reason: str = ""  # once EXITED: how it ended, in words

    @property
    def running(self) -> bool:
        """The process is alive as far as the manager knows."""
        return self.state in _RUNNING

    @property
    def takes_tasks(self) -> bool:
        return self.state in _TAKES_TASKS


# deadline keys: (kind, worker)
_BEAT, _STOP_KILL, _ABORT_KILL, _START, _SETTLE = "beat", "stop", "abort", "start", "settle"


PICK_LOOKS_AT_MOST = 8  # busy workers looked at for one ProWorker_Any task, whatever their number
MAX_QUEUED_BYTES = 1 << 30  # the default bound on what tasks given and not yet done may hold (1 GiB)
TASK_OVERHEAD = 512  # bytes counted for a task besides its code and arguments: what the manager keeps of it


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
        max_queued_bytes: int | None = MAX_QUEUED_BYTES,
    ) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.max_queued_bytes = max_queued_bytes
        self.queued_bytes = 0  # held by tasks given and not yet done (queued, in flight or running), copies for each worker
        self.heartbeat_timeout = heartbeat_timeout
        self.start_timeout = max(start_timeout, heartbeat_timeout)
        self.exit_grace = exit_grace
        self.stop_grace = stop_grace
        self.pipeline_depth = pipeline_depth
        self.pipeline_threshold = pipeline_threshold
        self.workers: dict[int, WorkerRecord] = {}
        self.any_queue: deque[Job] = deque()
        # Workers that were idle and ready when last seen, the one idle longest first: a ProWorker_Any task
        # finds one without looking at every worker.  Checked when taken (one that has since got work or left is
        # dropped then); a worker that goes idle again goes to the back.
        self._idle: dict[int, WorkerRecord] = {}
        # Busy workers that may take more quick ProWorker_Any tasks (a hint, checked when looked at; at most
        # PICK_LOOKS_AT_MOST are looked at per task, so a dispatch costs the same whatever the number of workers).
        self._flowing: dict[int, WorkerRecord] = {}
        self._pick_room = 0  # set by ``_pick_for_any``: more tasks alike the worker it picked may take at once
        self._taking: dict[int, WorkerRecord] = {}  # the workers that take tasks (by id and ProWorker_All), in id order
        self._gated: set[int] = set()  # the workers with no hello yet
        self.results = Mailbox()
        self.messages = Mailbox()
        self._next_task = 0  # the last task id given
        self._next_worker = 1
        self._ping_n = 0
        self._ping_grid = 0.0  # every worker is pinged on one schedule: one wake-up per interval
        self._run_times: dict[tuple, float] = {}  # task kind -> average run time, for pipelining
        self.unfinished = 0  # tasks queued or running
        self._last_read = float("-inf")  # when the task channel was last read through (``settle``)
        self.deadlines = Deadlines(self._deadline_of)  # every deadline; ``moved`` tells a driver that the keeper must look again
        self._wakes: dict[tuple[str, int], float] = {}  # one-shot wake-ups of the user's thread, by key
        self._exiting: set[int] = set()  # workers whose exit settle() has yet to make final
        self._unstarted: set[int] = set()  # workers past their start timeout with no hello read: settle() decides

    # ---------------------------------------------------------- lifecycle
    def _fire(self, rec: WorkerRecord, what: Input, now: float) -> list[Action]:
        """The one place a worker's state changes: the table says where it goes and what that does."""
        entry = _TRANSITIONS.get((rec.state, what))
        if entry is None:
            raise LifecycleError(f"worker {rec.id}: {what.value} is not a legal input in state {rec.state.value}")
        rec.state, effect = entry[0], getattr(self, entry[1])
        if rec.state not in _TAKES_TASKS:  # no state leads back into either
            self._taking.pop(rec.id, None)
        if rec.state not in GATED:
            self._gated.discard(rec.id)
        return effect(rec, now)

    def starting(self) -> int:
        """How many workers have not said hello yet."""
        return len(self._gated)

    def add_worker(self, now: float = 0.0) -> int:
        wid = self._next_worker
        self._next_worker += 1
        clock = HeartbeatClock(self.heartbeat_interval, self.start_timeout, now, next_ping=max(now, self._ping_grid))
        rec = self.workers[wid] = WorkerRecord(wid, clock, start_by=now + self.start_timeout)
        self._taking[wid] = rec
        self._gated.add(wid)
        self.deadlines.add((_BEAT, wid), clock.next_deadline())
        self._wake_at((_START, wid), rec.start_by)
        return wid

    def forget_worker(self, wid: int) -> None:
        """A worker whose process could not be started: as if it never was (its id was never given out)."""
        rec = self.workers.get(wid)
        if rec is None or rec.assigned or rec.gate:
            raise LifecycleError(f"worker {wid}: only a worker that was never given anything can be forgotten")
        del self.workers[wid]
        for table in (self._taking, self._idle, self._flowing):
            table.pop(wid, None)
        for ids in (self._gated, self._unstarted, self._exiting):
            ids.discard(wid)
        self._wakes.pop((_START, wid), None)

    def on_hello(self, wid: int, pid: int, now: float) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is None:
            return [Ignored(wid, f"a hello from worker {wid}, which this manager never started")]
        if rec.state in GATED:
            rec.pid = pid
        return self._fire(rec, HELLO, now)

    def _open_gate(self, rec: WorkerRecord, now: float) -> list[Action]:
        rec.clock.answered()
        rec.clock.timeout = self.heartbeat_timeout  # past start-up: the normal timeout applies
        self.deadlines.add((_BEAT, rec.id), rec.clock.next_deadline())
        self._wakes.pop((_START, rec.id), None)
        self._unstarted.discard(rec.id)
        actions, rec.gate = rec.gate, []
        if rec.assigned:
            rec.head_since = now
        if rec.state == STOPPING:
            self._arm_stop_kill(rec, now)
            return actions
        if not rec.assigned:
            self._idle[rec.id] = rec
        return actions + self._dispatch_any(now)

    def _hello_again(self, rec: WorkerRecord, now: float) -> list[Action]:
        return [Ignored(rec.id, f"a hello from worker {rec.id}, which is {rec.state.value}")]

    def stop_worker(self, wid: int, now: float) -> list[Action]:
        return self._fire(self._live(wid), STOP, now)

    def _queue_stop(self, rec: WorkerRecord, now: float) -> list[Action]:
        rec.stop_requested = True
        actions = self._out(rec, Send(rec.id, wire.Stop()))
        self._arm_stop_kill(rec, now)
        return actions

    def _arm_stop_kill(self, rec: WorkerRecord, now: float) -> None:
        """The stop's grace runs from when a stopped worker that said hello has no task left."""
        if rec.state == STOPPING and not rec.assigned and rec.stop_kill_at is None:
            rec.stop_kill_at = now + self.stop_grace
            self.deadlines.add((_STOP_KILL, rec.id), rec.stop_kill_at)

    def on_echo(self, wid: int, now: float) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is not None:
            rec.clock.answered()  # its deadline moves later: the heap finds out when the old one comes up
        return []

    def on_bye(self, wid: int, now: float = 0.0) -> list[Action]:
        rec = self.workers.get(wid)
        if rec is not None:
            rec.bye = True
            self._settle_due(rec)
        return []

    def on_link(self, wid: int, up: bool) -> list[Action]:
        """The worker's task connection opened, or ended (then everything it sent is in: its exit need not wait)."""
        rec = self.workers.get(wid)
        if rec is not None:
            rec.link_closed = not up
            self._settle_due(rec)
        return []

    def on_exit(self, wid: int, code: int | None, now: float) -> list[Action]:
        """The process is gone; its exit becomes final once its last messages had time to arrive."""
        rec = self.workers.get(wid)
        if rec is None or not rec.running:
            return []
        rec.exit_code = code
        rec.exit_seen_at = now
        return self._fire(rec, EXIT, now)

    def _exit_seen(self, rec: WorkerRecord, now: float) -> list[Action]:
        self._exiting.add(rec.id)
        self._wakes.pop((_START, rec.id), None)
        self._unstarted.discard(rec.id)
        self._settle_due(rec)
        return []

    def _settle_at(self, rec: WorkerRecord) -> float:
        return rec.exit_seen_at + (0.0 if rec.bye or rec.link_closed else self.exit_grace)

    def _settle_due(self, rec: WorkerRecord) -> None:
        """An exiting worker's exit can be made final at ``_settle_at``: the keeper wakes the user's thread then."""
        if rec.state == EXITING:
            self._wake_at((_SETTLE, rec.id), self._settle_at(rec))

    def _wake_at(self, key: tuple[str, int], when: float) -> None:
        if when < self._wakes.get(key, float("inf")):
            self._wakes[key] = when
            self.deadlines.add(key, when)

    def settle(self, now: float) -> list[Action]:
        """Call after reading the task channel through: exits made final, workers that never said hello killed."""
        self._last_read = now
        if not self._exiting and not self._unstarted:
            return []
        actions: list[Action] = []
        for wid in sorted(self._exiting):
            rec = self.workers[wid]
            if now >= self._settle_at(rec):
                self._exiting.discard(wid)
                actions += self._fire(rec, SETTLE, now)
        for wid in sorted(self._unstarted):
            rec = self.workers[wid]
            if rec.state in GATED and not rec.kill_reason and now >= rec.start_by:  # its hello never came: read through, it is not there
                actions.append(self._kill(rec, f"did not start within {self.start_timeout:g} s"))
            self._unstarted.discard(wid)
        if any(a.__class__ is WorkerGone for a in actions):
            self._fail_unrunnable_any()
            actions += self._dispatch_any(now)
        return actions

    def close(self, codes: dict[int, int | None]) -> list[Action]:
        """The manager closed and ended every worker (``codes``: their exit codes): everything is final now."""
        actions: list[Action] = []
        for rec in self.workers.values():
            if rec.running:
                rec.exit_code = codes.get(rec.id)
                rec.kill_reason = rec.kill_reason or "was closed with its manager"
                self._fire(rec, EXIT, 0.0)
            if rec.state == EXITING:
                self._exiting.discard(rec.id)
                actions += self._fire(rec, SETTLE, 0.0)
        self._fail_unrunnable_any()
        return actions

    def _retire(self, rec: WorkerRecord, now: float) -> list[Action]:
        expected = rec.stop_requested and not rec.kill_reason and rec.exit_code == 0
        if rec.exit_code == EXIT_ABORTED and rec.abort_reason:
            reason = rec.abort_reason
        elif rec.kill_reason:
            reason = rec.kill_reason
        elif expected:
            reason = "stopped"
        else:
            reason = f"exited with code {rec.exit_code}"
        rec.end_reason = reason
        # Every task it was sent fails, never runs again: the worker may have run tasks whose results
        # were lost with it (a link that held them past the exit grace), and a task runs at most once.
        failed = list(rec.assigned.values())
        self._finished(failed)
        for job in failed:
            if job.want:
                self.results.put(rec.id, ProMPRemoteError("WorkerExited", f"worker {rec.id} {reason} before the task finished", "", rec.id))
        rec.assigned.clear()
        rec.gate.clear()
        self._idle.pop(rec.id, None)
        return [WorkerGone(rec.id, rec.exit_code, expected, len(failed), reason)]

    def _fail_unrunnable_any(self) -> None:
        if self.any_queue and not self._taking:
            while self.any_queue:
                job = self.any_queue.popleft()
                self._finished([job])
                if job.want:
                    self.results.put(0, ProMPRemoteError("WorkerExited", "no worker is left to run the task", "", None))

    # ------------------------------------------------------------ time
    def _deadline_of(self, key: tuple[str, int]) -> float | None:
        """What the deadline of ``key`` is now (the heap's ``current``)."""
        kind, wid = key
        if kind in (_START, _SETTLE):
            return self._wakes.get(key)
        rec = self.workers.get(wid)
        if rec is None or not rec.running or rec.kill_reason:  # one kill ends every timer of the worker (or it never was)
            return None
        if kind == _BEAT:
            return rec.clock.next_deadline()
        if kind == _STOP_KILL:
            return rec.stop_kill_at
        return rec.abort_kill_at if rec.abort_task in rec.assigned else None  # _ABORT_KILL

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has work: the keeper blocks until then, never polls."""
        return self.deadlines.next()

    def tick(self, now: float) -> list[Action]:
        """Heartbeats out; silent or overdue workers killed; the user's thread woken when a settle is due.

        A worker is silent when a heartbeat has gone unanswered for the timeout (``start_timeout``
        until its hello); see ``HeartbeatClock`` for why silence counts only while the caller was awake.
        """
        actions: list[Action] = []
        if now >= self._ping_grid:
            self._ping_n += 1
            self._ping_grid = now + self.heartbeat_interval
        woken = False
        for key in self.deadlines.due(now):
            kind, wid = key
            rec = self.workers[wid]
            if kind in (_START, _SETTLE):
                del self._wakes[key]
                if kind == _START and rec.state in GATED:
                    self._unstarted.add(wid)  # its hello may be waiting, unread, behind a user's thread that computes
                if not woken:
                    actions.append(Wake())
                    woken = True
                continue
            if kind == _BEAT:
                silent_for = rec.clock.silent_for(now)
                beat = rec.clock.tick(now)
                if beat == SILENT:
                    actions.append(self._kill(rec, f"sent no heartbeat for {silent_for:.1f} s"))
                elif beat == PING:
                    actions.append(Ping(wid, self._ping_n))
            elif kind == _STOP_KILL and now >= rec.stop_kill_at:
                actions.append(self._kill(rec, f"did not exit within {self.stop_grace:g} s of its last task after stopWorker"))
            elif kind == _ABORT_KILL and now >= rec.abort_kill_at:
                actions.append(self._kill(rec, rec.abort_reason))
            self.deadlines.add(key, self._deadline_of(key))
        return actions

    def _kill(self, rec: WorkerRecord, reason: str) -> Kill:
        rec.kill_reason = reason
        return Kill(rec.id, reason)

    # ------------------------------------------------------------- tasks
    def submit(self, target: int, fields: dict, payload: bytes | list, want: bool, now: float) -> list[Action]:
        """A task (``fields``: ``op`` and its operands) for one worker, ``ProWorker_Any`` or ``ProWorker_All``."""
        if target == ProWorker_Any:
            if not self._taking:
                raise ProWorkerExited("ProWorker_Any: there is no live worker to run the task")
            queue = self.any_queue
            waiting = bool(queue)  # tasks already waiting mean no worker could take one: only a done or a hello changes that
            queue.append(self._new_job(fields, payload, want, self._room_for(fields, payload, 1), any_worker=True))
            return [] if waiting else self._dispatch_any(now)
        if target == ProWorker_All:
            live = list(self._taking.values())
            if not live:
                raise ProWorkerExited("ProWorker_All: there is no live worker to run the task")
            size = self._room_for(fields, payload, len(live))
            return [a for rec in live for a in self._assign(rec, self._new_job(fields, payload, want, size), now)]
        rec = self._live(target)
        return self._assign(rec, self._new_job(fields, payload, want, self._room_for(fields, payload, 1)), now)

    def _room_for(self, fields: dict, payload: bytes | list, copies: int) -> int:
        """The size of one copy of the task (its arguments, and its ``fields``: what the manager keeps of it);
        refused if the copies would take what unfinished tasks hold past ``max_queued_bytes`` (before anything changes)."""
        one = TASK_OVERHEAD + (len(payload) if payload.__class__ is bytes else sum(map(len, payload))) + sum(map(len, fields.values()))
        size = one * copies
        if self.max_queued_bytes is not None and self.queued_bytes + size > self.max_queued_bytes:
            raise ProMPQueueFull(
                f"the task ({size:,} bytes) would take what tasks given and not yet done hold past max_queued_bytes "
                f"({self.queued_bytes:,} of {self.max_queued_bytes:,} bytes): let some finish (processMessages(), "
                "wait()) and give it again, or raise the bound"
            )
        return one

    def _finished(self, jobs: list[Job]) -> None:
        self.unfinished -= len(jobs)
        self.queued_bytes -= sum(job.size for job in jobs)

    def on_done(self, wid: int, task_id: int, value: Any, run_time: float | None, now: float) -> list[Action]:
        """Task ``task_id`` ended on worker ``wid`` (``on_dones`` for one)."""
        return self.on_dones(wid, [(task_id, value, run_time)], now)

    def on_dones(self, wid: int, dones: list[tuple[int, Any, float | None]], now: float) -> list[Action]:
        """Tasks of worker ``wid`` ended, in the order given: (task, value, run time) each; then the queue's tasks are
        given to the workers that may take them now (one look for all the dones that came together)."""
        rec = self.workers.get(wid)
        assigned = rec.assigned if rec is not None else {}
        actions: list[Action] = []
        times = self._run_times
        avg = rec.avg_run if rec is not None else None
        kept: list[Any] = []  # the results wanted, in order
        ended = freed = 0
        timed = False
        kind = kind_time = None  # the kind being learnt, and its average so far: kept here while dones of it follow
        for task_id, value, run_time in dones:
            job = assigned.pop(task_id, None)
            if job is None:
                actions.append(Ignored(wid, f"a done from worker {wid} for task {task_id}, which it was not given or already finished"))
                continue
            ended += 1
            freed += job.size
            if task_id == rec.abort_task:
                rec.abort_task = rec.abort_kill_at = None
            if run_time is not None:
                task_kind = job.task_kind
                if task_kind is not None:  # how long tasks of this kind run (a moving average)
                    if task_kind != kind:
                        if kind is not None:
                            self._learnt(kind, kind_time)
                        kind = task_kind
                        kind_time = times.pop(kind, None)  # out of the table until learnt: back in last, as the most recent
                    kind_time = run_time if kind_time is None else 0.8 * kind_time + 0.2 * run_time
                avg = run_time if avg is None else 0.8 * avg + 0.2 * run_time
                timed = True
            if job.want:
                kept.append(value)
        if kind is not None:
            self._learnt(kind, kind_time)
        if not ended:
            return actions
        self.unfinished -= ended
        self.queued_bytes -= freed
        if kept:
            self.results.put_many(wid, kept)
        rec.head_since = now
        if timed:
            rec.avg_run = avg
            # hold no more than about two thresholds' worth of expected work behind the running task
            threshold = self.pipeline_threshold
            rec.depth = min(self.pipeline_depth, max(2, int(2 * threshold / max(avg, 1e-9)))) if avg < threshold else 1
        if assigned:
            if rec.state is READY and len(assigned) < rec.depth:
                self._flowing[wid] = rec
        elif rec.state == READY:
            self._idle.pop(wid, None)
            self._idle[wid] = rec  # at the back: the one idle longest goes first
        elif rec.state == STOPPING:
            self._arm_stop_kill(rec, now)
        return actions + self._dispatch_any(now) if self.any_queue else actions

    def _learnt(self, kind: tuple, run_time: float) -> None:
        """The average run time of ``kind`` (taken out of the table while it was learnt), now the most recent (the oldest
        kinds are forgotten)."""
        times = self._run_times
        times[kind] = run_time
        if len(times) > self.KINDS_REMEMBERED:
            del times[next(iter(times))]

    def running_task(self, wid: int) -> int | None:
        """The task worker ``wid`` runs now (or will run next, if none has begun): the oldest it has not reported done."""
        rec = self.workers.get(wid)
        if rec is None or not rec.running:
            return None
        return next(iter(rec.assigned), None)

    # ---------------------------------------------------------- messages
    def send_message(self, target: int, msg_id: int, data: bytes) -> list[Action]:
        """A custom message for one worker, or a copy for each live one (``ProWorker_All``)."""
        if target == ProWorker_All:
            recs = list(self._taking.values())
            if not recs:
                raise ProWorkerExited("ProWorker_All: there is no live worker to send the message to")
        else:
            recs = [self._live(target)]
        return [a for rec in recs for a in self._out(rec, Send(rec.id, wire.Msg(msg_id, data)))]

    def on_message(self, wid: int, message: Any) -> list[Action]:
        """A custom message from a worker, kept for ``getMessage``."""
        self.messages.put(wid, message)
        return []

    def abort(self, target: int, wait_ms: int, now: float) -> list[Action]:
        """Flag the running task of ``target`` (a worker id or every worker) as aborted.

        With ``wait_ms >= 0`` the worker ends itself if the task is still running after ``wait_ms``;
        should it be unable to, the manager kills it ``ABORT_SAFETY`` later.  An idle worker has
        nothing to abort; an abort given again for the same task keeps the earliest kill.
        """
        if target == ProWorker_All:
            recs = [r for r in self.workers.values() if r.running]
        else:
            rec = self.workers.get(target)
            if rec is None:
                raise ValueError(f"no worker with id {target!r}")
            recs = [rec] if rec.running else []
        actions: list[Action] = []
        for rec in recs:
            task_id = self.running_task(rec.id)
            if task_id is None:
                continue
            if rec.abort_task != task_id:
                rec.abort_task, rec.abort_kill_at = task_id, None
            if wait_ms >= 0:
                kill_at = now + wait_ms / 1000 + ABORT_SAFETY
                if rec.abort_kill_at is None or kill_at < rec.abort_kill_at:
                    rec.abort_kill_at = kill_at
                    rec.abort_reason = f"was stopped: task {task_id} did not end within {wait_ms} ms of abortOperation"
                    self.deadlines.add((_ABORT_KILL, rec.id), kill_at)
            actions += self._out(rec, Control(rec.id, wire.Abort(task_id, wait_ms)))
        return actions

    def is_busy(self) -> bool:
        return self.unfinished > 0

    # ------------------------------------------------------------ helpers
    def _out(self, rec: WorkerRecord, action: Action) -> list[Action]:
        """The gate: what is for a worker leaves now, or at its hello if it has not said it."""
        if rec.state is not READY and rec.state in GATED:
            rec.gate.append(action)
            return []
        return [action]

    def _new_job(self, fields: dict, payload: bytes | list, want: bool, size: int, any_worker: bool = False) -> Job:
        """``any_worker``: a ``ProWorker_Any`` task, whose run time is learnt by what it runs (its kind)."""
        self._next_task = tid = self._next_task + 1
        self.unfinished += 1
        self.queued_bytes += size
        get = fields.get
        return Job(tid, fields["op"], want, get("src"), get("path"), get("fn"), payload, size, any_worker)

    def _live(self, wid: int) -> WorkerRecord:
        """The record of a worker that takes tasks, or the error that says why it does not."""
        rec = self.workers.get(wid)
        if rec is None:
            raise ValueError(f"no worker with id {wid}")
        if rec.state in (EXITING, EXITED):
            raise ProWorkerExited(f"worker {wid} has exited ({rec.end_reason or rec.kill_reason or f'code {rec.exit_code}'})")
        if rec.state in (STOPPING, STOP_PENDING):
            raise ProWorkerExited(f"worker {wid} is stopping")
        return rec

    def _assign(self, rec: WorkerRecord, job: Job, now: float) -> list[Action]:
        job.worker = rec.id
        rec.assigned[job.t] = job
        if len(rec.assigned) == 1:
            rec.head_since = now
        if rec.state is READY:  # ``_out``'s usual case, without its call
            if job.any and len(rec.assigned) < rec.depth:
                self._flowing[rec.id] = rec
            return [Send(rec.id, job)]
        return self._out(rec, Send(rec.id, job))

    def _dispatch_any(self, now: float) -> list[Action]:
        sends: list[Action] = []
        queue = self.any_queue
        while queue:
            self._pick_room = 0
            rec = self._pick_for_any(now)
            if rec is None:
                break
            job = queue.popleft()
            sends += self._assign(rec, job, now)
            more = self._pick_room  # tasks alike that it takes too, still the least loaded: one look for them all
            if more:  # it is READY with tasks (``_pick_for_any`` gives room only then): nothing waits at its gate
                kind, wid, assigned = job.task_kind, rec.id, rec.assigned
                while more and queue and queue[0].task_kind == kind:
                    job = queue.popleft()
                    job.worker = wid
                    assigned[job.t] = job
                    sends.append(Send(wid, job))
                    more -= 1
        return sends

    def _pick_for_any(self, now: float) -> WorkerRecord | None:
        idle = self._idle
        while idle:
            rec = idle.pop(next(iter(idle)))
            if rec.state == READY and not rec.assigned:
                return rec
        if not self._known_quick(self.any_queue[0].task_kind):
            return None  # never run, or slow: only an idle worker may take it
        # Every worker is busy: a quick task may queue in one completing quick ones, the least loaded of the
        # first few that may (``_flowing``, whose entries that may not are dropped on the way); the one chosen
        # goes to the back, so the load turns round them all.  ``_pick_room``: how many more tasks alike it may
        # take before another is as little loaded, or it is full.
        best: WorkerRecord | None = None
        best_load = 0
        runner_up = None  # the load of the next least loaded
        flowing_since = now - self.pipeline_threshold * 10  # a head task older than this may be a long one
        flowing, dropped, looked = self._flowing, [], 0
        for rec in flowing.values():  # what is dropped is not counted: each entry is dropped once per time it is added
            if looked == PICK_LOOKS_AT_MOST:
                break
            load = len(rec.assigned)
            if rec.state != READY or load >= rec.depth:
                dropped.append(rec.id)  # it comes back when a done leaves it room, or a task it gets
                continue
            if load == 0:  # idle after all (every path to idle fills ``_idle``; this is the safety net)
                best, best_load = rec, 0
                break
            if rec.head_since <= flowing_since or not self._known_quick(next(iter(rec.assigned.values())).task_kind):
                dropped.append(rec.id)  # its head may be long (nothing queues behind it): back with its next done
                continue
            looked += 1
            if best is None or load < best_load:
                if best is not None:
                    runner_up = best_load
                best, best_load = rec, load
            elif runner_up is None or load < runner_up:
                runner_up = load
        for wid in dropped:
            del flowing[wid]
        if best is not None:
            flowing.pop(best.id, None)
            flowing[best.id] = best
            if best_load:  # after the task it is picked for: more while it stays below the next, and has room
                room = best.depth - best_load - 1
                if runner_up is not None and runner_up - best_load - 1 < room:
                    room = runner_up - best_load - 1
                self._pick_room = room if room > 0 else 0
        return best

    def _known_quick(self, kind: tuple | None) -> bool:
        """Whether tasks of ``kind`` are known to run in under the threshold (tasks for a named worker have none)."""
        return kind is not None and self._run_times.get(kind, self.pipeline_threshold) < self.pipeline_threshold

    # ----------------------------------------------------------- results
    def has_results(self, target: int = ProWorker_Any) -> bool:
        return self.results.has(target)

    def take_result(self, target: int = ProWorker_Any) -> Any:
        return self.results.take(target)
