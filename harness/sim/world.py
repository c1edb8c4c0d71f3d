"""The simulated world: one manager and its workers on a virtual clock and an in-memory network.

It drives the implementation's sans-I/O core (``promp.core`` by default; see
its docstring for the interface) the way the real shells do:

* the manager process has a user's thread (runs the workload, reads the task
  channel, settles exits, takes results), a keeper (ticks the core at its
  deadlines, takes heartbeat echoes and process exits) and an echo proxy;
* each worker process has a main thread (runs tasks one at a time, in order),
  a control thread (ticks its core, takes echoes and aborts) and an echo proxy;
  a task may run a manager of its own (``SimManager`` hosted in the worker's
  process), whose workers are one level down and die or freeze with their host;
* channels between them: the task channel both ways (reliable and ordered
  while both ends live, as a ZeroMQ socket pair is), heartbeats both ways
  (each ping echoed by the peer's proxy), control (aborts), the exit notice
  of a worker process, and the parent-alive pipe.

Time only moves from one event to the next, so an hour of heartbeats costs
milliseconds.  Faults come from the scenario: frames dropped, delayed (and so
reordered, except on the task channel), duplicated; processes crashed,
frozen (SIGSTOP: every thread stops, events wait for the resume) and resumed;
partitions that heal (heartbeats and control lost, task frames held back);
clocks that jump forward.  Invariants (``INVARIANTS``) are checked as the run
goes and after a final heal; the first one broken ends the run.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .scenario import Op, Scenario

INVARIANTS = {
    "at-most-once": "a task runs at most once",
    "every-task-ends": "every task ends with its result, an error value or a reported worker death; isBusy() turns false",
    "result-kept": "a result that reached the manager before the worker's exit was final is the task's result",
    "order": "results, messages and output of one worker arrive in the order it produced them; none is duplicated",
    "abort-aims": "an abort touches only the task it named",
    "orphans-exit": "a worker whose manager is gone (dead, frozen, cut off) exits within the heartbeat timeout",
    "live-not-killed": "a worker that is alive and answering heartbeats is never declared dead",
    "no-task-to-dead": "no task is sent to a worker whose exit the manager has seen",
    "stop-runs-queued": "a worker stopped by stopWorker runs the tasks given to it before the stop",
    "no-spin": "after a tick, the next deadline is in the future (a loop never spins)",
    "lifecycle": "the core never makes an illegal transition",
}

EXIT_NOTICE = 0.0005  # a pidfd turns readable this long after the process is gone
EOF_DELAY = 0.0005  # a worker sees EOF on the alive pipe this long after its manager died
SLACK = 0.05


class Violation(Exception):
    def __init__(self, invariant: str, detail: str, at: float) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail
        self.at = at


class Proc:
    """A process: alive or not, frozen or not, with its own monotonic clock offset."""

    def when(self, local: float) -> float:
        """The simulated time at which this process's clock reads ``local`` (or just after: floats round)."""
        at = local - self.offset
        while at + self.offset < local:
            at = math.nextafter(at, math.inf)
        return at

    __slots__ = ("name", "alive", "frozen", "deferred", "offset", "awake_since", "worker")

    def __init__(self, name: str, now: float, worker: SimWorker | None = None) -> None:
        self.name = name
        self.worker = worker  # the worker this process is (None: the root manager's process)
        self.alive = True
        self.frozen = False
        self.deferred: list[tuple[Callable, tuple]] = []
        self.offset = 0.0
        self.awake_since = now


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
        self.manager = SimManager(self, Proc("manager", 0.0))
        self.workers = self.manager.workers  # the root manager's: faults name these
        self.everyone: list[SimWorker] = []  # every worker at every level
        self.task_fifo: dict[tuple[int, str], float] = {}
        self.disrupted: dict[int, list[tuple[float, float]]] = {}  # root worker -> spans its heartbeats were disturbed

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
            return not m.core.is_busy() and not m.inbox and m.core.settle_at() is None and not m.cleanup_pending
        return not any(w.proc.alive for w in self.everyone)

    # ---------------------------------------------------------- processes
    def freeze(self, proc: Proc, span: float) -> None:
        if not proc.alive or proc.frozen:
            return
        proc.frozen = True
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
    def send(self, channel: str, direction: str, worker: SimWorker, deliver: Callable, *args: Any, kind: str = "") -> None:
        """Put a frame on the link of ``worker`` and its manager: "out" is manager to worker, "in" the other way."""
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
                    return
                delay = max(delay, win.end - self.now + self.s.latency)
            elif win.kind == "drop" and win.rng.random() < win.p:
                self.log("net", f"{channel} {direction} w{wid} {kind}: dropped")
                return
            elif win.kind == "delay":
                delay += win.rng.uniform(0, win.p)
            elif win.kind == "duplicate" and win.rng.random() < win.p and (channel != "task" or kind in ("task", "done")):
                copies = 2
        t = self.now + delay
        if channel == "task":  # a socket pair keeps order
            key = (id(worker), direction)
            t = max(t, self.task_fifo.get(key, 0.0))
            self.task_fifo[key] = t
        for i in range(copies):
            self.at(t + i * self.s.latency, dest, deliver, *args)

    # ---------------------------------------------------------------- ops
    def _op(self, op: Op) -> None:
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
                self.log(proc.name, f"clock jumps {delta:.3f} s")
                if proc is not m.proc:  # to the worker this looks like a stall: its wait for the manager restarts
                    proc.awake_since = self.now
                    m.check_orphan_later(self.workers[who])
                    self._disturb(who, self.now, self.now)
                else:  # every worker seems silent for longer by delta
                    for wid in self.workers:
                        self._disturb(wid, self.now, self.now)

    def _unpartition(self, w: SimWorker) -> None:
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
            if m.core.is_busy():
                self.fail("every-task-ends", f"isBusy() is still true {self.now - self.s.horizon:.1f} s after the heal")
            m.account()
        else:
            left = [w.proc.name for w in self.everyone if w.proc.alive]
            if left:
                self.fail("orphans-exit", f"workers {left} outlived their dead manager")


