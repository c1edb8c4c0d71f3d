"""The worker's side of the protocol as a state machine, free of I/O.

``WorkerSession`` is everything a worker decides: its watch on the manager
(``HeartbeatClock``), which task runs, which tasks the manager asked to abort,
the abort's two deadlines (interrupt the task's code at half of ``wait_ms``,
end the process at all of it), and when results are held for a batch
(``ResultHold``).  The worker's driver (``_driver``) calls it from two threads
under one lock: the main thread around each task (``begin``/``end``), the
control thread with what arrives and with the time (``on_abort``, ``on_echo``,
``tick``), and its executors perform the actions ``tick`` returns.
``next_deadline()`` covers every deadline, so the control thread sleeps until
then rather than polling.  The simulator drives the same object.

Aborts are tied to a task id.  An abort may arrive before its task (the
control channel overtakes the task channel) and is then kept until the task
begins; an abort for a task that already ended is dropped, since the worker
remembers the ids of its recent tasks.  An abort that comes again for the same
task never postpones the deadlines the first one set: the earliest wins.  That memory also recognises a task
frame that arrives twice: ``begin`` refuses it, so a task never runs twice.

Apart from the manager's core so that a worker starts without importing what
only a manager needs (no dataclasses or enums here either: start-up time).
"""

from __future__ import annotations

from .._constants import EXIT_ABORTED, EXIT_MANAGER_GONE
from .._liveness import PING, SILENT, HeartbeatClock

REMEMBERED = 1024  # recent task ids, and pending aborts, a worker keeps


class Interrupt:
    """Raise ``ProMPAborted`` in the code of ``task`` (it is running now)."""

    __slots__ = ("task",)

    def __init__(self, task: int) -> None:
        self.task = task

    def __repr__(self) -> str:
        return f"Interrupt({self.task})"


