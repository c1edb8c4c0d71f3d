"""The worker's two threads, as the driver sees them: what each does under the lock, and what it performs.

``MainExecutor`` advances the driver's main loop (``WorkerDriver.main``) and performs its quick
requests itself (send, peek, wake the control thread, say), under the lock; it hands back the two
that take time, ``WAIT`` (block for frames) and ``Run`` (run a task), and ``Exit``, for its thread to
perform without the lock.  ``ControlExecutor.step`` gives the driver what the control thread saw,
ticks the clock, and performs the control thread's actions.  Both talk to the world through a
``WorkerPort``: the pyzmq worker's (``_port``) or the simulator's fake one, which share these
executors and the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .._liveness import PING
from ..wire import Message
from ._core import Exit, Interrupt
from ._driver import PEEK, WAIT, WAKE_CONTROL, Run, Say, SendNow, WorkerDriver


class WorkerPort(Protocol):
    """The world around a worker's driver."""

    def send(self, messages: list[Message]) -> None:
        """On the task channel, now (never blocks)."""

    def recv_nowait(self) -> list[Message] | None:
        """The messages of one frame waiting on the task channel, or None."""

    def wake_control(self) -> None: ...
    def give_way(self) -> None:
        """The main thread sent what it had and will wait for more: the processor to the threads that carry what it
        sent, at once (ZeroMQ's I/O thread, woken by the send, waits for it otherwise)."""

    def say(self, text: str) -> None: ...
    def ping(self) -> None: ...
    def interrupt(self) -> None:
        """Have ``ProMPAborted`` raised in the running task's code."""

    def exit(self, code: int, reason: str) -> None:
        """End the process now, with what it started."""


class MainExecutor:
    """The main thread's side of the driver: the loop's quick requests, and the task's own sends and receives."""

    def __init__(self, driver: WorkerDriver, port: WorkerPort, lock: AbstractContextManager, loop: Generator) -> None:
        self.driver = driver
        self.port = port
        self.lock = lock
        self.loop = loop  # driver.main(hello)

    def advance(self, answer: Any = None) -> Any:
        """Answer the loop's last request and run it on to its next slow one: ``WAIT``, a ``Run``, or ``Exit``.

        When it sent something and will wait next, it gives way (``give_way``), out of the lock."""
        port, loop = self.port, self.loop
        sent = False
        with self.lock:
            request = loop.send(answer)
            while True:
                cls = request.__class__
                if cls is SendNow:
                    port.send(request.messages)
                    sent = True
                    request = loop.send(None)
                elif request is PEEK:
                    request = loop.send(port.recv_nowait())
                elif request is WAKE_CONTROL:
                    port.wake_control()
                    request = loop.send(None)
                elif cls is Say:
                    port.say(request.text)
                    request = loop.send(None)
                else:
                    break
        if sent and request is WAIT:
            port.give_way()
        return request

    def send_now(self, msg: Message) -> None:
        """A task's own message (custom, or a wait-object update): sent now, after what was posted before it."""
        with self.lock:
            self.driver.post(msg)
            self.port.send(self.driver.take())

    def send_posted(self) -> None:
        """Send what is posted (before the thread waits for frames, or ends)."""
        with self.lock:
            if self.driver.outbox:
                self.port.send(self.driver.take())

    def received(self, messages: list[Message]) -> None:
        """Frames a task's own receive took in: for the loop and the task's messages."""
        with self.lock:
            self.driver.received(messages)


class ControlExecutor:
    """The control thread's side of the driver."""

    def __init__(self, driver: WorkerDriver, port: WorkerPort, lock: AbstractContextManager) -> None:
        self.driver = driver
        self.port = port
        self.lock = lock

    def step(self, now: Callable[[], float], feed: Callable[[float], None] | None = None) -> float:
        """One wake: ``feed(now)`` (under the lock) gives the driver what came; returns the next deadline.

        Sending held results and ending the process are done under the lock: decided against the main
        thread's record, nothing of it changes in between (a task either finishes or is aborted).
        """
        port, driver = self.port, self.driver
        with self.lock:
            at = now()
            if feed is not None:
                feed(at)
            actions = driver.tick(at)
            for action in actions:
                if action.__class__ is SendNow:
                    port.send(action.messages)
                elif action.__class__ is Exit:
                    port.exit(action.code, action.reason)
            deadline = driver.next_deadline(at)
        for action in actions:
            if action == PING:
                port.ping()
            elif action.__class__ is Interrupt:
                port.interrupt()
            elif action.__class__ not in (SendNow, Exit):
                raise TypeError(f"the control thread does not perform {action!r}")
        return deadline


__all__ = ["ControlExecutor", "MainExecutor", "Run", "WorkerPort"]
