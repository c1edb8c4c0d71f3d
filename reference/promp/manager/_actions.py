"""What the manager's core and driver ask to be done, typed by the thread that does it.

A manager has two threads that act: the user's thread owns the task socket and everything the
user sees (``ForUser``), the keeper owns the heartbeat and control sockets, the worker processes
and their descriptors (``ForKeeper``).  The driver sorts every action into the outbox of the
thread that performs it, and each thread's executor (``_executors``) performs its own kind and
refuses any other: no action is dropped because the thread that met it could not do it.

Dataclasses with slots, not frozen: a ``Send`` is made for every task, and a frozen one costs three
times as much to make.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..wire import Abort, Message

if TYPE_CHECKING:
    from ._output import OutputBatch


class Action:
    __slots__ = ()


class ForUser(Action):
    """Performed by the user's thread, inside processMessages()/wait() or the call that made it."""

    __slots__ = ()


class ForKeeper(Action):
    """Performed by the keeper thread, which watches the workers whatever the user's thread does."""

    __slots__ = ()


# ----------------------------------------------------------------- the user's thread
@dataclass(slots=True)
class Send(ForUser):
    """Send ``message`` to a worker on the task channel."""

    worker: int
    message: Message


@dataclass(slots=True)
class Output(ForUser):
    """What workers wrote, read from their pipes: (worker, stream 1 or 2, data) chunks, in order, for the user's streams
    (whoever performs it closes ``chunks``: some may be in the spool's file)."""

    chunks: OutputBatch


@dataclass(slots=True)
class WaitNote(ForUser):
    """A worker's wait-object call (``op``: msg or progress; ``payload``: the packed value), for its ui_wait."""

    worker: int
    op: str
    payload: bytes


@dataclass(slots=True)
class WorkerGone(ForUser):
    """A worker's exit is final: the tasks it held have been failed (an unexpected end is logged)."""

    worker: int
    code: int | None
    expected: bool
    failed_tasks: int
    reason: str


@dataclass(slots=True)
class Ignored(ForUser):
    """A message from a worker that changes nothing (a replay, a confused worker): counted and logged."""

    worker: int
    reason: str


# ----------------------------------------------------------------- the keeper
@dataclass(slots=True)
class Ping(ForKeeper):
    """Send a heartbeat to a worker."""

    worker: int
    n: int


@dataclass(slots=True)
class Control(ForKeeper):
    """Send ``message`` on the control channel: it reaches the worker while a task runs."""

    worker: int
    message: Abort
    retries: int = 0  # times it could not be delivered (its worker's control connection was not up yet)


@dataclass(slots=True)
class Kill(ForKeeper):
    """End a worker process, and what it started, now."""

    worker: int
    reason: str


@dataclass(slots=True)
class Wake(ForKeeper):
    """Wake the user's thread: a decision waits for it to read the task channel through and settle."""


@dataclass(slots=True)
class Release(ForKeeper):
    """A worker's exit is final and its output read: close every descriptor the manager holds for it."""

    worker: int


@dataclass(slots=True)
class ReadPipe(ForKeeper):
    """Read a worker's pipe again: it was paused while the user's thread had not taken its output."""

    worker: int
    stream: int
