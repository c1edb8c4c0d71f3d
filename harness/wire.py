"""The wire protocol, spoken by the harness itself: a scripted manager for one real worker, and a
scripted worker for one real manager.

Written from ``spec/13-wire-protocol.md`` alone (it imports nothing of any implementation), so
that the spec's wire examples check an implementation against the spec and not against the
reference's own code.  ``FakeManager`` starts a worker with the implementation's
``workerCommand()`` and the environment the spec defines.  ``FakeWorker`` comes in through the
manager's launch hook (``PROMP_WORKER_PREFIX``): the process the manager starts is a stub (this
module run as a program) that hands the worker's environment and secret to the test over a
private socket, then lives until told to exit; the test speaks for the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import select
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import msgpack
import zmq

VERSION = 1
PREFIX_VARIABLE = "PROMP_WORKER_PREFIX"
ENDPOINTS = {name: f"PROMP_{name.upper()}_ENDPOINT" for name in ("task", "echo", "beat", "ctrl")}
# what a manager gives every worker it starts (chapter 13): an implementation that gives none speaks its own protocol
WORKER_VARIABLES = ("PROMP_WORKER_ID", "PROMP_SECRET_FD", "PROMP_ALIVE_FD", "PROMP_LEVEL", *ENDPOINTS.values())


def signature(secret: bytes, identity: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 of the worker's identity (length byte, then the bytes) and the body."""
    return hmac.new(secret, bytes((len(identity),)) + identity + body, hashlib.sha256).digest()


def frame(secret: bytes, header: dict, payload: bytes = b"", identity: bytes = b"") -> bytes:
    """signature (32) | header length (4, big-endian) | msgpack header | payload, signed for ``identity``."""
    head = msgpack.packb({"v": VERSION, **header})
    size = struct.pack(">I", len(head))
    body = size + head + payload
    return signature(secret, identity, body) + body


def split_frame(data: bytes, at: int) -> list[bytes]:
    """A message's frame as two frames, the payload cut ``at`` bytes in: the signature stays as it is (it covers
    both frames as if they were one)."""
    (size,) = struct.unpack(">I", data[32:36])
    cut = 36 + size + at
    return [data[:cut], data[cut:]]


def parse(secret: bytes, data: bytes, identity: bytes = b"", tail: bytes | None = None) -> tuple[dict, bytes]:
    """(header, payload) of a message: one frame, or two (``tail``: the second, the rest of the payload)."""
    signed, body = data[:32], data[32:] + (tail or b"")
    if not hmac.compare_digest(signed, signature(secret, identity, body)):
        raise ValueError("bad signature")
    (size,) = struct.unpack(">I", body[:4])
    return msgpack.unpackb(body[4 : 4 + size]), body[4 + size :]


def parse_frames(secret: bytes, frames: list[bytes], identity: bytes = b"") -> tuple[dict, bytes]:
    """``parse`` for a message as received: one frame or two; more is not a message."""
    if not 1 <= len(frames) <= 2:
        raise ValueError(f"a message is one frame or two, got {len(frames)}")
    return parse(secret, frames[0], identity, frames[1] if len(frames) == 2 else None)


