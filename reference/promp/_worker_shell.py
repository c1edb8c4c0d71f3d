"""The worker process: start-up, the task loop on the main thread, the control thread.

Threads in a worker:

* the main thread owns the task socket: it receives tasks, runs them one at a
  time in order, and sends their results.  No hand-off on the hot path.  The
  worker-side API (``proWorkerObject()``) runs here too, inside tasks.
* the echo thread runs ``zmq.proxy`` on the socket the manager pings, in C and
  without the GIL, so a task stuck in C code still answers heartbeats.
* the control thread pings the manager's echo socket, watches the parent-alive
  pipe, receives aborts and sends results the main thread held too long (it
  never waits for the main thread).  It ends the process with ``os._exit``
  when the pipe reaches EOF (the manager process is gone), when the manager
  stays silent past the heartbeat timeout (it is frozen or unreachable), or
  when an aborted task outlives the time ``abortOperation`` gave it.

Aborts: the control thread marks the task aborted (``wasAborted()`` turns
true).  If the task is still running after half the abort's time, the main
thread gets SIGUSR1, whose handler raises ``ProMPAborted`` in the task's code
(this interrupts ``time.sleep`` and any Python code; not C code that ignores
signals).  If it is still running after the whole time, the worker kills what
it started and exits with ``EXIT_ABORTED``.  These decisions are the
``WorkerSession``'s (``_worker_core``), taken under ``TaskLoop.state_lock``
against the main thread's own record of what runs, so a late abort never
touches the next task and a task either finishes or is aborted.

Output needs no code here: the manager gave this process pipes as stdout and
stderr and reads them itself, so Python prints, C code and child processes are
all forwarded.  ``sys.stdout`` is line-buffered and flushed before each send,
which is what keeps output ahead of the result it precedes.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections import deque

import psutil
import zmq

from . import _env, _state, _values
from . import _protocol as wire
from ._constants import EXIT_MANAGER_GONE
from ._liveness import PING
from ._message import received
from ._output import flush_std_streams
from ._protocol import Message, ProtocolError, Rejects, Signer, decode, encode, encode_batch, unbatch
from ._tasks import OPERATIONS
from ._transport import NOBLOCK, echo_forever, new_context, readable, recv_frames, send_frame
from ._worker_api import ProMPAborted, ProWorker
from ._worker_core import Exit, Interrupt, WorkerSession
from ._zygote import set_process_name


def _end_descendants() -> None:
    """Kill every process this worker started, directly or not: no exit path leaves them behind."""
    try:
        family = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in family:
        try:
            child.kill()
        except psutil.Error:
            pass


_plain_exit = os._exit
SEND_LINGER_MS = 2000  # how long an ending worker waits for what it sent to leave


def _send_what_is_left(loop: TaskLoop, sock: zmq.Socket, ctx: zmq.Context) -> None:
    """Send what is posted (output first), then end the context: it returns once that is on its way."""
    loop.flush()
    sock.close(linger=SEND_LINGER_MS)
    ctx.term()


def _exit_delivering(loop: TaskLoop, sock: zmq.Socket, ctx: zmq.Context):
    """``os._exit`` for task code: what the task printed and sent leaves before the process ends.

    ZeroMQ sends from its own I/O thread, so a plain ``os._exit`` right after ``sendMessage``
    (or after quick results the worker holds a moment) loses them.  On the worker's main thread
    this flushes the held results and the standard streams, and ends the context, which waits
    (up to the task socket's linger) until what was sent is on its way.  Elsewhere (another
    thread of the task, a child forked from this process) it is the plain exit.
    """
    pid = os.getpid()

    def _exit(code: int) -> None:
        if os.getpid() == pid and threading.current_thread() is threading.main_thread():
            try:
                _send_what_is_left(loop, sock, ctx)
            except Exception:  # an exit is due whatever happens here
                pass
        _plain_exit(code)

    return _exit


def _die(reason: str, code: int = EXIT_MANAGER_GONE, leftover_dir: str | None = None) -> None:
    # The main thread may be spinning in Python: without this, each file this thread reads
    # (psutil scans /proc) costs it a whole switch interval (5 ms) to get the GIL back.
    sys.setswitchinterval(1e-5)
    _end_descendants()
    if leftover_dir:  # a dead manager cannot remove its socket directory: the workers do
        shutil.rmtree(leftover_dir, ignore_errors=True)
    try:
        os.write(2, f"promp worker {os.getpid()}: {reason}; exiting\n".encode())
    except OSError:
        pass
    _plain_exit(code)


_OWN_CODE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _from_user_code(exc: BaseException) -> BaseException:
    """``exc`` with the worker's own frames (how it called the task) cut from the front of its traceback.

    Its reader wants their code's frames; an error the worker raised itself keeps its last frame.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN_CODE):
        tb = tb.tb_next
    return exc.with_traceback(tb)


