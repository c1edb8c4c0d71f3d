"""The worker's task loop on its own, over an in-process socket pair: what the control thread may and may not do."""

from __future__ import annotations

import io
import os
import sys
import threading
import time

import pytest
import zmq

from promp import _protocol as wire
from promp._protocol import Signer, decode, unbatch
from promp._worker_core import WorkerSession
from promp._worker_shell import TaskLoop


@pytest.fixture
def loop_and_peer():
    ctx = zmq.Context()
    peer = ctx.socket(zmq.PAIR)
    peer.bind("inproc://task-loop")
    sock = ctx.socket(zmq.PAIR)
    sock.connect("inproc://task-loop")
    signer = Signer(os.urandom(32))
    loop = TaskLoop(sock, signer, WorkerSession(0.5, 5.0, time.monotonic()))
    try:
        yield loop, peer, signer
    finally:
        sock.close(linger=0)
        peer.close(linger=0)
        ctx.term()


class BlockedStream(io.StringIO):
    """A stdout whose flush does not return until ``release`` is set, like a print into a full pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def flush(self) -> None:
        self.release.wait()


def _in_thread(call) -> threading.Thread:
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_the_control_thread_sends_overdue_results_without_touching_the_std_streams(loop_and_peer, monkeypatch):
    loop, peer, signer = loop_and_peer
    loop.post(wire.done(1, True, 0.0))
    loop.hold.held_since = time.monotonic() - 1.0
    stream = BlockedStream()
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        thread = _in_thread(lambda: loop.flush_overdue(time.monotonic()))
        thread.join(5)
        assert not thread.is_alive(), "flush_overdue waited on sys.stdout"
        assert peer.poll(5000)
        assert [m.header["t"] for m in unbatch(decode(signer, peer.recv()))] == [1]
    finally:
        stream.release.set()


def test_the_control_thread_never_waits_for_the_main_thread(loop_and_peer):
    loop, peer, _ = loop_and_peer
    loop.post(wire.done(1, True, 0.0))
    loop.hold.held_since = time.monotonic() - 1.0
    with loop.lock:  # the main thread is using the socket: it sends the results itself
        thread = _in_thread(lambda: loop.flush_overdue(time.monotonic()))
        thread.join(5)
        assert not thread.is_alive(), "flush_overdue waited for the lock"
    assert loop.outbox and not peer.poll(0)


def test_results_younger_than_the_hold_limit_stay_held(loop_and_peer):
    loop, peer, _ = loop_and_peer
    loop.post(wire.done(1, True, 0.0))
    loop.flush_overdue(loop.hold.held_since)  # not yet overdue
    assert loop.outbox and not peer.poll(0)


def test_no_result_is_lost_when_the_control_thread_sends_while_the_main_thread_posts(loop_and_peer):
    loop, peer, signer = loop_and_peer
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to hit any unguarded window
    stop = threading.Event()

    def control() -> None:
        while not stop.is_set():
            loop.flush_overdue(time.monotonic() + 1.0)  # everything held counts as overdue

    thread = _in_thread(control)
    try:
        for t in range(20000):
            loop.post(wire.done(t, True, 0.0))
    finally:
        stop.set()
        thread.join(10)
        sys.setswitchinterval(switch)
    loop.flush()
    got = []
    while peer.poll(100):
        got += [m.header["t"] for m in unbatch(decode(signer, peer.recv()))]
    assert got == list(range(20000))


class Recording(io.StringIO):
    """A std stream that knows whether what was written to it has been flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.unflushed = False

    def write(self, text: str) -> int:
        self.unflushed = True
        return super().write(text)

    def flush(self) -> None:
        self.unflushed = False


def test_what_a_task_printed_is_flushed_before_its_report_can_be_sent(loop_and_peer, monkeypatch):
    """Once a report is posted the control thread may send it at any moment: the output must already be out."""
    loop, _, _ = loop_and_peer
    out, err = Recording(), Recording()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    print("no newline", end="")
    print("nor here", end="", file=sys.stderr)
    loop.post(wire.done(1, True, 0.0))
    assert not out.unflushed and not err.unflushed
