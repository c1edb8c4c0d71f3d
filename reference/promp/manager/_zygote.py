"""Warm worker start, the manager's side: a zygote process that has done the imports once forks each worker.

A cold worker costs a fresh interpreter and its imports (ZeroMQ, msgpack, psutil, this package):
60-100 ms here.  A manager instead starts one *zygote* (``promp.worker._zygote``), which imports
all of that and then waits; each worker is a fork of it, ready in a few milliseconds.  The zygote
never creates a ZeroMQ context or a thread, so what it forks is safe to use: the worker makes its
own context after the fork, as a cold worker does.

The worker must still be the manager's own child, as a cold one is: the manager reaps it and reads
its exit status, kills its process group before reaping it, and tools find workers one level below
their manager in the process tree.  So the zygote forks twice (an intermediate process forks the
worker and exits), and the manager is a child subreaper (``PR_SET_CHILD_SUBREAPER``) for just that
moment, which makes the kernel hand the orphaned worker to it.  The zygote answers with the
worker's pid only after the intermediate process has been reaped, that is once the worker is the
manager's.  Outside those few milliseconds the manager's process is as it was (an orphan made
elsewhere in the process tree at that very moment would be adopted too, and reaped when the
manager's process ends).

The zygote ends when its manager does: it holds the manager's parent-alive pipe (end of file: the
manager is gone) and its request socket.  It also ends after a heartbeat timeout without a request,
so that a frozen manager leaves nothing behind for longer than its workers would stay; the next
start brings a new one.  When it cannot be used (killed, say), workers start cold;
``PROMP_COLD_START=1`` or ``ProManager(warm_start=False)`` asks for cold starts from the beginning.

The request, over a ``SOCK_SEQPACKET`` pair: msgpack ``[environment, cwd]`` with three descriptors
(the worker's stdout and stderr pipes, the secret pipe); the answer: msgpack ``pid`` or an error
string.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import msgpack

from .. import _env
from .._fds import readable_within
from .._procs import is_subreaper, kill_tree, parent_of, set_subreaper, stopped_in

FORK_TIMEOUT = 2.0  # seconds for a zygote that is up to fork a worker (it takes milliseconds)
LOOK_EVERY = 0.05  # seconds: while an answer is late, how often to look whether the zygote is stopped
_ADOPTING = threading.Lock()  # the subreaper flag is the process's: one adoption at a time, whatever the manager
BOOT = _env.boot_code("worker._zygote", "serve")


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
                    if not readable_within(fd, timeout):
                        raise subprocess.TimeoutExpired([str(self.pid)], timeout)
                finally:
                    os.close(fd)
        with self._reaping:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


class Zygote:
    """Starts the zygote, asks it for workers, ends it."""

    def __init__(self, alive_fd: int, idle: float) -> None:
        self.environment = startup_environment()
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock.setblocking(True)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", BOOT],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(alive_fd, theirs.fileno()),
                env={**os.environ, _env.ZYGOTE: f"{theirs.fileno()},{alive_fd},{idle}"},
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
                if self._answer(start_timeout) != _env.ZYGOTE_READY:
                    raise ZygoteError("the zygote did not start")
                self._ready = True
            with _ADOPTING:
                was_subreaper = is_subreaper()
                set_subreaper(True)
                try:
                    socket.send_fds(self._sock, [msgpack.packb([env, os.getcwd()])], list(fds))
                    pid = msgpack.unpackb(self._answer(FORK_TIMEOUT))
                finally:
                    if not was_subreaper:
                        set_subreaper(False)
        except OSError as exc:
            raise ZygoteError(f"the zygote did not answer ({exc})") from None
        if not isinstance(pid, int):
            raise ZygoteError(f"the zygote could not fork a worker: {pid}")
        if parent_of(pid) != os.getpid():  # not adopted (no subreaper support?): a worker we could not reap
            os.kill(pid, signal.SIGKILL)
            raise ZygoteError("the forked worker was not adopted by its manager")
        return pid

    def _answer(self, timeout: float) -> bytes:
        """The zygote's next answer; a stopped zygote (or intermediate fork) is given up on at once, not waited out."""
        deadline = time.monotonic() + timeout
        while not readable_within(self._sock, min(LOOK_EVERY, deadline - time.monotonic())):
            if stopped_in(self.pid):
                raise ZygoteError("the zygote is stopped")
            if time.monotonic() >= deadline:
                raise ZygoteError(f"the zygote did not answer within {timeout} s")
        answer = self._sock.recv(65536)
        if not answer:
            raise ZygoteError("the zygote is gone")
        return answer

    def close(self) -> None:
        """End the zygote: it exits when its socket closes; a stopped one, or one that does not exit in time, is
        killed with what it forked and did not hand over yet (an intermediate process, stopped too, say)."""
        self._sock.close()
        if self._proc.poll() is not None:  # already reaped (ended idle, say): its pid may be someone else's now
            return
        if not stopped_in(self.pid):
            try:
                self._proc.wait(FORK_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                pass
        kill_tree(self.pid)
        self._proc.wait()
