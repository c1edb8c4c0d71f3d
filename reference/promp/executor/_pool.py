"""The pool of a ``promp.Executor``: one ``ProManager``, its workers, and which calls each holds.

A manager is used from one thread at a time (BAD-4).  Whoever holds ``drive`` makes its calls: the
pool's own thread, which creates the manager and polls its descriptor (``ProManager.fileno()``)
while it does not drive (and while no thread waiting for a result has driven for ``CALLERS_READ_FOR``:
those read what arrives), or any thread that submits or waits in ``result()`` while nobody else
drives (``kick``, ``drive_until``; a lone submit waits for a brief holder): a round trip then crosses no thread,
where a manager owned by one thread costs a hand-off each way (measured here: 1.9x-2.9x
``ProManager.wait()``'s round trip with one, about 1.1x without; ``tools/bench.py``).
ZeroMQ's descriptor is an edge, so whoever lets go of ``drive`` leaves the socket with nothing to
read, its last operation a look (``settle``).  A call is pickled on the submitting thread, and a
submit that finds someone driving wakes them (``ProManager.wakeUp()``).  Done-callbacks run on the
pool's thread, after it let go of ``drive`` (``run_callbacks``): a callback may submit, wait for a
result, take a lock the submitting thread holds or shut the pool down, re-entering nothing.

Calls go to workers chosen here, by id rather than ``ProWorker_Any``, so the pool knows which calls
each worker holds: a worker that dies fails only those (the manager's ``WorkerExited`` results for
its unfinished tasks come in the order they were given), and the one it runs now is the one
``abort`` aims at.  A call goes to an idle worker, or to a new one while fewer than ``max_workers``
have not ended.  Functions known to run in under a millisecond travel packed: one task of
``_task.run`` carries as many queued calls as make about ``PACK_WORK`` seconds of work (one message
each way for all of them, where each call alone would cost the manager a message, its checks and
its bookkeeping), and a worker busy with such a pack may hold one more, so it never waits for the
next.  Anything else waits here, where ``Future.cancel()`` still removes it.  A worker that has
ended is replaced by the next call that needs one.
"""

from __future__ import annotations

import itertools
import os
import pickle
import select
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from .._constants import ProWorker_Any
from .._errors import ProMPError, ProMPRemoteError, ProWorkerExited
from ..wire._zmq import readable
from ..worker._api import ProMPAborted
from . import _task
from ._pickling import main_script

QUICK = 0.001  # seconds: a function that runs in less travels packed with others
PACK_WORK = 0.002  # seconds of expected work in one pack
PACK_AT_MOST = 128  # calls in one pack: if its worker dies, they all fail (they may have run; a call runs at most once)
TASKS_HELD = 2  # tasks (packs) a worker may hold: the one it runs and the next
WATCH_EVERY = 0.2  # seconds between two looks at the workers' states (those that ended are forgotten)
FUNCTIONS_REMEMBERED = 1024  # run times are learnt for this many functions, the oldest forgotten
SETUP_FAILURES_AT_MOST = 3  # workers in a row that end before their setup is done: the pool is broken
CALLERS_READ_FOR = 0.002  # seconds after a thread last drove for its call during which the pool thread leaves it the reading
BRIEF_HOLD_AT_MOST = 0.005  # seconds a caller waits for ``drive`` held by a brief holder: the pool thread's look, a kick


def _anything(events: int) -> bool:
    """A wait of the pool returns on any arrival, and on ``wakeUp()``."""
    return events > 0


