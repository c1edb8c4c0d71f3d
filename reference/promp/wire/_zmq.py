"""Multipart send/receive on pyzmq's backend socket methods.

pyzmq's ``send_multipart``/``recv_multipart`` add several microseconds per
message in Python (flag enums, option lookups).  The task/result path uses
these thin equivalents with plain-int flags instead: about 2.5x less
overhead per message, measured with ``tools/bench.py``.
"""

from __future__ import annotations

import errno
import os
import threading
import time

import zmq
from zmq.backend import Socket as _Backend

from .._constants import LARGE

_send = _Backend.send
_recv = _Backend.recv
_get = _Backend.get
SNDMORE = int(zmq.SNDMORE)
NOBLOCK = int(zmq.NOBLOCK)
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


def send_frame(sock: zmq.Socket, frame: bytes | tuple[bytes, bytes], flags: int = 0) -> None:
    """A message's frame, or its two frames (``wire.encode``'s for a large payload: the second is sent where it lies)."""
    if frame.__class__ is tuple:
        _send(sock, frame[0], flags | SNDMORE, len(frame[0]) < LARGE)
        frame = frame[1]
    _send(sock, frame, flags, len(frame) < LARGE)


def send_routed(sock: zmq.Socket, identity: bytes, frame: bytes | tuple[bytes, bytes]) -> None:
    """A message to the peer ``identity`` of a ROUTER."""
    _send(sock, identity, SNDMORE, True)
    send_frame(sock, frame)


def recv_frames(sock: zmq.Socket, flags: int = 0, routed: bool = False) -> list[bytes | memoryview]:
    """All frames of the next message; ``routed``: a ROUTER's, which always has the sender's identity and one more frame.

    A large frame comes as a memoryview of ZeroMQ's own buffer, not copied (a small one as bytes:
    cheaper to copy than to track).
    """
    frames = [_recv(sock, flags)] if routed else []
    while True:
        frame = _recv(sock, flags, False)  # a Frame knows whether more follow (pyzmq >= 27 reads it in C with the frame)
        frames.append(frame.bytes if len(frame) < LARGE else frame.buffer)
        if not frame.more:
            return frames


def echo_forever(sock: zmq.Socket, capture: zmq.Socket | None = None) -> None:
    """Send back whatever arrives on ``sock``, in C and without the GIL, until the context ends.

    The heartbeat answer of both sides; ``capture``, if given, gets a copy of each message (a PUB
    socket: it never blocks the echo).  A signal landing on this thread interrupts the proxy
    (EINTR): it goes on echoing.  The sockets are closed however this ends, since an open one would
    hang the context's ``term()``.
    """
    try:
        while True:
            try:
                zmq.proxy(sock, sock, capture)
            except zmq.ContextTerminated:
                return
            except zmq.ZMQError as exc:
                if exc.errno != errno.EINTR:
                    raise
    finally:
        sock.close()
        if capture is not None:
            capture.close()


def readable(sock: zmq.Socket) -> bool:
    return bool(_get(sock, _EVENTS) & _POLLIN)


def watch(sock: zmq.Socket, seconds: float) -> None:
    """Look at ``sock`` until a message is there or ``seconds`` pass, yielding the processor between looks.

    A thread put to sleep in a receive takes tens of microseconds to wake on this kind of machine, as
    much as the rest of a round trip costs in Python; each look yields (the I/O threads bringing the
    message may need the processor, and ``os.sched_yield`` lets the GIL go).  Callers watch only while
    messages have been coming that quickly, so a peer that is slow costs no processor time.
    """
    until = time.monotonic() + seconds
    while not readable(sock) and time.monotonic() < until:
        os.sched_yield()


def new_context() -> zmq.Context:
    """A context whose I/O thread runs under ``SCHED_BATCH`` where the system allows it.

    A message sent wakes the context's I/O thread; a normal-policy I/O thread
    then often preempts the Python thread that sent it, costing a context
    switch per message on the round trip.  ``SCHED_BATCH`` keeps the same
    share of the CPU but never preempts on wake-up (measured with
    ``tools/bench.py``: round trip about 1.6x raw pyzmq without it, 1.4x with it).
    libzmq aborts the process if the policy cannot be set, hence the probe.
    """
    ctx = zmq.Context()
    if batch_policy_allowed():
        ctx.set(zmq.THREAD_SCHED_POLICY, os.SCHED_BATCH)
    return ctx


_batch_allowed: bool | None = None


def batch_policy_allowed() -> bool:
    """Whether this process may run threads under ``SCHED_BATCH``: asked once, on a thread of its own."""
    global _batch_allowed
    if _batch_allowed is None:
        outcome: list[bool] = []

        def probe() -> None:  # on a thread of its own: the policy dies with it
            try:
                os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
                outcome.append(os.sched_getscheduler(0) == os.SCHED_BATCH)
            except (AttributeError, OSError):
                outcome.append(False)

        thread = threading.Thread(target=probe, name="promp-sched-probe")
        thread.start()
        thread.join()
        _batch_allowed = bool(outcome and outcome[0])
    return _batch_allowed
