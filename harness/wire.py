"""The wire protocol, spoken by the harness itself: a scripted manager for one real worker.

Written from ``spec/13-wire-protocol.md`` alone (it imports nothing of any implementation), so
that the spec's wire examples check a worker against the spec and not against the reference's
own code.  A worker is started with the implementation's ``workerCommand()`` and the
environment the spec defines; everything after that is frames.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import struct
import subprocess
import tempfile

import msgpack
import zmq

VERSION = 1


def signature(secret: bytes, identity: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 of the worker's identity (length byte, then the bytes) and the body."""
    return hmac.new(secret, bytes((len(identity),)) + identity + body, hashlib.sha256).digest()


def frame(secret: bytes, header: dict, payload: bytes = b"", identity: bytes = b"") -> bytes:
    """signature (32) | header length (4, big-endian) | msgpack header | payload, signed for ``identity``."""
    head = msgpack.packb({"v": VERSION, **header})
    size = struct.pack(">I", len(head))
    body = size + head + payload
    return signature(secret, identity, body) + body


def parse(secret: bytes, data: bytes, identity: bytes = b"") -> tuple[dict, bytes]:
    signed, body = data[:32], data[32:]
    if not hmac.compare_digest(signed, signature(secret, identity, body)):
        raise ValueError("bad signature")
    (size,) = struct.unpack(">I", body[:4])
    return msgpack.unpackb(body[4 : 4 + size]), body[4 + size :]


class FakeManager:
    """Binds the four manager sockets, starts one worker with the spec's environment, and talks to it."""

    def __init__(
        self, command: list[str], worker_id: int = 1, heartbeat: str = "0.5,60", level: int = 1, transport: str = "ipc"
    ) -> None:
        self.secret = os.urandom(32)
        self.identity = str(worker_id).encode()
        self.dir = tempfile.mkdtemp(prefix="promp-wire-")
        self.transport = transport
        self.ctx = zmq.Context()
        self.endpoints: dict[str, str] = {}
        self.sockets = {name: self._bind(name) for name in ("task", "echo", "beat", "ctrl")}
        self.alive_r, self.alive_w = os.pipe()
        secret_r, secret_w = os.pipe()  # the secret travels through a pipe, never the environment
        os.write(secret_w, self.secret.hex().encode())
        os.close(secret_w)
        env = dict(os.environ)
        env.update(
            {
                "PROMP_WORKER_ID": str(worker_id),
                "PROMP_SECRET_FD": str(secret_r),
                "PROMP_TASK_ENDPOINT": self.endpoint("task"),
                "PROMP_BEAT_ENDPOINT": self.endpoint("beat"),
                "PROMP_ECHO_ENDPOINT": self.endpoint("echo"),
                "PROMP_CTRL_ENDPOINT": self.endpoint("ctrl"),
                "PROMP_ALIVE_FD": str(self.alive_r),
                "PROMP_LEVEL": str(level),
                "PROMP_HEARTBEAT": heartbeat,
            }
        )
        self.worker = subprocess.Popen(command, env=env, pass_fds=(self.alive_r, secret_r), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(secret_r)

    def endpoint(self, name: str) -> str:
        return self.endpoints[name]

    def _bind(self, name: str) -> zmq.Socket:
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        if self.transport == "tcp":
            sock.bind_to_random_port("tcp://127.0.0.1")
        else:
            sock.bind(f"ipc://{self.dir}/{name}")
        self.endpoints[name] = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return sock

    def recv(self, socket: str = "task", timeout: float = 30.0) -> tuple[dict, bytes] | None:
        """The next message the worker sends on ``socket`` (header, payload), or None on timeout."""
        sock = self.sockets[socket]
        if not sock.poll(int(timeout * 1000)):
            return None
        identity, data = sock.recv_multipart()
        assert identity == self.identity, identity
        return parse(self.secret, data, self.identity)

    def send(self, header: dict, payload: bytes = b"", socket: str = "task", secret: bytes | None = None) -> None:
        self.sockets[socket].send_multipart([self.identity, frame(secret or self.secret, header, payload, self.identity)])

    def send_raw(self, *frames: bytes, socket: str = "task") -> None:
        self.sockets[socket].send_multipart([self.identity, *frames])

    def echo_pings(self, timeout: float) -> int:
        """Answer the worker's pings on the echo socket for ``timeout`` seconds; returns how many."""
        sock, answered = self.sockets["echo"], 0
        while sock.poll(int(timeout * 1000)):
            sock.send_multipart(sock.recv_multipart())
            answered += 1
            timeout = 0.05
        return answered

    def end_manager(self) -> None:
        """What the manager's death looks like to a worker: EOF on the alive pipe."""
        if self.alive_w >= 0:
            os.close(self.alive_w)
            self.alive_w = -1

    def close(self) -> int:
        self.end_manager()
        try:
            code = self.worker.wait(10)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            code = self.worker.wait()
        for stream in (self.worker.stdout, self.worker.stderr):
            stream.close()
        os.close(self.alive_r)
        for sock in self.sockets.values():
            sock.close()
        self.ctx.term()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code