class Exit:
    """End the worker process now, with what it started."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"Exit({self.code}, {self.reason!r})"


class ResultHold:
    """When a worker sends finished tasks' results at once, and when it holds them for one batch.

    While more tasks are already waiting, the results of quick ones are held and go out together:
    under load that saves a message, and a wake-up on each side, per task.  A result goes at once
    when its task took ``SEND_AT_ONCE_FROM`` or longer or was aborted; held ones go after
    ``HOLD_AT_MOST`` at the latest, or when ``MAX_BATCH`` are held.  While it holds, the worker's
    control thread looks every ``HOLD_AT_MOST`` (it sends what the main thread, busy with a long
    task, cannot), and stops looking ``WATCH_FOR`` after the last hold.  The driver keeps the
    results themselves and calls these under its lock.
    """

    SEND_AT_ONCE_FROM = 0.001
    HOLD_AT_MOST = 0.002
    MAX_BATCH = 64
    WATCH_FOR = 1.0

    __slots__ = ("held_since", "last_hold", "watched")

    def __init__(self) -> None:
        self.held_since = 0.0  # when the oldest result now held was posted
        self.last_hold = 0.0
        self.watched = False  # the control thread is looking every HOLD_AT_MOST

    def posted(self, now: float, first: bool) -> None:
        if first:
            self.held_since = now

    def send_at_once(self, run_time: float, aborted: bool) -> bool:
        return aborted or run_time >= self.SEND_AT_ONCE_FROM

    def hold(self, now: float, held: int) -> bool:
        """More work is here: hold the ``held`` results (True), or send them (False, there are enough or they are old)."""
        if held < self.MAX_BATCH and now - self.held_since < self.HOLD_AT_MOST:
            self.last_hold = now
            return True
        return False

    def overdue(self, now: float, held: int) -> bool:
        """For the control thread: held results to send now; also stops the watch when none were held for long."""
        if held:
            return now - self.held_since >= self.HOLD_AT_MOST
        if now - self.last_hold > self.WATCH_FOR:
            self.watched = False
        return False

    def next_look(self, now: float) -> float | None:
        """When the control thread looks again, while it watches (a short period, only during bursts)."""
        return now + self.HOLD_AT_MOST if self.watched else None


class WorkerSession:
    def __init__(self, interval: float, timeout: float, now: float) -> None:
        self.clock = HeartbeatClock(interval, timeout, now)
        self.hold = ResultHold()
        self.current: int | None = None  # the running task
        self.aborted: dict[int, None] = {}  # tasks the manager asked to abort, oldest first
        self.interrupted: set[int] = set()  # tasks whose code is to get ProMPAborted
        self.deadlines: dict[int, tuple[float, float]] = {}  # task -> (interrupt at, exit at)
        self._seen: dict[int, None] = {}  # ids of tasks begun lately, oldest first: the last REMEMBERED at least

    # --------------------------------------------------- the main thread
    def begin(self, task_id: int) -> bool:
        """A task is about to run; False if this id already ran here (a duplicated frame)."""
        seen = self._seen
        if task_id in seen:
            return False
        seen[task_id] = None
        if len(seen) > 2 * REMEMBERED:  # the older half goes at once: one rebuild every REMEMBERED tasks, no work on the others
            self._seen = dict.fromkeys(list(seen)[REMEMBERED:])
        self.current = task_id
        return True

    def end(self, task_id: int) -> bool:
        """The task ended (whatever the way); returns whether it had been aborted."""
        self.current = None
        if not self.aborted:  # the hot path: no abort anywhere
            return False
        self.interrupted.discard(task_id)
        self.deadlines.pop(task_id, None)
        was_aborted = task_id in self.aborted
        if was_aborted:
            del self.aborted[task_id]
        return was_aborted

    def was_aborted(self) -> bool:
        return self.current is not None and self.current in self.aborted

    def should_interrupt(self) -> bool:
        return self.current is not None and self.current in self.interrupted

    def has_deadline(self) -> bool:
        """Whether the running task has abort deadlines (its abort came before it): the control thread must look."""
        return bool(self.deadlines) and self.current in self.deadlines

    # ------------------------------------------------ the control thread
    def on_echo(self, now: float) -> None:
        self.clock.answered()

    def on_manager_ping(self, now: float) -> None:
        """The manager pinged this worker (its echo proxy saw it): the manager lives, no ping of ours is needed."""
        self.clock.heard(now)

    def on_abort(self, task_id: int, wait_ms: int, now: float) -> None:
        if task_id in self._seen and task_id != self.current:
            return  # it already ended: a late abort touches nothing
        self.aborted[task_id] = None
        if wait_ms >= 0:
            steps = (now + wait_ms / 2000, now + wait_ms / 1000)
            earlier = self.deadlines.get(task_id)
            self.deadlines[task_id] = steps if earlier is None else (min(earlier[0], steps[0]), min(earlier[1], steps[1]))
        if len(self.aborted) > REMEMBERED:  # aborts of tasks that never came: forget the oldest
            oldest = next(iter(self.aborted))
            del self.aborted[oldest]
            self.deadlines.pop(oldest, None)

    def tick(self, now: float) -> list:
        """What is due now: ``PING``, ``Interrupt`` or ``Exit`` actions."""
        actions: list = []
        task = self.current
        steps = self.deadlines.get(task) if task is not None else None
        if steps is not None:
            interrupt_at, exit_at = steps
            if now >= exit_at:
                return [Exit(EXIT_ABORTED, f"task {task} did not end within the time abortOperation gave it")]
            if now >= interrupt_at and task not in self.interrupted:
                self.interrupted.add(task)
                actions.append(Interrupt(task))
        beat = self.clock.tick(now)
        if beat == SILENT:
            return [Exit(EXIT_MANAGER_GONE, f"no heartbeat from the manager for {self.clock.timeout:.1f} s")]
        if beat == PING:
            actions.append(PING)
        return actions

    def next_deadline(self) -> float:
        deadline = self.clock.next_deadline()
        steps = self.deadlines.get(self.current) if self.current is not None else None
        if steps is not None:
            deadline = min(deadline, steps[1] if self.current in self.interrupted else steps[0])
        return deadline
