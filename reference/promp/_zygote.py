"""Warm worker start: a fork server that has done the imports once.

A cold worker costs a fresh interpreter and its imports (ZeroMQ, msgpack,
psutil, this package): 60-100 ms here.  A manager instead starts one *zygote*
process, which imports all of that and then waits; each worker is a fork of it,
ready in a few milliseconds.  The zygote never creates a ZeroMQ context or a
thread, so what it forks is safe to use: the worker makes its own context after
the fork, as a cold worker does.

The worker must still be the manager's own child, as a cold one is: the manager
reaps it and reads its exit status, kills its process group before reaping it,
and tools find workers one level below their manager in the process tree.  So
the zygote forks twice (an intermediate process forks the worker and exits), and
the manager is a child subreaper (``PR_SET_CHILD_SUBREAPER``) for just that
moment, which makes the kernel hand the orphaned worker to it.  The zygote
answers with the worker's pid only after the intermediate process has been
reaped, that is once the worker is the manager's.  Outside those few
milliseconds the manager's process is as it was (an orphan made elsewhere in
the process tree at that very moment would be adopted too, and reaped when the
manager's process ends).

The zygote ends when its manager does: it holds the manager's parent-alive
pipe (end of file: the manager is gone) and its request socket.  It also ends
after a heartbeat timeout without a request, so that a frozen manager leaves
nothing behind for longer than its workers would stay; the next start brings a
new one.  When it cannot be used (killed, say), workers start cold;
``PROMP_COLD_START=1`` or ``ProManager(warm_start=False)`` asks for cold starts
from the beginning.

The request, over a ``SOCK_SEQPACKET`` pair: msgpack ``[environment, cwd]`` with
three descriptors (the worker's stdout and stderr pipes, the secret pipe);
the answer: msgpack ``pid`` or an error string.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback

import msgpack
import psutil

from . import _env

_PR_SET_NAME = 15
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_READY = b"ready"
FORK_TIMEOUT = 2.0  # seconds for a zygote that is up to fork a worker (it takes milliseconds)
_ADOPTING = threading.Lock()  # the subreaper flag is the process's: one adoption at a time, whatever the manager
_libc = ctypes.CDLL(None, use_errno=True)
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def boot_code(module: str, function: str) -> str:
    """``python -c`` code that runs ``promp.<module>.<function>()``, finding this package even where it is not installed."""
    return (
        "import sys\n"
        f"try:\n    import promp.{module}\n"
        f"except ImportError:\n    sys.path.append({_PACKAGE_PARENT!r})\n    import promp.{module}\n"
        f"promp.{module}.{function}()\n"
    )


_BOOT = boot_code("_zygote", "serve")


class ZygoteError(Exception):
    """The zygote cannot start this worker: start it cold."""


def startup_environment() -> dict[str, str]:
    """What a fresh interpreter reads when it starts: a zygote started under other values would differ from a cold worker."""
    return {k: v for k, v in os.environ.items() if k.startswith("PYTHON")}


class AdoptedProcess:
    """The manager's handle on a worker forked by its zygote: the part of ``subprocess.Popen`` it uses."""

    def __init__(self, pid: int, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = open(stdout, "rb", buffering=0)
        self.stderr = open(stderr, "rb", buffering=0)
        self._reaping = threading.Lock()  # the keeper and close() may both wait

    def wait(self, timeout: float | None = None) -> int:
        if timeout is not None and self.returncode is None:
            try:
                fd = os.pidfd_open(self.pid)
            except ProcessLookupError:  # reaped this very moment by the other waiter: it sets returncode
                fd = None
            if fd is not None:
                try:
                    if not select.select([fd], [], [], max(0.0, timeout))[0]:
                        raise subprocess.TimeoutExpired([str(self.pid)], timeout)
                finally:
                    os.close(fd)
        with self._reaping:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


class Zygote:
    """The manager's side: starts the zygote, asks it for workers, ends it."""

    def __init__(self, alive_fd: int, idle: float) -> None:
        self.environment = startup_environment()
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock.setblocking(True)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(alive_fd, theirs.fileno()),
                env={**os.environ, "PROMP_ZYGOTE": f"{theirs.fileno()},{alive_fd},{idle}"},
            )
        finally:
            theirs.close()
        self._ready = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def usable(self) -> bool:
        return self._proc.poll() is None and startup_environment() == self.environment

    @property
    def ended_idle(self) -> bool:
        """It ended on its own, after a while without requests (a new one will do)."""
        return self._proc.poll() == 0

    @property
    def killed(self) -> bool:
        """It ended, but not on its own."""
        code = self._proc.poll()
        return code is not None and code != 0

    def reap(self) -> None:
        self._proc.poll()

    def spawn(self, env: dict[str, str], fds: tuple[int, int, int], start_timeout: float) -> int:
        """The pid of a new worker, now a child of this process, forked with ``env`` in the current directory.

        ``fds``: its stdout and stderr (the write ends: the caller keeps the read ends) and its secret pipe.
        The zygote has ``start_timeout`` to come up, then ``FORK_TIMEOUT`` per worker.
        """
        try:
            if not self._ready:
                if self._answer(start_timeout) != _READY:
                    raise ZygoteError("the zygote did not start")
                self._ready = True
            with _ADOPTING:
                was_subreaper = _subreaper()
                _set_subreaper(True)
                try:
                    socket.send_fds(self._sock, [msgpack.packb([env, os.getcwd()])], list(fds))
                    pid = msgpack.unpackb(self._answer(FORK_TIMEOUT))
                finally:
                    if not was_subreaper:
                        _set_subreaper(False)
        except OSError as exc:
            raise ZygoteError(f"the zygote did not answer ({exc})") from None
        if not isinstance(pid, int):
            raise ZygoteError(f"the zygote could not fork a worker: {pid}")
        if _parent_of(pid) != os.getpid():  # not adopted (no subreaper support?): a worker we could not reap
            os.kill(pid, signal.SIGKILL)
            raise ZygoteError("the forked worker was not adopted by its manager")
        return pid

    def _answer(self, timeout: float) -> bytes:
        if not select.select([self._sock], [], [], timeout)[0]:
            raise ZygoteError(f"the zygote did not answer within {timeout} s")
        answer = self._sock.recv(65536)
        if not answer:
            raise ZygoteError("the zygote is gone")
        return answer

    def close(self) -> None:
        self._sock.close()  # the zygote sees end of file and exits
        try:
            self._proc.wait(FORK_TIMEOUT)
        except subprocess.TimeoutExpired:  # frozen, say
            self._proc.kill()
            self._proc.wait()


