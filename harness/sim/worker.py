"""A simulated worker process: the implementation's own worker driver and executors, on fake sockets and pipes.

Only the world around the driver is faked here: the sockets (frames travel the simulated network as
message lists), the stdout pipe, the process (it boots, freezes, dies) and the clock.  What the
worker decides is the implementation's: its main loop (``WorkerDriver.main``, advanced by its
``MainExecutor``), its control thread (``ControlExecutor.step``), its core.  This class is the
``WorkerPort`` they perform through, plus the task code (a program of timed steps) and the record
of what really happened, against which the invariants judge.
"""

from __future__ import annotations

import ast
import random
from collections import deque
from contextlib import nullcontext
from typing import Any

import msgpack

from .proc import SLACK, Proc

NOLOCK = nullcontext()  # one thread at a time in a simulation
HOLD_AT_MOST_SLACK = 0.003  # a held result leaves within the hold limit and this


class SimWorker:
    def __init__(self, world: Any, manager: Any, wid: int, boot: float, hangs: bool = False) -> None:
        self.w = world
        self.m = manager
        self.id = wid
        self.boot = boot
        self.hangs = hangs
        name = f"w{wid}" if manager.host is None else f"{manager.host.proc.name}.{wid}"
        self.proc = Proc(name, world.now, self)
        self.pid = world.new_pid()
        self.rng = random.Random(world.scenario.seed * 1000 + world.new_pid())
        self.nested: Any = None  # the manager a task of this worker runs, if any
        # the world's view of its sockets and pipe
        self.echo_up = False  # its echo proxy answers the manager's pings
        self.connected = False  # its task connection is up: frames for it are not dropped
        self.ctrl_connected = False
        self.frames: deque[list] = deque()  # frames arrived on its task socket, not taken yet
        self.pipe: deque[bytes] = deque()  # written to its stdout, not read by the manager yet
        self.pipe_event = False  # the manager's keeper will read the pipe (an event is scheduled)
        self.released = False  # the manager closed its descriptors
        # the implementation's
        self.driver: Any = None
        self.main: Any = None
        self.control: Any = None
        self.waiting = False  # the main thread waits for frames
        self.control_at: float | None = None
        # the task running now, and the record of what happened
        self.running: Any = None  # the Task message
        self.step = 0
        self.token = 0
        self.interruptible = False
        self.spawned_at = world.now
        self.hello_at: float | None = None
        self.hello_arrived = False
        self.takes_tasks = False  # its hello said it takes ``tasks`` messages (the manager learns it when the hello comes)
        self.ran: list[int] = []  # task ids, in the order they began
        self.began: dict[int, float] = {}
        self.ended: dict[int, float] = {}
        self.labels: dict[int, int] = {}  # task id -> its submission's label
        self.wants: dict[int, bool] = {}  # task id -> whether its result was asked for
        self.aborted_seen: set[int] = set()
        self.completed: set[int] = set()  # tasks that ran to their end (not cut short by a death)
        self.finished_at: dict[int, float] = {}  # task -> when its report was posted (for the hold)
        self.sent_dones: dict[int, tuple[float, float | None]] = {}  # task -> when its report left the worker, and arrives
        self.messages_sent: list[int] = []
        self.messages_got: list[int] = []
        self.lines = 0  # lines written to its stdout
        self.lines_before_message: dict[int, int] = {}  # message seq -> lines written before it was sent
        self.lines_before_done: dict[int, int] = {}  # task -> lines written before it ended
        self.exit_why = ""
        self.exit_code: int | None = None
        self.killed_for = ""
        self.stop_asked_at: float | None = None
        self.manager_dead_at: float | None = None
        self.manager_silent_since: float | None = None

    def local(self) -> float:
        return self.w.now + self.proc.offset

    # ---------------------------------------------------------------- start-up
    def spawn(self) -> None:
        self.w.at(self.w.now + self.boot, self.proc, self.booted)

    def booted(self) -> None:
        w, s = self.w, self.w.s
        self.echo_up = True
        self.connected = True
        w.at(w.now + s.latency, self.m.proc, self.m.link, self.id, True)
        w.at(w.now + self.rng.uniform(0, 3 * s.latency), self.proc, self._ctrl_connected)  # its control connection comes up a little later
        if self.hangs:
            w.log(self.proc.name, "start-up hangs: its echo proxy answers, it never says hello")
            return
        core = w.core
        self.driver = core.WorkerDriver(core.WorkerSession(s.interval, s.timeout, self.local()), self.local)
        self.main = core.MainExecutor(self.driver, self, NOLOCK, self.driver.main(core.wire.Hello(self.pid, self.m.level + 1, tasks=True)))
        self.control = core.ControlExecutor(self.driver, self, NOLOCK)
        self.hello_at = w.now
        w.log(self.proc.name, "up: hello")
        self.advance(None)
        self.schedule_control()

    def _ctrl_connected(self) -> None:
        self.ctrl_connected = True

    # ------------------------------------------------------------ WorkerPort
    def send(self, messages: list) -> None:
        now = self.w.now
        messages = self.w.carried(messages, dones=True)
        arrives = self.w.send("task", "in", self, self.m.deliver, self.id, messages, kind=self.w.frame_kind(messages))
        for task, _payload in self.w.dones_in(messages):
            self.sent_dones.setdefault(task, (now, arrives))
            finished = self.finished_at.pop(task, None)
            if finished is not None and now - finished > self.driver.hold.HOLD_AT_MOST + HOLD_AT_MOST_SLACK:
                if self.proc.awake_since <= finished:  # it was awake all along: the hold was too long
                    self.w.fail("held-results-leave", f"worker {self.id} held task {task}'s result for {now - finished:.4f} s")

    def recv_nowait(self) -> list | None:
        return self.frames.popleft() if self.frames else None

    def wake_control(self) -> None:
        self.w.at(self.w.now, self.proc, self.control_step, None)

    def say(self, text: str) -> None:
        self.w.log(self.proc.name, text)

    def give_way(self) -> None:
        """Processors are not simulated: there is nobody to give the processor to."""

    def ping(self) -> None:
        self.w.send("echo", "in", self, self.m.echo_ping, self.id, kind="ping")

    def interrupt(self) -> None:
        self.w.at(self.w.now, self.proc, self._interrupted, self.token)

    def exit(self, code: int, reason: str) -> None:
        if code == self.w.core.EXIT_ABORTED and self.running is not None:
            self._aimed(self.running.t, "ended the worker")
        self.die(code, reason)

    # ------------------------------------------------------------ the main thread
    def advance(self, answer: Any) -> None:
        """Run the implementation's main loop on to its next slow request, and perform that."""
        core = self.w.core
        request = self.main.advance(answer)
        while self.proc.alive:
            if request == core.WAIT:
                if self.frames:  # already there: no wait
                    request = self.main.advance((self.frames.popleft(), False))
                    continue
                self.waiting = True
                return
            if request.__class__ is core.Run:
                self.begin(request.task)
                return
            if request.__class__ is core.Exit:
                self.die(request.code, request.reason)
                return
            raise TypeError(f"the simulated main thread cannot perform {request!r}")

    def deliver(self, messages: list) -> None:
        """A frame arrives on the task socket."""
        core = self.w.core
        for msg in messages:
            if msg.__class__ is core.wire.Msg:
                seq = int(msg.payload)
                got = self.messages_got
                if got and seq <= got[-1]:
                    self.w.fail("order", f"worker {self.id} got message {seq} after {got[-1]}")
                got.append(seq)
            elif msg.__class__ is core.wire.Stop and self.stop_asked_at is None:
                self.stop_asked_at = self.w.now
        self.frames.append(messages)
        if self.waiting:
            self.waiting = False
            self.advance((self.frames.popleft(), True))

    def begin(self, task: Any) -> None:
        kind, program = _program(task.src)
        label = msgpack.unpackb(task.payload)
        if any(task.t in w.began for w in self.m.workers.values()):
            self.w.fail("at-most-once", f"task {task.t} runs a second time, on worker {self.id}")
        self.ran.append(task.t)
        self.began[task.t] = self.w.now
        self.labels[task.t] = label
        self.wants[task.t] = task.want
        self.w.log(self.proc.name, f"runs task {task.t} ({kind})")
        self.running = task
        self.program = program
        self.step = 0
        self.started_at = self.w.now
        self.run_step()

    def run_step(self) -> None:
        program = self.program
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
                from .scenario import Op

                self.nested = nested = type(self.m)(self.w, self.proc, host=self)
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
                    self.lines += 1
                    self.write(b"%d\n" % self.lines)
            elif what == "msg":
                for _ in range(step[1]):
                    seq = len(self.messages_sent) + 1
                    self.messages_sent.append(seq)
                    self.lines_before_message[seq] = self.lines
                    self.main.send_now(self.w.core.wire.Msg(2, str(seq).encode()))
            elif what == "progress":
                self.main.send_now(self.w.core.wire.WaitUpdate("progress", msgpack.packb(step[1])))
            elif what == "raise":
                self.finish(False, "SimError")
                return
            elif what == "exit":
                self.finish(False, "SystemExit", exit_code=step[1])
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
        if self.nested.busy():
            self.w.at(self.w.now + 0.01, self.proc, self._nest_wait, token)
        else:
            self.run_step()

    def _poll(self, token: int, until: float) -> None:
        if token != self.token or self.running is None:
            return
        task = self.running.t
        if self.driver.session.was_aborted():
            self._aimed(task, "saw wasAborted()")
            self.aborted_seen.add(task)
            self.finish(True)
            return
        self.m.abort_should_have_landed(self, task)
        if self.w.now >= until:
            self.run_step()
        else:
            self.w.at(self.w.now + 0.01, self.proc, self._poll, token, until)

    def _interrupted(self, token: int) -> None:
        task = self.running
        if token != self.token or task is None or not self.driver.session.should_interrupt():
            return
        self._aimed(task.t, "was interrupted")
        if self.interruptible:
            self.finish(False, "ProMPAborted")

    def finish(self, ok: bool, error: str = "", exit_code: int | None = None) -> None:
        core = self.w.core
        task = self.running
        self.token += 1
        self.running = None
        if self.nested is not None:  # the task's manager ends with it: its workers see EOF
            self.nested.crash(closed=True)
            self.nested = None
        ran_for = self.w.now - self.started_at
        payload = b""
        if task.want:
            payload = msgpack.packb(["ok", task.t, self.id] if ok else [error, f"task {task.t} failed on worker {self.id}", ""])
        self.ended[task.t] = self.w.now
        self.lines_before_done[task.t] = self.lines
        self.completed.add(task.t)
        self.finished_at[task.t] = self.w.now
        self.w.log(self.proc.name, f"task {task.t} ends {'ok' if ok else 'with ' + error}")
        self.advance(core.Outcome(core.wire.Done(task.t, ok, ran_for, payload), ran_for, exit_code))

    def _aimed(self, task: int, what: str) -> None:
        self.m.check_abort_aims(self, task, what)

    # ----------------------------------------------------------- its output
    def write(self, data: bytes) -> None:
        """Written to its stdout pipe: the manager's keeper reads it a moment later (or sooner, when a message comes)."""
        self.pipe.append(data)
        if not self.pipe_event:
            self.pipe_event = True
            lag = self.rng.uniform(0, 3 * self.w.s.latency)
            self.w.at(self.w.now + lag, self.m.proc, self.m.pipe_readable, self.id)

    def read_pipe(self) -> list[bytes]:
        if self.released:
            return []
        data, self.pipe = list(self.pipe), deque()
        return data

    # ----------------------------------------------------------- the control thread
    def schedule_control(self) -> None:
        if self.driver is None or not self.proc.alive:
            return
        at = self.proc.when(self.driver.next_deadline(self.local()))
        if self.control_at is None or at < self.control_at:
            self.control_at = at
            self.w.at(max(at, self.w.now), self.proc, self.control_step, at)

    def control_step(self, at: float | None, feed: Any = None) -> None:
        if self.driver is None:
            return
        if at is not None:
            if at != self.control_at:
                return
            self.control_at = None
        now = self.local()
        deadline = self.control.step(self.local, feed)
        if not self.proc.alive:
            return
        if deadline <= now:
            self.w.fail("no-spin", f"worker {self.id}'s next deadline is not after its step at {now:.6f}")
        self.schedule_control()

    def on_echo(self) -> None:
        self.control_step(None, lambda now: self.driver.on_control(self.w.core.wire.Ping(0), now))

    def on_control(self, msg: Any) -> None:
        if self.driver is None:
            return  # up, but its control thread is not: as a socket with nobody reading yet, it is lost here
        self.m.abort_arrived(self, msg)
        self.control_step(None, lambda now: self.driver.on_control(msg, now))

    def echo_ping(self) -> None:
        """The worker's echo proxy answers the manager's ping, and tells the control thread it came."""
        if not self.echo_up:
            return
        self.w.send("beat", "in", self, self.m.on_echo, self.id, kind="echo")
        if self.driver is not None:
            self.control_step(None, lambda now: self.driver.on_manager_ping(now))

    # --------------------------------------------------------------- end
    def die(self, code: int, why: str) -> None:
        proc = self.proc
        if not proc.alive:
            return
        proc.alive = False
        proc.frozen = False
        self.exit_why = why
        self.exit_code = code
        if self.running is not None:
            self.ended.setdefault(self.running.t, self.w.now)
        self.running = None
        self.w.log(proc.name, f"exits with {code}: {why}")
        if self.nested is not None:  # the manager it ran died with it
            self.nested.crash()
        m = self.m
        w = self.w
        w.at(w.now + w.exit_notice, m.proc, m.on_exit, self.id, code)
        last = w.task_fifo.get((id(self), "in"), 0.0)  # its task connection ends after what it sent
        w.at(max(w.now + w.s.latency, last) + 1e-6, m.proc, m.link, self.id, False)

    def over_by(self, task: int, when: float) -> bool:
        """Whether ``task`` had ended (or its worker died) by ``when``."""
        ended = self.ended.get(task)
        return ended is not None and ended <= when + SLACK / 10


_PROGRAMS: dict[str, tuple] = {}


def _program(src: str) -> tuple:
    """(kind, steps) of a task's code: what the workload put there, read once (its label is its payload)."""
    program = _PROGRAMS.get(src)
    if program is None:
        program = _PROGRAMS[src] = ast.literal_eval(src)
        if len(_PROGRAMS) > 4096:
            _PROGRAMS.clear()
    return program


__all__ = ["SimWorker"]
