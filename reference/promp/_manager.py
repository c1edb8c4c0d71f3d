"""``ProManager``: the user's handle on a set of worker processes.

Every call happens on the thread that created the manager; user-visible
events (output, results, exits) are delivered there too, inside
``processMessages()`` and ``wait()``.  Liveness does not depend on those
calls: the keeper thread in ``_manager_shell`` keeps heartbeats going on its own.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import zmq

from . import _values
from ._constants import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, ProWorker_All, ProWorker_Any
from ._errors import ProMPError, ProMPRemoteError
from ._manager_core import EXITED, EXITING, STOPPING, Action, ManagerSession
from ._manager_shell import WAKE_IDENTITY, Shell
from ._message import ProMPMessage, received
from ._output import OutputWriter, flush_std_streams
from ._protocol import ProtocolError, decode, unbatch
from ._transport import NOBLOCK, readable, recv_frames
from ._wait import ProMPWait

log = logging.getLogger("promp")

ProMPOpt_RedirectOutput = 0x1
ProMPOpt_AtomicOutput = 0x2
_KNOWN_OPTIONS = ProMPOpt_RedirectOutput | ProMPOpt_AtomicOutput


class ProManager:
    """Starts workers, hands them tasks and collects what they send back."""

    SPIN = 0.0005  # seconds a wait watches for a reply before it sleeps, while replies come that quickly

    def __init__(
        self,
        *,
        transport: str = "ipc",
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        warm_start: bool = True,
    ) -> None:
        """``warm_start``: fork workers from a zygote that did the imports once (a few ms each) rather than start
        a fresh interpreter for each (cold, 60-100 ms); the launch hook and ``PROMP_COLD_START=1`` make every start cold.
        """
        if transport not in ("ipc", "tcp"):
            raise ValueError(f"transport must be 'ipc' or 'tcp', got {transport!r}")
        if not 0 < heartbeat_interval < heartbeat_timeout:
            raise ValueError("heartbeat_interval must be positive and shorter than heartbeat_timeout")
        self._owner = threading.get_ident()
        self._options = 0
        self._writer = OutputWriter()
        self._shell = Shell(ManagerSession(heartbeat_interval, heartbeat_timeout), transport, warm_start)
        self._finalizer = weakref.finalize(self, self._shell.close)
        self._closed = False
        self._recv_timeout = -1
        self._replies_quick = True  # the last reply came within SPIN: watch for the next before sleeping
        self._waits: dict[int, ProMPWait] = {}
        self._wait_updates: list[tuple[int, str, bytes]] = []

    # ------------------------------------------------------------ options
    def setOptions(self, options: int) -> None:
        self._check()
        if not isinstance(options, int) or isinstance(options, bool):
            raise TypeError(f"options must be ProMPOpt_ flags (an int), got {type(options).__name__}")
        if options & ~_KNOWN_OPTIONS:
            raise ValueError(f"unknown option bits in {options!r}")
        self._options = options

    def options(self) -> int:
        self._mine()
        return self._options

    # ------------------------------------------------------------ workers
    def startWorker(self) -> int:
        """Start a worker process; returns its id at once while it comes up in the background."""
        self._check()
        shell = self._shell
        with shell.lock:
            wid = shell.session.add_worker(time.monotonic())
        try:
            shell.spawn(wid)
        except BaseException:
            with shell.lock:
                shell.session.on_exit(wid, None, time.monotonic())
            raise
        return wid

    def stopWorker(self, workerId: int) -> None:
        """Ask a worker to exit after its current task; it is killed if it has not within a second (extension)."""
        self._check()
        with self._shell.lock:
            actions = self._shell.session.stop_worker(workerId, time.monotonic())
        self._shell.perform(actions)
        self._shell.nudge()  # the keeper has a new deadline to keep

    def workers(self) -> list[int]:
        """Ids of every worker this manager started, in order (extension)."""
        self._mine()
        return list(self._shell.session.workers)

    def workerState(self, workerId: int) -> str:
        """``"starting"``, ``"ready"``, ``"stopping"`` or ``"exited"`` (extension).

        ``"exited"`` once the exit is final: its tasks have been failed and its last messages read.
        A worker whose process has ended but whose last messages may still be on the way is ``"stopping"``.
        """
        state = self._record(workerId).state
        return STOPPING.value if state == EXITING else state.value

    def workerExitCode(self, workerId: int) -> int | None:
        """The exit code once the worker has exited (negative: killed by that signal), else None (extension)."""
        rec = self._record(workerId)
        return rec.exit_code if rec.state == EXITED else None

    def workerPid(self, workerId: int) -> int | None:
        """The worker's process id (extension)."""
        self._record(workerId)
        proc = self._shell.procs.get(workerId)
        return proc.pid if proc else None

    # -------------------------------------------------------------- tasks
    def testMessage(self, target: int) -> None:
        self._submit(target, {"op": "test"})

    def testMessageBox(self, target: int) -> None:
        self._submit(target, {"op": "testbox"})

    def evalPythonCode(self, target: int, code: str) -> None:
        self._submit(target, {"op": "code", "src": _text(code, "code")})

    def executePythonScript(self, target: int, path: str | os.PathLike) -> None:
        self._submit(target, {"op": "script", "path": _script(path)})

    def evalPythonFunction(self, target: int, code: str, name: str, args: Iterable[Any] | None = None, want_result: bool = False) -> None:
        head = {"op": "func_code", "src": _text(code, "code"), "fn": _text(name, "name")}
        self._submit(target, head, _arguments(args), want_result)

    def executePythonFunction(
        self, target: int, path: str | os.PathLike, name: str, args: Iterable[Any] | None = None, want_result: bool = False
    ) -> None:
        head = {"op": "func_script", "path": _script(path), "fn": _text(name, "name")}
        self._submit(target, head, _arguments(args), want_result)

    def isBusy(self) -> bool:
        """True while any task is queued or running."""
        self._mine()
        return self._shell.session.is_busy()

    def hasResults(self, target: int = ProWorker_Any) -> bool:
        """Whether a result of ``target`` (a worker id, or any worker) is waiting."""
        self._check()
        self._known(target)
        return self._shell.session.has_results(target)

    def takeResult(self, target: int = ProWorker_Any) -> Any:
        """The oldest result of ``target`` (a worker id or ``ProWorker_Any``), or None if there is none.

        A task that failed in the worker yields a ``ProMPRemoteError`` value.
        """
        self._check()
        self._known(target)
        return self._shell.session.take_result(target)

    # ----------------------------------------------------------- messages
    def processMessages(self) -> None:
        """Handle what workers sent: write their output, store results, note exits.

        When nothing had come, it yields the processor before it returns (``sched_yield``, which also
        lets other threads have the GIL): a loop that calls it without pause, as the seed's do, then
        leaves room for the threads that bring the next message in, rather than contending with them.
        """
        self._check()
        if not self._pump():
            os.sched_yield()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Process messages until something arrives or nothing is left to do (extension).

        Returns False only if ``timeout_ms`` (negative: no limit) passed first.
        """
        session = self._shell.session
        return self._wait_until(lambda events: events > 0 or not session.is_busy(), timeout_ms)

    # ----------------------------------------------------------- messages
    def sendMessage(self, target: int, msg: ProMPMessage) -> None:
        """Send a custom message to a worker, or to every live worker with ``ProWorker_All``."""
        self._check()
        if not isinstance(msg, ProMPMessage):
            raise TypeError(f"sendMessage() takes a ProMPMessage, got {type(msg).__name__}")
        with self._shell.lock:
            actions = self._shell.session.send_message(target, msg.id, msg.data)
        self._shell.perform(actions)

    def hasMessage(self, target: int = ProWorker_Any) -> bool:
        """Whether a message from ``target`` (a worker id or ``ProWorker_Any``) is waiting; processes incoming traffic."""
        self._check()
        self._known(target)
        if not self._shell.session.messages.has(target):
            self._pump()
        return self._shell.session.messages.has(target)

    def getMessage(self, target: int = ProWorker_Any) -> ProMPMessage | None:
        """The oldest message from ``target``, or None."""
        self._check()
        self._known(target)
        return self._shell.session.messages.take(target)

    def waitForMessage(self, target: int = ProWorker_Any, timeout_ms: int = -1) -> bool:
        """Process incoming traffic until a message from ``target`` is there; False after ``timeout_ms``.

        Also False, at once, when no message can come any more: ``target`` (or, for
        ``ProWorker_Any``/``ProWorker_All``, every worker) has exited and nothing is waiting.
        """
        self._check()
        self._known(target)
        session = self._shell.session
        messages = session.messages
        if target in (ProWorker_Any, ProWorker_All):
            hopeless = lambda: not any(r.state != EXITED for r in session.workers.values())  # noqa: E731
        else:
            hopeless = lambda: session.workers[target].state == EXITED  # noqa: E731
        found = self._wait_until(lambda events: messages.has(target) or hopeless(), timeout_ms)
        return found and messages.has(target)

    # ------------------------------------------------------- wait objects
    def createWaitObject(self, workerId: int, ui_wait: Any) -> ProMPWait:
        """Route a worker's wait-object updates to ``ui_wait`` (kept by weak reference: keep it alive yourself)."""
        self._check()
        self._record(workerId)
        wait = ProMPWait(self, workerId, ui_wait)
        self._waits[workerId] = wait
        return wait

    def abortOperation(self, target: int, wait_ms: int = -1) -> None:
        """Abort the running task of ``target`` (a worker id or ``ProWorker_All``).

        The task's ``wasAborted()`` turns true.  With ``wait_ms >= 0``: after half of it,
        Python code still running gets ``ProMPAborted`` raised in it; after all of it, the
        worker and what it started are killed, its queued tasks fail and the manager goes on.
        An idle worker is left alone.
        """
        self._check()
        if not isinstance(wait_ms, int) or isinstance(wait_ms, bool):
            raise TypeError(f"wait_ms must be an int, got {type(wait_ms).__name__}")
        with self._shell.lock:
            actions = self._shell.session.abort(target, wait_ms, time.monotonic())
        self._shell.perform(actions)

    def _wait_until(self, done: Callable[[int], bool], timeout_ms: int) -> bool:
        """Pump until ``done(events just handled)``, blocking on the task socket in between.

        Everything that needs handling comes through the task socket (the keeper sends a
        wake-up message with worker output and exits; timers bound the blocking).  Before it
        blocks, a wait watches the socket for up to ``SPIN`` while replies have been coming that
        quickly: a thread put to sleep takes tens of microseconds to wake, as much as the rest of
        a round trip costs in Python.  Each look yields the processor (the I/O threads bringing
        the reply may need it); a reply slower than ``SPIN`` stops the watching until a quick
        one comes again, so waits for long tasks cost no processor time.
        """
        self._check()
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        if done(0):
            self._pump()
            return True
        session = self._shell.session
        task = self._shell.task
        while True:
            now = time.monotonic()
            if deadline is not None and deadline <= now:
                return done(self._pump())
            if deadline is None and not session.exits_pending and not self._waits:
                ms = -1  # nothing is timed: block until a message (or the keeper's wake-up) comes
            else:
                limits = [t for t in (deadline, session.settle_at(), self._next_wait_poll(now)) if t is not None]
                ms = max(1, math.ceil((min(limits) - now) * 1000)) if limits else -1
            if ms != self._recv_timeout:
                task.setsockopt(zmq.RCVTIMEO, ms)
                self._recv_timeout = ms
            if self._replies_quick:
                watch_until = now + self.SPIN
                while not readable(task) and time.monotonic() < watch_until:
                    os.sched_yield()
            try:
                frames = recv_frames(task, routed=True)
            except zmq.Again:
                frames = None
            self._replies_quick = frames is not None and time.monotonic() - now < self.SPIN
            if done(self._pump(frames)):
                return True

    def _next_wait_poll(self, now: float) -> float | None:
        """While wait objects are registered, their ui_wait's abort state is polled every 50 ms."""
        return now + 0.05 if self._waits else None

    # ------------------------------------------------------------ closing
    def close(self) -> None:
        """End every worker and release sockets (extension; also done on collection and at exit)."""
        if self._closed:
            return
        self._mine()
        self._closed = True
        self._finalizer()

    def __enter__(self) -> ProManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- internals
    def _mine(self) -> None:
        """Only the thread that created the manager may use it: its tables change under that thread, unguarded."""
        if threading.get_ident() != self._owner:
            raise ProMPError("a ProManager must be used only from the thread that created it")

    def _check(self) -> None:
        self._mine()
        if self._closed:
            raise ProMPError("the manager is closed")
        if self._shell.forked:
            raise ProMPError("this ProManager belongs to the parent process (os.fork() copied it): create a new one here")

    def _known(self, target: int) -> None:
        """Targets that are neither a worker of this manager nor ProWorker_Any/All are a mistake: say so."""
        if target not in (ProWorker_Any, ProWorker_All) and target not in self._shell.session.workers:
            if not isinstance(target, int) or isinstance(target, bool):
                raise TypeError(f"target must be a worker id, ProWorker_All or ProWorker_Any, got {type(target).__name__}")
            raise ValueError(f"no worker with id {target}")

    def _record(self, workerId: int):
        self._mine()
        rec = self._shell.session.workers.get(workerId)
        if rec is None:
            raise ValueError(f"no worker with id {workerId!r}")
        return rec

    def _submit(self, target: int, head: dict, payload: bytes = b"", want_result: bool = False) -> None:
        self._check()
        if not isinstance(target, int) or isinstance(target, bool):
            raise TypeError(f"target must be a worker id, ProWorker_All or ProWorker_Any, got {type(target).__name__}")
        if not isinstance(want_result, bool):
            raise TypeError(f"want_result must be a bool, got {type(want_result).__name__}")
        with self._shell.lock:
            actions = self._shell.session.submit(target, head, payload, want_result, time.monotonic())
        if actions:
            self._shell.perform(actions)

    def _pump(self, first: list[bytes] | None = None) -> int:
        """Handle ``first`` (a message already received) or else everything that has arrived.

        With ``first`` the socket is not polled again: a caller that waits comes back for
        the rest, and a round trip saves a system call.  Returns how many events there were.
        """
        shell = self._shell
        session = shell.session
        task = shell.task
        events = 0
        actions: list[Action] = []
        with shell.lock:
            now = time.monotonic()
            frames = first
            drain = first is None
            while frames is not None or (drain and readable(task)):
                if frames is None:
                    frames = recv_frames(task, NOBLOCK, routed=True)
                if frames[0] == WAKE_IDENTITY:
                    shell.wake_pending = False
                else:
                    events += 1
                    actions += self._handle(frames, now)
                frames = None
            settled = session.settle(now)
            if settled:
                events += len(settled)
                actions += settled
            output = shell.output_taken() if shell.output else ()
        if actions:
            shell.perform(actions)
        if output:
            if self._options:
                atomic = bool(self._options & ProMPOpt_AtomicOutput)
                for wid, stream, data in output:
                    self._writer.write(wid, stream, data, atomic)
                flush_std_streams()
        if self._wait_updates or self._waits:
            events += self._serve_waits()
        return events + len(output)

    def _serve_waits(self) -> int:
        """Deliver wait-object updates to their ui_wait; pass a ui_wait's abort on to its worker."""
        updates, self._wait_updates = self._wait_updates, []
        for wid, op, payload in updates:
            wait = self._waits.get(wid)
            if wait is not None:
                wait.deliver(op, payload)
        for wid, wait in list(self._waits.items()):
            if wait.abort_due(self._shell.session):
                with self._shell.lock:
                    actions = self._shell.session.abort(wid, -1, time.monotonic())
                self._shell.perform(actions)
        return len(updates)

    def _handle(self, frames: list[bytes], now: float) -> list[Action]:
        shell = self._shell
        session = shell.session
        try:
            wid = shell.worker_of.get(frames[0])
            if wid is None:
                raise ProtocolError("not a worker of this manager")
            if len(frames) != 2:
                raise ProtocolError(f"expected 1 frame after the identity, got {len(frames) - 1}")
            messages = unbatch(decode(shell.signers[wid], frames[1]))
        except (ValueError, ProtocolError) as exc:
            shell.reject(f"from peer {frames[0][:16]!r}: {exc}")
            return []
        shell.drain_output(wid)  # what the worker printed before sending this comes first
        actions: list[Action] = []
        for msg in messages:
            head = msg.header
            if msg.kind == "done":
                run_time = head.get("dt")
                value = _result_value(wid, head["ok"], msg.payload)
                actions += session.on_done(wid, head["t"], value, run_time if isinstance(run_time, float) else None, now)
            elif msg.kind == "hello":
                actions += session.on_hello(wid, head["pid"], now)
            elif msg.kind == "msg":
                actions += session.on_message(wid, received(head["id"], msg.payload))
            elif msg.kind == "wait":
                self._wait_updates.append((wid, head["op"], msg.payload))
            elif msg.kind == "bye":
                actions += session.on_bye(wid, now)
            else:
                shell.reject(f"a {msg.kind!r} message from worker {wid}: workers do not send that kind")
        return actions


def _result_value(wid: int, ok: bool, payload: bytes | memoryview) -> Any:
    if not payload:
        return None
    try:
        value = _values.unpack(payload)
    except Exception as exc:
        return ProMPRemoteError("ProtocolError", f"the result could not be decoded: {exc}", "", wid)
    if ok:
        return value
    if isinstance(value, list) and len(value) == 3 and all(isinstance(x, str) for x in value):
        return ProMPRemoteError(value[0], value[1], value[2], wid)
    return ProMPRemoteError("ProtocolError", f"malformed error report {value!r}", "", wid)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


def _script(path: Any) -> str:
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such script: {path}")
    return path


def _arguments(args: Iterable[Any] | None) -> bytes:
    if args is None:
        return b""
    if not isinstance(args, (list, tuple)):
        raise TypeError(f"args must be an NTVariantList, list or tuple, got {type(args).__name__}")
    return _values.pack(args)


__all__ = ["ProManager", "ProMPOpt_AtomicOutput", "ProMPOpt_RedirectOutput", "ProWorker_All", "ProWorker_Any"]