class SimManager:
    """The manager process: user's thread, keeper and echo proxy around one ``ManagerSession``."""

    def __init__(self, world: World, proc: Proc, host: SimWorker | None = None) -> None:
        self.w = world
        s = world.s
        self.proc = proc  # its own process, or the worker it runs in (a nested manager)
        self.host = host
        self.closed = False
        self.workers: dict[int, SimWorker] = {}
        self.core = world.core.ManagerSession(
            heartbeat_interval=s.interval,
            heartbeat_timeout=s.timeout,
            exit_grace=s.exit_grace,
            stop_grace=s.stop_grace,
            start_timeout=s.start_timeout,
        )
        self.inbox: deque[tuple] = deque()
        self.busy_until = 0.0
        self.pump_at: float | None = None
        self.keeper_at: float | None = None
        self.cleanup_pending = False
        self.exit_seen: set[int] = set()
        self.expected_results = 0
        self.results: list[tuple[int, Any]] = []
        self.dones_read: dict[int, tuple[int, Any]] = {}  # task -> (worker, value) handed to on_done before its exit was final
        self.gone: set[int] = set()
        self.abort_named: dict[int, set[int]] = {}  # worker -> tasks an abort has named
        self.messages_in: dict[int, list[int]] = {}
        self.output_in: dict[int, list[int]] = {}
        self.msg_seq = 0
        self.label = 0
        self.by_id: dict[int, list[int]] = {}  # worker -> labels of the tasks given to it by id
        self.stopped_at: dict[int, int] = {}  # worker -> how many of those came before stopWorker

    def local(self) -> float:
        return self.w.now + self.proc.offset

    # ---------------------------------------------------------- the user
    def user_op(self, op: Op) -> None:
        core, now, args = self.core, self.local(), op.args
        if op.kind == "busy":
            self.busy_until = max(self.busy_until, self.w.now + args[0])
            return
        if op.kind == "start":
            wid = core.add_worker(now)
            worker = SimWorker(self.w, self, wid, args[1] if wid == args[0] else 0.1, hangs=args[2] and wid == args[0])
            self.workers[wid] = worker
            self.w.everyone.append(worker)
            worker.spawn()
            self.schedule_keeper()
            return
        try:
            if op.kind == "submit":
                target, kind, program, want = args
                target = {"any": self.w.core.ProWorker_Any, "all": self.w.core.ProWorker_All}.get(target, target)
                takers = sum(1 for rec in core.workers.values() if rec.state.value in ("starting", "ready"))
                self.label += 1
                actions = core.submit(target, {"op": "sim", "prog": program, "kind": kind, "label": self.label}, b"", want, now)
                if want:
                    self.expected_results += takers if target == self.w.core.ProWorker_All else 1
                if target > 0:
                    self.by_id.setdefault(target, []).append(self.label)
            elif op.kind == "abort":
                target = self.w.core.ProWorker_All if args[0] == "all" else args[0]
                actions = core.abort(target, args[1], now)
            elif op.kind == "send":
                target = self.w.core.ProWorker_All if args[0] == "all" else args[0]
                self.msg_seq += 1
                actions = core.send_message(target, 1, self.msg_seq)
            else:  # stop
                actions = core.stop_worker(args[0], now)
                self.stopped_at[args[0]] = len(self.by_id.get(args[0], ()))
        except (self.w.core.ProWorkerExited, ValueError) as exc:
            self.w.log("user", f"{op.kind} refused: {exc}")
            return
        self.perform(actions)
        self.schedule_keeper()

    def cleanup(self) -> None:
        """After the heal: tasks that never end are aborted, so that the run can drain."""
        if self.core.is_busy():
            self.perform(self.core.abort(self.w.core.ProWorker_All, 300, self.local()))
            self.schedule_keeper()
            self.w.at(self.w.now + 1.0, self.proc, self.cleanup)
        else:
            self.cleanup_pending = False

    def request_pump(self) -> None:
        at = max(self.w.now, self.busy_until) + (self.w.s.pump or 0.00002)
        if self.pump_at is None or at < self.pump_at:
            self.pump_at = at
            self.w.at(at, self.proc, self.pump, at)

    def pump(self, at: float) -> None:
        if at != self.pump_at or self.closed:
            return
        self.pump_at = None
        if self.w.now < self.busy_until:
            self.request_pump()
            return
        core, now = self.core, self.local()
        actions: list = []
        while self.inbox:
            wid, kind, head, payload = self.inbox.popleft()
            if kind == "hello":
                actions += core.on_hello(wid, 1000 + wid, now)
            elif kind == "done":
                if wid not in self.gone:
                    self.dones_read.setdefault(head["t"], (wid, payload))
                actions += core.on_done(wid, head["t"], payload, head["dt"], now)
            elif kind == "msg":
                actions += core.on_message(wid, payload)
            elif kind == "out":
                self._in_order(self.output_in, wid, payload, "output")
            elif kind == "bye":
                actions += core.on_bye(wid, now)
        actions += core.settle(now)
        self.perform(actions)
        self._collect()
        self.schedule_keeper()
        settle_at = core.settle_at()
        if settle_at is not None:
            at = self.proc.when(settle_at)
            if self.pump_at is None or at < self.pump_at:
                self.pump_at = at
                self.w.at(at, self.proc, self.pump, at)

    def _collect(self) -> None:
        core = self.core
        for wid in [0, *core.workers]:
            while core.has_results(wid):
                self.results.append((wid, core.take_result(wid)))
            while core.messages.has(wid):
                self._in_order(self.messages_in, wid, core.messages.take(wid), "message")

    def _in_order(self, seen: dict[int, list[int]], wid: int, seq: int, what: str) -> None:
        got = seen.setdefault(wid, [])
        if got and seq <= got[-1]:
            self.w.fail("order", f"{what} {seq} from worker {wid} came after {got[-1]}")
        got.append(seq)

    # -------------------------------------------------------------- wire
    def deliver(self, wid: int, kind: str, head: dict, payload: Any) -> None:
        """A frame arrives on the task socket; the user's thread reads it."""
        if kind == "hello":
            self.workers[wid].hello_arrived = True
        self.inbox.append((wid, kind, head, payload))
        self.request_pump()

    def perform(self, actions: list) -> None:
        c = self.w.core
        for action in actions:
            if isinstance(action, c.Send):
                head = action.header
                wid = action.worker
                if head["k"] == "task":
                    if wid in self.exit_seen:
                        self.w.fail("no-task-to-dead", f"task {head['t']} sent to worker {wid}, whose exit was seen")
                    self.w.log("manager", f"task {head['t']} ({head['kind']}) -> w{wid}")
                worker = self.workers[wid]
                self.w.send("task", "out", worker, worker.deliver, head, action.payload, kind=head["k"])
            elif isinstance(action, c.Ping):
                worker = self.workers[action.worker]
                self.w.send("beat", "out", worker, worker.echo_ping, kind="ping")
            elif isinstance(action, c.Control):
                self.abort_named.setdefault(action.worker, set()).add(action.header["t"])
                worker = self.workers[action.worker]
                self.w.log(self.proc.name, f"abort task {action.header['t']} on {worker.proc.name} ({action.header['ms']} ms)")
                self.w.send("ctrl", "out", worker, worker.on_control, action.header, kind="abort")
            elif isinstance(action, c.Kill):
                self._kill(action)
            elif isinstance(action, c.WorkerGone):
                self._gone(action)
            elif isinstance(action, c.ReadThrough):
                self.request_pump()

    def _kill(self, kill: Any) -> None:
        wid, reason = kill.worker, kill.reason
        worker = self.workers[wid]
        self.w.log(self.proc.name, f"kills {worker.proc.name}: {reason}")
        if "heartbeat" in reason and worker.proc.alive:
            window = self.w.s.timeout + 2 * self.w.s.interval + SLACK
            spans = self.w.disrupted.get(wid, ()) if self.host is None else ()
            recent = [(a, b) for a, b in spans if b >= self.w.now - window]
            slow_start = self.w.now - worker.spawned_at < worker.boot + self.w.s.interval + SLACK  # no ping reached it yet
            if not recent and not slow_start:
                self.w.fail("live-not-killed", f"worker {wid} was killed ({reason}) though nothing disturbed its heartbeats")
        if "start" in reason and worker.hello_arrived:
            self.w.fail("live-not-killed", f"worker {wid} was killed ({reason}) though its hello had arrived")
        self.w.at(self.w.now + 0.0002, None, worker.die, -9, "killed by its manager")

    def _gone(self, gone: Any) -> None:
        worker = self.workers[gone.worker]
        self.gone.add(gone.worker)
        self.w.log("manager", f"w{gone.worker} gone: {gone.reason}, {gone.failed_tasks} task(s) failed")
        if worker.exit_why == "stopped":
            given = self.by_id.get(gone.worker, [])[: self.stopped_at.get(gone.worker, 0)]
            skipped = [label for label in given if label not in worker.ran_labels]
            if skipped:
                detail = f"worker {gone.worker} was stopped cleanly without running tasks {skipped} given before the stop"
                self.w.fail("stop-runs-queued", detail)

    # ------------------------------------------------------------ keeper
    def schedule_keeper(self) -> None:
        if self.closed:
            return
        deadline = self.core.next_deadline()
        if deadline is None:
            return
        at = self.proc.when(deadline)
        if self.keeper_at is None or at < self.keeper_at:
            self.keeper_at = at
            self.w.at(max(at, self.w.now), self.proc, self.keeper, at)

    def keeper(self, at: float) -> None:
        if at != self.keeper_at or self.closed:
            return
        self.keeper_at = None
        now = self.local()
        self.perform(self.core.tick(now))
        deadline = self.core.next_deadline()
        if deadline is not None and deadline <= now:
            self.w.fail("no-spin", f"the manager's next deadline {deadline:.6f} is not after the tick at {now:.6f}")
        self.schedule_keeper()

    def on_echo(self, wid: int) -> None:
        self.perform(self.core.on_echo(wid, self.local()))

    def echo_ping(self, wid: int) -> None:
        """The manager's echo proxy answers a worker's ping."""
        worker = self.workers[wid]
        self.w.send("echo", "out", worker, worker.on_echo, kind="echo")

    def on_exit(self, wid: int, code: int) -> None:
        self.w.log("manager", f"sees w{wid} exit with {code}")
        self.exit_seen.add(wid)
        self.perform(self.core.on_exit(wid, code, self.local()))
        self.request_pump()
        self.schedule_keeper()

    # ------------------------------------------------------------ faults
    def went_silent(self) -> None:
        """This manager's process froze: its workers' wait for it starts now."""
        for worker in self.workers.values():
            worker.manager_silent_since = self.w.now
            self.check_orphan_later(worker)

    def crash(self, closed: bool = False) -> None:
        """Its process died (or, ``closed``, it ended its workers): they see EOF on the alive pipe."""
        if self.host is None:
            if not self.proc.alive:
                return
            self.proc.alive = False
        self.closed = True
        self.w.log(self.proc.name, "closes its manager" if closed else "crashes")
        for worker in self.workers.values():
            worker.manager_dead_at = self.w.now
            self.w.at(self.w.now + EOF_DELAY, worker.proc, worker.die, self.w.core.EXIT_MANAGER_GONE, "alive pipe EOF")
            self.check_orphan_later(worker)

    def check_orphan_later(self, worker: SimWorker) -> None:
        """Schedule the check that ``worker`` left its gone manager in time."""
        s = self.w.s
        if worker.hangs:
            return  # it never got as far as watching its manager: its manager's start timeout is what ends it
        watching = max(worker.proc.awake_since, worker.spawned_at + worker.boot)  # its control thread runs from boot
        if worker.manager_dead_at is not None:
            due = max(worker.manager_dead_at, watching) + EOF_DELAY + SLACK
        elif worker.manager_silent_since is not None:
            since = worker.manager_silent_since
            # an echo sent just before the manager went silent may arrive late, on a slow link
            slow = [win.p for win in self.w.windows if win.kind == "delay" and win.covers("echo", "out", worker.id, since)]
            late = max(slow, default=0.0)
            # its first own ping goes 1.5 intervals after the last ping it heard from its manager at worst
            due = max(since, watching) + late + s.timeout + 1.5 * s.interval + 2 * s.latency + SLACK
        else:
            return
        self.w.at(due, None, self._orphan_check, worker, worker.proc.awake_since, worker.manager_silent_since, worker.manager_dead_at)

    def _orphan_check(self, worker: SimWorker, awake_since: float, silent_since: float | None, dead_at: float | None) -> None:
        """Fail if ``worker`` still runs: its manager died at ``dead_at``, or has been silent since ``silent_since``.

        A check made for a silence that has ended since passes, even if the manager died meanwhile
        (that death scheduled its own, sooner, check).
        """
        proc = worker.proc
        if not proc.alive or proc.frozen or proc.awake_since != awake_since:
            return
        if dead_at is None and (worker.manager_silent_since is None or worker.manager_silent_since != silent_since):
            return
        self.w.fail("orphans-exit", f"worker {worker.id} is still running although its manager is gone")

    # ------------------------------------------------------------- final
    def account(self) -> None:
        """Every wanted task has exactly one result, each from where it ran, in order per worker."""
        err_type = self.w.core.ProMPRemoteError
        if len(self.results) != self.expected_results:
            self.w.fail("every-task-ends", f"{self.expected_results} results wanted, {len(self.results)} came")
        seen: set[int] = set()
        last_position: dict[int, int] = {}
        for wid, value in self.results:
            if isinstance(value, err_type):
                continue
            _, task, ran_on = value
            if task in seen:
                self.w.fail("order", f"the result of task {task} came twice")
            seen.add(task)
            worker = self.workers[ran_on]
            position = worker.ran.index(task) if task in worker.ran else -1
            if ran_on != wid or position < 0:
                self.w.fail("every-task-ends", f"a result names task {task} on worker {ran_on}, which did not run it")
            if position < last_position.get(wid, -1):
                self.w.fail("order", f"worker {wid}: the result of task {task} came after a later task's")
            last_position[wid] = position
        for task, (wid, value) in self.dones_read.items():
            if value is not None and task not in seen and not (isinstance(value, tuple) and value[0] == "err"):
                self.w.fail("result-kept", f"task {task}'s result reached the manager before worker {wid}'s exit was final, and was lost")
        for wid, worker in self.workers.items():
            got = self.messages_in.get(wid, [])
            if got != worker.messages_sent[: len(got)]:
                self.w.fail("order", f"worker {wid} sent messages {worker.messages_sent}, the manager got {got}")


