"""The worker's driver: the glue between its protocol core and its I/O, itself free of I/O.

A worker acts on two threads.  The main thread receives tasks, runs them one at a time in order
and reports them; the control thread keeps the heartbeat, receives aborts while a task runs, and
sends results the main thread held too long.  Both call this driver under one lock.

The main thread's whole loop is ``main``, a generator of *requests* its executor performs, each
answered with what came of it:

* ``WAIT``: block until a frame comes on the task channel; answered with ``(messages, waited)``,
  ``waited`` false when the frame was there already (frames are then coming faster than tasks run).
* ``PEEK``: the messages already waiting, without blocking (None when there are none).
* ``SendNow(messages)``: send these on the task channel now.
* ``Run(task)``: run the task's code; answered with its ``Outcome``.
* ``WAKE_CONTROL``: the control thread must look now (an abort deadline, held results).
* ``Say(text)``: a line for the worker's stderr.
* ``Exit(code)``: the loop is over; the worker ends with ``code`` (its ``bye`` is sent).

The pyzmq worker (``_main``) performs them with sockets and by running code; the simulator
(``harness.sim``) with its fake sockets and virtual time.  So what the main thread decides (which
message comes next, when a result is held for a batch and when it goes, a duplicated task refused,
the stop) exists once, here.  The executor holds the lock while it advances the generator, and
performs ``WAIT`` and ``Run`` without it.

Batching: results of quick tasks are held while more tasks are already waiting (in the batch that
brought them or in the socket) and go out together; when to hold and when to send is the core's
``ResultHold``.  A result is sent at once when nothing else is waiting.  The socket is looked at
(``PEEK``) only when the last frame was already waiting when the loop asked for it (the executor
says, as it knows whether it had to wait), so a sequential round trip pays nothing for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from .. import _values
from .._message import received
from ..wire import Abort, BadTask, Bye, Done, Hello, Message, Msg, Ping, Stop, Task
from ._core import Exit, Interrupt, WorkerSession

WAIT = "wait"
PEEK = "peek"
WAKE_CONTROL = "wake-control"


class SendNow:
    __slots__ = ("messages",)

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages


class Run:
    __slots__ = ("task",)

    def __init__(self, task: Task) -> None:
        self.task = task


class Say:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Outcome:
    """How a task went: its ``done`` report, its run time, and the exit code if it asked the worker to exit."""

    __slots__ = ("done", "elapsed", "exit_code")

    def __init__(self, done: Done, elapsed: float, exit_code: int | None = None) -> None:
        self.done = done
        self.elapsed = elapsed
        self.exit_code = exit_code


Request = str | SendNow | Run | Say | Exit


class WorkerDriver:
    def __init__(self, session: WorkerSession, clock: Callable[[], float]) -> None:
        self.session = session
        self.hold = session.hold
        self.clock = clock
        self.inbox: deque[Message] = deque()  # tasks, bad tasks and the stop, in order
        self.messages: deque = deque()  # custom messages for the running task's code (ProMPMessage)
        self.outbox: list[Message] = []  # reports posted and not sent yet, in order
        self.flowing = False  # the last frame was waiting already: more may be, worth peeking at the socket

    # ----------------------------------------------------------- the main thread
    def main(self, hello: Hello) -> Generator[Request, Any, None]:
        """The main thread's loop (see the module's docstring); its code runs under the lock."""
        session = self.session
        self.post(hello)
        while True:
            if not self.inbox:
                if self.outbox and self.flowing:
                    more = yield PEEK
                    if more:
                        self.received(more)
                        request = self._hold_or_send()
                        if request is not None:
                            yield request
                        continue
                if self.outbox:
                    yield SendNow(self.take())
                arrived, waited = yield WAIT
                self.flowing = not waited
                self.received(arrived)
                continue
            msg = self.inbox.popleft()
            cls = msg.__class__
            if cls is Stop:
                yield from self._exit(0, "stopped")
                return
            if cls is BadTask:
                report = _values.pack(["ProtocolError", msg.reason, ""]) if msg.want else b""
                self.post(Done(msg.t, False, 0.0, report))
                yield Say(f"task {msg.t} cannot run: {msg.reason}")
                continue
            if cls is not Task:
                yield Say(f"ignored a {msg.kind!r} message on the task channel")
                continue
            if not session.begin(msg.t):
                yield Say(f"task {msg.t} arrived again; not run twice")
                continue
            if session.deadlines and session.has_deadline():  # its abort came first: the control thread must keep time
                yield WAKE_CONTROL
            outcome = yield Run(msg)
            now = self.clock()
            self.post(outcome.done, now)
            aborted = session.end(msg.t)
            if outcome.exit_code is not None:
                yield from self._exit(outcome.exit_code, f"a task called sys.exit({outcome.exit_code})")
                return
            if self.hold.send_at_once(outcome.elapsed, aborted):
                yield SendNow(self.take())
            elif self.inbox:
                request = self._hold_or_send(now)
                if request is not None:
                    yield request
            # else the socket decides, at the top

    def _hold_or_send(self, now: float | None = None) -> Request | None:
        """More work is here: hold the reports posted so far (the request, if any, that holding needs), unless there
        are enough or they are old (the request that sends them).  A plain call: it runs once per task."""
        hold = self.hold
        if hold.hold(self.clock() if now is None else now, len(self.outbox)):
            if not hold.watched:
                hold.watched = True
                return WAKE_CONTROL
            return None
        return SendNow(self.take())

    def _exit(self, code: int, reason: str) -> Generator[Request, Any, None]:
        self.post(Bye(code))
        yield SendNow(self.take())
        yield Exit(code, reason)

    def received(self, messages: list[Message]) -> None:
        """Messages from the task channel, in order: custom messages for the task's code, the rest for the loop."""
        for msg in messages:
            if msg.__class__ is Msg:
                self.messages.append(received(msg.id, msg.payload))
            else:
                self.inbox.append(msg)

    def post(self, msg: Message, now: float | None = None) -> None:
        """A report to send (the std streams were flushed before: what a task printed goes first); ``now``: the time, if
        the caller has it."""
        self.hold.posted(self.clock() if now is None else now, not self.outbox)
        self.outbox.append(msg)

    def take(self) -> list[Message]:
        """What is posted, to send now."""
        out, self.outbox = self.outbox, []
        return out

    # ----------------------------------------------------------- the control thread
    def on_control(self, msg: Message, now: float) -> None:
        """A message on the control channel, or the echo of the worker's own ping on the heartbeat channel."""
        if msg.__class__ is Abort:
            self.session.on_abort(msg.t, msg.ms, now)
        elif msg.__class__ is Ping:
            self.session.on_echo(now)

    def on_manager_ping(self, now: float) -> None:
        self.session.on_manager_ping(now)

    def tick(self, now: float) -> list:
        """The control thread's actions now: ``PING``, ``Interrupt``, ``Exit``, or a ``SendNow`` of results held too long."""
        actions: list = []
        hold = self.hold
        if hold.watched and hold.overdue(now, len(self.outbox)):
            actions.append(SendNow(self.take()))
        return actions + self.session.tick(now)

    def next_deadline(self, now: float) -> float:
        """When the control thread next has work: the core's deadlines, and a look at held results while it watches."""
        look = self.hold.next_look(now)
        deadline = self.session.next_deadline()
        return deadline if look is None or look > deadline else look


__all__ = ["PEEK", "WAIT", "WAKE_CONTROL", "Exit", "Interrupt", "Outcome", "Run", "Say", "SendNow", "WorkerDriver"]
