"""The keeper thread: it watches every worker whatever the user's thread does.

It blocks in one poll on: the heartbeat answers (``beat`` socket), the task socket's connection
events, each worker's pidfd (an exit is seen in milliseconds) and output pipes, the zygote's
pidfd, and an eventfd other threads write to (``nudge``), until the driver's next deadline.  The
workers' descriptors (three each) are in an epoll set, itself one item of the poll: ZeroMQ's poll
rebuilds its whole list at every call, which with 1,024 workers cost more than the events.  What
it sees goes to the driver under the lock (``KeeperExecutor.step``), which then ticks the clock;
the executor performs the keeper's actions: pings, aborts, kills, releases, waking the user's
thread.  Only this thread changes what the poll watches: other threads ask, under the lock, and
nudge it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time

import zmq

from .. import wire
from .._constants import LONGEST_POLL_MS
from ..wire._zmq import readable
from ._executors import KeeperExecutor
from ._handle import WorkerHandle
from ._zygote import Zygote

log = logging.getLogger("promp")

PIDFD, ZYGOTE = "pidfd", "zygote"  # what a watched descriptor is, beside a pipe's stream number


class Keeper:
    def __init__(self, port, executor: KeeperExecutor) -> None:
        self.port = port
        self.executor = executor
        self.driver = executor.driver
        self.poller = zmq.Poller()
        self.epoll = select.epoll()  # the workers' and zygotes' descriptors
        self.watched: dict[int, tuple[object, object]] = {}  # fd -> (handle or zygote, PIDFD / ZYGOTE / stream)
        self._asked: list[tuple[int, object, object]] = []  # (fd, owner, what) to watch, asked by other threads
        self._thread = threading.Thread(target=self._run, name="promp-keeper", daemon=True)
        port.keeper = self
        self._thread.start()

    # --------------------------------------------------- asked by other threads
    def watch(self, handle: WorkerHandle, links: list[tuple[int, bool]]) -> None:
        """A new worker: its pidfd and pipes (``links``: its connections already seen)."""
        with self.port.lock:
            self._asked.append((handle.pidfd, handle, PIDFD))
            self._asked += [(fd, handle, stream) for stream, fd in handle.pipes.fds.items()]
            for wid, up in links:
                self.driver.on_link(wid, up)
        self.port.nudge_keeper()

    def watch_zygote(self, zygote: Zygote) -> None:
        with self.port.lock:
            self._asked.append((os.pidfd_open(zygote.pid), zygote, ZYGOTE))
        self.port.nudge_keeper()

    # ------------------------------------------------------------- its own
    def watch_pipe(self, handle: WorkerHandle, stream: int) -> None:
        fd = handle.pipes.fds.get(stream)
        if fd is not None and fd not in self.watched:
            self._watch(fd, handle, stream)

    def unwatch(self, handle: WorkerHandle) -> None:
        for fd in (handle.pidfd, *handle.pipes.descriptors):
            if fd is not None and self.watched.get(fd, (None,))[0] is handle:
                self._unwatch(fd)

    def _watch(self, fd: int, owner: object, what: object) -> None:
        self.watched[fd] = (owner, what)
        self.epoll.register(fd, select.EPOLLIN)

    def _unwatch(self, fd: int) -> None:
        del self.watched[fd]
        self.epoll.unregister(fd)

    def join(self) -> None:
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        port = self.port
        try:
            for item in (port.beat, port.links.monitor, port.nudge_fd, self.epoll.fileno()) + ((port.gate.sock,) if port.gate else ()):
                self.poller.register(item, zmq.POLLIN)
            self._watch_until_closed()
        finally:  # however it ends (even by a BaseException, which nothing here catches): its sockets are closed, or
            # the close's ``term()`` of the context would wait for them for ever
            self._close_own()

    def _watch_until_closed(self) -> None:
        port = self.port
        deadline: float | None = None
        while not port.closed:
            timeout = LONGEST_POLL_MS if deadline is None else min(max(0.0, deadline - time.monotonic()) * 1000 + 1, LONGEST_POLL_MS)
            try:
                events = self.poller.poll(timeout)
            except zmq.ContextTerminated:
                break
            try:
                deadline = self.executor.step(lambda now, events=events: self._feed(events, now))
            except Exception:  # a bug: say so, and keep watching the workers
                log.exception("the keeper met an error; it goes on")

    def _close_own(self) -> None:
        """Its sockets, its epoll set and the zygotes' pidfds (the workers' descriptors are their handles', closed with
        the port); each whatever became of the others."""
        port = self.port
        asked, self._asked = self._asked, []  # not under the port's lock: whoever holds it may be waiting for this thread
        zygote_fds = {fd for fd, (_, what) in self.watched.items() if what == ZYGOTE}
        zygote_fds.update(fd for fd, _, what in asked if what == ZYGOTE)
        closers = [port.beat.close, port.ctrl.close, self.epoll.close] + ([port.gate.close] if port.gate is not None else [])
        closers += [lambda fd=fd: os.close(fd) for fd in zygote_fds]
        for close in closers:
            with contextlib.suppress(OSError, zmq.ZMQError):
                close()

    def _feed(self, events: list, now: float) -> None:
        """What the poll saw, into the driver (under the lock)."""
        port, driver = self.port, self.driver
        for sock_or_fd, _ in events:
            if sock_or_fd is port.beat:
                self._take_echoes(now)
            elif sock_or_fd is port.links.monitor:
                for wid, up in port.links.take_events(port.worker_by_pid):
                    driver.on_link(wid, up)
            elif port.gate is not None and sock_or_fd is port.gate.sock:
                port.gate.answer()
            elif sock_or_fd == port.nudge_fd:
                os.eventfd_read(port.nudge_fd)
                asked, self._asked = self._asked, []
                for fd, owner, what in asked:
                    try:
                        self._watch(fd, owner, what)
                    except OSError as exc:  # said once, and the others are watched all the same
                        log.warning("the keeper cannot watch descriptor %d: %s", fd, exc)
            elif sock_or_fd == self.epoll.fileno():
                self._feed_watched(now)
        self._take_echoes(now)  # answers that came in while this thread was starved count

    def _feed_watched(self, now: float) -> None:
        """The workers' and zygotes' descriptors that are ready."""
        driver = self.driver
        for sock_or_fd, _ in self.epoll.poll(0):
            if sock_or_fd in self.watched:  # (one handled before it in this loop may have released it)
                owner, what = self.watched[sock_or_fd]
                if what == PIDFD:  # the process ended: what it wrote first, then its exit
                    self._unwatch(sock_or_fd)
                    for stream, data in owner.pipes.drain():
                        driver.on_output(owner.wid, stream, data, now)
                    driver.on_exit(owner.wid, owner.reap(), now)
                elif what == ZYGOTE:  # a zygote ended (idle, or killed): reap it
                    self._unwatch(sock_or_fd)
                    os.close(sock_or_fd)
                    owner.reap()
                else:
                    data = owner.pipes.read(what)
                    if data is not None and (not driver.on_output(owner.wid, what, data, now) or not data):
                        if sock_or_fd in self.watched:  # paused until the output is taken, or at its end
                            self._unwatch(sock_or_fd)

    def _take_echoes(self, now: float) -> None:
        port = self.port
        while readable(port.beat):
            frames = port.beat.recv_multipart()
            wid = port.worker_of(frames[0])
            try:
                if wid is None or len(frames) != 2:
                    raise wire.ProtocolError("not from a worker of this manager")
                wire.decode(port.handles[wid].signer, frames[1])
                self.driver.on_echo(wid, now)
            except wire.ProtocolError as exc:
                port.reject(f"a heartbeat answer from peer {frames[0][:16]!r}: {exc}")
