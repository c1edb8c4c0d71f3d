"""The worker's control thread: heartbeats, the parent-alive pipe, aborts, and results held too long.

It never waits for the main thread.  It blocks in one poll on the heartbeat socket (echoes of its
own pings), the control socket (aborts), the copies of the manager's pings (``heard``), the
parent-alive pipe and its wake-up eventfd, until the driver's next deadline; then its executor
(``ControlExecutor.step``) gives the driver what came and performs what the driver decides: a ping,
an interrupt of the running task, sending results the main thread held past their time, or the end
of the process: at once when the pipe reaches end of file (the manager process is gone, however it
died), when the manager stays silent past the heartbeat timeout (frozen, or cut off), or when an
aborted task outlives the time ``abortOperation`` gave it.

A manager's ``close()`` writes a byte into the pipe before it closes it: that end of file is an
orderly close, and the manager, alive, removes the worker's cgroup and its socket directory
itself.  The worker then kills what is in its cgroup from inside it (should the close be cut
short) rather than first moving out of it: a thousand workers each moving out at once wait on
each other in the kernel (closing 1,024 workers took 0.4 s more).  A manager that dies writes
nothing, and its workers clean up after it.
"""

from __future__ import annotations

import array
import fcntl
import os
import termios
import time

import zmq

from .._constants import LONGEST_POLL_MS
from ._executors import ControlExecutor
from ._port import WorkerPort, die


def unread_bytes(fd: int) -> int:
    """How many bytes wait in the pipe ``fd`` (0 at a bare end of file)."""
    count = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, count, True)
    except OSError:
        return 0
    return count[0]


class ControlThread:
    def __init__(self, executor: ControlExecutor, port: WorkerPort, alive_fd: int, socket_dir: str | None) -> None:
        self.executor = executor
        self.driver = executor.driver
        self.port = port
        self.alive_fd = alive_fd
        self.socket_dir = socket_dir  # the manager's: a worker that outlives its manager removes it

    def run(self) -> None:
        port, driver = self.port, self.driver
        poller = zmq.Poller()
        for item in (port.beat, port.ctrl, port.heard, self.alive_fd, port.wake_fd):
            poller.register(item, zmq.POLLIN)
        deadline = time.monotonic()
        try:
            while True:
                events = dict(poller.poll(min(max(0.0, deadline - time.monotonic()) * 1000 + 1, LONGEST_POLL_MS)))
                if self.alive_fd in events:
                    if unread_bytes(self.alive_fd):
                        die("manager closed", orderly=True)
                    die("manager process ended", leftover_dir=self.socket_dir)
                messages = []
                if port.beat in events:
                    messages += port.control_messages(port.beat)
                if port.ctrl in events:
                    messages += port.control_messages(port.ctrl)
                heard = port.heard in events
                if heard:  # the manager pings us: it lives, and our own pings can wait
                    while port.heard.poll(0):
                        port.heard.recv()
                if port.wake_fd in events:
                    os.eventfd_read(port.wake_fd)

                def feed(now: float, messages: list = messages, heard: bool = heard) -> None:
                    for msg in messages:
                        driver.on_control(msg, now)
                    if heard:
                        driver.on_manager_ping(now)

                deadline = self.executor.step(time.monotonic, feed)
        except zmq.ContextTerminated:
            for sock in (port.beat, port.ctrl, port.heard):
                sock.close()
