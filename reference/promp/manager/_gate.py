"""On tcp, who may connect at all: only this manager's workers, checked in ZeroMQ's handshake.

Any local user can connect to a loopback port.  Frames are signed, so a stranger cannot pass for a
worker, but before they are read and refused, ZeroMQ reads ahead and queues what a connection sends
(a task socket reads ahead whole results: 24 frames of 64 MiB cost a manager 1.5 GiB while its user
was not pumping).  So on tcp each socket is a ZeroMQ PLAIN server and a worker authenticates with its
identity (``PROMP_WORKER_ID``, an unguessable token) as the user name: ZeroMQ asks this gate (ZAP,
RFC 27, on the context's ``inproc://zeromq.zap.01``) before it takes any message from the connection,
and a stranger's connection is closed there.  A connection that does not finish its handshake is
closed after ``HANDSHAKE_IVL``.  ipc needs none of this: its directory admits this user alone.
"""

from __future__ import annotations

from collections.abc import Callable

import zmq

from ..wire._zmq import readable

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
DOMAIN = b"promp"
HANDSHAKE_IVL = 5000  # milliseconds a connection has to authenticate (a worker takes a few)


class Gate:
    def __init__(self, ctx: zmq.Context, admits: Callable[[bytes], bool], refused: Callable[[str], None]) -> None:
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(ZAP_ENDPOINT)  # before any server socket binds: ZeroMQ refuses PLAIN without a handler
        self._admits = admits
        self._refused = refused

    @staticmethod
    def guard(sock: zmq.Socket) -> None:
        """Make ``sock`` (before it binds) admit only the connections this gate lets in."""
        sock.setsockopt(zmq.PLAIN_SERVER, 1)
        sock.setsockopt(zmq.ZAP_DOMAIN, DOMAIN)
        sock.setsockopt(zmq.HANDSHAKE_IVL, HANDSHAKE_IVL)

    def answer(self) -> None:
        """Answer every request waiting (the keeper calls this when the gate's socket is readable)."""
        while readable(self.sock):
            frames = self.sock.recv_multipart()
            # [route, "", version, request id, domain, address, routing id, mechanism, user name, password]
            ok = len(frames) == 10 and frames[2] == b"1.0" and frames[7] == b"PLAIN" and self._admits(frames[8])
            if not ok:
                whence = frames[5][:64] if len(frames) > 5 else b"?"
                self._refused(f"a tcp connection from {whence!r} that is no worker of this manager")
            request_id = frames[3] if len(frames) > 3 else b""
            status = (b"200", b"OK") if ok else (b"400", b"not a worker of this manager")
            self.sock.send_multipart([frames[0], b"", b"1.0", request_id, *status, b"", b""])

    def close(self) -> None:
        self.sock.close()
