"""The manager's two threads, as the driver sees them: what each does under the lock, and what it performs after.

A manager acts on two threads.  The user's thread owns the task socket and everything the user
sees; the keeper owns the heartbeat and control sockets, the processes and their descriptors.
Each has an executor here: it calls the driver under the lock, takes the driver's actions for
its own thread, performs them outside the lock through the ``ManagerPort`` (the I/O), and wakes
the other thread when the driver left something for it.  An executor refuses an action that is
not its thread's (a bug, said at once) rather than drop it.

The pyzmq shell and the simulator share these executors and the driver; only the port differs
(``_port.ZmqPort``, or the simulator's fake sockets, pipes and processes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from itertools import chain
from typing import Any, Protocol

from ..wire import Abort, Done, Dones, Message
from ._actions import Action, Control, Ignored, Kill, Output, Ping, ReadPipe, Release, Send, WaitNote, Wake, WorkerGone
from ._driver import ManagerDriver
from ._output import OutputBatch

_DONES = (Done, Dones)  # what read ahead may handle: results, one by one or by column


class ManagerPort(Protocol):
    """The world around a manager's driver.  Methods a thread calls are marked with it."""

    lock: AbstractContextManager  # held around every call of the driver

    def now(self) -> float: ...

    # the user's thread (caller holds ``lock`` for ``messages`` and ``drain``)
    def messages(self, first: Any = None) -> Iterable[tuple[int, list[Message]]]:
        """``first`` (a frame already received) or everything waiting on the task socket, decoded, by worker."""

    def message(self) -> tuple[int, list[Message]] | None:
        """The next worker's messages waiting on the task socket, decoded; None when none wait (a wake-up of the
        user's thread met on the way is kept for ``read_ahead_done``)."""

    def read_ahead_done(self, read: bool) -> None:
        """The user's thread read ahead (``read``: it took messages in): its next wait, and whoever watches for
        arrivals (``ProManager.fileno()``), must see that something is to handle, as they would have."""

    def drain(self, wid: int) -> Iterable[tuple[int, bytes]]:
        """What worker ``wid`` has written to its pipes so far: (stream, data) reads."""

    def send(self, wid: int, messages: list[Message]) -> None: ...
    def output(self, chunks: OutputBatch) -> None:
        """Write ``chunks`` to the user's streams, and close them (the spool's file goes)."""
    def wait_note(self, wid: int, op: str, payload: bytes) -> None: ...
    def worker_gone(self, gone: WorkerGone) -> None: ...
    def ignored(self, wid: int, reason: str) -> None: ...
    def nudge_keeper(self) -> None: ...
    def give_way(self) -> None:
        """The user's thread sent the only tasks there are and will wait for them: the processor to the threads that
        carry them, at once (ZeroMQ's I/O thread, woken by the send, waits for it otherwise)."""

    # the keeper
    def ping(self, wid: int, n: int) -> None: ...
    def control(self, wid: int, message: Abort) -> bool:
        """False when the worker's control connection is not up yet."""

    def kill(self, wid: int, reason: str) -> None: ...
    def release(self, wid: int) -> None: ...
    def read_pipe(self, wid: int, stream: int) -> None: ...
    def wake_user(self) -> None: ...