def set_process_name(name: bytes) -> None:
    """The name ps, top and psutil show (the command line of a fork stays its zygote's)."""
    _libc.prctl(_PR_SET_NAME, name[:15], 0, 0, 0)


def _subreaper() -> bool:
    flag = ctypes.c_int(0)
    _libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    return bool(flag.value)


def _set_subreaper(on: bool) -> None:
    if _libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _parent_of(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


# ------------------------------------------------------------ the zygote process
def serve() -> None:
    """The zygote: import what workers need, then fork one for each request until the manager is gone."""
    from . import _worker_shell  # noqa: F401  (the point of the zygote: imported once, shared by every fork)

    sock_fd, alive_fd, idle = os.environ.pop("PROMP_ZYGOTE").split(",")
    sock, alive_fd = socket.socket(fileno=int(sock_fd)), int(alive_fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the manager's to handle
    set_process_name(b"promp-zygote")
    sock.send(_READY)
    while True:
        readable = select.select([sock, alive_fd], [], [], float(idle))[0]
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
            answer: int | str = _fork_worker(env, cwd, fds, sock, alive_fd)
        except Exception as exc:
            answer = f"{type(exc).__name__}: {exc}"
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(msgpack.packb(answer))


def _fork_worker(env: dict[str, str], cwd: str, fds: list[int], sock: socket.socket, alive_fd: int) -> int:
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
        os.waitpid(middle, 0)  # from here the worker is the manager's (its subreaper) child
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
        os.environ.clear()
        os.environ.update(env)
        os.environ[_env.SECRET_FD] = str(secret)
        os.chdir(cwd)
        from . import _worker_shell

        try:
            _worker_shell.main()
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
