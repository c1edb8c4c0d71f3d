"""The simulated world: one manager and its workers on a virtual clock and an in-memory network.

It runs the implementation's own cores, drivers and executors (``promp.core`` by default; see its
docstring for the interface), as the real shells do, and fakes only the world around them:

* the manager process (``manager.SimManager``): a user's thread (the workload; it reads the task
  channel when frames come or it is woken), a keeper (at its deadlines, and when an echo, an exit,
  a connection's end or output comes) and an echo proxy;
* each worker process (``worker.SimWorker``): a main thread (the driver's loop; tasks are
  programs of timed steps), a control thread and an echo proxy; a task may run a manager of its
  own, whose workers are one level down and die or freeze with their host;
* channels between them: the task channel both ways (reliable and ordered while both ends live,
  as a ZeroMQ socket pair is; a ROUTER drops what is for a peer not connected yet), heartbeats both
  ways (each ping echoed by the peer's proxy), control (aborts; a worker's control connection
  comes up a moment after its task connection), each worker's stdout pipe (read by the keeper a
  moment after a write, or before a message of the worker is handled), the exit notice of a
  worker process and the end of its task connection, and the parent-alive pipe.

Time only moves from one event to the next, so an hour of heartbeats costs milliseconds.  Faults
come from the scenario: frames dropped, delayed (and so reordered, except on the task channel),
duplicated; processes crashed, frozen (SIGSTOP: every thread stops, events wait for the resume) and
resumed; partitions that heal (heartbeats and control lost, task frames held back); clocks that jump
forward.  Invariants (``INVARIANTS``) are checked as the run goes and after a final heal, against
what happened in the world, never against the cores' records; the first one broken ends the run.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .manager import SimManager
from .proc import EOF_DELAY, EXIT_NOTICE, Proc
from .scenario import Op, Scenario

INVARIANTS = {
    "at-most-once": "a task runs at most once",
    "every-task-ends": "every task ends with its result, an error value or a reported worker death; isBusy() turns false",
    "result-kept": "a result whose frame reached the manager's process before the worker's exit was final is the task's result",
    "order": "results, messages and output of one worker arrive in the order it produced them, none twice; "
    "output printed before a message or a result is given to the user before it",
    "abort-aims": "an abort touches only the task its worker was running when it was called (or, if none, the next one)",
    "abort-lands": "an abort called for a task the manager knew to be running reaches it, unless a fault got in the way",
    "abort-bounded": "an abort with a time ends its task within that time of reaching it (its manager's kill: a second later)",
    "orphans-exit": "a worker whose manager is gone (dead, frozen, cut off) exits within the heartbeat timeout",
    "live-not-killed": "a worker that is alive and answering heartbeats is never declared dead",
    "no-task-to-dead": "no task is sent to a worker whose exit the manager has seen",
    "stop-runs-queued": "a worker stopped by stopWorker runs the tasks given to it before the stop, then exits",
    "exit-told-true": "a worker's end is reported as a clean stop exactly when it was one",
    "held-results-leave": "a result a worker holds for a batch leaves it within the hold limit",
    "resources-released": "a worker's descriptors are released once its exit is final, not before",
    "no-spin": "after a tick, the next deadline is in the future (a loop never spins)",
    "lifecycle": "the core never makes an illegal transition",
}



class Violation(Exception):
    def __init__(self, invariant: str, detail: str, at: float) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail
        self.at = at


class Window:
    """A fault on the links of one worker for a span of time, with its own random stream."""

    __slots__ = ("kind", "channel", "direction", "worker", "start", "end", "p", "rng")

    def __init__(self, kind: str, channel: str, direction: str, worker: int, start: float, end: float, p: float, seed: int) -> None:
        self.kind, self.channel, self.direction, self.worker = kind, channel, direction, worker
        self.start, self.end, self.p = start, end, p
        self.rng = random.Random(seed)

    def covers(self, channel: str, direction: str, worker: int, now: float) -> bool:
        return (
            self.start <= now < self.end
            and self.worker == worker
            and (self.channel == "*" or self.channel == channel)
            and (self.direction == "both" or self.direction == direction)
        )


class World:
    def __init__(self, scenario: Scenario, core: ModuleType, trace: bool = False) -> None:
        self.scenario = scenario
        self.s = scenario.settings
        self.core = core
        self.tracing = trace
        self.lines: list[str] = []
        self.now = 0.0
        self.events = 0
        self._queue: list[tuple[float, int, Proc | None, Callable, tuple]] = []
        self._seq = 0
        self.windows: list[Window] = []
        self.healed = False
        self._pids = 1000
        self.exit_notice = EXIT_NOTICE
        self.eof_delay = EOF_DELAY
        self._signer = core.wire.Signer(b"sim" * 11)  # frames are signed and checked as on a real link
        self.manager = SimManager(self, Proc("manager", 0.0))
        self.workers = self.manager.workers  # the root manager's: faults name these
        self.everyone: list[Any] = []  # every worker at every level
        self.task_fifo: dict[tuple[int, str], float] = {}
        self.disrupted: dict[int, list[tuple[float, float]]] = {}  # root worker -> spans its heartbeats were disturbed

    def new_pid(self) -> int:
        self._pids += 1
        return self._pids

    def undisturbed(self, manager: Any, worker: Any, start: float, end: float) -> bool:
        """Whether nothing got in the way of ``manager`` and ``worker`` between ``start`` and ``end``: no freeze, no clock
        jump of either process, no fault on the worker's links."""
        procs = [x.proc for x in (manager, worker) if x is not None]
        if worker is not None:
            procs.append(worker.m.proc)
        for proc in procs:
            if any(a <= end and b >= start for a, b in proc.troubles) or (proc.frozen and start <= self.now):
                return False
        if worker is not None and worker.m is self.manager:
            if any(win.worker == worker.id and win.start <= end and win.end >= start for win in self.windows):
                return False
        return True

    # ------------------------------------------------------------ events
    def at(self, t: float, proc: Proc | None, fn: Callable, *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (t, self._seq, proc, fn, args))

    def log(self, actor: str, what: str) -> None:
        if self.tracing:
            self.lines.append(f"{self.now:10.6f}  {actor:<8} {what}")

    def fail(self, invariant: str, detail: str) -> None:
        self.log("VIOLATE", f"{invariant}: {detail}")
        raise Violation(invariant, detail, self.now)

    def run(self) -> None:
        for op in self.scenario.ops:
            self.at(op.at, None, self._op, op)
        self.at(self.s.horizon, None, self._heal)
        limit = self.s.horizon + max(self.s.start_timeout, 4 * self.s.timeout) + 12.0
        queue = self._queue
        while queue:
            t, _, proc, fn, args = heapq.heappop(queue)
            if t > limit:
                break
            self.now = t
            if proc is not None:
                if not proc.alive:
                    continue
                if proc.frozen:
                    proc.deferred.append((fn, args))
                    continue
            self.events += 1
            try:
                fn(*args)
            except self.core.LifecycleError as exc:
                self.fail("lifecycle", str(exc))
            if self.healed and self._quiet():
                break
        self._final()

    def _quiet(self) -> bool:
        """After the heal: nothing left that could still change the verdict."""
        m = self.manager
        if m.proc.alive:
            exiting = any(rec.state.value == "exiting" for rec in m.session.workers.values())
            return not m.session.is_busy() and not m.inbox and not exiting and not m.cleanup_pending and not m.driver.keeper
        return not any(w.proc.alive for w in self.everyone)

    # ---------------------------------------------------------- processes
    def freeze(self, proc: Proc, span: float) -> None:
        if not proc.alive or proc.frozen:
            return
        proc.frozen = True
        proc.troubles.append((self.now, float("inf")))
        self.log(proc.name, f"frozen for {span:.3f} s")
        hosted = proc.worker.nested if proc.worker is not None else None
        if hosted is not None:  # the manager it runs is frozen with it
            hosted.went_silent()
        self.at(self.now + span, None, self.resume, proc)

    def resume(self, proc: Proc) -> None:
        if not proc.frozen:
            return
        proc.frozen = False
        proc.awake_since = self.now
        proc.troubles[-1] = (proc.troubles[-1][0], self.now)
        self.log(proc.name, "resumed")
        deferred, proc.deferred = proc.deferred, []
        for fn, args in deferred:
            self.at(self.now, proc, fn, *args)
        worker = proc.worker
        managers = [self.manager] if worker is None else [worker.nested] if worker.nested is not None else []
        if worker is not None:
            worker.m.check_orphan_later(worker)
        for m in managers:
            for w in m.workers.values():
                w.manager_silent_since = None

    # ----------------------------------------------------------- network
    def carried(self, messages: list, dones: bool = False, tasks: bool = False) -> list:
        """``messages`` as the other end reads them: encoded into one frame and decoded, as the real ports do, so
        that a peer meets the wire's classes whatever the sender keeps (the manager's tasks are its own records).
        ``dones``: a worker's, to a manager that takes ``dones`` (as the reference's manager does); ``tasks``: a
        manager's, to a worker that said in its hello that it takes ``tasks``."""
        wire = self.core.wire
        frame = wire.encode_many(self._signer, messages, dones, tasks)
        decoded = wire.decode(self._signer, *frame) if frame.__class__ is tuple else wire.decode(self._signer, frame)
        for msg in decoded:  # a lone message's payload is a view of its frame: the simulated peers keep bytes
            if msg.payload.__class__ is memoryview:
                msg.payload = bytes(msg.payload)
        return decoded

    def dones_in(self, messages: list) -> list[tuple[int, bytes]]:
        """(task, payload) of each done among ``messages``, sent one by one or as ``dones``."""
        wire = self.core.wire
        found: list[tuple[int, bytes]] = []
        for msg in messages:
            if msg.__class__ is wire.Done:
                found.append((msg.t, msg.payload))
            elif msg.__class__ is wire.Dones:
                found += zip(msg.ts, msg.payloads, strict=True)
        return found

    @staticmethod
    def frame_kind(messages: list) -> str:
        """A task channel frame's kind for the faults: its messages' one kind, or "mixed" (never duplicated: only
        tasks and dones are recognised when they come twice)."""
        kinds = {m.kind for m in messages}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def send(self, channel: str, direction: str, worker: Any, deliver: Callable, *args: Any, kind: str = "") -> float | None:
        """Put a frame on the link of ``worker`` and its manager: "out" is manager to worker, "in" the other way.

        Returns when it will arrive (None: it is lost).
        """
        dest = worker.proc if direction == "out" else worker.m.proc
        delay = self.s.latency
        copies = 1
        wid = worker.id
        windows = self.windows if worker.m is self.manager else ()  # faults name the root's workers
        for win in windows:
            if not win.covers(channel, direction, wid, self.now):
                continue
            if win.kind == "partition":
                if channel != "task":
                    self.log("net", f"{channel} {direction} w{wid}: lost in a partition")
                    return None
                delay = max(delay, win.end - self.now + self.s.latency)
            elif win.kind == "drop" and win.rng.random() < win.p:
                self.log("net", f"{channel} {direction} w{wid} {kind}: dropped")
                return None
            elif win.kind == "delay":
                delay += win.rng.uniform(0, win.p)
            elif win.kind == "duplicate" and win.rng.random() < win.p and (channel != "task" or kind in ("task", "done", "dones")):
                copies = 2
        t = self.now + delay
        if channel == "task":  # a socket pair keeps order
            key = (id(worker), direction)
            t = max(t, self.task_fifo.get(key, 0.0))
            self.task_fifo[key] = t
        for i in range(copies):
            self.at(t + i * self.s.latency, dest, deliver, *args)
        return t

    # ---------------------------------------------------------------- ops
    def _op(self, op: Op) -> None:
        if self.tracing:
            self.log("op", str(op).strip())
        m = self.manager
        kind, args = op.kind, op.args
        if kind in ("start", "submit", "abort", "send", "stop", "busy"):
            if m.proc.alive:
                self.at(self.now, m.proc, m.user_op, op)
        elif kind == "crash_worker":
            w = self.workers.get(args[0])
            if w is not None:
                w.die(-9, "crashed")
        elif kind == "crash_manager":
            m.crash()
        elif kind == "freeze_worker":
            w = self.workers.get(args[0])
            if w is not None and w.proc.alive:
                self._disturb(args[0], self.now, self.now + args[1])
                self.freeze(w.proc, args[1])
        elif kind == "freeze_manager":
            if m.proc.alive and not m.proc.frozen:
                m.went_silent()
                self.freeze(m.proc, args[0])
        elif kind in ("drop", "delay", "duplicate"):
            if kind == "drop":
                channel, direction, wid, span, p = args
            else:
                channel, wid, span, p = args
                direction = "both"
            self.windows.append(Window(kind, channel, direction, wid, self.now, self.now + span, p, op.seed))
            if channel in ("beat", "echo"):
                self._disturb(wid, self.now, self.now + span)
        elif kind == "partition":
            wid, span = args
            self.windows.append(Window("partition", "*", "both", wid, self.now, self.now + span, 1.0, 0))
            self._disturb(wid, self.now, self.now + span)
            w = self.workers.get(wid)
            if w is not None:
                w.manager_silent_since = self.now
                m.check_orphan_later(w)
                self.at(self.now + span, None, self._unpartition, w)
        elif kind == "clock_jump":
            who, delta = args
            proc = m.proc if who == "manager" else (self.workers[who].proc if who in self.workers else None)
            if proc is not None:
                proc.offset += delta
                proc.troubles.append((self.now, self.now))
                self.log(proc.name, f"clock jumps {delta:.3f} s")
                if proc is not m.proc:  # to the worker this looks like a stall: its wait for the manager restarts
                    proc.awake_since = self.now
                    m.check_orphan_later(self.workers[who])
                    self._disturb(who, self.now, self.now)
                else:  # every worker seems silent for longer by delta
                    for wid in self.workers:
                        self._disturb(wid, self.now, self.now)

    def _unpartition(self, w: Any) -> None:
        if not self.manager.proc.frozen:
            w.manager_silent_since = None

    def _disturb(self, wid: int, start: float, end: float) -> None:
        self.disrupted.setdefault(wid, []).append((start, end))

    def _heal(self) -> None:
        """The end of the fault schedule: every process resumes, every window closes; then the work must drain."""
        self.log("heal", "every fault ends")
        self.healed = True
        for win in self.windows:
            if win.end > self.now:
                win.end = self.now
        for proc in [self.manager.proc] + [w.proc for w in self.everyone]:
            if proc.frozen:
                self.resume(proc)
        for w in self.everyone:
            w.manager_silent_since = None
        m = self.manager
        if m.proc.alive:
            m.cleanup_pending = True
            self.at(self.now, m.proc, m.cleanup)

    # ------------------------------------------------------------- final
    def _final(self) -> None:
        m = self.manager
        if m.proc.alive:
            if m.proc.frozen:
                return
            if m.session.is_busy():
                self.fail("every-task-ends", f"isBusy() is still true {self.now - self.s.horizon:.1f} s after the heal")
            m.account()
        else:
            left = [w.proc.name for w in self.everyone if w.proc.alive]
            if left:
                self.fail("orphans-exit", f"workers {left} outlived their dead manager")