def worker_dealer(ctx: zmq.Context, identity: bytes, endpoint: str, linger: int = 0) -> zmq.Socket:
    """A DEALER connected to a manager's socket as the worker ``identity`` (on tcp it authenticates so: chapter 13)."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, linger)
    sock.setsockopt(zmq.IDENTITY, identity)
    if endpoint.startswith("tcp://"):
        sock.setsockopt(zmq.PLAIN_USERNAME, identity)
        sock.setsockopt(zmq.PLAIN_PASSWORD, b"promp")
    sock.connect(endpoint)
    return sock


def admit_forever(zap: zmq.Socket, identity: bytes) -> None:
    """A ZAP handler (RFC 27) that admits PLAIN connections whose user name is ``identity``, until the context ends."""
    try:
        while True:
            frames = zap.recv_multipart()
            ok = len(frames) == 10 and frames[7] == b"PLAIN" and frames[8] == identity
            zap.send_multipart([frames[0], b"", b"1.0", frames[3], b"200" if ok else b"400", b"", b"", b""])
    except zmq.ContextTerminated:
        pass
    finally:
        zap.close()


class FakeManager:
    """Binds the four manager sockets, starts one worker with the spec's environment, and talks to it."""

    def __init__(
        self, command: list[str], worker_id: int = 1, heartbeat: str = "0.5,60", level: int = 1, transport: str = "ipc",
        env: dict[str, str] | None = None,
    ) -> None:
        """``env``: more variables for the worker (an optional one of chapter 13's, say ``PROMP_DONES``)."""
        extra = env or {}
        self.secret = os.urandom(32)
        self.identity = str(worker_id).encode()
        self.dir = tempfile.mkdtemp(prefix="promp-wire-")
        self.transport = transport
        self.ctx = zmq.Context()
        self.endpoints: dict[str, str] = {}
        if transport == "tcp":  # chapter 13: on tcp a worker authenticates with its identity (PLAIN, by ZAP)
            zap = self.ctx.socket(zmq.ROUTER)
            zap.bind("inproc://zeromq.zap.01")
            threading.Thread(target=admit_forever, args=(zap, self.identity), daemon=True).start()
        self.sockets = {name: self._bind(name) for name in ENDPOINTS}
        self.alive_r, self.alive_w = os.pipe()
        secret_r, secret_w = os.pipe()  # the secret travels through a pipe, never the environment
        os.write(secret_w, self.secret.hex().encode())
        os.close(secret_w)
        env = dict(os.environ)
        env.update(
            {
                "PROMP_WORKER_ID": str(worker_id),
                "PROMP_SECRET_FD": str(secret_r),
                **{variable: self.endpoint(name) for name, variable in ENDPOINTS.items()},
                "PROMP_ALIVE_FD": str(self.alive_r),
                "PROMP_LEVEL": str(level),
                "PROMP_HEARTBEAT": heartbeat,
                **extra,
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
            sock.setsockopt(zmq.PLAIN_SERVER, 1)
            sock.setsockopt(zmq.ZAP_DOMAIN, b"promp")
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
        identity, *frames = sock.recv_multipart()
        assert identity == self.identity, identity
        return parse_frames(self.secret, frames, self.identity)

    def send(self, header: dict, payload: bytes = b"", socket: str = "task", secret: bytes | None = None,
             split: int | None = None) -> None:
        """Send a signed message; ``split``: as two frames, the second holding the payload from that byte on."""
        data = frame(secret or self.secret, header, payload, self.identity)
        self.sockets[socket].send_multipart([self.identity, *([data] if split is None else split_frame(data, split))])

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


class FakeWorker:
    """A scripted worker for a real manager: use it around one ``startWorker()``.

        with FakeWorker() as fake:
            w = m.startWorker()          # the manager starts the stub, through the launch hook
        fake.connect()                   # the test now speaks for worker w
        fake.hello()
        head, payload = fake.recv()      # the task the manager sent
    """

    def __init__(self, variable: str = PREFIX_VARIABLE) -> None:
        self.variable = variable  # the implementation's launch hook (its ``workerPrefixVariable``)
        self.dir = tempfile.mkdtemp(prefix="promp-fakeworker-")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.path.join(self.dir, "stub"))
        self.listener.listen(1)
        self.prefix = shlex.join([sys.executable, "-m", "harness.wire", os.path.join(self.dir, "stub"), "--"])
        self.conn: socket.socket | None = None
        self.ctx: zmq.Context | None = None
        self.sockets: dict[str, zmq.Socket] = {}
        self._saved: str | None = None
        self.answering = True  # answer the manager's pings while waiting in recv()

    def __enter__(self) -> FakeWorker:
        self._saved = os.environ.get(self.variable)
        os.environ[self.variable] = self.prefix
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is None:
            os.environ.pop(self.variable, None)
        else:
            os.environ[self.variable] = self._saved

    def connect(self, timeout: float = 30.0) -> None:
        """Wait for the stub the manager started, take the worker's set-up, and connect its four sockets."""
        self.listener.settimeout(timeout)
        try:
            self.conn, _ = self.listener.accept()
        except TimeoutError:
            raise TimeoutError(f"no worker came through {self.variable} within {timeout} s: does the manager honour it?") from None
        setup = json.loads(self.conn.makefile().readline())
        missing = setup.get("missing")
        if missing:
            if "PROMP_WORKER_ID" in missing or set(ENDPOINTS.values()) <= set(missing):  # no identity or no endpoint: its own protocol
                from .helpers import not_applicable

                not_applicable(f"a worker started through {self.variable} gets none of chapter 13's variables ({', '.join(missing)})")
            raise RuntimeError(f"a worker started through {self.variable} lacks chapter 13's {', '.join(missing)}")
        self.env, self.pid, self.secret = setup["env"], setup["pid"], bytes.fromhex(setup["secret"])
        self.identity = self.env["PROMP_WORKER_ID"].encode()
        self.ctx = zmq.Context()
        for name, variable in ENDPOINTS.items():
            self.sockets[name] = worker_dealer(self.ctx, self.identity, self.env[variable])

    def hello(self, **fields: object) -> None:
        """The worker's hello; ``fields``: optional ones of chapter 13 (``tasks=True``: it takes ``tasks`` messages)."""
        self.send({"k": "hello", "pid": self.pid, "level": int(self.env["PROMP_LEVEL"]), **fields})

    def send(
        self, header: dict, payload: bytes = b"", socket: str = "task", secret: bytes | None = None, identity: bytes | None = None,
        split: int | None = None,
    ) -> bytes:
        """Send a signed frame (by default as this worker, with the secret); returns it, for replays.
        ``split``: as two frames, the second holding the payload from that byte on."""
        data = frame(secret or self.secret, header, payload, self.identity if identity is None else identity)
        self.sockets[socket].send_multipart([data] if split is None else split_frame(data, split))
        return data

    def send_raw(self, *frames: bytes, socket: str = "task") -> None:
        self.sockets[socket].send_multipart(list(frames))

    def recv(self, socket: str = "task", timeout: float = 30.0, pump: Callable[[], object] | None = None) -> tuple[dict, bytes] | None:
        """The next message the manager sends on ``socket`` (header, payload), or None on timeout.

        While it waits it answers the manager's pings (unless ``answering`` is off) and calls ``pump``
        (say, the manager's ``processMessages``) when the manager lives in this same thread.
        """
        sock, deadline = self.sockets[socket], time.monotonic() + timeout
        while not sock.poll(0):
            if self.answering:
                self.echo_pings(0)
            if pump is not None:
                pump()
            if time.monotonic() >= deadline:
                return None
            sock.poll(10)
        return parse_frames(self.secret, sock.recv_multipart(), self.identity)

    def echo_pings(self, timeout: float) -> int:
        """Send back the manager's pings for ``timeout`` seconds, as a worker must; returns how many."""
        sock, answered, deadline = self.sockets["echo"], 0, time.monotonic() + timeout
        while sock.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            sock.send(sock.recv())
            answered += 1
        return answered

    def exited(self, timeout: float) -> bool:
        """Whether the stub process ended (the manager killed it, or it was told to exit) within ``timeout``."""
        if self.conn is None:
            return False
        self.conn.settimeout(timeout)
        try:
            return self.conn.recv(1) == b""
        except TimeoutError:
            return False

    def exit(self, code: int = 0) -> None:
        """End the stub process with ``code``, as the worker's own exit."""
        if self.conn is not None:
            try:
                self.conn.sendall(f"{code}\n".encode())
            except OSError:
                pass

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()  # the stub exits when this closes
            self.conn = None
        for sock in self.sockets.values():
            sock.close()
        if self.ctx is not None:
            self.ctx.term()
            self.ctx = None
        self.listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _stub(path: str) -> None:
    """The process a manager starts for a FakeWorker: hands over the set-up, then waits to be told to exit."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PROMP_")}
    missing = [v for v in WORKER_VARIABLES if v not in env]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    if missing:  # say so, rather than die of a KeyError the FakeWorker would only see as silence
        conn.sendall((json.dumps({"missing": missing}) + "\n").encode())
        os._exit(1)
    fd = int(env["PROMP_SECRET_FD"])
    with os.fdopen(fd, "rb") as pipe:
        secret = pipe.read().decode()
    conn.sendall((json.dumps({"env": env, "pid": os.getpid(), "secret": secret}) + "\n").encode())
    alive = int(env["PROMP_ALIVE_FD"])
    poll = select.poll()  # not select(): the manager's descriptor numbers may be past 1,024
    for fd in (conn.fileno(), alive):
        poll.register(fd, select.POLLIN)
    while True:
        ready = [fd for fd, _ in poll.poll()]
        if alive in ready:
            os._exit(120)  # the manager is gone, or closing (a byte, then the end): what a worker does
        if conn.fileno() in ready:
            line = conn.recv(64)
            os._exit(int(line) if line.strip() else 0)


if __name__ == "__main__":
    _stub(sys.argv[1])
