"""Worker output past the manager's memory bound: spooled to a file, replayed in order by the user's thread.

Why: the manager holds only ``HELD_AT_MOST`` of output in memory for the user's thread.  If it then
stopped reading the workers' pipes, a worker could print only that much per ``processMessages()``
call: under the seed's own loop (a pump, then half a second of sleep) a task printing 20 MB took
ten times as long as under a busy loop.  So what comes past the bound goes to a spool, an unlinked
temporary file (``tempfile.TemporaryFile``: in ``TMPDIR``, else ``/tmp``; nothing to clean up,
whatever ends the manager), and the pipes go on being read whatever the pump rate.

The spool is a series of records, (worker, stream, length) then the bytes, in the order the chunks
came; ``take`` hands the whole file to the user's thread, which replays it (``SpooledOutput``) and
closes it, while the next chunks go to a new file.  Reading it back costs the user's thread one
pass over the file in blocks of ``READ_BLOCK``: memory stays bounded however much was spooled.

Bounded on disk too: past ``SPOOL_AT_MOST`` bytes between two takes (``SPOOL_IN_TMPFS_AT_MOST``
where the temporary directory is a tmpfs, whose files are memory; while the user's thread replays
one file the next may fill, so twice that at most), or when a write fails (a full disk, a missing
temporary directory), the spool takes nothing more until it is taken, and the
assembler falls back to what it did without one: it keeps the chunk and stops reading that pipe,
so the worker waits in its write.  Nothing is lost either way, and the manager says so once in its
log.  This module does no I/O of its own: the file comes from ``open_file`` (a temporary file in
the pyzmq shell, memory in the simulator).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

SPOOL_AT_MOST = 256 << 20  # bytes spooled between two takes by the user's thread; past it, pipes wait
SPOOL_IN_TMPFS_AT_MOST = 64 << 20  # the same where the spool's file lives in memory (a tmpfs)
READ_BLOCK = 1 << 20  # bytes read back at once
RECORD = struct.Struct("<iBI")  # worker id, stream, length of the bytes that follow


class Spool:
    def __init__(self, open_file: Callable[[], BinaryIO], at_most: int = SPOOL_AT_MOST,
                 on_trouble: Callable[[str], None] | None = None) -> None:
        self._open = open_file
        self.at_most = at_most
        self._on_trouble = on_trouble
        self._told = False
        self._file: BinaryIO | None = None
        self.size = 0  # bytes of whole records in the current file
        self.refusing = False  # until the next take: full, or a write failed

    def append(self, wid: int, stream: int, data: bytes) -> bool:
        """Spool one chunk; False when the spool cannot take it (then nothing of it was written)."""
        if self.refusing:
            return False
        record = RECORD.pack(wid, stream, len(data)) + data
        if self.size + len(record) > self.at_most:
            return self._refuse(f"more than {self.at_most} bytes of output wait for the user's thread")
        try:
            if self._file is None:
                self._file = self._open()
            written = self._file.write(record)
            if written != len(record):
                raise OSError(f"a short write ({written} of {len(record)} bytes)")
        except OSError as exc:
            if self._file is not None:  # a torn record goes: only whole ones are read back
                try:
                    self._file.seek(self.size)
                    self._file.truncate(self.size)
                except OSError:
                    pass
            return self._refuse(f"the output spool cannot be written ({exc})")
        self.size += len(record)
        return True

    def _refuse(self, reason: str) -> bool:
        self.refusing = True
        if not self._told and self._on_trouble is not None:
            self._told = True
            self._on_trouble(f"{reason}: workers wait in their writes until processMessages() takes their output")
        return False

    @property
    def holding(self) -> bool:
        """Whether chunks wait in the spool for the user's thread."""
        return self.size > 0

    def take(self) -> SpooledOutput | None:
        """What was spooled, for the user's thread (which must close it); the spool starts afresh."""
        self.refusing = False
        if self._file is None:
            return None
        spooled = SpooledOutput(self._file, self.size)
        self._file, self.size = None, 0
        return spooled

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class SpooledOutput:
    """Spooled chunks, replayed in order: (worker, stream, data)."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self.size = size

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        file, left, buf = self._file, self.size, b""
        file.seek(0)
        while left:
            block = file.read(min(READ_BLOCK, left))
            if not block:
                return  # cut short from outside: what was whole has been given
            left -= len(block)
            buf = buf + block if buf else block
            pos, end = 0, len(buf)
            while end - pos >= RECORD.size:
                wid, stream, length = RECORD.unpack_from(buf, pos)
                stop = pos + RECORD.size + length
                if stop > end:
                    break
                yield wid, stream, buf[pos + RECORD.size:stop]
                pos = stop
            buf = buf[pos:]

    def close(self) -> None:
        self._file.close()
