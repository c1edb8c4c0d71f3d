"""The worker's I/O: its sockets, and the frames on them.

* ``task`` (DEALER to the manager's task socket): tasks and messages in, reports out.  The main
  thread's, except that the control thread sends results the main thread held too long (always
  under the driver's lock, and only while some are held, when the main thread is not on it).
* ``beat`` (DEALER to the manager's echo socket): the worker's own pings, echoed back.
* ``ctrl`` (DEALER to the manager's control socket): aborts, read by the control thread.
* ``heard`` (SUB): a copy of each ping of the manager's, from the echo thread, which answers them
  in C (``zmq.proxy``) while Python code holds the GIL.

Every frame in goes through ``wire.decode``; what it refuses is dropped and said on stderr
without flooding (ten lines, then a tally a second).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import zmq

from .. import _cgroups, _state, wire
from .._constants import EXIT_MANAGER_GONE, SOCKET_DIR_LOCK
from .._procs import end_descendants
from ..wire._zmq import NOBLOCK, readable, recv_frames, send_frame, watch

_plain_exit = os._exit  # the process's own: a task may replace os._exit
# Seconds a worker watches for its next task before it sleeps, while tasks come that quickly: a sequential caller's
# next task comes some 80 us after its result left, plus what the caller does in between; two workers given tasks in
# turn (TASK-4) wait two round trips each.  Four or more wait longer, and sleep: all of them watching would take the
# processors from the one at work on a small machine.
SPIN = 0.0003


def _say(line: str) -> None:
    try:  # a task may have broken sys.stderr, or closed fd 2: what the worker says is best effort
        print(f"promp worker: {line}", file=sys.stderr, flush=True)
    except Exception:
        pass


def remove_manager_directory(path: str) -> None:
    """A dead manager's socket directory, its lock last: a removal cut short (every worker of the manager removes it,
    and one may be killed on the way) leaves a directory the next manager still tells as a dead one's by its lock;
    one without it would be taken for an older version's and left for good."""
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        if name != SOCKET_DIR_LOCK:
            try:
                os.unlink(os.path.join(path, name))
            except FileNotFoundError:  # another worker took it
                pass
            except OSError:  # not a file: the lock stays, and the next manager's sweep removes it all
                return
    try:
        os.unlink(os.path.join(path, SOCKET_DIR_LOCK))
        os.rmdir(path)
    except OSError:
        pass


def die(reason: str, code: int = EXIT_MANAGER_GONE, leftover_dir: str | None = None, orderly: bool = False) -> None:
    """End the worker now, and everything it started (``orderly``: its manager, alive, ends its cgroup)."""
    # The main thread may be spinning in Python: without this, each file this thread reads
    # (psutil scans /proc) costs it a whole switch interval (5 ms) to get the GIL back.
    sys.setswitchinterval(1e-5)
    end_descendants()
    if _state.cgroup is not None:  # what escaped to init is in the cgroup
        if orderly:  # the manager removes the cgroup; what is in it goes now, should its close be cut short
            _cgroups.kill_others(_state.cgroup)
        else:  # no live manager will end the cgroup
            _cgroups.leave_and_end(_state.cgroup)
    if leftover_dir:  # a dead manager cannot remove its socket directory: the workers do
        remove_manager_directory(leftover_dir)
    try:
        os.write(2, f"promp worker {os.getpid()}: {reason}; exiting\n".encode())
    except OSError:
        pass
    _plain_exit(code)


def connect(ctx: zmq.Context, identity: bytes, endpoint: str, unbounded: bool = False) -> zmq.Socket:
    """A DEALER with the worker's identity; ``unbounded``: no high-water mark (the task channel never drops)."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.LINGER, 0)
    if unbounded:
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
    if endpoint.startswith("tcp://"):  # the manager admits its own workers only, by identity (chapter 13)
        sock.setsockopt(zmq.PLAIN_USERNAME, identity)
        sock.setsockopt(zmq.PLAIN_PASSWORD, b"promp")
    sock.connect(endpoint)
    return sock


class WorkerPort:
    def __init__(
        self, task: zmq.Socket, beat: zmq.Socket, ctrl: zmq.Socket, heard: zmq.Socket, signer: wire.Signer, dones: bool = False
    ) -> None:
        self.task = task
        self.dones = dones  # the manager takes ``dones`` (it set PROMP_DONES): results of a batch go as one
        self.beat = beat
        self.ctrl = ctrl
        self.heard = heard
        self.signer = signer
        self.reject = wire.Rejects(_say, time.monotonic)
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)  # anyone -> the control thread
        self._pings = 0
        self._tasks_quick = False  # the last frame came within SPIN: watch for the next before sleeping (not at first:
        # a thousand workers started together would each spin once for nothing)

    # ----------------------------------------------------------- task channel
    def send(self, messages: list[wire.Message]) -> None:
        """Never blocks: the socket has no high-water mark."""
        if messages:
            send_frame(self.task, wire.encode_many(self.signer, messages, self.dones))

    def recv(self, timeout: float | None = None) -> list[wire.Message] | None:
        """The messages of the next frame, waiting up to ``timeout`` seconds (None: for ever); None if none came."""
        if timeout is not None and not self.task.poll(max(0, int(timeout * 1000))):
            return None
        return self._decode(recv_frames(self.task), "")

    def wait(self) -> tuple[list[wire.Message], bool]:
        """The messages of the next frame, and whether it had to wait for it (False: the frame was there already).

        While frames come within ``SPIN`` of the last wait's start, it watches the socket before it blocks (``watch``).
        """
        task = self.task
        if readable(task):
            return self._decode(recv_frames(task), ""), False
        started = time.monotonic()
        if self._tasks_quick:  # a sequential caller's next task comes within one round trip: no sleep, no wake-up
            watch(task, SPIN)
        frames = recv_frames(task)
        self._tasks_quick = time.monotonic() - started < SPIN
        return self._decode(frames, ""), True

    def recv_nowait(self) -> list[wire.Message] | None:
        if not readable(self.task):
            return None
        return self._decode(recv_frames(self.task, NOBLOCK), "")

    def _decode(self, frames: list, where: str) -> list[wire.Message]:
        try:
            if not 1 <= len(frames) <= 2:
                raise wire.ProtocolError(f"expected 1 or 2 frames, got {len(frames)}")
            return wire.decode(self.signer, *frames)
        except wire.ProtocolError as exc:
            self.reject(f"{where}{exc}")
            return []

    # ----------------------------------------------------------- the control thread's
    def control_messages(self, sock: zmq.Socket) -> list[wire.Message]:
        """What waits on the beat or control socket, decoded."""
        messages: list[wire.Message] = []
        while sock.poll(0):
            messages += self._decode([sock.recv()], "on the control channel: ")
        return messages

    def ping(self) -> None:
        self._pings += 1
        self.beat.send(wire.encode(self.signer, wire.Ping(self._pings)), zmq.NOBLOCK)

    def wake_control(self) -> None:
        os.eventfd_write(self.wake_fd, 1)

    give_way = staticmethod(os.sched_yield)

    @staticmethod
    def say(text: str) -> None:
        _say(text)

    def exit(self, code: int, reason: str) -> None:
        die(reason, code)

    def close(self) -> None:
        """Only for a port that outlives nothing: a worker's process ends with its descriptors."""
        os.close(self.wake_fd)

    @staticmethod
    def interrupt() -> None:
        """Have ``ProMPAborted`` raised in the task's code, on the main thread (its SIGUSR1 handler decides)."""
        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
