"""Writing what workers print to the manager's own stdout and stderr.

The manager reads each worker's stdout and stderr pipes in chunks.  With
``ProMPOpt_AtomicOutput`` each chunk is one "incoming string" in the seed's
sense: a chunk that is only a newline is dropped and every other chunk ends
with exactly one added newline if it lacked one.  Workers line-buffer their
``sys.stdout``, so a ``print`` reaches the pipe as one write; the end of a read
without a newline waits briefly for the rest of its line (the shell's
``_read_output``), so a line longer than the pipe, or cut where a read ended,
stays whole.
"""

from __future__ import annotations

import codecs
import sys

STDOUT, STDERR = 1, 2


def atomic(text: str) -> str:
    if text.strip("\r\n") == "":
        return ""
    return text if text.endswith("\n") else text + "\n"


class OutputWriter:
    def __init__(self) -> None:
        self._decoders: dict[tuple[int, int], codecs.IncrementalDecoder] = {}

    def write(self, worker: int, stream: int, data: bytes, atomic_output: bool) -> None:
        key = (worker, stream)
        decoder = self._decoders.get(key)
        if decoder is None:
            decoder = self._decoders[key] = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data)
        if atomic_output:
            text = atomic(text)
        if text:
            target = sys.stdout if stream == STDOUT else sys.stderr
            try:
                target.write(text)
            except UnicodeEncodeError:  # a stream that cannot show some characters still gets the line
                encoding = getattr(target, "encoding", None) or "ascii"
                target.write(text.encode(encoding, "backslashreplace").decode(encoding))


def flush_std_streams() -> None:
    """Flush sys.stdout and sys.stderr, whatever the user replaced them with."""
    for target in (sys.stdout, sys.stderr):
        try:
            target.flush()
        except Exception:  # a user's stream object may not flush; output is best effort
            pass
