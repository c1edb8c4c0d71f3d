"""Output past the manager's memory bound goes to a spool file: a worker prints at full speed however rarely its
manager pumps, memory stays bounded, nothing is lost or reordered, and a spool that cannot be written falls back to
making the worker wait."""

from __future__ import annotations

import errno
import io
import json
import subprocess
import sys
from pathlib import Path

from promp._stdio import STDERR, STDOUT
from promp.manager._output import OutputAssembler
from promp.manager._spool import READ_BLOCK, Spool


def lines(n: int, start: int = 0) -> bytes:
    return b"".join(b"%06d\n" % i for i in range(start, start + n))


def test_past_the_memory_bound_output_goes_to_the_spool_and_comes_back_in_order_without_pausing_the_pipe():
    out = OutputAssembler(Spool(io.BytesIO), held_at_most=100)
    feeds = [(1 + i % 2, STDOUT if i % 3 else STDERR, lines(10, 10 * i)) for i in range(40)]
    assert all(out.feed(wid, stream, data, now=0.0) for wid, stream, data in feeds)  # no pipe waits
    assert out.held < 100 + 70 and out.spool.holding
    batch = out.take()
    assert list(batch) == feeds
    batch.close()
    assert not out.pending and out.take().spooled is None


def test_a_full_spool_keeps_the_chunk_pauses_its_pipe_and_keeps_the_order_until_taken():
    troubles: list[str] = []
    out = OutputAssembler(Spool(io.BytesIO, at_most=200, on_trouble=troubles.append), held_at_most=50)
    kept = [out.feed(1, STDOUT, lines(10, 10 * i), now=0.0) for i in range(8)]  # 70 bytes each
    assert kept == [True, True, True, False, False, False, False, False]  # memory (2 reads), spool (2), then waits
    assert [data for _w, _s, data in out.take()] == [lines(10, 10 * i) for i in range(8)]
    assert len(troubles) == 1 and "more than 200 bytes" in troubles[0] and "wait" in troubles[0]
    assert all(out.feed(1, STDOUT, lines(10, 80 + 10 * i), now=1.0) for i in range(3))  # taken: it takes again
    assert [data for _w, _s, data in out.take()] == [lines(10, 80 + 10 * i) for i in range(3)]


class FullDisk(io.BytesIO):
    """A file that takes ``room`` bytes, then writes part of a record and fails, as a full disk does."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data) -> int:
        if self.tell() + len(data) > self.room:
            super().write(bytes(data)[: self.room - self.tell()])
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_spool_that_cannot_be_written_drops_the_torn_record_says_so_once_and_loses_nothing():
    troubles: list[str] = []
    files: list[FullDisk] = []
    spool = Spool(lambda: files.append(FullDisk(200)) or files[-1], on_trouble=troubles.append)
    out = OutputAssembler(spool, held_at_most=10)
    kept = [out.feed(2, STDERR, lines(10, 10 * i), now=0.0) for i in range(5)]
    assert kept == [True, True, True, False, False]
    assert len(troubles) == 1 and "No space left on device" in troubles[0]
    assert files[0].getbuffer().nbytes == 2 * (9 + 70)  # the torn third record was cut off
    assert [data for _w, _s, data in out.take()] == [lines(10, 10 * i) for i in range(5)]
    assert out.feed(2, STDERR, b"again\n", now=1.0) and out.take().spooled is None  # under the bound: memory


def test_spooled_records_longer_than_a_read_block_come_back_whole():
    spool = Spool(io.BytesIO)
    chunks = [(3, STDOUT, bytes([65 + i]) * (READ_BLOCK // 3 + 7 * i)) for i in range(8)]
    chunks.insert(4, (3, STDERR, b"x" * (2 * READ_BLOCK + 5)))
    for chunk in chunks:
        assert spool.append(*chunk)
    spooled = spool.take()
    assert list(spooled) == chunks
    spooled.close()
    assert spool.take() is None


PUMPED = Path(__file__).resolve().parent.parent / "tools" / "pumped_output.py"


def run_seed_loop(lines_printed: int, *options: str) -> tuple[dict, str]:
    """A task printing ``lines_printed`` lines of 100 bytes under the seed's loop (a pump every 0.5 s)."""
    proc = subprocess.run([sys.executable, str(PUMPED), str(lines_printed), "0.5", *options],
                          capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_a_worker_printing_20_mb_under_the_seeds_loop_is_not_held_back_by_the_pumps_and_memory_stays_bounded():
    """Before the spool, the manager held 1 MiB per worker and stopped reading: 20 MB took 10 s under this loop
    (one pump every 0.5 s); a busy loop took under 1 s."""
    figures, _ = run_seed_loop(200_000)
    assert figures["lines"] == 200_000 and figures["wrong"] == 0
    assert figures["seconds"] < 5.0, figures
    assert figures["grew"] < 32 * 2**20, figures


def test_without_a_spool_the_worker_waits_and_nothing_is_lost_and_the_log_says_why_once():
    figures, stderr = run_seed_loop(60_000, "--no-spool")
    assert figures["lines"] == 60_000 and figures["wrong"] == 0
    assert stderr.count("output spool cannot be written") == 1, stderr
    assert figures["grew"] < 32 * 2**20, figures