def _say(line: str) -> None:
    print(f"promp worker: {line}", file=sys.stderr, flush=True)


def _ipc_dir(endpoint: str) -> str | None:
    return os.path.dirname(endpoint[len("ipc://") :]) if endpoint.startswith("ipc://") else None


class Control:
    """The control thread: performs what the ``WorkerSession`` decides about heartbeats and aborts.

    It also watches the parent-alive pipe and sends results the main thread held too long.
    """

    def __init__(self, ctx: zmq.Context, identity: bytes, env: dict, loop: TaskLoop, alive_fd: int, heard: zmq.Socket) -> None:
        self.signer = loop.signer
        self.session = loop.session
        self.lock = loop.state_lock
        self.loop = loop
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        loop.wake_control = lambda: os.eventfd_write(self.wake_fd, 1)
        self.alive_fd = alive_fd
        self.socket_dir = _ipc_dir(env[_env.TASK_ENDPOINT])
        self.beat = self.connect(ctx, identity, env[_env.ECHO_ENDPOINT])
        self.ctrl = self.connect(ctx, identity, env[_env.CTRL_ENDPOINT])
        self.heard = heard  # a copy of each ping of the manager's, from the echo thread
        self.pings = 0

    @staticmethod
    def connect(ctx: zmq.Context, identity: bytes, endpoint: str) -> zmq.Socket:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        return sock

    def run(self) -> None:
        poller = zmq.Poller()
        for item in (self.beat, self.ctrl, self.heard, self.alive_fd, self.wake_fd):
            poller.register(item, zmq.POLLIN)
        session = self.session
        try:
            while True:
                now = time.monotonic()
                look = session.hold.next_look(now)
                wait = min(session.next_deadline(), look if look is not None else math.inf) - now
                events = dict(poller.poll(max(0.0, wait) * 1000 + 1))
                now = time.monotonic()
                if self.alive_fd in events:
                    _die("manager process ended", leftover_dir=self.socket_dir)
                if self.beat in events:
                    while self.beat.poll(0):
                        self._take(self.beat.recv(), now)
                if self.ctrl in events:
                    while self.ctrl.poll(0):
                        self._take(self.ctrl.recv(), now)
                if self.heard in events:  # the manager pings us: it lives, and our own pings can wait
                    while self.heard.poll(0):
                        self.heard.recv()
                    session.on_manager_ping(now)
                if self.wake_fd in events:
                    os.eventfd_read(self.wake_fd)
                if session.hold.watched:
                    self.loop.flush_overdue(now)
                if session.deadlines:  # abort steps are decided against the main thread's record, under its lock
                    with self.lock:
                        for action in session.tick(now):
                            self._perform(action)
                else:  # heartbeats only: no lock, so a main thread finishing tasks never waits on this one
                    for action in session.tick(now):
                        self._perform(action)
        except zmq.ContextTerminated:
            for sock in (self.beat, self.ctrl, self.heard):
                sock.close()

    def _perform(self, action: object) -> None:
        """Carry out one of the session's actions (an abort's, under the state lock)."""
        if action == PING:
            self.pings += 1
            self.beat.send(encode(self.signer, wire.ping(self.pings)), zmq.NOBLOCK)
        elif isinstance(action, Interrupt):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
        elif isinstance(action, Exit):
            _die(action.reason, action.code)

    def _take(self, frame: bytes, now: float) -> None:
        try:
            msg = decode(self.signer, frame)
        except ProtocolError as exc:
            self.loop.reject(f"on the control channel: {exc}")
            return
        if msg.kind == "ping":
            self.session.on_echo(now)
        elif msg.kind == "abort":
            with self.lock:
                self.session.on_abort(msg.header["t"], msg.header["ms"], now)


def _interrupt_handler(loop: TaskLoop):
    def handler(signum: int, frame: object) -> None:
        if loop.in_user_code and loop.session.should_interrupt():
            raise ProMPAborted(f"task {loop.session.current} was aborted by the manager")

    return handler


