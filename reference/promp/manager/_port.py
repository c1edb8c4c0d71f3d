"""The manager's I/O: its sockets, its workers' handles, and the deliveries to the user, for the executors.

``ZmqPort`` is the ``ManagerPort`` of real processes (the simulator has a fake one).  Sockets and
their owners:

* ``task`` (ROUTER, bound): tasks out, hello/results/bye in.  Owned by the user's thread, so a task
  and its result cross no thread hand-off.
* ``echo`` (ROUTER, bound): workers ping it; ``zmq.proxy`` echoes in C, so the manager answers
  heartbeats even while user code holds the GIL in C.
* ``beat`` (ROUTER, bound): owned by the keeper, which pings each worker's echo socket and notes
  the answers.
* ``ctrl`` (ROUTER, bound): owned by the keeper, which sends aborts to each worker's control
  thread (they reach a worker while its main thread is busy).

The keeper wakes a user's thread blocked on the task socket by sending it an empty message from
inside the process: one socket to block on, no poller on the hot path.  Any other thread does the
same through a socket of its own, under a lock (``alarm``: ``ProManager.wakeUp``).  Other threads
wake the keeper through an eventfd (``nudge_keeper``).

The port never refers back to the ``ProManager``, so ``m = None`` really lets the manager go: the
finalizer that closes it holds the port, not the manager.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator

import zmq

from .. import _cgroups, wire
from .._errors import ProMPError
from .._procs import kill_tree
from .._stdio import flush_std_streams
from ..wire._zmq import NOBLOCK, echo_forever, new_context, readable, recv_frames, send_routed
from ._actions import WorkerGone
from ._gate import Gate
from ._handle import WorkerHandle
from ._links import Links
from ._output import OutputBatch, OutputWriter
from ._socket_dir import SocketDir
from ._spawn import FDS_PER_WORKER, Spawner, check_fd_budget, new_identity
from ._spool import SPOOL_AT_MOST, SPOOL_IN_TMPFS_AT_MOST, Spool
from ._zygote import Zygote

log = logging.getLogger("promp")

WAKE_IDENTITY = b"wake"  # the keeper's wake-ups
ALARM_IDENTITY = b"wake-any"  # any other thread's (``alarm``)
_WAKES = (WAKE_IDENTITY, ALARM_IDENTITY)
ORDERLY_CLOSE = b"c"  # written to the alive pipe by close(): see ``worker._control``
TASK_QUEUE = 1000  # frames read ahead from one peer of the task socket
SMALL_QUEUE = 1000  # frames queued on a heartbeat or control socket, each way, before ZeroMQ drops
SMALL_FRAME = 4096  # bytes: no heartbeat or control frame comes near it

_PORTS: weakref.WeakSet[ZmqPort] = weakref.WeakSet()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """On the main thread, a SIGINT during the block is held, then handled as it would have been once the block ends."""
    held: list[object] = []
    previous = signal.getsignal(signal.SIGINT)  # None: a handler set outside Python, which could not be put back
    if previous is not None and threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
        except ValueError:  # not the main interpreter's main thread after all
            previous = None
    else:
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            if held:
                if callable(previous):
                    previous(signal.SIGINT, held[0])  # Python's default handler: KeyboardInterrupt, now
                elif previous == signal.SIG_DFL:
                    os.kill(os.getpid(), signal.SIGINT)


def output_spool() -> Spool:
    """Where output past the memory bound waits for the user's thread: an unlinked temporary file (``_spool``)."""
    at_most = SPOOL_IN_TMPFS_AT_MOST if fs_type(tempfile.gettempdir()) == "tmpfs" else SPOOL_AT_MOST
    return Spool(lambda: tempfile.TemporaryFile(prefix="promp-output-", buffering=0), at_most, on_trouble=log.warning)


def fs_type(path: str) -> str | None:
    """The type of the file system ``path`` is on (``/proc/self/mounts``: the longest mount point above it)."""
    path = os.path.realpath(path)
    best, found = -1, None
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) > best:
                    best, found = len(point), fields[2]
    except OSError:
        return None
    return found