class RemoteTraceback(Exception):
    """The worker's traceback of a failed call, as the ``__cause__`` of the exception ``result()`` raises."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.tb = text

    def __str__(self) -> str:
        return self.tb


class WorkerExitedError(ProMPError, BrokenProcessPool):
    """The worker running the call ended before it finished (killed, crashed, ``os._exit`` ...).

    Only that worker's calls fail; the Executor replaces it and goes on (``ProcessPoolExecutor``
    breaks for good).  A ``BrokenProcessPool`` too, so code written for the standard pool catches it.
    ``worker_id``: which worker; the message says how it ended (its exit code or signal, or why it was killed).
    """

    def __init__(self, message: str, worker_id: int | None) -> None:
        super().__init__(message)
        self.worker_id = worker_id


class TaskAborted(ProMPError):
    """The call was stopped by ``Executor.abort`` (``__cause__``: how it ended in the worker)."""


@dataclass(slots=True)
class Call:
    future: Future | None  # None: a worker's setup
    payload: bytes
    key: str  # the function's module and qualified name: run times are learnt per function
    abort_grace: float | None = None  # set by Executor.abort: abortOperation once its task runs


@dataclass(slots=True)
class Worker:
    id: int
    tasks: dict[int, list[Call]] = field(default_factory=dict)  # given and not done, by tag, in the order given
    slow: set[int] = field(default_factory=set)  # of those, the tasks not known to be quick: nothing goes behind them
    given: int = 0  # calls given, for max_tasks_per_child
    set_up: bool = False
    retiring: bool = False  # it has ended, or will (max_tasks_per_child): no more calls for it
    used_up: bool = False  # given max_tasks_per_child calls: stopped once they are done
    ended: bool = False  # its process has ended (its calls fail, if any were left)


class Pool:
    """What the pool thread owns, and the few fields other threads touch (``queue``, ``requests``, ``wake``, the flags)."""

    def __init__(self, max_workers: int, initializer: bytes | None, max_tasks_per_child: int | None) -> None:
        self.max_workers = max_workers
        self.initializer = initializer
        self.max_tasks_per_child = max_tasks_per_child
        self.queue: deque[Call] = deque()  # submitted, not yet given to a worker: appended by any thread
        self.again: deque[Call] = deque()  # running futures to give again (their task was aborted before they ran)
        self.requests: deque[tuple[Future, float]] = deque()  # Executor.abort of calls given to workers
        self.lock = threading.Lock()  # orders submit against shutdown and breakage
        self.closing = False  # shutdown() was called: end once everything queued is done
        self.broken: str | None = None  # why the pool cannot go on
        self.forked = False  # set in a child made by os.fork(): nothing of the pool came along
        self.manager: Any = None  # set while the pool thread runs
        self.task_socket: Any = None
        self.drive = threading.RLock()  # whoever holds it makes the manager's calls: the pool thread, or a thread in result()
        self.callbacks_due: deque[Future] = deque()  # futures whose done-callbacks the pool thread runs, outside drive
        self.workers: dict[int, Worker] = {}
        self.idle: dict[int, Worker] = {}  # workers with nothing to do, in the order they became idle
        self.tasks: dict[int, Worker] = {}  # the worker of each task given and not done, by tag
        self.run_times: dict[str, float] = {}
        self.tags = itertools.count(1)
        self.setup_failures = 0
        self.watched_at = 0.0
        self.stopping: set[int] = set()  # workers stopped after max_tasks_per_child calls, until they have ended
        self.callers_driving = 0  # threads other than the pool's that hold ``drive`` now (changed under it)
        self.caller_left_at = 0.0  # when one last let go of it
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)  # ``wake`` -> the pool thread, polled with the manager's
        self.wake_lock = threading.Lock()  # the pool thread closes ``wake_fd`` once it ends: no write after that
        self.wake_pending = False  # ``wake_fd`` was written and the pool thread has not looked yet: once is enough
        self.thread = threading.Thread(target=self.serve, name="promp-executor")

    # ------------------------------------------------------------- any thread
    def wake(self) -> None:
        """Make whoever drives look again: the pool thread (through ``wake_fd``, which stays readable until it has
        looked, whatever other threads read from the manager meanwhile) and a thread waiting in the manager's wait."""
        if not self.wake_pending:
            with self.wake_lock:
                if self.wake_fd >= 0 and not self.wake_pending:
                    self.wake_pending = True
                    os.eventfd_write(self.wake_fd, 1)
        manager = self.manager
        if manager is not None:
            manager.wakeUp()

    def close(self) -> None:
        with self.lock:
            self.closing = True
        self.wake()

    def kick(self, may_wait: bool = True) -> None:
        """A call was queued: give it now from this thread if nobody drives, else wake whoever does.

        A lone call (none in flight) waits up to ``BRIEF_HOLD_AT_MOST`` for a brief holder of ``drive`` to let go:
        the pool thread's look, another thread's kick (not a caller that drives: that one holds it as long as it
        waits for its result).  A submit that found the pool thread looking (one that lost the processor meanwhile,
        on a loaded machine) used to leave it the driving: the pool thread then read every reply and gave every
        call, and each ``submit().result()`` crossed the two threads from then on.  Calls given while others are in
        flight (a ``map``) do not wait: the pool thread gives those in packs.  ``may_wait``: False where the
        submitting thread must never block (an event loop's)."""
        drive = self.drive
        if self.manager is not None and (
            drive.acquire(blocking=False)
            or (may_wait and not self.tasks and not self.callers_driving and drive.acquire(timeout=BRIEF_HOLD_AT_MOST))
        ):
            try:
                if self.manager is not None:
                    self.own()
                    self.give()
                    self.settle()
            except Exception as exc:  # noqa: BLE001 - as on the pool thread: every future hears of it
                self.break_pool(f"the pool failed: {type(exc).__name__}: {exc}")
            finally:
                drive.release()
        else:
            self.wake()

    def drive_until(self, future: Future, timeout: float | None) -> bool:
        """A thread waiting for ``future`` makes the manager's calls itself while nobody else does: no hand-off.

        Returns when the future is done or ``timeout`` passed, True; at once, False, if another thread drives
        (which may set the future) or the pool has ended.  A Ctrl-C while it waits reaches the caller."""
        mine = threading.current_thread() is not self.thread  # the pool thread's own waits (in a done-callback) do not count
        if self.manager is None or not self.drive.acquire(blocking=False):
            return False
        counted = False
        try:
            if mine:  # no call between these two: a Ctrl-C cannot land between them
                self.callers_driving += 1
                counted = True
            if self.manager is None:
                return False
            self.own()
            deadline = None if timeout is None else time.monotonic() + timeout
            while not future.done() and self.broken is None:
                limit = None if deadline is None else deadline - time.monotonic()
                if limit is not None and limit <= 0:
                    break
                self.step(limit)
        except Exception as exc:  # noqa: BLE001
            self.break_pool(f"the pool failed: {type(exc).__name__}: {exc}")
        finally:
            try:
                if counted:  # what arrived until now it has read (``step`` ends with ``settle``)
                    self.callers_driving -= 1
                    self.caller_left_at = time.monotonic()
            finally:
                self.drive.release()
        return True

    def rest_while_callers_drive(self, woken: select.poll, looked: tuple[float, float]) -> bool:
        """Keep off the manager's descriptor while threads wait for their results in ``drive_until``, and for
        ``CALLERS_READ_FOR`` after the last one let go; False if ``wake`` ended the rest (``woken`` polls ``wake_fd``).

        Those threads read what arrives themselves; the pool thread waking at each arrival cost each
        ``submit().result()`` about 45 us of the processor and the GIL (measured: 177 -> 132 us).  Submissions do
        not count: while a program gives many calls, the pool thread reads their results and gives the next in
        packs.  What arrives meanwhile for no caller is read after the rest (the descriptor stays readable).

        ``looked``: when the pool thread's own look began (waiting for ``drive``) and ended.  A caller that let go
        meanwhile had its next call held back by that look (by a slow one, on a loaded machine, past the whole
        rest): the rest then counts from the look's end."""
        began, ended = looked
        while True:
            left_at = self.caller_left_at  # a caller may let go during the rest: it counts from then
            left = CALLERS_READ_FOR - (time.monotonic() - (max(left_at, ended) if left_at >= began else left_at))
            if not self.callers_driving and left <= 0:
                return True
            if woken.poll(1000 * (CALLERS_READ_FOR if self.callers_driving else left)):
                return False

    def drives_here(self) -> bool:
        """Whether this thread holds ``drive`` (a done-callback runs under it): it must not wait for the pool thread."""
        return self.drive._is_owned()

    # ----------------------------------------------------------- the driver
    def serve(self) -> None:
        """The pool thread: drives whenever something arrives and no other thread does."""
        from ..manager import ProManager, ProMPOpt_RedirectOutput

        try:
            manager = ProManager(max_queued_bytes=None)  # calls wait in the pool's own queue: workers hold two tasks at most
            manager.setOptions(ProMPOpt_RedirectOutput)  # workers' prints show, as a standard pool's do
        except BaseException as exc:  # noqa: BLE001 - whatever it is, every future must hear of it
            self.break_pool(f"the pool's manager could not start: {type(exc).__name__}: {exc}")
            self.close_wakes()
            return
        arrivals, woken = select.poll(), select.poll()
        arrivals.register(manager.fileno(), select.POLLIN)
        for poll in (arrivals, woken):
            poll.register(self.wake_fd, select.POLLIN)
        self.task_socket = manager._port.task
        self.manager = manager
        try:
            while True:
                self.take_wakes()  # before the look below: a wake() after it is seen by the next poll
                began = time.monotonic()
                with self.drive:
                    self.own()
                    self.step(0)
                    ended = self.broken is not None or (self.closing and not self.queue and not self.again and not self.tasks)
                looked = (began, time.monotonic())
                self.run_callbacks()
                if ended:
                    break
                if not self.callbacks_due and self.rest_while_callers_drive(woken, looked):
                    arrivals.poll(WATCH_EVERY * 1000)
        except BaseException as exc:  # noqa: BLE001
            self.break_pool(f"the pool thread failed: {type(exc).__name__}: {exc}")
        finally:
            with self.drive:
                self.own()
                self.manager = None
                manager.close()
                self.fail_all()
            self.run_callbacks()
            self.close_wakes()

    def close_wakes(self) -> None:
        """Once the pool thread has ended (or, in a child of ``os.fork``, never runs): ``wake`` writes nothing after it."""
        with self.wake_lock:
            if self.wake_fd >= 0:
                os.close(self.wake_fd)
                self.wake_fd = -1

    def take_wakes(self) -> None:
        """At the top of the pool thread's loop, before it looks at everything: a wake() until the flag is cleared
        is seen by that look, and one after it writes again."""
        try:
            os.eventfd_read(self.wake_fd)
        except BlockingIOError:  # none since the last look
            pass
        self.wake_pending = False

    def run_callbacks(self) -> None:
        """Done-callbacks, on this thread and outside ``drive``: a callback may submit, wait for a result, take a lock
        the submitting thread holds, or shut the pool down, and none of it re-enters what set its future."""
        due = self.callbacks_due
        while due:
            Future._invoke_callbacks(due.popleft())

    def own(self) -> None:
        """The driving thread takes the manager (used by one thread at a time, under ``drive``)."""
        self.manager._owner = threading.get_ident()

    def step(self, limit: float | None) -> None:
        """Give what is queued, handle what arrives within ``limit`` s (None: wait for it; 0: what is there), give again."""
        self.settle()
        # never longer than WATCH_EVERY: a thread that drives for its future also sees workers end and starts others
        self.manager._wait_until(_anything, WATCH_EVERY if limit is None else min(limit, WATCH_EVERY), alarms=True)
        self.collect()
        self.settle()
        if (self.stopping or time.monotonic() - self.watched_at >= WATCH_EVERY) and self.watch():
            self.settle()  # what waited for a worker to end starts another

    def settle(self) -> None:
        """Leave the task socket with nothing to read, its last operation a look: its descriptor then signals the next arrival.

        (ZeroMQ's descriptor is an edge: a send may take in what arrived and clear it.)"""
        if self.requests:
            self.take_aborts()
        self.give()
        while readable(self.task_socket):
            self.manager._wait_until(_anything, 0, alarms=True)
            self.collect()
            self.give()

    def give(self) -> None:
        """Hand queued calls to workers while some may take them (those to give again first)."""
        for queue in (self.again, self.queue):
            while queue and self.broken is None:
                key = queue[0].key
                worker = self.pick(key)
                if worker is None:
                    return
                pack: list[Call] = []
                room = self.pack_size(key, worker)
                while queue and len(pack) < room and (not pack or self.quick(queue[0].key)):
                    call = queue.popleft()
                    if queue is self.again or call.future.set_running_or_notify_cancel():  # False: cancelled while queued
                        pack.append(call)
                if not pack:
                    if not worker.tasks:
                        self.idle[worker.id] = worker
                    continue
                try:
                    try:
                        self.send(worker, pack)
                    except ProWorkerExited:  # it ended since it was last seen: a new worker runs the pack
                        worker.retiring = worker.ended = True
                        self.send(self.start_worker(), pack)
                except BaseException:  # a Ctrl-C on a thread that drives: the pack waits to be given again
                    self.again.extendleft(reversed(pack))
                    if not worker.tasks and not worker.retiring:
                        self.idle[worker.id] = worker
                    raise

    def pick(self, key: str) -> Worker | None:
        idle = self.idle
        while idle:
            worker = idle.popitem()[1]  # the one idle the shortest: its threads are likely still awake
            if not worker.tasks and not worker.retiring:
                return worker
        if sum(not w.ended for w in self.workers.values()) < self.max_workers:  # those on their way out count too
            return self.start_worker()
        if not self.quick(key):
            return None
        best = None
        for worker in self.workers.values():
            load = len(worker.tasks)
            if not worker.retiring and not worker.slow and load < TASKS_HELD and (best is None or load < len(best.tasks)):
                best = worker
        return best

    def quick(self, key: str) -> bool:
        return self.run_times.get(key, QUICK) < QUICK

    def pack_size(self, key: str, worker: Worker) -> int:
        """How many calls of ``key`` go in one task: 1 unless quick; else about ``PACK_WORK`` of work, no more than a
        share of what is queued (so that the workers get even loads), nor than ``max_tasks_per_child`` leaves."""
        if not self.quick(key):
            return 1
        known = self.run_times[key]
        share = len(self.queue) // (TASKS_HELD * self.max_workers)
        size = max(1, min(PACK_AT_MOST, int(PACK_WORK / max(known, 1e-7)), share))
        if self.max_tasks_per_child is not None:
            size = min(size, self.max_tasks_per_child - worker.given)
        return size

    def start_worker(self) -> Worker:
        wid = self.manager.startWorker()
        worker = self.workers[wid] = Worker(wid)
        setup = [list(sys.path), main_script(), self.initializer]
        self.send(worker, [Call(None, b"", "setup")], setup)
        return worker

    def send(self, worker: Worker, pack: list[Call], setup: list | None = None) -> None:
        """Give ``pack`` to ``worker``; if the manager refuses (``ProWorkerExited``: it has ended) or anything cuts
        the call short (a Ctrl-C), nothing of it is kept and the exception goes on."""
        tag = next(self.tags)
        worker.tasks[tag] = pack  # before the send: a result may be read as soon as it is out
        self.tasks[tag] = worker
        try:
            if setup is None:
                self.manager.evalPythonFunction(worker.id, _task.SOURCE, "run", [tag, [call.payload for call in pack]], True)
            else:
                self.manager.evalPythonFunction(worker.id, _task.SETUP_SOURCE, "setup", [tag, *setup], True)
        except BaseException:
            del worker.tasks[tag], self.tasks[tag]
            raise
        if not self.quick(pack[0].key):
            worker.slow.add(tag)
        if setup is not None:
            return
        worker.given += len(pack)
        limit = self.max_tasks_per_child
        if limit is not None and worker.given >= limit:
            worker.retiring = worker.used_up = True  # stopped once its calls are done; another takes its place

    def collect(self) -> None:
        manager = self.manager
        while manager.hasResults():
            result = manager.takeResult(ProWorker_Any)
            if result.__class__ is list:
                tag, outcomes = result
                worker = self.tasks.pop(tag, None)
                if worker is None:  # a task whose send was cut short after it left: its calls were given again
                    continue
                pack = self.finished(worker, tag)
                again = []
                for call, (ok, data, seconds) in zip(pack, outcomes, strict=True):
                    if ok is None:  # its task was aborted before it ran
                        again.append(call)
                    else:
                        self.done(worker, call, ok, data, seconds)
                self.again.extendleft(reversed(again))
            elif isinstance(result, ProMPRemoteError) and (worker := self.workers.get(result.workerId)) and worker.tasks:
                tag = next(iter(worker.tasks))
                del self.tasks[tag]
                if result.type == "WorkerExited":
                    worker.retiring = worker.ended = True  # no more calls for it, and another may start
                for call in self.finished(worker, tag):
                    self.failed(worker, call, result)

    def finished(self, worker: Worker, tag: int) -> list[Call]:
        """Task ``tag`` of ``worker`` is over: its calls, and the worker's next task aborted if it was asked."""
        pack = worker.tasks.pop(tag)
        worker.slow.discard(tag)
        if worker.tasks:
            head = next(iter(worker.tasks.values()))
            grace = next((c.abort_grace for c in head if c.abort_grace is not None), None)
            if grace is not None:  # aborted while it waited behind the task that just ended
                self.abort(worker.id, grace)
        elif worker.used_up:  # stopped only now: a stop with tasks in flight races its last results under load
            worker.used_up = False
            try:
                self.manager.stopWorker(worker.id)
                self.stopping.add(worker.id)  # watched at every step until it has ended: its replacement waits for it
            except ProWorkerExited:  # it has ended already
                pass
        elif not worker.retiring:
            self.idle[worker.id] = worker
        return pack

    def done(self, worker: Worker, call: Call, ok: bool, data: bytes, seconds: float) -> None:
        future = call.future
        if future is None:  # a worker's setup
            if ok:
                worker.set_up = True
                self.setup_failures = 0
            else:
                exc = _error(data)
                self.break_pool(f"the initializer failed in worker {worker.id}: {type(exc).__name__}: {exc}")
            return
        known = self.run_times.pop(call.key, None)
        self.run_times[call.key] = seconds if known is None else 0.8 * known + 0.2 * seconds
        if len(self.run_times) > FUNCTIONS_REMEMBERED:
            del self.run_times[next(iter(self.run_times))]
        if ok:
            try:
                value = pickle.loads(data)
            except BaseException as exc:  # noqa: BLE001 - a value the manager cannot rebuild fails its own call
                future.set_exception(TypeError(f"the result cannot be unpickled here: {type(exc).__name__}: {exc}"))
                return
            future.set_result(value)
        else:
            future.set_exception(self.aborted(call, _error(data)))

    def failed(self, worker: Worker, call: Call, error: ProMPRemoteError) -> None:
        """The manager's error for a call's task: its worker ended before it finished (or the task could not run)."""
        if error.type == "WorkerExited":
            exc: BaseException = WorkerExitedError(error.message, error.workerId)
        else:
            exc = RuntimeError(f"the call could not run in worker {worker.id}: {error}")
            if error.traceback:
                exc.__cause__ = RemoteTraceback(error.traceback)
        if call.future is not None:
            call.future.set_exception(self.aborted(call, exc))
        elif not worker.set_up:
            self.setup_failures += 1
            if self.setup_failures >= SETUP_FAILURES_AT_MOST:
                self.break_pool(f"{self.setup_failures} workers in a row ended before they were set up; the last: {error.message}")

    @staticmethod
    def aborted(call: Call, exc: BaseException) -> BaseException:
        """The exception a failed call's future gets: ``TaskAborted`` if an abort was asked for it or stopped it."""
        if call.abort_grace is None and not isinstance(exc, ProMPAborted):
            return exc
        aborted = TaskAborted(f"the call was aborted: {type(exc).__name__}: {exc}")
        aborted.__cause__ = exc
        return aborted

    def watch(self) -> bool:
        """Forget the workers that have ended with nothing left to report (the next call that needs one starts
        another); whether one has newly ended."""
        self.watched_at = time.monotonic()
        manager = self.manager
        newly = False
        for wid, worker in list(self.workers.items()):
            if manager.workerState(wid) == "exited":
                newly = newly or not worker.ended
                worker.retiring = worker.ended = True
                self.stopping.discard(wid)
                self.idle.pop(wid, None)
                if not worker.tasks:
                    del self.workers[wid]
        return newly

    def take_aborts(self) -> None:
        while self.requests:
            future, grace = self.requests.popleft()
            for worker in self.workers.values():
                for position, pack in enumerate(worker.tasks.values()):
                    call = next((c for c in pack if c.future is future), None)
                    if call is not None and call.abort_grace is None:
                        call.abort_grace = grace
                        if position == 0:  # its task runs now; otherwise once it comes to run (``finished``)
                            self.abort(worker.id, grace)

    def abort(self, wid: int, grace: float) -> None:
        if self.manager.workerState(wid) != "exited":
            self.manager.abortOperation(wid, max(0, round(grace * 1000)))

    def break_pool(self, why: str) -> None:
        with self.lock:
            if self.broken is None:
                self.broken = why
        self.fail_all()

    def fail_all(self) -> None:
        """Every future not done fails: the pool is broken, or its thread is ending with calls left."""
        why = self.broken or "the pool ended before the call finished"
        for worker in self.workers.values():
            for pack in worker.tasks.values():
                for call in pack:
                    if call.future is not None and not call.future.done():
                        call.future.set_exception(BrokenProcessPool(why))
        while self.again:
            self.again.popleft().future.set_exception(BrokenProcessPool(why))
        while self.queue:
            future = self.queue.popleft().future
            if future.set_running_or_notify_cancel():
                future.set_exception(BrokenProcessPool(why))


def _error(data: bytes) -> BaseException:
    """The exception a worker sent back (``_task.dump_error``), with its traceback as ``__cause__``."""
    pickled, text, type_name, message = pickle.loads(data)
    try:
        exc = pickle.loads(pickled) if pickled is not None else None
    except BaseException:  # noqa: BLE001 - an exception whose __init__ takes other arguments cannot be rebuilt
        exc = None
    if not isinstance(exc, BaseException):
        exc = RuntimeError(f"{type_name}: {message} (the exception itself could not be sent back)")
    exc.__cause__ = RemoteTraceback(text)
    return exc