class TaskLoop:
    """Receive tasks, run them in order, report them.

    Results of quick tasks are held and sent as one batch while more tasks
    are already waiting (in the batch that brought them or in the socket);
    when to hold and when to send is the session's ``ResultHold``.  A result
    is sent at once when nothing else is waiting.  The socket is looked at
    only when the last frame was already waiting on arrival, so a sequential
    round trip pays nothing for this.

    The socket belongs to the main thread, with one exception: the control
    thread sends held results.  So every use of the socket while results are
    held is under ``lock``, and the main thread waits on the socket only with
    nothing held.
    """

    FLOWING_UNDER = 0.00002  # a frame that came this quickly was already waiting: look for more next time

    def __init__(self, sock: zmq.Socket, signer: Signer, session: WorkerSession) -> None:
        self.sock = sock
        self.signer = signer
        self.session = session
        self.state_lock = threading.Lock()  # the session is shared with the control thread
        self.in_user_code = False  # true only while a task's own code runs: where ProMPAborted may be raised
        self.reject = Rejects(_say, time.monotonic)
        self.lock = threading.Lock()
        self.inbox: deque[Message] = deque()  # tasks and stops, in order
        self.messages: deque = deque()  # custom messages for the running task's code
        self.outbox: list[tuple[dict, bytes]] = []
        self.hold = session.hold
        self.flowing = False  # frames are arriving faster than tasks run: worth checking the socket
        self.wake_control = lambda: None
        self.worker = ProWorker(self, session)

    def post(self, head: dict, payload: bytes = b"") -> None:
        """Queue a report (main thread); the control thread may send it from now on, so the output goes first."""
        flush_std_streams()  # what the task printed reaches the pipe before its report can leave
        with self.lock:  # the control thread may be sending (and clearing) the outbox right now
            self.hold.posted(time.monotonic(), not self.outbox)
            self.outbox.append((head, payload))

    def send_now(self, head: dict, payload: bytes = b"") -> None:
        self.post(head, payload)
        self.flush()

    def flush(self) -> None:
        """Send what is posted (main thread); the output printed so far goes first."""
        flush_std_streams()  # output before results: the manager reads the pipes when a message arrives
        with self.lock:
            self._flush()

    def _flush(self) -> None:
        """Send what is posted, under ``lock``; never blocks (the socket has no high-water mark)."""
        if not self.outbox:
            return
        if len(self.outbox) == 1:
            frame = encode(self.signer, *self.outbox[0])
        else:
            frame = encode_batch(self.signer, self.outbox)
        send_frame(self.sock, frame)
        self.outbox.clear()

    def receive(self, timeout: float | None = None) -> bool:
        """Take the next frame (waiting up to ``timeout`` s, forever if None); False if none came."""
        self.flush()  # nothing held while waiting: the control thread keeps off the socket
        if timeout is not None and not self.sock.poll(max(0, int(timeout * 1000))):
            return False
        self._take(recv_frames(self.sock))
        return True

    def _take(self, frames: list[bytes]) -> None:
        try:
            if len(frames) != 1:
                raise ProtocolError(f"expected 1 frame, got {len(frames)}")
            for msg in unbatch(decode(self.signer, frames[0])):
                if msg.kind == "msg":
                    self.messages.append(received(msg.header["id"], msg.payload))
                else:
                    self.inbox.append(msg)
        except ProtocolError as exc:
            self.reject(str(exc))

    def _hold(self) -> None:
        """More work is here: hold the results posted so far, unless there are enough or they are old."""
        with self.lock:  # posting flushed the std streams: the control thread may send without touching them
            hold = self.hold
            if hold.hold(time.monotonic(), len(self.outbox)):
                if not hold.watched:
                    hold.watched = True
                    self.wake_control()
            else:
                self._flush()

    def flush_overdue(self, now: float) -> None:
        """Control thread: send results held too long (the session's ``ResultHold`` says which).

        Never waits: if the main thread has the lock, it is using the socket and sends them itself.
        """
        if not self.lock.acquire(blocking=False):
            return
        try:
            if self.hold.overdue(now, len(self.outbox)):
                self._flush()
        finally:
            self.lock.release()

    def run(self) -> int:
        self.post(wire.hello(os.getpid(), _state.level))
        while True:
            if not self.inbox:
                if self.outbox and self.flowing:
                    with self.lock:
                        more = readable(self.sock)
                        if more:
                            self._take(recv_frames(self.sock, NOBLOCK))
                    if more:
                        self._hold()
                        continue
                self.flush()
                started = time.monotonic()
                self._take(recv_frames(self.sock))
                self.flowing = time.monotonic() - started < self.FLOWING_UNDER
                continue
            msg = self.inbox.popleft()
            if msg.kind == "stop":
                self.flush()
                return 0
            if msg.kind != "task":
                print(f"promp worker: ignored a {msg.kind!r} message", file=sys.stderr, flush=True)
                continue
            code, elapsed, aborted = self.run_task(msg.header, msg.payload)
            if code is not None:
                self.flush()
                return code
            if self.hold.send_at_once(elapsed, aborted):
                self.flush()
            elif self.inbox:
                self._hold()
            # else the socket decides, at the top of the loop

    def run_user_code(self, head: dict, payload: bytes | memoryview) -> tuple[bool, object]:
        """(ok, value or exception); ``ProMPAborted`` can only be raised while ``in_user_code``."""
        try:
            try:
                operation = OPERATIONS.get(head["op"])
                if operation is None:
                    raise ValueError(f"unknown task operation {head['op']!r}")
                args = _values.unpack(payload) if payload else []
                if not isinstance(args, list):
                    raise TypeError(f"task arguments must be a list, got {type(args).__name__}")
                self.in_user_code = True
                return True, operation(head, args)
            finally:
                self.in_user_code = False
        except BaseException as exc:
            return False, exc

    def run_task(self, head: dict, payload: bytes | memoryview) -> tuple[int | None, float, bool]:
        """Run one task and post its report: (exit code if the task asked to exit, run time, was aborted).

        A task id that already ran here (a duplicated frame) is not run again and reports nothing.
        """
        task_id = head["t"]
        session = self.session
        with self.state_lock:
            if not session.begin(task_id):
                print(f"promp worker: task {task_id} arrived again; not run twice", file=sys.stderr, flush=True)
                return None, 0.0, False
            if session.has_deadline():  # its abort came first: the control thread must keep time
                self.wake_control()
        started = time.perf_counter()
        ok, value = self.run_user_code(head, payload)
        elapsed = time.perf_counter() - started
        exit_code = None
        if not ok and isinstance(value, SystemExit):  # the worker ends, and says why: the task did not succeed
            code = value.code
            exit_code = code if isinstance(code, int) else (0 if code is None else 1)
            value = SystemExit(f"the task called sys.exit({code!r}); the worker exits with code {exit_code}")
        elif not ok:
            value = _from_user_code(value)
            traceback.print_exception(value)
        self.worker.waitObject().flush()
        done = wire.done(task_id, ok, elapsed)
        if not head["want"]:
            self.post(done)
        elif ok:
            try:
                self.post(done, _values.pack_parts(value))
            except TypeError as exc:
                done["ok"] = False
                self.post(done, _values.pack(["TypeError", f"the result could not be sent: {exc}", ""]))
        else:
            tb = "".join(traceback.format_exception(value))
            self.post(done, _values.pack([type(value).__name__, str(value), tb]))
        with self.state_lock:  # the control thread decides against this, never in between
            aborted = session.end(task_id)
        return exit_code, elapsed, aborted


