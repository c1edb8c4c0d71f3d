"""Which worker each task connection belongs to, and when one ends: a dead worker's exit is final once its connection's end is read.

The task socket's monitor reports connections accepted and ended.  A connection is told apart by
the process at its other end (``SO_PEERCRED``, on ipc): a worker, or the launcher the manager
started for it.  Others (tcp, a peer that is no process of ours) keep the exit grace.  A forked
worker can connect before its manager has learnt its pid: its connection waits, unclaimed, until
``claim_pid`` is called for that pid.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from ..wire._zmq import readable


def peer_pid(fd: int) -> int | None:
    """The process at the other end of a unix socket (None for any other kind, or one already gone)."""
    try:
        copy = os.dup(fd)
    except OSError:
        return None
    try:
        sock = socket.socket(fileno=copy)
    except OSError:  # not a socket: the connection already ended and its number went to something else
        os.close(copy)
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


class Links:
    def __init__(self, task: zmq.Socket) -> None:
        self.monitor = task.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self._link_of: dict[int, int] = {}  # connection fd -> worker
        self._unclaimed: dict[int, int] = {}  # connection fd -> peer pid, accepted before that pid was known

    def take_events(self, worker_by_pid: Callable[[int | None], int | None]) -> list[tuple[int, bool]]:
        """(worker, up) for each connection of a known worker that opened or ended since the last call."""
        events = []
        while readable(self.monitor):
            event = recv_monitor_message(self.monitor)
            fd = event["value"]
            if event["event"] == zmq.EVENT_ACCEPTED:
                pid = peer_pid(fd)
                wid = worker_by_pid(pid)
                if wid is not None:
                    self._link_of[fd] = wid
                    events.append((wid, True))
                elif pid is not None:
                    self._unclaimed[fd] = pid
            else:
                self._unclaimed.pop(fd, None)
                wid = self._link_of.pop(fd, None)
                if wid is not None:
                    events.append((wid, False))
        return events

    def claim_pid(self, pid: int, wid: int) -> list[tuple[int, bool]]:
        """Worker ``wid`` has process ``pid`` now: a connection of it accepted earlier is its."""
        events = []
        for fd, peer in list(self._unclaimed.items()):
            if peer == pid:
                del self._unclaimed[fd]
                self._link_of[fd] = wid
                events.append((wid, True))
        return events

    def close(self) -> None:
        self.monitor.close()
