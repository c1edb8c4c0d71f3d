"""A simulated manager: the implementation's own driver and executors, on fake sockets, pipes and processes.

The manager process has a user's thread (runs the workload: the user's calls through its
``UserExecutor``, and ``pump`` when frames come or it is woken), a keeper (``KeeperExecutor.step``
at its deadlines and when something happens: an echo, an exit, a connection's end, a pipe to read)
and an echo proxy.  What it decides is the implementation's; this class is the ``ManagerPort``
they perform through (frames go out on the simulated network, kills end simulated processes), the
workload, and the record of what the user saw.  A task may run a manager of its own: a
``SimManager`` hosted in a worker's process, whose workers are one level down.

The invariants it judges are stated against what happened in the simulated world (which task ran
where and when, what it printed and returned, when a frame reached a process, which task a worker
was running when an abort was called), never against the core's own records.
"""

from __future__ import annotations

import io
from collections import deque
from contextlib import nullcontext
from typing import Any

import msgpack

from .proc import SLACK, Proc
from .scenario import Op
from .worker import SimWorker

HELD_BYTES = 8  # bytes of output the simulated manager holds in memory before it spools
SPOOL_BYTES = 64  # bytes its spool takes before it refuses
ABORT_REACH = 0.1  # seconds within which an abort nothing got in the way of reaches a running task


