"""Signed messages only: forged, malformed or foreign frames are dropped and counted, never executed."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque

import msgpack
import psutil
import pytest
import zmq

from promp import ProManager, _env
from promp._constants import EXIT_MANAGER_GONE
from promp.wire import Hello, Signer, decode, encode, encode_header

from .conftest import call, wait_until

ECHO = "def echo(x):\n    return x\n"


def test_the_manager_drops_forged_and_malformed_frames_and_keeps_working(manager: ProManager, caplog):
    ctx = zmq.Context()
    intruder = ctx.socket(zmq.DEALER)
    intruder.setsockopt(zmq.IDENTITY, b"7")
    intruder.setsockopt(zmq.LINGER, 0)
    intruder.connect(manager._port.endpoints["task"])
    forged = encode(Signer(b"wrong key" * 4), Hello(1, 1))
    for frames in ([forged], [b"garbage"], [b"a", b"b"], [b"\x00" * 40]):
        intruder.send_multipart(frames)
    with caplog.at_level(logging.WARNING, logger="promp"):
        wait_until(lambda: manager._port.reject.count == 4, step=manager.processMessages)
    assert "not a worker of this manager" in caplog.text
    assert manager.workers() == []
    intruder.close()
    ctx.term()
    assert call(manager, manager.startWorker(), ECHO, "echo", "still fine") == "still fine"


class FakeManager:
    """Speaks the wire protocol to one real worker process, to see what the worker accepts."""

    def __init__(self, secret: bytes, heartbeat: str = "0.5,60") -> None:
        self.signer = Signer(secret, b"1")
        self.pending: deque = deque()
        self.dir = tempfile.mkdtemp(prefix="promp-fake-")
        self.ctx = zmq.Context()
        self.task = self._bind(zmq.ROUTER, "task")
        self.echo = self._bind(zmq.ROUTER, "echo")
        self.beat = self._bind(zmq.ROUTER, "beat")
        self.ctrl = self._bind(zmq.ROUTER, "ctrl")
        self.alive_r, self.alive_w = os.pipe()
        secret_fd = _env.secret_pipe(secret)
        env = dict(os.environ)
        env.update(
            {
                _env.WORKER_ID: "1",
                _env.SECRET_FD: str(secret_fd),
                _env.TASK_ENDPOINT: f"ipc://{self.dir}/task",
                _env.BEAT_ENDPOINT: f"ipc://{self.dir}/beat",
                _env.ECHO_ENDPOINT: f"ipc://{self.dir}/echo",
                _env.CTRL_ENDPOINT: f"ipc://{self.dir}/ctrl",
                _env.ALIVE_FD: str(self.alive_r),
                _env.LEVEL: "1",
                _env.HEARTBEAT: heartbeat,
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import promp.worker._main as w; w.main()"],
            env=env,
            pass_fds=(self.alive_r, secret_fd),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(secret_fd)

    def _bind(self, kind: int, name: str) -> zmq.Socket:
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(f"ipc://{self.dir}/{name}")
        return sock

    def recv(self, timeout: float = 20.0):
        """The worker's next message, taken out of its batch if it came in one."""
        if not self.pending:
            assert self.task.poll(int(timeout * 1000)), "the worker sent nothing"
            ident, *frames = self.task.recv_multipart()  # one frame, or two for a large payload
            self.pending.extend(decode(self.signer, *frames))
        return self.pending.popleft()

    def send(self, *frames: bytes) -> None:
        self.task.send_multipart([b"1", *frames])

    def close(self) -> str:
        os.close(self.alive_w)  # EOF: the worker exits at once
        if self.proc.poll() is None:
            self.proc.wait(10)
        err = self.proc.stderr.read().decode()
        self.proc.stderr.close()
        os.close(self.alive_r)
        for sock in (self.task, self.echo, self.beat, self.ctrl):
            sock.close()
        self.ctx.term()
        shutil.rmtree(self.dir, ignore_errors=True)
        return err


def test_the_worker_never_runs_a_forged_task_and_survives_garbage(tmp_path):
    secret = os.urandom(32)
    fake = FakeManager(secret)
    try:
        assert fake.recv().kind == "hello"
        marker = tmp_path / "forged-ran"
        evil = {"k": "task", "t": 1, "op": "code", "want": False, "src": f"open({str(marker)!r}, 'w').close()"}
        fake.send(encode_header(Signer(b"not the secret" * 3), evil))
        fake.send(b"junk")
        fake.send(b"two", b"frames")
        fake.send(encode_header(fake.signer, {"k": "task", "t": 2, "op": "warp", "want": True}))
        fake.send(
            encode_header(
                fake.signer, {"k": "task", "t": 3, "op": "func_code", "want": True, "src": ECHO, "fn": "echo"}, msgpack.packb([5])
            )
        )
        unknown = fake.recv()
        assert unknown.kind == "done" and unknown.t == 2 and not unknown.ok
        assert "unknown task operation" in msgpack.unpackb(unknown.payload)[1]
        done = fake.recv()
        assert (done.kind, done.t, done.ok, msgpack.unpackb(done.payload)) == ("done", 3, True, 5)
        assert not marker.exists()
    finally:
        err = fake.close()
    assert err.count("dropped a message") == 3 and "bad or missing signature" in err


