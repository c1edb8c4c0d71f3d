"""The manager's I/O shell: sockets, worker processes, the keeper thread.

``Shell`` holds everything a manager owns and is shared by three parties: the
user's thread (through ``ProManager``), the keeper thread, and the finalizer
that closes it when the ``ProManager`` is closed, collected or the interpreter
exits.  It never refers back to the ``ProManager``, so ``m = None`` really
lets the manager go.

Sockets and their owners:

* ``task`` (ROUTER, bound): tasks out, hello/results/bye in.  Owned by the
  user's thread, so a task and its result cross no thread hand-off.
* ``echo`` (ROUTER, bound): workers ping it; ``zmq.proxy`` echoes in C, so the
  manager answers heartbeats even while user code holds the GIL in C.
* ``beat`` (ROUTER, bound): owned by the keeper, which pings each worker's
  echo socket and notes the answers.
* ``ctrl`` (ROUTER, bound): owned by the keeper, which sends aborts to each
  worker's control thread (they reach a worker while its main thread is busy).

The keeper thread also reads every worker's stdout/stderr pipe, watches each
worker process through a pidfd (exit noticed in milliseconds), kills silent
workers, and wakes the user's thread through an eventfd.  Everything it learns
goes into the ``ManagerSession`` under ``lock``.
"""

from __future__ import annotations

import glob
import logging
import os
import resource
import secrets
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref

import psutil
import zmq
from zmq.utils.monitor import recv_monitor_message

from . import _env, _state
from . import _protocol as wire
from ._errors import ProMPError
from ._manager_core import Action, Control, Ignored, Kill, ManagerSession, Ping, ReadThrough, Send, WorkerGone
from ._output import STDERR, STDOUT
from ._protocol import ProtocolError, Rejects, Signer, decode, encode, encode_batch
from ._transport import echo_forever, new_context, readable, send_routed
from ._zygote import AdoptedProcess, Zygote, ZygoteError, boot_code

log = logging.getLogger("promp")

WAKE_IDENTITY = b"wake"
ZYGOTE = -1  # what the keeper watches: the zygote's pidfd (0 is a worker's, 1 and 2 its output pipes)
TASK_QUEUE = 1000  # frames read ahead from one peer of the task socket
SMALL_QUEUE = 1000  # frames queued on a heartbeat or control socket, each way, before ZeroMQ drops
SMALL_FRAME = 4096  # bytes: no heartbeat or control frame comes near it
OUTPUT_HELD_AT_MOST = 1 << 20  # bytes of one worker's output the manager holds for the user's thread
DRAIN_AT_MOST = 1 << 20  # bytes read from one pipe before a message of its worker is handled
PIPE_READ = 65536  # bytes read from a pipe at once
UNFINISHED_LINE_WAIT = 0.02  # seconds the end of a chunk without a newline waits for the rest of its write

_MAX_IPC_PATH = 100  # sun_path is 108 bytes on Linux, leave room for the name
_WORKER_BOOT = boot_code("_worker_shell", "main")


_SHELLS: weakref.WeakSet[Shell] = weakref.WeakSet()
_DIR_PREFIX = "promp-"
_OWNER = "owner"  # "pid start-time" of the manager's process, for cleaning up after dead ones


def _process_stamp(pid: int) -> str:
    try:
        return f"{pid} {psutil.Process(pid).create_time()}"
    except psutil.Error:
        return ""


def remove_stale_socket_dirs() -> None:
    """Remove the socket directories of managers whose process is gone.

    A killed manager cannot clean up; its workers remove the directory when they see it die,
    but not when they left because it was frozen first.  The next manager finishes the job.
    """
    pattern = os.path.join(tempfile.gettempdir(), _DIR_PREFIX + "*", _OWNER)
    for owner in glob.glob(pattern):
        try:
            with open(owner) as f:
                stamp = f.read().strip()
        except OSError:
            continue
        pid = stamp.split(" ", 1)[0]
        if pid.isdigit() and _process_stamp(int(pid)) != stamp:
            shutil.rmtree(os.path.dirname(owner), ignore_errors=True)


def _close_alive_pipes_in_child() -> None:
    """After os.fork(), the child must not hold the alive pipes (the workers would outlive their manager),
    nor use the parent's managers (their threads and sockets did not come along)."""
    for shell in list(_SHELLS):
        shell.forked = True
        if shell._alive_w < 0:  # given back at close: the number may be someone else's now
            continue
        try:
            os.close(shell._alive_w)
        except OSError:
            pass