class SimManager:
    def __init__(self, world: Any, proc: Proc, host: SimWorker | None = None) -> None:
        self.w = world
        s = world.s
        self.proc = proc  # its own process, or the worker it runs in (a nested manager)
        self.host = host
        self.level = 0 if host is None else host.m.level + 1
        self.closed = False
        self.workers: dict[int, SimWorker] = {}
        core = world.core
        self.session = core.ManagerSession(
            heartbeat_interval=s.interval,
            heartbeat_timeout=s.timeout,
            exit_grace=s.exit_grace,
            stop_grace=s.stop_grace,
            start_timeout=s.start_timeout,
        )
        # tiny output bounds, so that memory, the spool and what neither takes all carry lines in order
        spool = core.Spool(io.BytesIO, at_most=SPOOL_BYTES) if hasattr(core, "Spool") else None
        self.driver = core.ManagerDriver(self.session, spool, HELD_BYTES) if spool else core.ManagerDriver(self.session)
        self.user = core.UserExecutor(self.driver, self)
        self.keeper = core.KeeperExecutor(self.driver, self)
        self.lock = nullcontext()
        self.inbox: deque[tuple[int, list]] = deque()  # frames on the task socket, not read yet
        self.busy_until = 0.0
        self.pump_at: float | None = None
        self.keeper_at: float | None = None
        self.cleanup_pending = False
        # the record of the world
        self.exit_seen: set[int] = set()
        self.gone: dict[int, float] = {}  # worker -> when the user was told its exit is final
        self.expected_results = 0
        self.results: list[tuple[int, Any]] = []
        self.dones_in: dict[int, tuple[int, Any]] = {}  # task -> (worker, payload): done frames that reached this process
        self.aborts: list[tuple[float, int, int]] = []  # (when, target, wait_ms) of each abortOperation
        self.abort_reached: dict[tuple[int, int], list[tuple[float, int]]] = {}  # (worker, task) -> (when, wait_ms), each arrival
        self.dones_read: dict[int, float] = {}  # task -> when its done was read off the task socket
        self.messages_in: dict[int, list[int]] = {}
        self.output_seen: dict[int, list[int]] = {}  # worker -> output lines the user has been given, in order
        self.lines_in: dict[int, int] = {}  # worker -> the last output line the user has been given
        self.submitted: dict[int, tuple[float, int]] = {}  # label -> (when, target)
        self.label = 0
        self.msg_seq = 0
        self.by_id: dict[int, list[int]] = {}  # worker -> labels of the tasks given to it by id
        self.stopped_at: dict[int, tuple[float, int]] = {}  # worker -> (when stopWorker, how many by-id tasks before it)

    def local(self) -> float:
        return self.w.now + self.proc.offset

    def busy(self) -> bool:
        return self.session.is_busy()

    # ------------------------------------------------------------------ the user
    def user_op(self, op: Op) -> None:
        core, now, args = self.w.core, self.local(), op.args
        user, driver = self.user, self.driver
        if op.kind == "busy":
            self.busy_until = max(self.busy_until, self.w.now + args[0])
            return
        if op.kind == "start":
            wid = user.call(driver.add_worker, now)
            worker = SimWorker(self.w, self, wid, args[1] if wid == args[0] else 0.1, hangs=args[2] and wid == args[0])
            self.workers[wid] = worker
            self.w.everyone.append(worker)
            worker.spawn()
            self.schedule_keeper(self.keeper.step())
            return
        try:
            if op.kind == "submit":  # (target, kind, program, want[, count]): count tasks alike, given one after another
                target, kind, program, want = args[:4]
                target = {"any": core.ProWorker_Any, "all": core.ProWorker_All}.get(target, target)
                fields = {"op": "code", "src": repr((kind, program))}  # tasks alike share their code: quick ones pipeline
                for _ in range(args[4] if len(args) > 4 else 1):
                    takers = sum(1 for rec in self.session.workers.values() if rec.state.value in ("starting", "ready"))
                    self.label += 1
                    user.submit(target, fields, msgpack.packb(self.label), want, now)
                    self.submitted[self.label] = (self.w.now, target)
                    if want:
                        self.expected_results += takers if target == core.ProWorker_All else 1
                    if target > 0:
                        self.by_id.setdefault(target, []).append(self.label)
                self._collect()  # what is there already, taken between two calls, as a user may
            elif op.kind == "abort":
                target = core.ProWorker_All if args[0] == "all" else args[0]
                user.call(driver.abort, target, args[1], now)
                self.aborts.append((self.w.now, target, args[1]))
            elif op.kind == "send":
                target = core.ProWorker_All if args[0] == "all" else args[0]
                self.msg_seq += 1
                user.call(driver.send_message, target, 1, str(self.msg_seq).encode())
            else:  # stop
                user.call(driver.stop_worker, args[0], now)
                self.stopped_at[args[0]] = (self.w.now, len(self.by_id.get(args[0], ())))
        except (core.ProWorkerExited, ValueError) as exc:
            self.w.log("user", f"{op.kind} refused: {exc}")

    def cleanup(self) -> None:
        """After the heal: tasks that never end are aborted, so that the run can drain."""
        if self.session.is_busy():
            self.user.call(self.driver.abort, self.w.core.ProWorker_All, 300, self.local())
            self.aborts.append((self.w.now, self.w.core.ProWorker_All, 300))
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
        self.user.pump()
        self._collect()

    def _collect(self) -> None:
        session = self.session
        for wid in [0, *session.workers]:
            while session.has_results(wid):
                value = session.take_result(wid)
                self.results.append((wid, value))
                if isinstance(value, list) and len(value) == 3 and value[0] == "ok":  # ["ok", task, worker]
                    _, task, by = value
                    if self.lines_in.get(by, 0) < self.workers[by].lines_before_done[task]:
                        self.w.fail("order", f"the result of task {task} of worker {by} was seen before the output it printed first")
            while session.messages.has(wid):
                seq = int(session.messages.take(wid).data)
                self._in_order(self.messages_in, wid, seq, "message")
                worker = self.workers[wid]
                if self.lines_in.get(wid, 0) < worker.lines_before_message[seq]:
                    self.w.fail("order", f"message {seq} of worker {wid} was seen before the output it printed first")

    def _in_order(self, seen: dict[int, list[int]], wid: int, seq: int, what: str) -> None:
        got = seen.setdefault(wid, [])
        if got and seq <= got[-1]:
            self.w.fail("order", f"{what} {seq} from worker {wid} came after {got[-1]}")
        got.append(seq)

    # ------------------------------------------------------------ ManagerPort: the user's thread
    def now(self) -> float:
        return self.local()

    def messages(self, first: Any = None):
        while self.inbox:
            yield self.message()

    def message(self):
        if not self.inbox:
            return None
        wid, messages = self.inbox.popleft()
        for task, _payload in self.w.dones_in(messages):
            self.dones_read.setdefault(task, self.w.now)
        return wid, messages

    def read_ahead_done(self, read: bool) -> None:
        if read:  # what it read or held is for the next pump, as it would have been
            self.request_pump()

    def drain(self, wid: int):
        worker = self.workers[wid]
        for data in worker.read_pipe():
            yield 1, data

    def send(self, wid: int, messages: list) -> None:
        worker = self.workers[wid]
        core = self.w.core
        messages = self.w.carried(messages, tasks=worker.takes_tasks)
        for msg in messages:
            if msg.__class__ is core.wire.Task:
                if wid in self.exit_seen:
                    self.w.fail("no-task-to-dead", f"task {msg.t} sent to worker {wid}, whose exit was seen")
                self.w.log(self.proc.name, f"task {msg.t} -> {worker.proc.name}")
        if not worker.connected:  # a ROUTER drops what is for a peer that has not connected
            self.w.log(self.proc.name, f"{[m.kind for m in messages]} for {worker.proc.name} dropped: it is not connected")
            return
        self.w.send("task", "out", worker, worker.deliver, messages, kind=self.w.frame_kind(messages))

    def output(self, chunks: Any) -> None:
        for wid, _stream, data in chunks:
            for line in data.split(b"\n"):
                if line:
                    self._in_order(self.output_seen, wid, int(line), "output line")
            self.lines_in[wid] = self.output_seen.get(wid, [0])[-1]
        if hasattr(chunks, "close"):
            chunks.close()

    def wait_note(self, wid: int, op: str, payload: bytes) -> None:
        self.w.log(self.proc.name, f"wait-object {op} from w{wid}: {msgpack.unpackb(payload)!r}")

    def worker_gone(self, gone: Any) -> None:
        wid = gone.worker
        worker = self.workers[wid]
        self.gone[wid] = self.w.now
        self.w.log(self.proc.name, f"w{wid} gone: {gone.reason}, {gone.failed_tasks} task(s) failed")
        # asked to stop, and gone with code 0 without a kill: a clean stop, whatever made it exit (a task's sys.exit(0) looks the same)
        clean_stop = wid in self.stopped_at and worker.exit_code == 0 and not worker.killed_for
        if gone.expected != clean_stop:
            told = "a clean stop" if gone.expected else f"an unexpected end ({gone.reason})"
            self.w.fail("exit-told-true", f"worker {wid} exited with {worker.exit_code} ({worker.exit_why}), reported as {told}")
        if wid in self.stopped_at:
            _, before = self.stopped_at[wid]
            ran = {worker.labels[t] for t in worker.completed}
            skipped = [label for label in self.by_id.get(wid, [])[:before] if label not in ran]
            if skipped and (clean_stop or "stopWorker" in worker.killed_for):
                detail = f"worker {wid} ended by its stop ({worker.exit_why}) without running tasks {skipped} given before it"
                self.w.fail("stop-runs-queued", detail)

    def ignored(self, wid: int, reason: str) -> None:
        self.w.log(self.proc.name, f"ignored: {reason}")

    def nudge_keeper(self) -> None:
        self.w.at(self.w.now + 0.00001, self.proc, self.keeper_step, None)

    def give_way(self) -> None:
        """Processors are not simulated: there is nobody to give the processor to."""

    # ------------------------------------------------------------ ManagerPort: the keeper
    def ping(self, wid: int, n: int) -> None:
        worker = self.workers[wid]
        self.w.send("beat", "out", worker, worker.echo_ping, kind="ping")

    def control(self, wid: int, message: Any) -> bool:
        worker = self.workers[wid]
        if not worker.ctrl_connected:
            self.w.log(self.proc.name, f"abort for {worker.proc.name} not delivered: its control connection is not up")
            return False
        self.w.log(self.proc.name, f"abort task {message.t} on {worker.proc.name} ({message.ms} ms)")
        self.w.send("ctrl", "out", worker, worker.on_control, message, kind="abort")
        return True

    def kill(self, wid: int, reason: str) -> None:
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
        if worker.proc.alive:
            worker.killed_for = reason
        self.w.at(self.w.now + 0.0002, None, worker.die, -9, f"killed by its manager: {reason}")

    def release(self, wid: int) -> None:
        worker = self.workers[wid]
        if wid not in self.gone:
            self.w.fail("resources-released", f"worker {wid}'s descriptors were released before its exit was final")
        worker.released = True

    def read_pipe(self, wid: int, stream: int) -> None:
        self.pipe_readable(wid)

    def wake_user(self) -> None:
        self.request_pump()

    # ------------------------------------------------------------ the keeper
    def keeper_step(self, at: float | None, feed: Any = None) -> None:
        if self.closed:
            return
        if at is not None:
            if at != self.keeper_at:
                return
            self.keeper_at = None
        now = self.local()
        deadline = self.keeper.step(feed)
        if deadline is not None and deadline <= now:
            self.w.fail("no-spin", f"the manager's next deadline {deadline:.6f} is not after its step at {now:.6f}")
        self.schedule_keeper(deadline)

    def schedule_keeper(self, deadline: float | None) -> None:
        if self.closed or deadline is None:
            return
        at = self.proc.when(deadline)
        if self.keeper_at is None or at < self.keeper_at:
            self.keeper_at = at
            self.w.at(max(at, self.w.now), self.proc, self.keeper_step, at)

    def on_echo(self, wid: int) -> None:
        self.keeper_step(None, lambda now: self.driver.on_echo(wid, now))

    def echo_ping(self, wid: int) -> None:
        """The manager's echo proxy answers a worker's ping."""
        worker = self.workers[wid]
        self.w.send("echo", "out", worker, worker.on_echo, kind="echo")

    def on_exit(self, wid: int, code: int) -> None:
        """The worker's pidfd turns readable: its pipe is read through, then its exit goes in."""
        self.w.log(self.proc.name, f"sees w{wid} exit with {code}")
        self.exit_seen.add(wid)
        worker = self.workers[wid]

        def feed(now: float) -> None:
            for data in worker.read_pipe():
                self.driver.on_output(wid, 1, data, now)
            self.driver.on_exit(wid, code, now)

        self.keeper_step(None, feed)

    def link(self, wid: int, up: bool) -> None:
        self.keeper_step(None, lambda now: self.driver.on_link(wid, up))

    def pipe_readable(self, wid: int) -> None:
        worker = self.workers[wid]
        worker.pipe_event = False

        def feed(now: float) -> None:
            for data in worker.read_pipe():
                self.driver.on_output(wid, 1, data, now)

        self.keeper_step(None, feed)

    # -------------------------------------------------------------- the wire in
    def deliver(self, wid: int, messages: list) -> None:
        """A frame arrives on the task socket; the user's thread reads it."""
        core = self.w.core
        for msg in messages:
            if msg.__class__ is core.wire.Hello:
                self.workers[wid].hello_arrived = True
                self.workers[wid].takes_tasks = msg.tasks  # what the manager's port learns from it
        if wid not in self.gone:
            for task, payload in self.w.dones_in(messages):
                self.dones_in.setdefault(task, (wid, payload))
        self.inbox.append((wid, messages))
        self.request_pump()

    # ------------------------------------------------------------ aborts, judged by what happened
    def _calls_on(self, worker: SimWorker) -> list[tuple[float, int]]:
        core = self.w.core
        return [(when, wait_ms) for when, target, wait_ms in self.aborts if target in (worker.id, core.ProWorker_All)]

    def _allowed(self, worker: SimWorker, when: float) -> int | None:
        """The task an abort called at ``when`` may touch on ``worker``: the one it was running then, or if none, the
        next one it began, if that was given before the call."""
        for task in worker.ran:
            if worker.began[task] <= when and (worker.ended.get(task) is None or worker.ended[task] > when):
                return task
        later = [t for t in worker.ran if worker.began[t] > when]
        if later and self.submitted[worker.labels[later[0]]][0] <= when:
            return later[0]
        return None

    def _known_running(self, worker: SimWorker, when: float) -> int | None:
        """The task an abort called at ``when`` must reach on ``worker``: its oldest task not ended then, given to it by
        id or to every worker before the call, when the manager had read the reports of all it ran before (so the
        manager knew it was the one)."""
        core = self.w.core
        for task in worker.ran:
            ended = worker.ended.get(task)
            if ended is not None and ended <= when:
                if self.dones_read.get(task, float("inf")) > when:
                    return None  # its report was not read yet: the manager would name this one, over already
                continue
            given, target = self.submitted[worker.labels[task]]
            return task if given <= when and target in (worker.id, core.ProWorker_All) else None
        return None

    def check_abort_aims(self, worker: SimWorker, task: int, what: str) -> None:
        if not any(self._allowed(worker, when) == task for when, _ in self._calls_on(worker)):
            self.w.fail("abort-aims", f"task {task} on worker {worker.id} {what}, but no abort was called while it ran or was next")

    def abort_arrived(self, worker: SimWorker, msg: Any) -> None:
        self.abort_reached.setdefault((worker.id, msg.t), []).append((self.w.now, msg.ms))

    def abort_should_have_landed(self, worker: SimWorker, task: int) -> None:
        """A cooperative task polls: an abort called for it, that nothing got in the way of, has reached it by now."""
        now = self.w.now
        for when, _ in self._calls_on(worker):
            if now < max(when, worker.began[task]) + ABORT_REACH or self._known_running(worker, when) != task:
                continue
            if self.w.undisturbed(self, worker, when, now):
                self.w.fail("abort-lands", f"task {task} on worker {worker.id} never saw the abort called at {when:.4f}")

    def check_abort_bounds(self) -> None:
        """An abort with a time ends its task within that time: the worker itself, from when the abort reached it, or
        the manager, ``ABORT_SAFETY`` after the call; unless a freeze, a clock jump or a fault got in the way."""
        safety = getattr(self.w.core, "ABORT_SAFETY", 1.0)
        for worker in self.workers.values():
            for when, wait_ms in self._calls_on(worker):
                task = self._allowed(worker, when)
                if wait_ms < 0 or task is None:
                    continue
                end = worker.ended.get(task, float("inf"))
                arrivals = [at for at, ms in self.abort_reached.get((worker.id, task), ()) if ms == wait_ms and at >= when]
                reached = min(arrivals, default=None)  # this call's abort, reaching the worker
                if reached is not None:
                    due = max(reached + wait_ms / 1000, worker.began.get(task, reached)) + SLACK
                    if end > due and due < self.w.now and self.w.undisturbed(None, worker, reached, due):
                        detail = f"task {task} on worker {worker.id} ran past {due:.4f}: {wait_ms} ms after its abort reached it"
                        self.w.fail("abort-bounded", detail)
                if self._known_running(worker, when) == task:
                    due = when + wait_ms / 1000 + safety + SLACK
                    if end > due and due < self.w.now and self.w.undisturbed(self, None, when, due):
                        detail = f"task {task} on worker {worker.id} still ran at {due:.4f}, after abortOperation({wait_ms}) at {when:.4f}"
                        self.w.fail("abort-bounded", detail)

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
            self.w.at(self.w.now + self.w.eof_delay, worker.proc, worker.die, self.w.core.EXIT_MANAGER_GONE, "alive pipe EOF")
            self.check_orphan_later(worker)

    def check_orphan_later(self, worker: SimWorker) -> None:
        """Schedule the check that ``worker`` left its gone manager in time."""
        s = self.w.s
        if worker.hangs:
            return  # it never got as far as watching its manager: its manager's start timeout is what ends it
        watching = max(worker.proc.awake_since, worker.spawned_at + worker.boot)  # its control thread runs from boot
        if worker.manager_dead_at is not None:
            due = max(worker.manager_dead_at, watching) + self.w.eof_delay + SLACK
        elif worker.manager_silent_since is not None:
            since = worker.manager_silent_since
            # an echo or a ping sent just before the manager went silent may arrive late, on a slow link
            slow = [
                win.p
                for win in self.w.windows
                if win.kind == "delay" and any(win.covers(channel, "out", worker.id, since) for channel in ("echo", "beat"))
            ]
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
        """Every wanted task has exactly one result, each from where it ran, in order per worker; nothing delivered is lost."""
        if len(self.results) != self.expected_results:
            self.w.fail("every-task-ends", f"{self.expected_results} results wanted, {len(self.results)} came")
        seen: dict[int, Any] = {}
        last_position: dict[int, int] = {}
        for wid, value in self.results:
            named = _task_named(value)
            if named is None:
                continue  # a death report, or a task that failed before it ran
            task, ran_on = named
            if task in seen:
                self.w.fail("order", f"the result of task {task} came twice")
            seen[task] = value
            worker = self.workers.get(ran_on)
            position = worker.ran.index(task) if worker is not None and task in worker.ran else -1
            if ran_on != wid or position < 0:
                self.w.fail("every-task-ends", f"a result names task {task} on worker {ran_on}, which did not run it")
            if position < last_position.get(wid, -1):
                self.w.fail("order", f"worker {wid}: the result of task {task} came after a later task's")
            last_position[wid] = position
        for task, (wid, payload) in self.dones_in.items():  # reached the manager's socket before the exit was final
            if payload and task not in seen:
                self.w.fail("result-kept", f"task {task}'s result reached the manager before worker {wid}'s exit was final, and was lost")
        for wid, worker in self.workers.items():  # sent before its worker died, not held back by a fault: it arrives in time
            for task, (sent, arrives) in worker.sent_dones.items():
                lost = task not in seen and worker.wants.get(task) and wid in self.gone
                on_time = arrives is not None and arrives <= sent + 2 * self.w.s.latency
                if lost and on_time and self.w.undisturbed(self, None, sent, self.gone[wid]):
                    self.w.fail("result-kept", f"task {task}'s result left worker {wid} at {sent:.4f}, before it died, and was lost")
        for wid, worker in self.workers.items():
            got = self.messages_in.get(wid, [])
            if got != worker.messages_sent[: len(got)]:
                self.w.fail("order", f"worker {wid} sent messages {worker.messages_sent}, the manager got {got}")
            if wid in self.gone and not worker.released:
                self.w.fail("resources-released", f"worker {wid}'s exit is final, and its descriptors are still open")
        self.check_abort_bounds()


def _task_named(value: Any) -> tuple[int, int] | None:
    """(task, worker) a result value speaks of: its own value, or its own failure; None for anything else."""
    if isinstance(value, list) and len(value) == 3 and value[0] == "ok":
        return value[1], value[2]
    message = getattr(value, "message", None)
    if isinstance(message, str) and message.startswith("task ") and " failed on worker " in message:
        task, worker = message[len("task ") :].split(" failed on worker ")
        return int(task), int(worker)
    return None


__all__ = ["SimManager"]
