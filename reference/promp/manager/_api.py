"""``ProManager``: the user's handle on a set of worker processes, and the API's edge.

Every call happens on the thread that created the manager; user-visible events (output, results,
wait-object updates, exits) are delivered there too, inside ``processMessages()`` and the waits.
Liveness does not depend on those calls: the keeper thread (``_keeper``) watches the workers.

Everything a caller passes is checked here, once, before anything is decided: targets (an int:
a worker id, ``ProWorker_All`` or ``ProWorker_Any`` where the call allows them; ``bool`` is not an
id), argument lists, code and paths, timeouts.  A wrong type is a ``TypeError``, an id this
manager never gave a ``ValueError``, the same in every call; the core then only meets valid input.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import zmq

from .. import _checks, _values
from .._constants import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, ProWorker_All, ProWorker_Any
from .._errors import ProMPError
from .._message import ProMPMessage
from ..wire._zmq import readable, recv_frames, watch
from ._core import EXITED, EXITING, MAX_QUEUED_BYTES, STOP_PENDING, ManagerSession, WorkerRecord
from ._driver import ManagerDriver
from ._executors import KeeperExecutor, UserExecutor
from ._keeper import Keeper
from ._port import ZmqPort, output_spool
from ._wait import ProMPWait, WaitRoutes

ProMPOpt_RedirectOutput = 0x1
ProMPOpt_AtomicOutput = 0x2
_KNOWN_OPTIONS = ProMPOpt_RedirectOutput | ProMPOpt_AtomicOutput
_SPECIAL = {ProWorker_Any: "ProWorker_Any", ProWorker_All: "ProWorker_All"}
_SHOWN_STATE = {STOP_PENDING: "stopping", EXITING: "stopping"}  # its process has ended, its last messages may be on the way


def _close(port: ZmqPort, driver: ManagerDriver) -> None:
    """End the workers and the threads (the finalizer: it holds these two, never the ``ProManager``)."""
    codes = port.close()
    with port.lock:
        driver.close(codes)
    port.waits.closed = True


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
        max_queued_bytes: int | None = MAX_QUEUED_BYTES,
    ) -> None:
        """``warm_start``: fork workers from a zygote that did the imports once (a few ms each) rather than start
        a fresh interpreter for each (cold, 60-100 ms); the launch hook and ``PROMP_COLD_START=1`` make every start cold.

        ``max_queued_bytes``: what tasks given and not yet done may hold, code and arguments (a copy for each
        worker of a ``ProWorker_All`` task) and 512 bytes each besides; a task past it raises ``ProMPQueueFull``
        at the call, which keeps nothing of it.  None: no bound.
        """
        if transport not in ("ipc", "tcp"):
            raise ValueError(f"transport must be 'ipc' or 'tcp', got {transport!r}")
        heartbeat_interval, heartbeat_timeout = _checks.heartbeat(heartbeat_interval, heartbeat_timeout)
        self._owner = threading.get_ident()
        self._options = 0
        max_queued_bytes = _checks.size_bound(max_queued_bytes, "max_queued_bytes")
        session = ManagerSession(heartbeat_interval, heartbeat_timeout, max_queued_bytes=max_queued_bytes)
        self._session = session
        self._driver = driver = ManagerDriver(session, output_spool())
        user: list[UserExecutor] = []  # the routes' abort goes through the user's executor, made below
        routes = WaitRoutes(session.running_task, lambda wid: user[0].call(driver.abort, wid, -1, time.monotonic()))
        self._routes = routes
        self._port = port = ZmqPort(transport, (heartbeat_interval, heartbeat_timeout), session.start_timeout, warm_start, routes)
        self._user = UserExecutor(driver, port)
        user.append(self._user)
        Keeper(port, KeeperExecutor(driver, port))
        self._finalizer = weakref.finalize(self, _close, port, driver)
        self._closed = False
        self._recv_timeout = -1
        self._replies_quick = True  # the last reply came within SPIN: watch for the next before sleeping

    # ------------------------------------------------------------ options
    def setOptions(self, options: int) -> None:
        self._check()
        if not isinstance(options, int) or isinstance(options, bool):
            raise TypeError(f"options must be ProMPOpt_ flags (an int), got {type(options).__name__}")
        if options & ~_KNOWN_OPTIONS:
            raise ValueError(f"unknown option bits in {options!r}")
        self._options = options
        self._port.writer.redirect = bool(options & ProMPOpt_RedirectOutput)
        self._port.writer.atomic = bool(options & ProMPOpt_AtomicOutput)

    def options(self) -> int:
        self._mine()
        return self._options

    # ------------------------------------------------------------ workers
    def startWorker(self) -> int:
        """Start a worker process; returns its id at once while it comes up in the background."""
        self._check()
        wid = self._user.call(self._driver.add_worker, time.monotonic())
        starting = self._session.starting() - 1  # the others: this one's connections are counted as its own
        try:
            self._port.start_worker(wid, starting)
        except BaseException:
            self._user.call(self._driver.forget_worker, wid)  # the caller never got its id: it never was
            raise
        return wid

    def stopWorker(self, workerId: int) -> None:
        """Ask a worker to exit once it has run the tasks already given to it; killed if it has not 1 s after (extension)."""
        self._check()
        self._one_worker(workerId, "stopWorker")
        self._user.call(self._driver.stop_worker, workerId, time.monotonic())

    def workers(self) -> list[int]:
        """Ids of every worker this manager started, in order (extension)."""
        self._mine()
        return list(self._session.workers)

    def workerState(self, workerId: int) -> str:
        """``"starting"``, ``"ready"``, ``"stopping"`` or ``"exited"`` (extension).

        ``"exited"`` once the exit is final: its tasks have been failed and its last messages read.
        A worker whose process has ended but whose last messages may still be on the way is ``"stopping"``.
        """
        state = self._one_worker(workerId, "workerState").state
        return _SHOWN_STATE.get(state, state.value)

    def workerExitCode(self, workerId: int) -> int | None:
        """The exit code once the worker has exited (negative: killed by that signal), else None (extension)."""
        rec = self._one_worker(workerId, "workerExitCode")
        return rec.exit_code if rec.state == EXITED else None

    def workerPid(self, workerId: int) -> int | None:
        """The worker's process id (extension)."""
        self._one_worker(workerId, "workerPid")
        return self._port.pid(workerId)

    def processContainment(self) -> str:
        """How what its workers' tasks start is held, so that it ends with them (extension):

        ``"cgroup"``: each worker in a cgroup of its own, which holds every process its tasks start,
        wherever they move, even past a SIGKILL of the worker; ``"process group"``: each worker a child
        subreaper leading its process group, which ends everything when the worker exits or is killed by its
        manager, but after a SIGKILL from outside, only what stayed in its process group.
        """
        self._check()
        return "cgroup" if self._port.spawner.cgroup_dir is not None else "process group"

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
        if not (code.__class__ is str and code.isascii()):  # ``_text``'s usual case, without its call: the hot path
            code = _text(code, "code")
        if not (name.__class__ is str and name.isascii()):
            name = _text(name, "name")
        payload = _values.pack(args) if args.__class__ is list else _arguments(args)
        self._submit(target, {"op": "func_code", "src": code, "fn": name}, payload, want_result)

    def executePythonFunction(
        self, target: int, path: str | os.PathLike, name: str, args: Iterable[Any] | None = None, want_result: bool = False
    ) -> None:
        fields = {"op": "func_script", "path": _script(path), "fn": _text(name, "name")}
        self._submit(target, fields, _arguments(args), want_result)

    def isBusy(self) -> bool:
        """True while any task is queued or running."""
        self._mine()
        return self._session.is_busy()

    def hasResults(self, target: int = ProWorker_Any) -> bool:
        """Whether a result of ``target`` (a worker id, or any worker) is waiting."""
        if threading.get_ident() != self._owner or self._closed or self._port.forked:  # ``_check``, without its call
            self._check()
        if target.__class__ is int and target == ProWorker_Any:  # the usual case, without a call
            return self._session.results.count > 0
        self._target(target)
        return self._session.results.has(target)

    def takeResult(self, target: int = ProWorker_Any) -> Any:
        """The oldest result of ``target`` (a worker id or ``ProWorker_Any``), or None if there is none.

        A task that failed in the worker yields a ``ProMPRemoteError`` value.
        """
        if threading.get_ident() != self._owner or self._closed or self._port.forked:  # ``_check``, without its call
            self._check()
        if target.__class__ is not int or target != ProWorker_Any:  # the usual case, without a call (the class first:
            # comparing a target that is not an int may raise, as an array's does)
            self._target(target)
        return self._session.results.take(target)

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
        """Process messages until something arrives, nothing is left to do, or ``wakeUp()`` is called (extension).

        Returns False only if ``timeout_ms`` (negative: no limit) passed first.
        """
        limit = None if timeout_ms.__class__ is int and timeout_ms == -1 else _checks.timeout_ms(timeout_ms)  # the usual case, in line
        return self._wait_until(None, limit, alarms=True)

    def sendMessage(self, target: int, msg: ProMPMessage) -> None:
        """Send a custom message to a worker, or to every live worker with ``ProWorker_All``."""
        self._check()
        self._target(target, any_allowed=False)
        if not isinstance(msg, ProMPMessage):
            raise TypeError(f"sendMessage() takes a ProMPMessage, got {type(msg).__name__}")
        self._user.call(self._driver.send_message, target, msg.id, msg.data)

    def hasMessage(self, target: int = ProWorker_Any) -> bool:
        """Whether a message from ``target`` (a worker id or ``ProWorker_Any``) is waiting; processes incoming traffic."""
        self._check()
        self._target(target)
        messages = self._session.messages
        if not messages.has(target):
            self._pump()
        return messages.has(target)

    def getMessage(self, target: int = ProWorker_Any) -> ProMPMessage | None:
        """The oldest message from ``target``, or None."""
        self._check()
        self._target(target)
        return self._session.messages.take(target)

    def waitForMessage(self, target: int = ProWorker_Any, timeout_ms: int = -1) -> bool:
        """Process incoming traffic until a message from ``target`` is there; False after ``timeout_ms``.

        Also False, at once, when no message can come any more: ``target`` (or, for
        ``ProWorker_Any``/``ProWorker_All``, every worker) has exited and nothing is waiting.
        """
        self._check()
        self._target(target)
        limit = _checks.timeout_ms(timeout_ms)
        session = self._session
        messages = session.messages
        if target in _SPECIAL:
            hopeless = lambda: not any(r.state != EXITED for r in session.workers.values())  # noqa: E731
        else:
            hopeless = lambda: session.workers[target].state == EXITED  # noqa: E731
        found = self._wait_until(lambda events: messages.has(target) or hopeless(), limit)
        return found and messages.has(target)

    # ------------------------------------------------------- wait objects
    def createWaitObject(self, workerId: int, ui_wait: Any) -> ProMPWait:
        """Route a worker's wait-object updates to ``ui_wait`` (kept by weak reference: keep it alive yourself)."""
        self._check()
        self._one_worker(workerId, "createWaitObject")
        wait = ProMPWait(self._routes, workerId, ui_wait)
        self._routes.add(wait)
        return wait

    def abortOperation(self, target: int, wait_ms: int = -1) -> None:
        """Abort the running task of ``target`` (a worker id or ``ProWorker_All``).

        The task's ``wasAborted()`` turns true.  With ``wait_ms >= 0``: after half of it,
        Python code still running gets ``ProMPAborted`` raised in it; after all of it, the
        worker and what it started are killed, its queued tasks fail and the manager goes on.
        An idle worker is left alone; an abort given again never postpones the first one's kill.
        """
        self._check()
        _checks.wait_ms(wait_ms)
        self._target(target, any_allowed=False)
        self._user.call(self._driver.abort, target, wait_ms, time.monotonic())

    def wakeUp(self) -> None:
        """Make the wait in progress on the manager's thread return True now, or its next one at once (extension).

        The one call any thread may make: a thread that hands work to the manager's thread wakes it
        with it (``promp.Executor`` does).  Calls before the wait sees them count once; after
        ``close()`` it does nothing.
        """
        self._port.alarm()

    def fileno(self) -> int:
        """A file descriptor that becomes readable when something may have arrived (extension).

        For event loops (``loop.add_reader``; ``promp.aio`` does it): once it is readable, call
        ``processMessages()`` or ``wait(0)``; it is readable again only when something more arrives,
        so look (``wait(0)``) before watching it again.  It is ZeroMQ's ``ZMQ_FD`` of the task socket,
        which the keeper's wake-ups and ``wakeUp()`` reach too.  Do not read it or close it.
        """
        self._check()
        self._port.watched = True
        return self._port.task.getsockopt(zmq.FD)

    def _wait_until(self, done: Callable[[int], bool] | None, limit: float | None, alarms: bool = False) -> bool:
        """Pump until ``done(events just handled)``, blocking on the task socket in between; False after ``limit`` s.

        ``done`` None: ``wait()``'s rule, something happened or nothing is unfinished (in line: a round trip's path).

        Everything that needs handling comes through the task socket (the keeper sends a wake-up
        message when output came, or an exit is due to be made final; timers bound the blocking).
        Before it blocks, a wait watches the socket for up to ``SPIN`` (``watch``) while replies have
        been coming that quickly; a reply slower than that stops the watching until a quick one comes
        again, so waits for long tasks cost no processor time.  ``alarms``: a ``wakeUp()`` ends it too
        (``wait()``'s; ``waitForMessage`` goes on waiting for its message).
        """
        if threading.get_ident() != self._owner or self._closed or self._port.forked:  # ``_check``, without its call
            self._check()
        deadline = None if limit is None else time.monotonic() + limit
        port = self._port
        session = self._session
        if (not session.unfinished if done is None else done(0)) or (alarms and port.alarmed and port.take_alarm()):
            self._pump()
            return True
        task = port.task
        routes = self._routes
        user = self._user
        while True:
            now = time.monotonic()
            timed_out = deadline is not None and deadline <= now
            frames = None
            if not timed_out and user.held is None and not user.ahead:  # nothing read ahead by a submit waits first: receive
                if deadline is None and not routes.waits:
                    ms = -1  # nothing is timed: block until a message (or the keeper's wake-up) comes
                else:
                    limits = [t for t in (deadline, now + routes.POLL if routes.waits else None) if t is not None]
                    ms = max(1, math.ceil((min(limits) - now) * 1000))
                if ms != self._recv_timeout:
                    task.setsockopt(zmq.RCVTIMEO, ms)
                    self._recv_timeout = ms
                if self._replies_quick:
                    watch(task, self.SPIN)
                try:
                    frames = recv_frames(task, routed=True)
                except zmq.Again:
                    pass
                self._replies_quick = frames is not None and time.monotonic() - now < self.SPIN
            events = self._pump(frames)
            finished = (events > 0 or not session.unfinished) if done is None else done(events)
            if timed_out:
                return finished
            if finished or (alarms and port.alarmed and port.take_alarm()):
                return True

    def _pump(self, first: list | None = None) -> int:
        """Handle what arrived (``first``: a message already received), then pass the ui_waits' aborts on.

        While someone watches ZeroMQ's descriptor (``fileno()``), it ends with a look at the task socket: the
        descriptor is an edge that any operation may clear, and after the look it signals the next arrival.
        Otherwise what came meanwhile waits for the next pump (the look costs a microsecond of the round trip)."""
        events = self._user.pump(first)
        if self._routes.waits:
            events += self._routes.pass_aborts()  # sends: before the look
        port = self._port
        if port.watched:
            task = port.task
            while readable(task):
                events += self._user.pump()
        return events

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

    # ---------------------------------------------------------- the edge
    def _mine(self) -> None:
        """Only the thread that created the manager may use it: its tables change under that thread, unguarded."""
        if threading.get_ident() != self._owner:
            raise ProMPError("a ProManager must be used only from the thread that created it")

    def _check(self) -> None:
        if threading.get_ident() != self._owner:  # what _mine says, without its call: every call of the API comes here
            self._mine()
        if self._closed:
            raise ProMPError("the manager is closed")
        if self._port.forked:
            raise ProMPError("this ProManager belongs to the parent process (os.fork() copied it): create a new one here")

    def _target(self, target: Any, any_allowed: bool = True) -> None:
        """A target: a worker id this manager gave, ``ProWorker_All``, or ``ProWorker_Any`` where the call takes it."""
        if target.__class__ is int and (target in self._session.workers or (any_allowed and target in _SPECIAL)):  # the common cases
            return
        if not isinstance(target, int) or isinstance(target, bool):
            raise TypeError(f"target must be a worker id, ProWorker_All or ProWorker_Any, got {type(target).__name__}")
        if target in _SPECIAL:
            if target == ProWorker_Any and not any_allowed:
                raise ValueError("this call goes to a worker id or to ProWorker_All, not to ProWorker_Any (which worker would it mean?)")
        elif target not in self._session.workers:
            raise ValueError(f"no worker with id {target}")

    def _one_worker(self, workerId: Any, call: str) -> WorkerRecord:
        """The record of one worker this manager gave the id of (never ProWorker_All or ProWorker_Any)."""
        self._mine()
        if not isinstance(workerId, int) or isinstance(workerId, bool):
            raise TypeError(f"worker id must be an int, got {type(workerId).__name__}")
        if workerId in _SPECIAL:
            raise ValueError(f"{call}() takes one worker's id, not {_SPECIAL[workerId]}")
        rec = self._session.workers.get(workerId)
        if rec is None:
            raise ValueError(f"no worker with id {workerId}")
        return rec

    def _submit(self, target: int, fields: dict, payload: Any = b"", want_result: bool = False) -> None:
        if threading.get_ident() != self._owner or self._closed or self._port.forked:  # ``_check``, without its call
            self._check()
        if target.__class__ is not int or (target != ProWorker_Any and target not in self._session.workers):
            self._target(target)  # not one of the usual cases: it says what is wrong, or lets ProWorker_All by
        if want_result.__class__ is not bool:
            raise TypeError(f"want_result must be a bool, got {type(want_result).__name__}")
        self._user.submit(target, fields, payload, want_result, time.monotonic())


def _text(value: Any, what: str) -> str:
    if value.__class__ is str and value.isascii():  # the usual case, checked in C
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return _checks.utf8(value, what)


def _script(path: Any) -> str:
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if "\0" in path:
        raise ValueError(f"path contains a NUL character: {path!r}")
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such script: {path}")
    return _checks.utf8(path, f"path {path!r}")


def _arguments(args: Iterable[Any] | None) -> bytes:
    if args is None:
        return b""
    if not isinstance(args, (list, tuple)):
        raise TypeError(f"args must be an NTVariantList, list or tuple, got {type(args).__name__}")
    return _values.pack(args)


__all__ = ["ProManager", "ProMPOpt_AtomicOutput", "ProMPOpt_RedirectOutput", "ProWorker_All", "ProWorker_Any"]