class UserExecutor:
    """The user's thread: reads the task channel through, performs its actions, runs the user's calls."""

    READ_AHEAD_EVERY = 16  # tasks given while others wait for a worker, per look at what came in

    def __init__(self, driver: ManagerDriver, port: ManagerPort) -> None:
        self.driver = driver
        self.port = port
        self.held: tuple[int, list[Message]] | None = None  # read by ``read_ahead`` and left for the next pump, first
        self.ahead = 0  # messages ``read_ahead`` handled since the last pump: the next pump counts them as its events
        self._unread = 0  # tasks given since the last read ahead

    def pump(self, first: Any = None) -> int:
        """Handle what ``read_ahead`` held, then ``first`` (a frame already received), or everything that has
        arrived; then settle and deliver.

        Each worker's output is read before its messages are handled, so it is written first.
        Returns how many things happened (messages, deliveries).
        """
        driver, port = self.driver, self.port
        events, self.ahead = self.ahead, 0
        with port.lock:
            now = port.now()
            batches = port.messages(first)
            if self.held is not None:
                batches, self.held = chain((self.held,), batches), None
            for wid, messages in batches:
                self.read_output(wid, now)
                driver.receive(wid, messages, now)
                events += 1
            driver.settle(now)
            actions = driver.take_user(now=now) if driver.user or driver.output.pending else ()
            nudge = driver.keeper_needed()
        if actions:
            self.perform(actions)
        if nudge:
            port.nudge_keeper()
        return events + len(actions)

    def read_output(self, wid: int, now: float) -> None:
        """What worker ``wid`` wrote so far, before its message: it is written before the message can be seen."""
        for stream, data in self.port.drain(wid):
            self.driver.on_output(wid, stream, data, now)

    def call(self, method: Callable[..., Any], *args: Any) -> Any:
        """Run a user's call of the driver (``add_worker``, ``submit``, ...) and send what it decided."""
        with self.port.lock:
            result = method(*args)
            actions, nudge = self._outgoing()
        if actions or nudge:
            self._after(actions, nudge)
        return result

    def submit(self, target: int, fields: dict, payload: Any, want: bool, now: float) -> None:
        """A user's task, given as ``call`` gives it (the hot path: without its indirection); while tasks wait for a
        worker, the results in are read ahead."""
        driver = self.driver
        with self.port.lock:
            idle = not driver.session.unfinished
            driver.submit(target, fields, payload, want, now)
            actions = driver.take_user(with_output=False) if driver.user else ()  # ``_outgoing``, inlined
            nudge = driver.keeper_needed()
        if actions or nudge:
            self._after(actions, nudge)
            if idle and actions:  # nothing else is under way: the user will wait for these
                self.port.give_way()
        if self.held is None and driver.session.any_queue:  # ``backlog()``
            self._unread += 1
            if self._unread >= self.READ_AHEAD_EVERY:
                self._unread = 0
                self.read_ahead()

    def read_ahead(self) -> None:
        """Handle the dones that came in while tasks wait for a worker, so that their workers get the next ones now.

        A program that gives many tasks before it waits would otherwise leave its workers idle once they ran
        what they hold.  Nothing the user sees may come of it outside a wait: only a worker's dones are handled
        here, when no output waits to be written before them (not even the start of a line).  The first
        messages that are anything else are held for the next pump, and reading stops there, so that
        everything keeps its order.  The next wait then returns at once, as it would have for what came.
        """
        driver, port = self.driver, self.port
        output = driver.output
        read = False
        with port.lock:
            now = port.now()
            while driver.backlog():
                batch = port.message()
                if batch is None:
                    break
                read = True
                wid, messages = batch
                self.read_output(wid, now)
                if output.pending or output.unfinished or any(m.__class__ not in _DONES for m in messages):
                    self.held = batch
                    break
                driver.receive(wid, messages, now)
                self.ahead += len(messages)
            actions, nudge = self._outgoing()
        port.read_ahead_done(read)
        self._after(actions, nudge)

    def _outgoing(self) -> tuple[list[Action] | tuple, bool]:
        """Under the lock, after a user's call: the actions for this thread (output waits for a pump, which writes it),
        and whether the keeper must be woken."""
        driver = self.driver
        return (driver.take_user(with_output=False) if driver.user else ()), driver.keeper_needed()

    def _after(self, actions: list[Action] | tuple, nudge: bool) -> None:
        if actions:
            self.perform(actions)
        if nudge:
            self.port.nudge_keeper()

    def perform(self, actions: list[Action]) -> None:
        port = self.port
        if len(actions) == 1 and actions[0].__class__ is Send:  # the hot path: one task or message out
            send = actions[0]
            port.send(send.worker, [send.message])
            return
        sends: dict[int, list[Message]] = {}  # several messages for one worker go in one frame, in order
        for action in actions:
            cls = action.__class__
            if cls is Send:
                batch = sends.get(action.worker)
                if batch is None:
                    batch = sends[action.worker] = []
                batch.append(action.message)
            elif cls is Output:
                port.output(action.chunks)
            elif cls is WaitNote:
                port.wait_note(action.worker, action.op, action.payload)
            elif cls is WorkerGone:
                port.worker_gone(action)
            elif cls is Ignored:
                port.ignored(action.worker, action.reason)
            else:
                raise TypeError(f"the user's thread does not perform {action!r}")
        for wid, messages in sends.items():
            port.send(wid, messages)


class KeeperExecutor:
    """The keeper: feeds the driver what the world did, ticks its clock, performs the keeper's actions."""

    def __init__(self, driver: ManagerDriver, port: ManagerPort) -> None:
        self.driver = driver
        self.port = port

    def step(self, feed: Callable[[float], None] | None = None) -> float | None:
        """One wake of the keeper: ``feed(now)`` (under the lock) gives the driver what happened; returns the next deadline."""
        driver, port = self.driver, self.port
        with port.lock:
            now = port.now()
            if feed is not None:
                feed(now)
            driver.tick(now)
            actions = driver.take_keeper()
            deadline = driver.next_deadline()
        if actions and self.perform(actions, now):
            with port.lock:  # a control to try again: that is a deadline too
                deadline = driver.next_deadline()
        return deadline

    def perform(self, actions: list[Action], now: float) -> bool:
        """Perform the keeper's actions; True if a control could not be delivered (it is tried again later)."""
        port = self.port
        undelivered = False
        for action in actions:
            cls = action.__class__
            if cls is Ping:
                port.ping(action.worker, action.n)
            elif cls is Control:
                if not port.control(action.worker, action.message):
                    with port.lock:
                        self.driver.control_undelivered(action, now)
                    undelivered = True
            elif cls is Kill:
                port.kill(action.worker, action.reason)
            elif cls is Wake:
                port.wake_user()
            elif cls is Release:
                port.release(action.worker)
            elif cls is ReadPipe:
                port.read_pipe(action.worker, action.stream)
            else:
                raise TypeError(f"the keeper does not perform {action!r}")
        return undelivered
