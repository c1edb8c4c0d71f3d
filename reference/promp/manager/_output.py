"""Worker output: assembled from what the manager reads of each worker's pipes, written to the user's streams.

The manager reads each worker's stdout and stderr pipes itself, so ``print``, C code and the
worker's child processes are all forwarded.  ``OutputAssembler`` (pure: the driver's) turns reads
into chunks for the user's thread:

* Where a read ends says nothing of where a write ended: a write longer than the pipe's room (one
  print of 100,000 characters, or many lines at once) is read in pieces, the writer refilling the
  pipe as the reader empties it.  So the end of a read after its last newline waits, up to
  ``UNFINISHED_LINE_WAIT`` after the last piece of it came, for the rest of its line, and atomic
  output, which ends every chunk with a newline, keeps long lines whole (however slowly the pieces
  come, as long as they keep coming: at most ``UNFINISHED_LINE_HELD_AT_MOST`` in all).  Text written
  without a newline (a prompt) goes out after that wait, or at once when its worker sends a message
  or exits (it wrote it before).
* Bounded: the manager holds at most ``HELD_AT_MOST`` bytes of output in memory for the user's
  thread, all workers together; what comes past it goes to the spool (``_spool``), an unlinked
  temporary file replayed in order when the user's thread takes the output, so a worker prints at
  full speed however rarely its manager pumps.  When the spool cannot take more (past its own bound,
  or a full disk), a chunk is kept and its pipe is not read again until the user's thread takes the
  output: the pipe fills and the worker waits in its write.  Nothing is lost, and each worker's
  chunks keep their order: memory, then the spool, then what neither could take.  Meanwhile an
  unfinished line of a waiting pipe is not due (its rest waits in the pipe, not the writer): its
  wait starts again when reading resumes.

``OutputWriter`` writes chunks on the user's thread: to ``sys.stdout``/``sys.stderr`` as they are
when it writes (a user may have replaced them), as UTF-8 decoded per worker and stream.  With
``ProMPOpt_AtomicOutput`` each chunk is one "incoming string" in the seed's sense: a chunk that is
only newlines is dropped and every other chunk ends with exactly one newline if it lacked one.
"""

from __future__ import annotations

import codecs
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from .._stdio import STDERR, STDOUT
from ._spool import Spool, SpooledOutput

HELD_AT_MOST = 4 << 20  # bytes of output (all workers) held in memory for the user's thread; past it, the spool
LINE_AT_MOST = 1 << 20  # bytes of an unfinished line held for its end; a longer line goes out cut
UNFINISHED_LINE_WAIT = 0.02  # seconds the end of a read without a newline waits for more of its line
UNFINISHED_LINE_HELD_AT_MOST = 1.0  # seconds a line still coming in pieces is held, from its first piece