def main() -> None:
    env = {name: os.environ.pop(name, None) for name in _env.ALL}
    missing = [name for name, value in env.items() if value is None]
    if missing:
        sys.exit(f"promp worker: not started by a manager (missing {', '.join(missing)})")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the manager's to handle
    set_process_name(b"promp-worker")
    for stream in (sys.stdout, sys.stderr):
        # one write per line, even under -u; UTF-8 whatever the locale, as the manager reads the pipes
        stream.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True, write_through=False)
    _state.level = int(env[_env.LEVEL])
    identity = env[_env.WORKER_ID].encode()
    signer = Signer(_env.read_secret(int(env[_env.SECRET_FD])), identity)
    alive_fd = int(env[_env.ALIVE_FD])
    os.set_inheritable(alive_fd, False)
    interval, timeout = (float(x) for x in env[_env.HEARTBEAT].split(","))
    session = WorkerSession(interval, timeout, time.monotonic())

    ctx = new_context()
    echo = Control.connect(ctx, identity, env[_env.BEAT_ENDPOINT])
    # The control thread learns of the manager's pings from a copy the echo thread publishes: while
    # they come, the manager lives and the worker need not ping it (half the heartbeat traffic).
    heard_out, heard_in = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    heard_out.setsockopt(zmq.LINGER, 0)
    heard_in.setsockopt(zmq.LINGER, 0)
    heard_out.bind("inproc://promp-heard")
    heard_in.setsockopt(zmq.SUBSCRIBE, b"")
    heard_in.connect("inproc://promp-heard")
    threading.Thread(target=echo_forever, args=(echo, heard_out), name="promp-echo", daemon=True).start()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(env[_env.TASK_ENDPOINT])
    loop = TaskLoop(sock, signer, session)
    signal.signal(signal.SIGUSR1, _interrupt_handler(loop))
    control = Control(ctx, identity, env, loop, alive_fd, heard_in)
    threading.Thread(target=control.run, name="promp-control", daemon=True).start()
    _state.worker = loop.worker
    os._exit = _exit_delivering(loop, sock, ctx)
    code = loop.run()
    loop.post(wire.bye(code))
    _end_descendants()
    _send_what_is_left(loop, sock, ctx)
    sys.exit(code)


if __name__ == "__main__":
    main()
