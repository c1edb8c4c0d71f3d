"""A worker's stdout and stderr pipes, as the manager reads them: without blocking, within a budget.

The keeper reads a pipe when it turns readable; the user's thread drains a worker's pipes before
handling a message of it (``drain``), so what the worker printed before sending is read first.  A
drain reads at most ``DRAIN_AT_MOST`` per pipe: what the worker wrote before it sent the message is
in the pipe already (it blocks on a full pipe before it can send), so a worker printing without
pause cannot keep the user's thread reading.
"""

from __future__ import annotations

import os
import select
from typing import BinaryIO

from .._stdio import STDERR, STDOUT

PIPE_READ = 65536  # bytes read from a pipe at once
DRAIN_AT_MOST = 1 << 20  # bytes read from one pipe before a message of its worker is handled


class OutputPipes:
    def __init__(self, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self._files = (stdout, stderr)
        self.fds = {STDOUT: stdout.fileno(), STDERR: stderr.fileno()}  # stream -> fd, while open
        self._poll = select.poll()
        for fd in self.fds.values():
            os.set_blocking(fd, False)
            self._poll.register(fd, select.POLLIN)

    def read(self, stream: int) -> bytes | None:
        """One read of ``stream``: None when there is nothing now, b"" at its end (or once closed)."""
        fd = self.fds.get(stream)
        if fd is None:
            return b""
        try:
            data = os.read(fd, PIPE_READ)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if not data:
            self._poll.unregister(fd)
            del self.fds[stream]
        return data

    def drain(self) -> list[tuple[int, bytes]]:
        """(stream, data) reads of what the worker has written so far, at most ``DRAIN_AT_MOST`` a pipe."""
        ready = self._poll.poll(0) if self.fds else ()
        if not ready:  # the common case, on the hot path: nothing was printed
            return []
        reads = []
        for fd, _ in ready:
            stream = STDOUT if fd == self.fds.get(STDOUT) else STDERR
            budget = DRAIN_AT_MOST
            while budget > 0 and (data := self.read(stream)) is not None:
                reads.append((stream, data))
                if not data:
                    break
                budget -= len(data)
        return reads

    @property
    def descriptors(self) -> tuple[int, ...]:
        """Both pipes' descriptors, read to their end or not, until ``close``."""
        return tuple(file.fileno() for file in self._files if not file.closed)

    def close(self) -> None:
        self.fds.clear()
        for file in self._files:
            file.close()
