"""The worker side of the public API: ``proWorkerObject()`` and its wait object.

Everything here runs on the worker's main thread, the thread that runs tasks
and owns the task socket; the methods refuse other threads with a clear error
rather than corrupt the socket.  The abort flag is the exception: the control
thread sets it, and ``wasAborted()`` may be read from anywhere.

They reach the worker through a narrow interface (``Link``: send a message
now, receive what the manager sent, the messages received so far) and the core
(``was_aborted``), never through the worker's main loop itself.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Protocol

from .. import _checks, _values
from .._errors import ProMPError
from .._message import ProMPMessage
from ..wire import Message, Msg, WaitUpdate


class Link(Protocol):
    """What the worker object needs of its worker: the main thread's executor (``_main.MainThread``)."""

    messages: deque  # custom messages received, oldest first

    def send_now(self, msg: Message) -> None: ...

    def receive(self, timeout: float | None) -> bool: ...


class AbortState(Protocol):
    def was_aborted(self) -> bool: ...


class ProMPAborted(BaseException):
    """Raised in a task's code when ``abortOperation`` gave up waiting for it to check ``wasAborted()``.

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` does not swallow it.
    """


def _main_thread_only(what: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise ProMPError(f"{what} must be called on the worker's main thread, where tasks run")


class ProWorkerWait:
    """The worker's wait object: progress and messages go to the manager's ``ui_wait``.

    ``progress`` may be called at any rate: updates are coalesced to one every
    ``MIN_INTERVAL`` seconds, keeping the last value; ``msg`` texts all arrive,
    in order, with the latest progress sent before each of them.
    """

    MIN_INTERVAL = 0.02

    def __init__(self, link: Link, state: AbortState) -> None:
        self._link = link
        self._state = state
        self._pending: Any = None
        self._has_pending = False
        self._last_sent = 0.0

    def msg(self, text: str) -> None:
        _main_thread_only("waitObject().msg()")
        self.flush()
        self._link.send_now(WaitUpdate("msg", _values.pack(str(text))))

    def progress(self, value: int | float) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"progress must be a number, got {type(value).__name__}")
        self._pending, self._has_pending = value, True
        if time.monotonic() - self._last_sent >= self.MIN_INTERVAL:
            self.flush()

    def wasAborted(self) -> bool:
        if self._has_pending and threading.current_thread() is threading.main_thread():
            if time.monotonic() - self._last_sent >= self.MIN_INTERVAL:
                self.flush()
        return self._state.was_aborted()

    def processEvents(self) -> None:
        self.wasAborted()

    def flush(self) -> None:
        """Send the coalesced progress now (done before every message and at the end of each task)."""
        if self._has_pending:
            _main_thread_only("waitObject().progress()")
            self._has_pending = False
            self._last_sent = time.monotonic()
            self._link.send_now(WaitUpdate("progress", _values.pack(self._pending)))


class ProWorker:
    """The worker object of this process (``proWorkerObject()``): messages to and from its manager."""

    def __init__(self, link: Link, state: AbortState) -> None:
        self._link = link
        self._wait = ProWorkerWait(link, state)

    def sendMessage(self, msg: ProMPMessage) -> None:
        _main_thread_only("sendMessage()")
        if not isinstance(msg, ProMPMessage):
            raise TypeError(f"sendMessage() takes a ProMPMessage, got {type(msg).__name__}")
        self._wait.flush()
        self._link.send_now(Msg(msg.id, msg.data))

    def hasMessage(self) -> bool:
        _main_thread_only("hasMessage()")
        self._link.receive(timeout=0)
        return bool(self._link.messages)

    def getMessage(self) -> ProMPMessage | None:
        """The oldest message from the manager, or None."""
        _main_thread_only("getMessage()")
        if not self._link.messages:
            self._link.receive(timeout=0)
        return self._link.messages.popleft() if self._link.messages else None

    def waitForMessage(self, timeout_ms: int = -1) -> bool:
        """Wait until a message from the manager is there (negative timeout: no limit)."""
        _main_thread_only("waitForMessage()")
        limit = _checks.timeout_ms(timeout_ms)
        deadline = None if limit is None else time.monotonic() + limit
        while not self._link.messages:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._link.receive(timeout=remaining)
        return True

    def waitObject(self) -> ProWorkerWait:
        return self._wait