def test_a_worker_started_by_hand_refuses_to_run():
    result = subprocess.run([sys.executable, "-c", "import promp.worker._main as w; w.main()"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "not started by a manager" in result.stderr


def test_a_worker_whose_manager_never_answers_heartbeats_exits_after_the_timeout():
    fake = FakeManager(os.urandom(32), heartbeat="0.1,1.0")  # its echo socket is never served
    try:
        assert fake.recv().kind == "hello"
        started = time.monotonic()
        wait_until(lambda: fake.proc.poll() is not None, timeout=8)
        assert time.monotonic() - started > 0.5
        assert fake.proc.returncode == EXIT_MANAGER_GONE
    finally:
        err = fake.close()
    assert "no heartbeat from the manager" in err


def test_unused_manager_can_be_created_and_closed_quickly():
    t = time.perf_counter()
    ProManager().close()
    assert time.perf_counter() - t < 5


def test_the_secret_is_not_left_in_the_workers_environment(manager: ProManager):
    wid = manager.startWorker()
    call(manager, wid, ECHO, "echo", 1)
    with open(f"/proc/{manager.workerPid(wid)}/environ", "rb") as f:
        initial = f.read()  # what a process started with stays here, whatever it removes from os.environ
    assert manager._port.secret.hex().encode() not in initial and b"PROMP_SECRET=" not in initial


FLOOD = """
import sys, zmq
ctx = zmq.Context()
strangers = []
for endpoint in sys.argv[1:]:
    for identity in (b"1", b"2"):  # the ids workers had before they became unguessable
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, identity)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        strangers.append(sock)
print("connected", flush=True)
blob = b"x" * 2048
for _ in range(20_000):  # 40 MB to each socket from each stranger: nobody reads ctrl, echo answers anyone
    for sock in strangers:
        try:
            sock.send(blob, zmq.NOBLOCK)
        except zmq.Again:
            pass
print("done", flush=True)
sys.stdin.read()
"""


def test_on_tcp_a_stranger_can_neither_claim_a_worker_identity_nor_grow_the_manager(make_manager):
    manager = make_manager(transport="tcp")
    endpoints = [manager._port.endpoints[name] for name in ("echo", "beat", "ctrl")]
    claims = [manager._port.endpoints["task"]]
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, *claims, *endpoints], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert flood.stdout.readline() == "connected\n"
        rss = psutil.Process().memory_info().rss
        wid = manager.startWorker()  # its identity cannot be claimed first: the stranger guessed "1" and "2"
        assert call(manager, wid, ECHO, "echo", "served") == "served"
        assert flood.stdout.readline() == "done\n"
        assert call(manager, wid, ECHO, "echo", "still served") == "still served"
        grew = psutil.Process().memory_info().rss - rss
        assert grew < 32 * 2**20, f"the manager grew by {grew / 2**20:.0f} MiB"
    finally:
        flood.kill()
        flood.wait()
        flood.stdin.close()
        flood.stdout.close()


LARGE_FLOOD = """
import sys, zmq
endpoint, how = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.SNDHWM, 0)
if how == "guessed":  # PLAIN, as a worker would, with an identity of its own making
    sock.setsockopt(zmq.PLAIN_USERNAME, b"0123456789abcdef01234567")
    sock.setsockopt(zmq.PLAIN_PASSWORD, b"promp")
sock.connect(endpoint)
big = b"x" * (64 << 20)
for _ in range(8):
    try:
        sock.send(big, zmq.NOBLOCK, copy=False)  # queued for the connection, unless refused already
    except zmq.Again:
        pass
sock.close(linger=3000)  # until what was queued has gone, or 3 s: the manager took it, or refused the connection
ctx.term()
"""


@pytest.mark.parametrize("how", ["anonymous", "guessed"])
def test_on_tcp_a_stranger_is_refused_in_the_handshake_and_its_large_frames_cost_the_manager_nothing(make_manager, caplog, how):
    """Before, the task socket read ahead what any local user sent: 8 frames of 64 MiB were 512 MiB in the manager."""
    manager = make_manager(transport="tcp")
    wid = manager.startWorker()
    assert call(manager, wid, ECHO, "echo", "served") == "served"
    rss = psutil.Process().memory_info().rss
    with caplog.at_level(logging.WARNING, logger="promp"):
        stranger = subprocess.run([sys.executable, "-c", LARGE_FLOOD, manager._port.endpoints["task"], how], timeout=60)
        assert stranger.returncode == 0
        grew = psutil.Process().memory_info().rss - rss
        assert grew < 32 * 2**20, f"the manager grew by {grew / 2**20:.0f} MiB"
        assert call(manager, wid, ECHO, "echo", "still served") == "still served"
    if how == "guessed":
        assert any("no worker of this manager" in r.getMessage() for r in caplog.records)


def test_no_descriptor_left_at_start_is_a_clear_error_and_the_manager_goes_on(make_manager, monkeypatch):
    """When another user's connections have taken every descriptor, startWorker raised a bare OSError (EMFILE)."""
    import errno

    from promp import ProMPError

    manager = make_manager()
    real_pipe2 = os.pipe2

    def exhausted(flags: int = 0):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(os, "pipe2", exhausted)
    monkeypatch.setenv("PROMP_COLD_START", "0")
    with pytest.raises(ProMPError, match="no file descriptor left"):
        manager.startWorker()
    monkeypatch.setattr(os, "pipe2", real_pipe2)
    wid = manager.startWorker()
    assert call(manager, wid, ECHO, "echo", "served") == "served"


def test_a_connection_gone_before_its_peer_is_looked_up_leaks_no_descriptor():
    """The monitor names an accepted connection by its descriptor; when the connection has already ended (a
    stranger refused on tcp), the number may be a pipe's by then, and the copy made to ask was left open."""
    from promp.manager._links import peer_pid

    read_end, write_end = os.pipe()
    try:
        before = len(os.listdir("/proc/self/fd"))
        assert peer_pid(read_end) is None
        assert len(os.listdir("/proc/self/fd")) == before
    finally:
        os.close(read_end)
        os.close(write_end)
