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
import signal
import sys
import threading
import time
import traceback

import zmq

from . import _env, _state, _values
from ._core import WorkerLiveness
from ._protocol import ProtocolError, decode, encode, header
from ._tasks import OPERATIONS

EXIT_MANAGER_GONE = 3


def _die(reason: str) -> None:
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


def _watchdog(ctx: zmq.Context, identity: bytes, endpoint: str, secret: bytes, alive_fd: int, interval: float, timeout: float) -> None:
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
                _die("manager process ended")
            if sock in events:
                while sock.poll(0):
                    try:
                        decode(secret, sock.recv_multipart())
                        liveness.on_echo(now)
                    except ProtocolError:
                        pass
            action = liveness.tick(now)
            if action == "exit":
                _die(f"no heartbeat from the manager for {timeout:.1f} s")
            elif action == "ping":
                n += 1
                sock.send_multipart(encode(secret, header("ping", n=n)), zmq.NOBLOCK)
    except zmq.ContextTerminated:
        sock.close()


class _TaskLoop:
    def __init__(self, sock: zmq.Socket, secret: bytes) -> None:
        self.sock = sock
        self.secret = secret

    def send(self, head: dict, *payload: bytes) -> None:
        self.sock.send_multipart(encode(self.secret, head, *payload))

    def run(self) -> int:
        self.send(header("hello", pid=os.getpid(), level=_state.level))
        while True:
            frames = self.sock.recv_multipart()
            try:
                msg = decode(self.secret, frames)
            except ProtocolError as exc:
                print(f"promp worker: dropped a message: {exc}", file=sys.stderr, flush=True)
                continue
            if msg.kind == "stop":
                return 0
            if msg.kind == "task":
                code = self.run_task(msg.header, msg.payload)
                if code is not None:
                    return code

    def run_task(self, head: dict, payload: tuple[bytes, ...]) -> int | None:
        """Run one task and report it; returns an exit code if the task asked the worker to exit."""
        exit_code = None
        started = time.perf_counter()
        try:
            operation = OPERATIONS.get(head["op"])
            if operation is None:
                raise ValueError(f"unknown task operation {head['op']!r}")
            args = _values.unpack(payload[0]) if payload else []
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
        _flush_output()
        done = header("done", t=head["t"], ok=ok, dt=elapsed)
        if not head["want"]:
            self.send(done)
        elif ok:
            try:
                self.send(done, _values.pack(value))
            except TypeError as exc:
                done["ok"] = False
                self.send(done, _values.pack(["TypeError", f"the result could not be sent: {exc}", ""]))
        else:
            tb = "".join(traceback.format_exception(value))
            self.send(done, _values.pack([type(value).__name__, str(value), tb]))
        return exit_code


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def main() -> None:
    env = {name: os.environ.pop(name, None) for name in _env.ALL}
    missing = [name for name, value in env.items() if value is None]
    if missing:
        sys.exit(f"promp worker: not started by a manager (missing {', '.join(missing)})")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the manager's to handle
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)
    _state.level = int(env[_env.LEVEL])
    identity = env[_env.WORKER_ID].encode()
    secret = bytes.fromhex(env[_env.SECRET])
    alive_fd = int(env[_env.ALIVE_FD])
    os.set_inheritable(alive_fd, False)
    interval, timeout = (float(x) for x in env[_env.HEARTBEAT].split(","))

    ctx = zmq.Context()
    threading.Thread(target=_echo, args=(ctx, identity, env[_env.BEAT_ENDPOINT]), name="promp-echo", daemon=True).start()
    threading.Thread(
        target=_watchdog,
        args=(ctx, identity, env[_env.ECHO_ENDPOINT], secret, alive_fd, interval, timeout),
        name="promp-watchdog",
        daemon=True,
    ).start()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.connect(env[_env.TASK_ENDPOINT])
    loop = _TaskLoop(sock, secret)
    code = loop.run()
    _flush_output()
    loop.send(header("bye", code=code))
    sock.close(linger=2000)
    ctx.term()
    sys.exit(code)


if __name__ == "__main__":
    main()