os.register_at_fork(after_in_child=_close_alive_pipes_in_child)


def workerCommand() -> list[str]:
    """The argv that starts a worker process (extension: lets a harness drive a worker over the wire)."""
    return [sys.executable, "-c", _WORKER_BOOT]


def launch_prefix() -> list[str]:
    """The argv prefix ``PROMP_WORKER_PREFIX`` names, if any (read at each start)."""
    words = os.environ.get(_env.WORKER_PREFIX, "")
    try:
        return shlex.split(words)
    except ValueError as exc:
        raise ProMPError(f"{_env.WORKER_PREFIX} is not a valid list of shell words ({exc}): {words!r}") from None



# Each worker leads a process group of its own, so that what its tasks start can be ended with it
# even when it dies without warning.  (Terminal signals then reach the manager alone: Ctrl-Z stops
# the manager, and its workers leave after the heartbeat timeout, as for any frozen manager.)
_OWN_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
FDS_PER_WORKER = 7  # in the manager: stdout and stderr pipes, a pidfd, one connection on each of 4 sockets
_CONNECTIONS = 4  # of those, the ones a worker opens itself, later, when it starts
_FDS_SPARE = 16  # for spawning (its pipes come and go) and for libzmq, which aborts the process when it runs out


def check_fd_budget(starting: int = 0) -> None:
    """Refuse a worker the process has no file descriptors for, before libzmq finds out by aborting.

    ``starting`` workers have not said hello yet: their connections, which cost descriptors when
    the manager's sockets accept them, may not be counted in what is open now.
    """
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        return
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    needed = FDS_PER_WORKER + _CONNECTIONS * starting + _FDS_SPARE
    if limit != resource.RLIM_INFINITY and in_use + needed > limit:
        raise ProMPError(
            f"cannot start another worker: {in_use} of the process's {limit} file descriptors are in use, {starting} "
            f"worker(s) still starting will need {_CONNECTIONS * starting} more, and a worker needs {FDS_PER_WORKER} "
            "(raise the limit with ulimit -n or resource.setrlimit)"
        )


def _peer_pid(fd: int) -> int | None:
    """The process at the other end of a unix socket (None for any other kind, or one already gone)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        if sock.family != socket.AF_UNIX:
            return None
        pid, _, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        return pid
    except OSError:
        return None
    finally:
        sock.close()


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process it started (collected first, so none escapes)."""
    try:
        root = psutil.Process(pid)
        family = root.children(recursive=True) + [root]
    except psutil.Error:
        return
    for proc in family:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass


class Shell:
    def __init__(self, session: ManagerSession, transport: str = "ipc", warm_start: bool = True) -> None:
        self.session = session
        self.lock = threading.Lock()
        self.secret = secrets.token_bytes(32)
        # Each worker's ZeroMQ identity is an unguessable token (a peer that connects first cannot
        # claim it) and its frames are signed bound to it (see ``Signer``).
        self.identities: dict[int, bytes] = {}
        self.worker_of: dict[bytes, int] = {}
        self.signers: dict[int, Signer] = {}
        self.closed = False
        self.forked = False  # set in a child made by os.fork(): the manager is not usable there
        self.procs: dict[int, subprocess.Popen | AdoptedProcess] = {}
        self.warm_start = warm_start and os.environ.get(_env.COLD_START) != "1"
        self._zygote: Zygote | None = None
        self.pipes: dict[int, tuple[int, int]] = {}  # worker -> (stdout fd, stderr fd)
        self._pipe_polls: dict[int, select.poll] = {}  # worker -> poll of its two pipes
        self.output: list[tuple[int, int, bytes]] = []  # (worker, stream, data), read under lock
        self.unread: dict[int, int] = {}  # worker -> bytes of it in ``output``
        self._unfinished: dict[tuple[int, int], tuple[bytes, float]] = {}  # (worker, stream) -> (line so far, since)
        self._paused: list[tuple[int, int, int]] = []  # pipes not read until the user's thread takes the output
        self.reject = Rejects(log.warning, time.monotonic)  # every inbound frame refused, counted
        self._ctx = new_context()
        self.endpoints: dict[str, str] = {}
        remove_stale_socket_dirs()
        self._dir = tempfile.mkdtemp(prefix=_DIR_PREFIX)  # 0700: only this user reaches the sockets
        with open(os.path.join(self._dir, _OWNER), "w") as f:
            f.write(_process_stamp(os.getpid()))
        if transport == "ipc" and len(self._dir) + 8 > _MAX_IPC_PATH:
            transport = "tcp"
        # Per peer, the task socket reads ahead TASK_QUEUE frames: past that, ZeroMQ stops reading the
        # connection until the user's thread catches up (a worker's frames wait, none is lost; a
        # stranger's cost a bounded queue).  Options must be set before bind: connections copy them.
        self.task = self._bind(zmq.ROUTER, "task", transport, rcvhwm=TASK_QUEUE)
        self.task.setsockopt(zmq.ROUTER_MANDATORY, 1)
        # The other three carry small frames only, and what nobody reads is capped: traffic from a
        # stranger (on tcp, any local user can connect) costs the manager nothing lasting.
        self._echo = self._bind(zmq.ROUTER, "echo", transport, small=True)
        self._beat = self._bind(zmq.ROUTER, "beat", transport, small=True)
        self._beat.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._ctrl = self._bind(zmq.ROUTER, "ctrl", transport, small=True, rcvhwm=1)  # workers never send on it
        self._ctrl.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._controls: list[Control] = []  # for the keeper to send
        self._alive_r, self._alive_w = os.pipe()
        self._creator = os.getpid()
        _SHELLS.add(self)
        # The keeper wakes a user thread blocked on the task socket by sending it an empty
        # message from inside the process: one socket to block on, no poller on the hot path.
        self.task.bind(f"inproc://promp-wake-{id(self)}")
        self._waker = self._ctx.socket(zmq.DEALER)
        self._waker.setsockopt(zmq.IDENTITY, WAKE_IDENTITY)
        self._waker.setsockopt(zmq.LINGER, 0)
        self._waker.connect(f"inproc://promp-wake-{id(self)}")
        self.wake_pending = False
        self._keeper_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)  # anyone -> keeper
        # The task socket's connections opening and ending, for the keeper: a dead worker's exit is final
        # once its connection's end was read (all it sent is in), without waiting out the exit grace.
        self._links = self.task.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self._link_of: dict[int, int] = {}  # connection fd -> worker
        self._unclaimed: dict[int, int] = {}  # connection fd -> peer pid, accepted before that pid was known
        self._new_fds: list[tuple[int, int, int]] = []  # (worker, fd, what) for the keeper to watch
        threading.Thread(target=echo_forever, args=(self._echo,), name="promp-echo", daemon=True).start()
        self._keeper = threading.Thread(target=self._keep, name="promp-keeper", daemon=True)
        self._keeper.start()

    def _bind(self, kind: int, name: str, transport: str, small: bool = False, rcvhwm: int | None = None) -> zmq.Socket:
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, SMALL_QUEUE if small else 0)  # the task channel never drops
        sock.setsockopt(zmq.RCVHWM, rcvhwm if rcvhwm is not None else SMALL_QUEUE)
        if small:
            sock.setsockopt(zmq.MAXMSGSIZE, SMALL_FRAME)  # a larger frame disconnects its sender
        if transport == "tcp":
            sock.bind_to_random_port("tcp://127.0.0.1")
        else:
            sock.bind(f"ipc://{self._dir}/{name}")
        self.endpoints[name] = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return sock

    # ------------------------------------------------------------ workers
    def spawn(self, wid: int) -> subprocess.Popen | AdoptedProcess:
        session = self.session
        with self.lock:
            starting = sum(1 for rec in session.workers.values() if rec.running and rec.pid is None and rec.id != wid)
        check_fd_budget(starting)
        env = dict(os.environ)
        env.update(
            {
                _env.TASK_ENDPOINT: self.endpoints["task"],
                _env.BEAT_ENDPOINT: self.endpoints["beat"],
                _env.ECHO_ENDPOINT: self.endpoints["echo"],
                _env.CTRL_ENDPOINT: self.endpoints["ctrl"],
                _env.ALIVE_FD: str(self._alive_r),
                _env.LEVEL: str(_state.level + 1),
                _env.HEARTBEAT: f"{session.heartbeat_interval},{session.heartbeat_timeout}",
            }
        )
        prefix = launch_prefix()
        secret_fd = _env.secret_pipe(self.secret)
        env[_env.SECRET_FD] = str(secret_fd)
        try:
            proc = None if prefix or not self.warm_start else self._fork(self._identify(wid, env), secret_fd)
            if proc is None:  # a fresh identity: a warm start that failed late must not pass for this worker
                proc = self._start_cold(prefix + workerCommand(), self._identify(wid, env), secret_fd)
        finally:
            os.close(secret_fd)
        out, err = proc.stdout.fileno(), proc.stderr.fileno()
        os.set_blocking(out, False)
        os.set_blocking(err, False)
        pipe_poll = select.poll()
        pipe_poll.register(out, select.POLLIN)
        pipe_poll.register(err, select.POLLIN)
        with self.lock:
            self.procs[wid] = proc
            for fd, pid in list(self._unclaimed.items()):  # a forked worker may have connected already
                if pid == proc.pid:
                    del self._unclaimed[fd]
                    self._claim(fd, wid)
            self.pipes[wid] = (out, err)
            self._pipe_polls[wid] = pipe_poll
            self._new_fds += [(wid, out, STDOUT), (wid, err, STDERR), (wid, os.pidfd_open(proc.pid), 0)]
        self.nudge()
        return proc

    def _identify(self, wid: int, env: dict[str, str]) -> dict[str, str]:
        """Give the worker a new identity, in ``env`` and in the manager's tables."""
        identity = secrets.token_hex(12).encode()
        env[_env.WORKER_ID] = identity.decode()
        with self.lock:
            old = self.identities.get(wid)
            if old is not None:
                del self.worker_of[old]
            self.identities[wid] = identity
            self.worker_of[identity] = wid
            self.signers[wid] = Signer(self.secret, identity)
        return env

    def _start_cold(self, command: list[str], env: dict[str, str], secret_fd: int) -> subprocess.Popen:
        try:
            return subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(self._alive_r, secret_fd),
                **_OWN_GROUP,
            )
        except OSError as exc:
            raise ProMPError(f"cannot start a worker: {shlex.join(command[:1])} failed ({exc.strerror})") from exc

    def _fork(self, env: dict[str, str], secret_fd: int) -> AdoptedProcess | None:
        """A worker forked by the zygote (started now if need be), or None: then it starts cold."""
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            for _attempt in range(2):
                if not self.warm_start:
                    break
                zygote = self._zygote
                if zygote is not None and zygote.killed:
                    self._give_up_zygote("the zygote was killed")
                    break
                if zygote is None or not zygote.usable:  # not started yet, ended idle, or under another PYTHON* set-up
                    zygote = self._new_zygote()
                try:
                    return AdoptedProcess(zygote.spawn(env, (out_w, err_w, secret_fd), self.session.start_timeout), out_r, err_r)
                except ZygoteError as exc:
                    if not zygote.ended_idle:  # it froze or is broken: no second try
                        self._give_up_zygote(str(exc))
        finally:
            os.close(out_w)
            os.close(err_w)
        os.close(out_r)
        os.close(err_r)
        return None

    def _give_up_zygote(self, reason: str) -> None:
        log.warning("%s; workers of this manager start cold from now on", reason)
        self.warm_start = False
        self._zygote.close()

    def _new_zygote(self) -> Zygote:
        if self._zygote is not None:
            self._zygote.close()
        self._zygote = Zygote(self._alive_r, self.session.heartbeat_timeout)
        with self.lock:  # the keeper reaps it when it ends
            self._new_fds.append((-1, os.pidfd_open(self._zygote.pid), ZYGOTE))
        self.nudge()
        return self._zygote

    @property
    def dropped(self) -> int:
        """How many inbound frames were refused."""
        return self.reject.count

    def perform(self, actions: list[Action]) -> None:
        """Carry out what the session decided, on the user's thread (which owns the task socket)."""
        if len(actions) == 1 and actions[0].__class__ is Send:  # the hot path: one task or message out
            self.send_all(actions)
            return
        sends: list[Send] = []
        controls: list[Control] = []
        for action in actions:
            if isinstance(action, Send):
                sends.append(action)
            elif isinstance(action, Control):
                controls.append(action)
            elif isinstance(action, WorkerGone):
                if not action.expected:
                    log.warning("worker %d %s; %d unfinished task(s) failed", action.worker, action.reason, action.failed_tasks)
            elif isinstance(action, Kill):
                self._kill(action)
            elif isinstance(action, Ignored):
                self.reject(action.reason)
        if sends:
            self.send_all(sends)
        if controls:
            self.control(controls)

    def send_all(self, sends: list[Send]) -> None:
        """Send on the task channel; several messages for one worker go as one batch."""
        if len(sends) == 1:  # the common case, without the grouping
            send = sends[0]
            self._send_frame(send.worker, encode(self.signers[send.worker], send.header, send.payload))
            return
        by_worker: dict[int, list[tuple[dict, bytes]]] = {}
        for action in sends:
            by_worker.setdefault(action.worker, []).append((action.header, action.payload))
        for wid, items in by_worker.items():
            signer = self.signers[wid]
            self._send_frame(wid, encode(signer, *items[0]) if len(items) == 1 else encode_batch(signer, items))

    def _send_frame(self, wid: int, frame: bytes) -> None:
        try:
            send_routed(self.task, self.identities[wid], frame)
        except zmq.ZMQError as exc:  # EHOSTUNREACH: the worker is gone; its exit fails the tasks
            log.debug("could not send to worker %d: %s", wid, exc)

    def nudge(self) -> None:
        """Wake the keeper: new things to watch or send, or a new deadline to keep."""
        os.eventfd_write(self._keeper_fd, 1)

    def control(self, controls: list[Control]) -> None:
        """Hand control messages to the keeper, which owns the control socket."""
        if controls:
            with self.lock:
                self._controls += controls
            self.nudge()

    def drain_output(self, wid: int) -> None:
        """Read what a worker has written so far (caller holds ``lock``).

        Called before a message of the worker is handled, so that its output comes first.  What it
        printed before sending the message is in our buffer or in the pipe (the worker blocks on a
        full pipe before it can send), so reading at most ``DRAIN_AT_MOST`` is enough, and a worker
        printing without pause cannot keep this loop going.
        """
        pipe_poll = self._pipe_polls.get(wid)
        if pipe_poll is None:
            return
        for fd, _ in pipe_poll.poll(0):
            stream = STDOUT if fd == self.pipes[wid][0] else STDERR
            budget = DRAIN_AT_MOST
            while budget > 0 and (data := self._read_output(wid, stream, fd)) is not None:
                if not data:
                    pipe_poll.unregister(fd)
                    break
                budget -= len(data)
        if self._unfinished:  # the worker wrote it before it sent the message: it is finished
            self.release_unfinished(wid=wid)

    def _read_output(self, wid: int, stream: int, fd: int) -> bytes | None:
        """One chunk of a worker's pipe into ``output`` (caller holds ``lock``): None when drained, b"" at EOF.

        Where a read ends says nothing of where a write ended: a write longer than the pipe's room
        (one print of 100,000 characters, or many lines at once) is read in pieces, the writer
        refilling the pipe as the reader empties it.  So the end of a chunk after its last newline
        waits, up to ``UNFINISHED_LINE_WAIT``, for the rest of its line, and atomic output, which
        ends every piece with a newline, keeps long lines whole.  Text written without a newline
        (a prompt) goes out after that wait, or at once when its worker sends a message or exits.
        """
        key = (wid, stream)
        try:
            data = os.read(fd, PIPE_READ)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        held, since = self._unfinished.pop(key, (b"", 0.0))
        chunk = held + data
        if data and not chunk.endswith(b"\n") and len(chunk) < OUTPUT_HELD_AT_MOST:
            cut = chunk.rfind(b"\n") + 1
            self._unfinished[key] = (chunk[cut:], since if held and not cut else time.monotonic())
            chunk = chunk[:cut]
        self._add_output(wid, stream, chunk)
        return data

    def release_unfinished(self, now: float | None = None, wid: int | None = None) -> bool:
        """Write out unfinished lines that waited long enough (or all of ``wid``'s); True if any went."""
        due = [
            key for key, (_, since) in self._unfinished.items()
            if key[0] == wid or (now is not None and now - since >= UNFINISHED_LINE_WAIT)
        ]
        for key in due:
            self._add_output(*key, self._unfinished.pop(key)[0])
        return bool(due)

    def unfinished_due(self) -> float | None:
        """When the oldest unfinished line is to be written out (caller holds ``lock``), or None."""
        if not self._unfinished:
            return None
        return min(since for _, since in self._unfinished.values()) + UNFINISHED_LINE_WAIT

    def _add_output(self, wid: int, stream: int, chunk: bytes) -> None:
        if chunk:
            self.output.append((wid, stream, chunk))
            self.unread[wid] = self.unread.get(wid, 0) + len(chunk)

    def output_taken(self) -> list[tuple[int, int, bytes]]:
        """The output read so far, for the user's thread to write (caller holds ``lock``); paused pipes resume."""
        output, self.output = self.output, []
        self.unread.clear()
        if self._paused:
            self._new_fds += self._paused
            self._paused = []
            self.nudge()
        return output

    # ------------------------------------------------------------- keeper
    def _keep(self) -> None:
        poller = zmq.Poller()
        poller.register(self._beat, zmq.POLLIN)
        poller.register(self._keeper_fd, zmq.POLLIN)
        poller.register(self._links, zmq.POLLIN)
        watched: dict[int, tuple[int, int]] = {}  # fd -> (worker, what)
        session = self.session
        deadline: float | None = None
        echoes_only = False
        while not self.closed:
            if not echoes_only:
                with self.lock:
                    deadline = session.next_deadline()
            wake_at = deadline
            if self._unfinished:  # an unfinished line is due out too
                with self.lock:
                    due = self.unfinished_due()
                if due is not None and (wake_at is None or due < wake_at):
                    wake_at = due
            timeout = None if wake_at is None else max(0.0, wake_at - time.monotonic()) * 1000 + 1
            try:
                events = poller.poll(timeout)
            except zmq.ContextTerminated:
                break
            now = time.monotonic()
            woke = wake = False
            controls: list[Control] = []
            with self.lock:
                for sock_or_fd, _ in events:
                    if sock_or_fd is self._beat:
                        self._take_echoes(now)
                    elif sock_or_fd is self._links:
                        woke |= self._take_link_events()
                    elif sock_or_fd == self._keeper_fd:
                        os.eventfd_read(self._keeper_fd)
                        for wid, fd, what in self._new_fds:
                            watched[fd] = (wid, what)
                            poller.register(fd, zmq.POLLIN)
                        self._new_fds.clear()
                        controls, self._controls = self._controls, []
                    else:
                        wid, what = watched[sock_or_fd]
                        got_output, still_open = self._on_fd(wid, what, sock_or_fd, now)
                        woke |= got_output or not still_open
                        if not still_open:
                            poller.unregister(sock_or_fd)
                            del watched[sock_or_fd]
                self._take_echoes(now)  # answers that came in while this thread was starved count
                if self._unfinished:
                    woke |= self.release_unfinished(now)
                # Echoes only clear waits, so nothing new is due before the deadline already known: with many
                # workers, each echo then costs O(1) rather than a look at every worker.
                echoes_only = all(sock is self._beat for sock, _ in events) and deadline is not None and now < deadline
                actions = [] if echoes_only else session.tick(now)
                woke |= ReadThrough() in actions  # the user's thread reads the task socket when woken
                wake = woke and not self.wake_pending
                self.wake_pending |= wake
            if wake:
                self._waker.send(b"")
            for action in [*controls, *actions]:  # performed outside the lock
                if isinstance(action, Control):
                    self._send_control(action)
                elif isinstance(action, Ping):
                    self._ping(action)
                elif isinstance(action, Kill):
                    self._kill(action)
        self._beat.close()
        self._ctrl.close()
        self._waker.close()
        self._links.close()

    def _kill(self, kill: Kill) -> None:
        log.warning("killing worker %d: %s", kill.worker, kill.reason)
        proc = self.procs.get(kill.worker)
        if proc is not None:
            kill_tree(proc.pid)

    def _take_link_events(self) -> bool:
        """Note which worker's task connection opened or ended (caller holds ``lock``); True if one ended.

        A connection is told apart by its peer's process (``SO_PEERCRED``, on ipc): a worker, or the
        launcher the manager started.  Others (tcp, a peer that is no process of ours) keep the grace.
        A forked worker can connect before ``spawn`` has learnt its pid: its connection waits,
        unclaimed, until then.
        """
        ended = False
        while readable(self._links):
            event = recv_monitor_message(self._links)
            fd = event["value"]
            if event["event"] == zmq.EVENT_ACCEPTED:
                pid = _peer_pid(fd)
                wid = self._worker_by_pid(pid)
                if wid is not None:
                    self._claim(fd, wid)
                elif pid is not None:
                    self._unclaimed[fd] = pid
            else:
                self._unclaimed.pop(fd, None)
                wid = self._link_of.pop(fd, None)
                if wid is not None:
                    self.session.on_link(wid, False)
                    ended = True
        return ended

    def _claim(self, fd: int, wid: int) -> None:
        self._link_of[fd] = wid
        self.session.on_link(wid, True)

    def _worker_by_pid(self, pid: int | None) -> int | None:
        if pid is not None:
            for wid, proc in self.procs.items():
                if proc.pid == pid:
                    return wid
        return None

    def _take_echoes(self, now: float) -> None:
        while readable(self._beat):
            frames = self._beat.recv_multipart()
            wid = self.worker_of.get(frames[0])
            try:
                if wid is None or len(frames) != 2:
                    raise ProtocolError("not from a worker of this manager")
                decode(self.signers[wid], frames[1])
                self.session.on_echo(wid, now)
            except ProtocolError as exc:
                self.reject(f"a heartbeat answer from peer {frames[0][:16]!r}: {exc}")

    def _on_fd(self, wid: int, what: int, fd: int, now: float) -> tuple[bool, bool]:
        """Handle a readable pipe or pidfd: (output arrived, keep watching)."""
        if what == ZYGOTE:  # a zygote ended (idle, or killed): reap it
            os.close(fd)
            zygote = self._zygote
            if zygote is not None:
                zygote.reap()
            return False, False
        if what == 0:  # pidfd: the process ended
            os.close(fd)
            proc = self.procs[wid]
            # What it started ends with it, however it ended (even killed from outside, with no chance
            # to do it itself): they are in its process group.  Before reaping, while the zombie keeps
            # the group's id from being reused.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:  # nothing left in the group
                pass
            code = proc.wait()
            self.drain_output(wid)
            self.session.on_exit(wid, code, now)
            return False, False
        data = self._read_output(wid, what, fd)
        if data is None:
            return False, True
        if data and self.unread.get(wid, 0) >= OUTPUT_HELD_AT_MOST:
            # The user's thread has not taken this worker's output yet: stop reading its pipe until it
            # does, so the pipe fills and the worker waits in its write.  Memory stays bounded; nothing is lost.
            self._paused.append((wid, fd, what))
            return True, False
        return bool(data), bool(data)

    def _send_control(self, control: Control) -> None:
        self._send_small(self._ctrl, control.worker, control.header)

    def _ping(self, ping: Ping) -> None:
        self._send_small(self._beat, ping.worker, wire.ping(ping.n))

    def _send_small(self, sock: zmq.Socket, wid: int, header: dict) -> None:
        """A heartbeat or control frame, from the keeper; never raises (the keeper must live on)."""
        signer = self.signers.get(wid)
        if signer is None:  # the core has the worker, its process is being spawned: nothing to reach yet
            return
        try:
            sock.send_multipart([self.identities[wid], encode(signer, header)], zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # not connected yet, or gone: silence is what the heartbeat timeout measures
            log.debug("could not send %s to worker %d: %s", header["k"], wid, exc)

    # ------------------------------------------------------------- closing
    def close(self) -> None:
        """End every worker (they see EOF on the alive pipe at once), then the threads and sockets."""
        if self.closed:
            return
        self.closed = True
        _SHELLS.discard(self)
        if os.getpid() != self._creator:  # a forked copy of this process: the workers are not ours to end
            return
        os.close(self._alive_w)
        self._alive_w = -1
        os.close(self._alive_r)
        if self._zygote is not None:
            self._zygote.close()
        deadline = time.monotonic() + self.session.stop_grace
        for proc in list(self.procs.values()):
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid)
                proc.wait()
        self.nudge()
        if threading.current_thread() is not self._keeper:
            self._keeper.join(timeout=5)
        with self.lock:  # what the workers held fails now: isBusy() is false and every worker exited
            self.session.close({wid: proc.returncode for wid, proc in self.procs.items()})
        for proc in self.procs.values():
            for stream in (proc.stdout, proc.stderr):
                stream.close()
        self.task.close()
        self._ctx.term()
        os.close(self._keeper_fd)
        shutil.rmtree(self._dir, ignore_errors=True)
