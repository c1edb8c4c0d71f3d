"""The worker process: start-up, the task loop on the main thread, the watchdog.

Threads in a worker:

* the main thread owns the task socket: it receives tasks, runs them one at a
  time in order, and sends their results.  No hand-off on the hot path.
* the echo thread runs ``zmq.proxy`` on the socket the manager pings, in C and
  without the GIL, so a task stuck in C code still answers heartbeats.
* the watchdog thread pings the manager's echo socket and watches the
  parent-alive pipe; it ends the process with ``os._exit`` when the pipe reaches
  EOF (the manager process is gone) or the manager stays silent past the
  heartbeat timeout (it is frozen or unreachable).

Output needs no code here: the manager gave this process pipes as stdout and
stderr and reads them itself, so Python prints, C code and child processes are
all forwarded.  ``sys.stdout`` is line-buffered and flushed before each result
is sent, which is what keeps output ahead of the result it precedes.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections import deque

import zmq

from . import _env, _state, _values
from ._core import WorkerLiveness
from ._output import flush_std_streams
from ._protocol import Message, ProtocolError, Signer, decode, encode, encode_batch, header, unbatch
from ._tasks import OPERATIONS
from ._transport import recv_frames, send_frame

EXIT_MANAGER_GONE = 3


def _die(reason: str, leftover_dir: str | None = None) -> None:
    if leftover_dir:  # a dead manager cannot remove its socket directory: the workers do
        shutil.rmtree(leftover_dir, ignore_errors=True)
    try:
        os.write(2, f"promp worker {os.getpid()}: {reason}; exiting\n".encode())
    except OSError:
        pass
    os._exit(EXIT_MANAGER_GONE)


def _echo(ctx: zmq.Context, identity: bytes, endpoint: str) -> None:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        zmq.proxy(sock, sock)
    except zmq.ContextTerminated:
        pass
    finally:
        sock.close()


def _watchdog(ctx: zmq.Context, identity: bytes, endpoint: str, signer: Signer, alive_fd: int, interval: float, timeout: float) -> None:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(alive_fd, zmq.POLLIN)
    liveness = WorkerLiveness(interval, timeout, time.monotonic())
    n = 0
    try:
        while True:
            events = dict(poller.poll(liveness.wait_time(time.monotonic()) * 1000 + 1))
            now = time.monotonic()
            if alive_fd in events:
                _die("manager process ended", _ipc_dir(endpoint))
            if sock in events:
                while sock.poll(0):
                    try:
                        decode(signer, sock.recv())
                        liveness.on_echo(now)
                    except ProtocolError:
                        pass
            action = liveness.tick(now)
            if action == "exit":
                _die(f"no heartbeat from the manager for {timeout:.1f} s")
            elif action == "ping":
                n += 1
                sock.send(encode(signer, header("ping", n=n)), zmq.NOBLOCK)
    except zmq.ContextTerminated:
        sock.close()


def _ipc_dir(endpoint: str) -> str | None:
    return os.path.dirname(endpoint[len("ipc://") :]) if endpoint.startswith("ipc://") else None


class _TaskLoop:
    """Receive tasks, run them in order, report them.

    Results of quick tasks are coalesced into one batch while more tasks of
    the batch that brought them are waiting, which saves a message (and a
    wake-up on each side) per task under load.  A result never waits when nothing else is queued, when
    its task took ``COALESCE_UNDER`` or longer, or past ``HOLD_AT_MOST``.
    """

    COALESCE_UNDER = 0.001
    HOLD_AT_MOST = 0.002
    MAX_BATCH = 64

    def __init__(self, sock: zmq.Socket, signer: Signer) -> None:
        self.sock = sock
        self.signer = signer
        self.inbox: deque[Message] = deque()
        self.outbox: list[tuple[dict, bytes]] = []
        self.held_since = 0.0

    def post(self, head: dict, payload: bytes = b"") -> None:
        if not self.outbox:
            self.held_since = time.perf_counter()
        self.outbox.append((head, payload))

    def flush(self) -> None:
        if not self.outbox:
            return
        flush_std_streams()  # output before results: the manager reads the pipes when a result arrives
        if len(self.outbox) == 1:
            frame = encode(self.signer, *self.outbox[0])
        else:
            frame = encode_batch(self.signer, self.outbox)
        send_frame(self.sock, frame)
        self.outbox.clear()

    def receive(self) -> None:
        """Wait for the next message and move what it carries into the inbox."""
        frames = recv_frames(self.sock)
        try:
            if len(frames) != 1:
                raise ProtocolError(f"expected 1 frame, got {len(frames)}")
            self.inbox.extend(unbatch(decode(self.signer, frames[0])))
        except ProtocolError as exc:
            print(f"promp worker: dropped a message: {exc}", file=sys.stderr, flush=True)

    def run(self) -> int:
        self.post(header("hello", pid=os.getpid(), level=_state.level))
        while True:
            if not self.inbox:
                self.flush()
                self.receive()
                continue
            msg = self.inbox.popleft()
            if msg.kind == "stop":
                self.flush()
                return 0
            if msg.kind != "task":
                print(f"promp worker: ignored a {msg.kind!r} message", file=sys.stderr, flush=True)
                continue
            code, elapsed = self.run_task(msg.header, msg.payload)
            if code is not None:
                self.flush()
                return code
            if (
                elapsed >= self.COALESCE_UNDER
                or len(self.outbox) >= self.MAX_BATCH
                or time.perf_counter() - self.held_since >= self.HOLD_AT_MOST
            ):
                self.flush()

    def run_task(self, head: dict, payload: bytes | memoryview) -> tuple[int | None, float]:
        """Run one task and post its report; returns (exit code if the task asked to exit, run time)."""
        exit_code = None
        started = time.perf_counter()
        try:
            operation = OPERATIONS.get(head["op"])
            if operation is None:
                raise ValueError(f"unknown task operation {head['op']!r}")
            args = _values.unpack(payload) if payload else []
            if not isinstance(args, list):
                raise TypeError(f"task arguments must be a list, got {type(args).__name__}")
            value = operation(head, args)
            ok = True
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            value, ok = None, True
        except BaseException as exc:  # everything a task raises is reported, never fatal
            traceback.print_exc()
            value, ok = exc, False
        elapsed = time.perf_counter() - started
        done = {"k": "done", "t": head["t"], "ok": ok, "dt": elapsed}
        if not head["want"]:
            self.post(done)
        elif ok:
            try:
                self.post(done, _values.pack(value))
            except TypeError as exc:
                done["ok"] = False
                self.post(done, _values.pack(["TypeError", f"the result could not be sent: {exc}", ""]))
        else:
            tb = "".join(traceback.format_exception(value))
            self.post(done, _values.pack([type(value).__name__, str(value), tb]))
        return exit_code, elapsed


def main() -> None:
    env = {name: os.environ.pop(name, None) for name in _env.ALL}
    missing = [name for name, value in env.items() if value is None]
    if missing:
        sys.exit(f"promp worker: not started by a manager (missing {', '.join(missing)})")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the manager's to handle
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, write_through=False)  # one write per line, even under -u
    _state.level = int(env[_env.LEVEL])
    identity = env[_env.WORKER_ID].encode()
    signer = Signer(bytes.fromhex(env[_env.SECRET]))
    alive_fd = int(env[_env.ALIVE_FD])
    os.set_inheritable(alive_fd, False)
    interval, timeout = (float(x) for x in env[_env.HEARTBEAT].split(","))

    ctx = zmq.Context()
    threading.Thread(target=_echo, args=(ctx, identity, env[_env.BEAT_ENDPOINT]), name="promp-echo", daemon=True).start()
    threading.Thread(
        target=_watchdog,
        args=(ctx, identity, env[_env.ECHO_ENDPOINT], signer, alive_fd, interval, timeout),
        name="promp-watchdog",
        daemon=True,
    ).start()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(env[_env.TASK_ENDPOINT])
    loop = _TaskLoop(sock, signer)
    code = loop.run()
    loop.post(header("bye", code=code))
    loop.flush()
    sock.close(linger=2000)
    ctx.term()
    sys.exit(code)


if __name__ == "__main__":
    main()