def _after_fork_in_child() -> None:
    """After os.fork(), the child must not hold the alive pipes (the workers would outlive their manager),
    nor use the parent's managers (their threads and sockets did not come along)."""
    for port in list(_PORTS):
        port.forked = True
        if port.alive_w < 0:  # given back at close: the number may be someone else's now
            continue
        port._dir.release()  # the lock says the manager lives: the child's copy must not say it for the child
        try:
            os.close(port.alive_w)
        except OSError:
            pass


os.register_at_fork(after_in_child=_after_fork_in_child)


class ZmqPort:
    def __init__(self, transport: str, heartbeat: tuple[float, float], start_timeout: float, warm_start: bool, waits) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self.forked = False  # set in a child made by os.fork(): the manager is not usable there
        self.secret = secrets.token_bytes(32)
        self.writer = OutputWriter()
        self.waits = waits  # the wait objects' routes (``_wait.WaitRoutes``)
        self.handles: dict[int, WorkerHandle] = {}
        self._by_identity: dict[bytes, int] = {}
        self._by_pid: dict[int, int] = {}  # a worker's pid -> its id (a pid can be reused only once its handle is closed)
        self.reject = wire.Rejects(log.warning, time.monotonic)  # every inbound frame refused, counted
        self.keeper = None  # set by the keeper when it starts (``_keeper.Keeper``)
        self._ctx = new_context()
        self.endpoints: dict[str, str] = {}
        self._dir = SocketDir()
        if transport == "ipc" and not self._dir.fits_ipc():
            transport = "tcp"
        self.gate = Gate(self._ctx, self._admits, self.reject) if transport == "tcp" else None
        # Per peer, the task socket reads ahead TASK_QUEUE frames: past that, ZeroMQ stops reading the
        # connection until the user's thread catches up (a worker's frames wait, none is lost; a
        # stranger's cost a bounded queue).  Options must be set before bind: connections copy them.
        self.task = self._bind(zmq.ROUTER, "task", transport, rcvhwm=TASK_QUEUE)
        self.task.setsockopt(zmq.ROUTER_MANDATORY, 1)
        # The other three carry small frames only, and what nobody reads is capped: traffic from a
        # stranger (on tcp, any local user can connect) costs the manager nothing lasting.
        self.echo = self._bind(zmq.ROUTER, "echo", transport, small=True)
        self.beat = self._bind(zmq.ROUTER, "beat", transport, small=True)
        self.beat.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.ctrl = self._bind(zmq.ROUTER, "ctrl", transport, small=True, rcvhwm=1)  # workers never send on it
        self.ctrl.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.alive_r, self.alive_w = os.pipe()
        self._creator = os.getpid()
        _PORTS.add(self)
        self.task.bind(f"inproc://promp-wake-{id(self)}")
        self.waker = self._waking(WAKE_IDENTITY)
        self.wake_pending = False
        self._woken = False  # a wake-up was read ahead of the user's wait (``message``): it is sent again
        self.watched = False  # someone asked for ``fileno()``: the descriptor must signal what a read ahead took in
        self._alarm = self._waking(ALARM_IDENTITY)
        self._alarm_lock = threading.Lock()  # the one socket any thread may use: one at a time
        self._alarm_pending = False  # a wake-up sent and not yet read: another adds nothing
        self.alarmed = False  # set by ``alarm``, taken by the user's thread (``take_alarm``)
        self.nudge_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)  # anyone -> keeper
        self.links = Links(self.task)
        self.spawner = Spawner(self.endpoints, self.alive_r, self.secret, heartbeat, start_timeout, warm_start, self._new_zygote)
        threading.Thread(target=echo_forever, args=(self.echo,), name="promp-echo", daemon=True).start()

    def _waking(self, identity: bytes) -> zmq.Socket:
        """A socket whose empty message wakes the user's thread blocked on the task socket (``identity`` says whose)."""
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"inproc://promp-wake-{id(self)}")
        return sock

    def _bind(self, kind: int, name: str, transport: str, small: bool = False, rcvhwm: int | None = None) -> zmq.Socket:
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, SMALL_QUEUE if small else 0)  # the task channel never drops
        sock.setsockopt(zmq.RCVHWM, rcvhwm if rcvhwm is not None else SMALL_QUEUE)
        if small:
            sock.setsockopt(zmq.MAXMSGSIZE, SMALL_FRAME)  # a larger frame disconnects its sender
        if transport == "tcp":
            Gate.guard(sock)
            sock.bind_to_random_port("tcp://127.0.0.1")
        else:
            sock.bind(f"ipc://{self._dir.path}/{name}")
        self.endpoints[name] = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return sock

    now = staticmethod(time.monotonic)

    # ------------------------------------------------------------ workers
    def start_worker(self, wid: int, starting: int) -> None:
        """Start worker ``wid``'s process (``starting``: workers yet to say hello, whose connections are to come)."""
        check_fd_budget(starting)
        identity_of: list[bytes] = []

        def identify() -> bytes:
            identity = new_identity()
            with self.lock:
                if identity_of:
                    del self._by_identity[identity_of.pop()]
                self._by_identity[identity] = wid
                identity_of.append(identity)
            return identity

        directory = self.spawner.cgroup_dir
        cgroup = _cgroups.new_leaf(directory) if directory is not None else None
        try:
            proc = self.spawner.start(identify, cgroup)
        except BaseException as exc:
            if cgroup is not None:  # a warm fork that failed late may have joined it
                _cgroups.end(cgroup, wait=1.0)
            if not isinstance(exc, OSError) or exc.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            raise ProMPError(
                f"cannot start a worker: no file descriptor left ({exc.strerror}); each worker costs its manager "
                f"{FDS_PER_WORKER} (raise the limit with ulimit -n or resource.setrlimit)"
            ) from exc
        identity = identity_of[0]
        try:
            handle = WorkerHandle(wid, identity, wire.Signer(self.secret, identity), proc, cgroup)
        except BaseException:
            kill_tree(proc.pid)
            proc.wait()
            if cgroup is not None:
                _cgroups.end(cgroup, wait=1.0)
            raise
        with self.lock:
            self.handles[wid] = handle
            self._by_pid[handle.pid] = wid
            links = self.links.claim_pid(handle.pid, wid)  # a forked worker may have connected already
        self.keeper.watch(handle, links)

    def _admits(self, identity: bytes) -> bool:
        """The tcp gate's question: is this the identity of a worker of this manager that has not ended?"""
        wid = self._by_identity.get(identity)
        handle = self.handles.get(wid) if wid is not None else None
        return wid is not None and (handle is None or not handle.closed)

    def worker_of(self, identity: bytes) -> int | None:
        return self._by_identity.get(identity)

    def worker_by_pid(self, pid: int | None) -> int | None:
        return self._by_pid.get(pid)

    def pid(self, wid: int) -> int | None:
        handle = self.handles.get(wid)
        return handle.pid if handle is not None else None

    def _new_zygote(self, zygote: Zygote) -> None:
        self.keeper.watch_zygote(zygote)

    # ---------------------------------------------------- the user's thread
    def messages(self, first: list | None = None) -> Iterator[tuple[int, list[wire.Message]]]:
        if first is not None and first[0] not in _WAKES:  # the hot path: one frame, already received
            decoded = self._decode(first)
            return (decoded,) if decoded is not None else ()
        return self._read_through(first)

    def _read_through(self, first: list | None) -> Iterator[tuple[int, list[wire.Message]]]:
        task = self.task
        frames = first
        drain = first is None
        while frames is not None or (drain and readable(task)):
            if frames is None:
                frames = recv_frames(task, NOBLOCK, routed=True)
            if not self._took_wake(frames[0]):
                decoded = self._decode(frames)
                if decoded is not None:
                    yield decoded
            frames = None

    def message(self) -> tuple[int, list[wire.Message]] | None:
        task = self.task
        while readable(task):
            frames = recv_frames(task, NOBLOCK, routed=True)
            if self._took_wake(frames[0]):  # for the user's next wait: ``read_ahead_done`` sends one again
                self._woken = True
                continue
            decoded = self._decode(frames)
            if decoded is not None:
                return decoded
        return None

    def _took_wake(self, identity: bytes) -> bool:
        """Whether a frame from ``identity`` is a wake-up of the user's thread; its sender may send another now."""
        if identity == WAKE_IDENTITY:
            self.wake_pending = False
        elif identity == ALARM_IDENTITY:
            self._alarm_pending = False
        else:
            return False
        return True

    def read_ahead_done(self, read: bool) -> None:
        """A wake-up of the user's thread, at the back of the queue, when the reads took one (the next wait must see
        it), or read anything while someone watches ``fileno()``: the reads took ZeroMQ's descriptor's edge.  (The
        next wait itself handles what was read or held before it blocks.)"""
        if self._woken or (read and self.watched):
            self._woken = False
            self._wake_again()

    def _wake_again(self) -> None:
        """Any thread: a wake-up of the user's thread, by the one socket any thread may use (at most one on the way)."""
        with self._alarm_lock:
            if not self.closed and not self._alarm_pending:
                self._alarm_pending = True
                self._alarm.send(b"")

    def _decode(self, frames: list) -> tuple[int, list[wire.Message]] | None:
        """The one door for the task channel's frames: whose they are, signed by them, well-formed."""
        wid = self._by_identity.get(frames[0])
        try:
            if wid is None:
                raise wire.ProtocolError("not a worker of this manager")
            if not 2 <= len(frames) <= 3:
                raise wire.ProtocolError(f"expected 1 or 2 frames after the identity, got {len(frames) - 1}")
            handle = self.handles[wid]
            messages = wire.decode(handle.signer, *frames[1:], copy_tail=True)  # a large result is the user's to keep
            if handle.takes_tasks is None:  # its first frame: the hello says how it takes tasks
                handle.takes_tasks = any(m.__class__ is wire.Hello and m.tasks for m in messages)
            return wid, messages
        except (ValueError, KeyError) as exc:
            self.reject(f"from peer {frames[0][:16]!r}: {exc}")
            return None

    def drain(self, wid: int) -> list[tuple[int, bytes]]:
        handle = self.handles.get(wid)
        return handle.pipes.drain() if handle is not None and not handle.closed else []

    def send(self, wid: int, messages: list[wire.Message]) -> None:
        handle = self.handles[wid]
        try:
            send_routed(self.task, handle.identity, wire.encode_many(handle.signer, messages, tasks=handle.takes_tasks))
        except zmq.ZMQError as exc:  # EHOSTUNREACH: the worker is gone; its exit fails the tasks
            log.debug("could not send to worker %d: %s", wid, exc)

    def output(self, chunks: OutputBatch) -> None:
        writer = self.writer
        try:
            if not (writer.redirect or writer.atomic):  # the seed's default: workers' output is not shown
                return
            for wid, stream, data in chunks:
                writer.write(wid, stream, data)
            flush_std_streams()
        finally:
            chunks.close()

    def wait_note(self, wid: int, op: str, payload: bytes) -> None:
        self.waits.deliver(wid, op, payload)

    def worker_gone(self, gone: WorkerGone) -> None:
        self.writer.forget(gone.worker)
        if not gone.expected:
            log.warning("worker %d %s; %d unfinished task(s) failed", gone.worker, gone.reason, gone.failed_tasks)

    def ignored(self, wid: int, reason: str) -> None:
        self.reject(reason)

    def nudge_keeper(self) -> None:
        """Wake the keeper: new things to watch or do, or a new deadline to keep."""
        os.eventfd_write(self.nudge_fd, 1)

    give_way = staticmethod(os.sched_yield)

    # ----------------------------------------------------------- the keeper
    def ping(self, wid: int, n: int) -> None:
        self._send_small(self.beat, wid, wire.Ping(n))

    def control(self, wid: int, message: wire.Abort) -> bool:
        return self._send_small(self.ctrl, wid, message)

    def _send_small(self, sock: zmq.Socket, wid: int, message: wire.Message) -> bool:
        """A heartbeat or control frame, from the keeper; never raises (the keeper must live on).  False: not delivered."""
        handle = self.handles.get(wid)
        if handle is None:  # its process is being started: nothing to reach yet
            return False
        try:
            sock.send_multipart([handle.identity, wire.encode(handle.signer, message)], zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:  # not connected yet, or gone
            log.debug("could not send %s to worker %d: %s", message.kind, wid, exc)
            return False

    def kill(self, wid: int, reason: str) -> None:
        log.warning("killing worker %d: %s", wid, reason)
        handle = self.handles.get(wid)
        if handle is not None:
            handle.kill()

    def release(self, wid: int) -> None:
        handle = self.handles.get(wid)
        if handle is not None:
            self.keeper.unwatch(handle)
            with self.lock:
                handle.close()
                if self._by_pid.get(handle.pid) == wid:  # its pid may be someone else's from now on
                    del self._by_pid[handle.pid]

    def read_pipe(self, wid: int, stream: int) -> None:
        handle = self.handles.get(wid)
        if handle is not None and not handle.closed:
            self.keeper.watch_pipe(handle, stream)

    def wake_user(self) -> None:
        if not self.wake_pending:
            self.wake_pending = True
            self.waker.send(b"")

    def alarm(self) -> None:
        """Any thread: make the user's thread's wait return (``ProManager.wakeUp``); no frame is sent once closed."""
        self.alarmed = True
        self._wake_again()

    def take_alarm(self) -> bool:
        """The user's thread: whether ``alarm`` was called since it last asked."""
        if not self.alarmed:
            return False
        self.alarmed = False
        return True

    # ------------------------------------------------------------- closing
    def close(self) -> dict[int, int | None]:
        """End every worker (they see EOF on the alive pipe at once), then the threads and sockets; their exit codes.

        A Ctrl-C meanwhile waits for the end of it (on the main thread): a close cut short left workers unreaped
        (zombies for the rest of the process's life) and the socket directory behind."""
        with interrupts_deferred():
            return self._close()

    def _close(self) -> dict[int, int | None]:
        if self.closed:
            return {}
        with self._alarm_lock:
            self.closed = True
        _PORTS.discard(self)
        if os.getpid() != self._creator:  # a forked copy of this process: the workers are not ours to end
            return {}
        try:  # a byte before the end of file: an orderly close, whose cgroups and socket directory this manager ends
            os.write(self.alive_w, ORDERLY_CLOSE)
        except OSError:
            pass
        os.close(self.alive_w)
        self.alive_w = -1
        os.close(self.alive_r)
        try:
            deadline = time.monotonic() + 1.0
            for handle in list(self.handles.values()):
                try:
                    handle.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:  # killed below
                    pass
        finally:  # even when something cuts the close short: every worker is reaped (killed if still there), the
            # cgroups and the directory go
            self.spawner.close()  # after the workers: it saw the end of the alive pipe too, and is gone by now
            self.nudge_keeper()
            if self.keeper is not None:
                self.keeper.join()
            for handle in self.handles.values():
                if handle.proc.returncode is None:  # past the second it had, or the close was cut short
                    handle.kill()
                    handle.proc.wait()
                handle.close()
            self.task.close()
            self.links.close()
            self.waker.close()
            with self._alarm_lock:
                self._alarm.close()
            self._ctx.term()
            os.close(self.nudge_fd)
            self._dir.remove()
        return {wid: handle.proc.returncode for wid, handle in self.handles.items()}