class SimWorker:
    """A worker process: main thread, control thread and echo proxy around one ``WorkerSession``."""

    def __init__(self, world: World, manager: SimManager, wid: int, boot: float, hangs: bool = False) -> None:
        self.w = world
        self.m = manager
        self.id = wid
        self.boot = boot
        self.hangs = hangs
        self.echo_up = False
        name = f"w{wid}" if manager.host is None else f"{manager.host.proc.name}.{wid}"
        self.proc = Proc(name, world.now, self)
        self.nested: SimManager | None = None  # the manager a task of this worker runs, if any
        self.core: Any = None
        self.inbox: deque[tuple[dict, Any]] = deque()
        self.running: dict | None = None
        self.step = 0
        self.token = 0
        self.interruptible = False
        self.control_at: float | None = None
        self.spawned_at = world.now
        self.hello_at: float | None = None
        self.hello_arrived = False
        self.ran: list[int] = []
        self.ran_labels: set[int] = set()
        self.messages_sent: list[int] = []
        self.messages_got: list[int] = []
        self.output = 0
        self.exit_why = ""
        self.manager_dead_at: float | None = None
        self.manager_silent_since: float | None = None

    def local(self) -> float:
        return self.w.now + self.proc.offset

    def spawn(self) -> None:
        self.w.at(self.w.now + self.boot, self.proc, self.booted)

    def booted(self) -> None:
        s = self.w.s
        self.echo_up = True
        if self.hangs:
            self.w.log(self.proc.name, "start-up hangs: its echo proxy answers, it never says hello")
            return
        self.core = self.w.core.WorkerSession(s.interval, s.timeout, self.local())
        self.hello_at = self.w.now
        self.w.log(self.proc.name, "up: hello")
        self.post("hello", {})
        self.schedule_control()

    def post(self, kind: str, head: dict, payload: Any = None) -> None:
        self.w.send("task", "in", self, self.m.deliver, self.id, kind, head, payload, kind=kind)

    # -------------------------------------------------------- main thread
    def deliver(self, head: dict, payload: Any) -> None:
        kind = head["k"]
        if kind == "msg":
            got = self.messages_got
            if got and payload <= got[-1]:
                self.w.fail("order", f"worker {self.id} got message {payload} after {got[-1]}")
            got.append(payload)
            return
        self.inbox.append((head, payload))
        if self.running is None:
            self.next_task()

    def next_task(self) -> None:
        while self.running is None and self.inbox and self.proc.alive:
            head, _ = self.inbox.popleft()
            if head["k"] == "stop":
                self.post("bye", {})
                self.die(0, "stopped")
                return
            task = head["t"]
            if not self.core.begin(task):
                self.w.log(self.proc.name, f"task {task} again: not run")
                continue
            if any(task in w.ran for w in self.m.workers.values()):
                self.w.fail("at-most-once", f"task {task} runs a second time, on worker {self.id}")
            self.ran.append(task)
            self.ran_labels.add(head["label"])
            self.w.log(self.proc.name, f"runs task {task} ({head['kind']})")
            self.running = head
            self.step = 0
            if self.core.has_deadline():
                self.w.at(self.w.now, self.proc, self.control, None)
            self.run_step()

    def run_step(self) -> None:
        head = self.running
        program = head["prog"]
        while self.step < len(program):
            step = program[self.step]
            self.step += 1
            what = step[0]
            if what == "run":
                self.token += 1
                self.interruptible = step[2]
                self.w.at(self.w.now + step[1], self.proc, self._step_done, self.token)
                return
            if what == "nest":  # the task runs a manager of its own: workers one level down, tasks for them
                self.nested = nested = SimManager(self.w, self.proc, host=self)
                self.w.log(self.proc.name, f"starts a manager with {step[1]} worker(s)")
                for i in range(step[1]):
                    nested.user_op(Op(self.w.now, "start", (i + 1, 0.1, False)))
                for _ in range(step[2]):
                    nested.user_op(Op(self.w.now, "submit", ("any", "quick", (("run", 0.002, True),), True)))
                self.token += 1
                self.interruptible = True
                self.w.at(self.w.now + 0.01, self.proc, self._nest_wait, self.token)
                return
            if what == "poll":
                self.token += 1
                self.interruptible = True
                self.w.at(self.w.now + 0.01, self.proc, self._poll, self.token, self.w.now + step[1])
                return
            if what == "print":
                for _ in range(step[1]):
                    self.output += 1
                    self.post("out", {}, self.output)
            elif what == "msg":
                for _ in range(step[1]):
                    seq = len(self.messages_sent) + 1
                    self.messages_sent.append(seq)
                    self.post("msg", {"id": 2}, seq)
            elif what == "progress":
                self.post("wait", {"op": "progress"}, step[1])
            elif what == "raise":
                self.finish(False)
                return
            elif what == "exit":
                self.finish(True, then_next=False)
                self.post("bye", {})
                self.die(step[1], "sys.exit")
                return
            elif what == "crash":
                self.die(-11, "segfault")
                return
        self.finish(True)

    def _step_done(self, token: int) -> None:
        if token == self.token and self.running is not None:
            self.run_step()

    def _nest_wait(self, token: int) -> None:
        """The task's own loop: process messages until its manager has no work left."""
        if token != self.token or self.running is None:
            return
        if self.nested.core.is_busy():
            self.w.at(self.w.now + 0.01, self.proc, self._nest_wait, token)
        else:
            self.run_step()

    def _poll(self, token: int, until: float) -> None:
        if token != self.token or self.running is None:
            return
        if self.core.was_aborted():
            self._aimed(self.running["t"], "saw wasAborted()")
            self.finish(True)
        elif self.w.now >= until:
            self.run_step()
        else:
            self.w.at(self.w.now + 0.01, self.proc, self._poll, token, until)

    def finish(self, ok: bool, why: str = "", then_next: bool = True) -> None:
        head = self.running
        task = head["t"]
        self.token += 1
        self.running = None
        if self.nested is not None:  # the task's manager ends with it: its workers see EOF
            self.nested.crash(closed=True)
            self.nested = None
        self.core.end(task)
        value = (("ok" if ok else "err"), task, self.id) if head["want"] else None
        self.w.log(self.proc.name, f"task {task} ends {'ok' if ok else 'with an error'}{why}")
        self.post("done", {"t": task, "ok": ok, "dt": 0.0001}, value)
        if then_next:
            self.next_task()

    def _aimed(self, task: int, what: str) -> None:
        if task not in self.m.abort_named.get(self.id, ()):
            self.w.fail("abort-aims", f"task {task} on worker {self.id} {what}, but no abort named it")

    # ----------------------------------------------------- control thread
    def schedule_control(self) -> None:
        at = self.proc.when(self.core.next_deadline())
        if self.control_at is None or at < self.control_at:
            self.control_at = at
            self.w.at(max(at, self.w.now), self.proc, self.control, at)

    def control(self, at: float | None) -> None:
        if at is not None:
            if at != self.control_at:
                return
            self.control_at = None
        now = self.local()
        c = self.w.core
        for action in self.core.tick(now):
            if action == c.PING:
                self.w.send("echo", "in", self, self.m.echo_ping, self.id, kind="ping")
            elif isinstance(action, c.Interrupt):
                running = self.running["t"] if self.running else None
                if action.task != running:
                    self.w.fail("abort-aims", f"worker {self.id} interrupts task {action.task} while {running} runs")
                self._aimed(action.task, "was interrupted")
                if self.interruptible:
                    self.finish(False, " (ProMPAborted)")
            elif isinstance(action, c.Exit):
                if action.code == c.EXIT_ABORTED and self.running is not None:
                    self._aimed(self.running["t"], "ended the worker")
                self.die(action.code, action.reason)
                return
        if self.core.next_deadline() <= now:
            self.w.fail("no-spin", f"worker {self.id}'s next deadline is not after its tick at {now:.6f}")
        self.schedule_control()

    def on_echo(self) -> None:
        self.core.on_echo(self.local())
        self.schedule_control()

    def on_control(self, head: dict) -> None:
        if self.core is None:
            return  # not connected yet: the frame is dropped, as a ROUTER drops it
        self.core.on_abort(head["t"], head["ms"], self.local())
        self.schedule_control()

    def echo_ping(self) -> None:
        """The worker's echo proxy answers the manager's ping, and tells the control thread it came."""
        if not self.echo_up:
            return  # not up yet
        self.w.send("beat", "in", self, self.m.on_echo, self.id, kind="echo")
        if self.core is not None:
            self.core.on_manager_ping(self.local())
            self.schedule_control()

    # --------------------------------------------------------------- end
    def die(self, code: int, why: str) -> None:
        proc = self.proc
        if not proc.alive:
            return
        proc.alive = False
        proc.frozen = False
        self.exit_why = why
        self.running = None
        self.w.log(proc.name, f"exits with {code}: {why}")
        if self.nested is not None:  # the manager it ran died with it
            self.nested.crash()
        m = self.m
        self.w.at(self.w.now + EXIT_NOTICE, m.proc, m.on_exit, self.id, code)
