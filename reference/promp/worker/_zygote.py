"""Warm worker start, the zygote's side: import what a worker needs once, then fork a worker per request.

The manager's side, and why, is ``promp.manager._zygote``.  This process creates no ZeroMQ context
and no thread, so its forks are clean: each becomes a worker as a cold one does (``_main.main``).
"""

from __future__ import annotations

import gc
import os
import select
import signal
import socket
import struct
import sys
import threading
import traceback

import msgpack

from .. import _env
from .._procs import default_signals, set_process_name
from ..wire._zmq import batch_policy_allowed
from . import _main


def serve() -> None:
    """The zygote: fork one worker for each request until the manager is gone (its imports are done: ``_main``)."""
    sock_fd, alive_fd, idle = os.environ.pop(_env.ZYGOTE).split(",")
    sock, alive_fd = socket.socket(fileno=int(sock_fd)), int(alive_fd)
    default_signals()  # it reaps what it forks: a SIGCHLD its manager ignores would leave it nothing to wait for
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the manager's to handle
    set_process_name(b"promp-zygote")
    batch_policy_allowed()  # probed once, on a thread that ends here, before any fork: each fork inherits the answer
    gc.freeze()  # what is imported now is never traversed by a worker's collections: its pages stay shared
    sock.send(_env.ZYGOTE_READY)
    poll = select.poll()  # not select.select: the manager's descriptor numbers may be past 1,024
    for fd in (sock.fileno(), alive_fd):
        poll.register(fd, select.POLLIN)
    while True:
        readable = [fd for fd, _ in poll.poll(float(idle) * 1000)]
        if not readable or alive_fd in readable:  # unused for a heartbeat timeout, or the manager is gone
            os._exit(0)
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)
        try:
            env, cwd = msgpack.unpackb(data)
            answer: int | str = _fork_worker(env, cwd, fds, sock)
        except Exception as exc:
            answer = f"{type(exc).__name__}: {exc}"
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(msgpack.packb(answer))


def _fork_worker(env: dict[str, str], cwd: str, fds: list[int], sock: socket.socket) -> int:
    """Fork twice; the grandchild becomes the worker, and the pid comes back once its parent is reaped."""
    if len(fds) != 3:
        raise ValueError(f"expected 3 descriptors, got {len(fds)}")
    pid_r, pid_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(pid_r)
            set_process_name(b"promp-worker")  # before the fork: the worker never shows under the zygote's name
            worker = os.fork()
            if worker == 0:
                os.close(pid_w)
                _become_worker(env, cwd, fds, sock)
            os.write(pid_w, struct.pack("i", worker))
        finally:
            os._exit(0)
    os.close(pid_w)
    try:
        data = os.read(pid_r, 4)
    finally:
        os.close(pid_r)
        try:
            os.waitpid(middle, 0)  # from here the worker is the manager's (its subreaper) child
        except ChildProcessError:  # reaped already (SIGCHLD ignored after all): it is gone, which is what is waited for
            pass
    if len(data) != 4:
        raise OSError("the intermediate process died before it forked the worker")
    return struct.unpack("i", data)[0]


def _become_worker(env: dict[str, str], cwd: str, fds: list[int], sock: socket.socket) -> None:
    """In the forked worker: take the set-up a cold worker gets from ``Popen``, then run the worker."""
    code = 1
    try:
        sock.close()
        os.setpgid(0, 0)  # its own process group, as a cold worker
        stdout, stderr, secret = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((devnull, 0), (stdout, 1), (stderr, 2)):
            os.dup2(source, target)
        os.close(devnull)
        os.close(stdout)
        os.close(stderr)
        # fresh standard streams on the new descriptors, as a new interpreter makes (the zygote's were on others)
        sys.stdin = sys.__stdin__ = open(0, closefd=False)
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)
        sys.stderr = sys.__stderr__ = open(2, "w", closefd=False, errors="backslashreplace")
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        env[_env.SECRET_FD] = str(secret)
        for name in [name for name in os.environ if name not in env]:  # only what differs: mostly the PROMP_ variables
            del os.environ[name]
        for name, value in env.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
        os.chdir(cwd)
        try:
            _main.main(signals_set=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        # what a normal interpreter exit does: non-daemon threads, atexit functions, buffered output
        threading._shutdown()
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    except BaseException:
        traceback.print_exc()  # on the worker's stderr once it was set up, else on the zygote's (the manager's)
    finally:
        os._exit(code)