class OutputAssembler:
    def __init__(self, spool: Spool | None = None, held_at_most: int = HELD_AT_MOST) -> None:
        self.held_at_most = held_at_most
        self.chunks: list[tuple[int, int, bytes]] = []  # (worker, stream, data) in memory, for the user's thread
        self.held = 0  # bytes in ``chunks``
        self.spool = spool  # what came past the memory bound, once anything did (until taken)
        self.overflow: list[tuple[int, int, bytes]] = []  # chunks neither could take: their pipes wait
        # (worker, stream) -> (line so far, when it is due out: UNFINISHED_LINE_WAIT after its last piece, capped)
        self.unfinished: dict[tuple[int, int], tuple[bytes, float]] = {}
        self._first_piece: dict[tuple[int, int], float] = {}  # when each unfinished line's first piece came

    @property
    def pending(self) -> bool:
        """Whether output waits for the user's thread."""
        return bool(self.chunks or self.overflow) or self._spooling()

    def _spooling(self) -> bool:
        return self.spool is not None and self.spool.holding

    def feed(self, wid: int, stream: int, data: bytes, now: float) -> bool:
        """A read of a worker's pipe (b"" at its end); False when its pipe should wait until the output is taken."""
        key = (wid, stream)
        held, _due = self.unfinished.pop(key, (b"", 0.0))
        first = self._first_piece.pop(key, now)
        chunk = held + data
        if data and not chunk.endswith(b"\n") and len(chunk) < LINE_AT_MOST:
            cut = chunk.rfind(b"\n") + 1
            if cut or not held:  # a new line begins in this read
                first = now
            self.unfinished[key] = (chunk[cut:], min(now + UNFINISHED_LINE_WAIT, first + UNFINISHED_LINE_HELD_AT_MOST))
            self._first_piece[key] = first
            chunk = chunk[:cut]
        keep = self._add(wid, stream, chunk)
        if not keep and key in self.unfinished:  # its pipe waits for the user: the rest of the line cannot come yet
            self.unfinished[key] = (self.unfinished[key][0], math.inf)
        return keep

    def resume(self, wid: int, stream: int, now: float) -> bool:
        """The pipe of (``wid``, ``stream``) is read again: its unfinished line waits for more from now on.
        True when that gives a line a due time again (the keeper must know)."""
        key = (wid, stream)
        if key not in self.unfinished:
            return False
        self.unfinished[key] = (self.unfinished[key][0], now + UNFINISHED_LINE_WAIT)
        self._first_piece[key] = now
        return True

    def release(self, wid: int) -> None:
        """Worker ``wid`` sent a message or exited: what it wrote before is finished, unfinished lines too."""
        if self.unfinished:
            for key in [key for key in self.unfinished if key[0] == wid]:
                self._release(key)

    def release_due(self, now: float) -> None:
        """Unfinished lines that waited long enough go out as they are."""
        for key in [key for key, (_, due) in self.unfinished.items() if now >= due]:
            self._release(key)

    def next_due(self) -> float | None:
        """When the first unfinished line is due out, or None (a line whose pipe waits for the user is not)."""
        if not self.unfinished:
            return None
        due = min(due for _, due in self.unfinished.values())
        return None if due == math.inf else due

    def _release(self, key: tuple[int, int]) -> None:
        self._first_piece.pop(key, None)
        self._add(*key, self.unfinished.pop(key)[0])

    def take(self) -> OutputBatch:
        """The output so far, for the user's thread (which must close it)."""
        batch = OutputBatch(self.chunks, self.spool.take() if self.spool is not None else None, self.overflow)
        self.chunks, self.held, self.overflow = [], 0, []
        return batch

    def _add(self, wid: int, stream: int, chunk: bytes) -> bool:
        """Hold ``chunk`` for the user's thread; False: held, but its pipe must wait until the output is taken."""
        if not chunk:
            return not self.overflow
        if self.held < self.held_at_most and not self._spooling() and not self.overflow:
            self.chunks.append((wid, stream, chunk))
            self.held += len(chunk)
            return self.held < self.held_at_most or (self.spool is not None and not self.spool.refusing)
        if not self.overflow and self.spool is not None and self.spool.append(wid, stream, chunk):
            return True
        self.overflow.append((wid, stream, chunk))
        return False


@dataclass(slots=True)
class OutputBatch:
    """Output taken by the user's thread, in order: what was in memory, what was spooled, what neither could take."""

    chunks: list[tuple[int, int, bytes]]
    spooled: SpooledOutput | None = None
    overflow: list[tuple[int, int, bytes]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        yield from self.chunks
        if self.spooled is not None:
            yield from self.spooled
        yield from self.overflow

    def close(self) -> None:
        """Give the spool's file back (it is unlinked: its space goes with it)."""
        if self.spooled is not None:
            self.spooled.close()


def atomic(text: str) -> str:
    if text.strip("\r\n") == "":
        return ""
    return text if text.endswith("\n") else text + "\n"


class OutputWriter:
    """Writes workers' output to the user's streams: ``redirect`` and ``atomic`` are the manager's options."""

    def __init__(self) -> None:
        self.redirect = False
        self.atomic = False
        self._decoders: dict[tuple[int, int], codecs.IncrementalDecoder] = {}

    def write(self, worker: int, stream: int, data: bytes) -> None:
        key = (worker, stream)
        decoder = self._decoders.get(key)
        if decoder is None:
            decoder = self._decoders[key] = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data)
        if self.atomic:
            text = atomic(text)
        if text:
            target = sys.stdout if stream == STDOUT else sys.stderr
            try:
                target.write(text)
            except UnicodeEncodeError:  # a stream that cannot show some characters still gets the line
                encoding = getattr(target, "encoding", None) or "ascii"
                target.write(text.encode(encoding, "backslashreplace").decode(encoding))

    def forget(self, worker: int) -> None:
        """A worker's exit is final: its decoders go (what a decoder held of a cut character is lost with it)."""
        self._decoders.pop((worker, STDOUT), None)
        self._decoders.pop((worker, STDERR), None)

