"""The pools ``tools/bench.py`` measures, behind one small interface.

Every peer offers ``call(x)`` (one task, wait for its result: the sequential
round trip), ``run_many(n)`` (n tiny tasks, each submitted on its own, every
result taken) and ``close()``.  Peers whose library is not installed are
skipped by the benchmark (``pip install -e '.[bench]'`` brings them all).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import hmac
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

from promp import ProManager, ProWorker_All, ProWorker_Any

CODE = "def inc(x):\n    return x + 1\n"
BIG_CODE = (
    "import builtins\n"
    "def big(n):\n"
    "    data = getattr(builtins, '_bench_big', None)\n"
    "    if data is None or len(data) != n:\n"
    "        data = builtins._bench_big = bytes(n)\n"
    "    return data\n"
)


def inc(x: int) -> int:
    return x + 1


def inc_or_die(x: int, die_at: int) -> int:
    """``inc``, except that the call for ``die_at`` ends its worker: a crash in the middle of a map."""
    if x == die_at:
        os._exit(1)
    return x + 1


def sleeper(path: str) -> None:
    """Say which process runs it (in ``path``), then sleep: a busy worker to kill."""
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(path + ".tmp", path)
    time.sleep(60)


# ------------------------------------------------------------------ promp
class PrompPeer:
    name = "promp"

    def __init__(self, workers: int, seed_loop: bool = False, **options) -> None:
        self.m = ProManager(**options)
        self.ids = [self.m.startWorker() for _ in range(workers)]
        self.seed_loop = seed_loop
        self.m.evalPythonCode(ProWorker_All, "pass")  # every worker up
        self.settle()

    def settle(self) -> None:
        while self.m.isBusy():
            self.m.wait()
        while self.m.takeResult() is not None:
            pass

    def call(self, x: int) -> int:
        m = self.m
        m.evalPythonFunction(ProWorker_Any, CODE, "inc", [x], True)
        if self.seed_loop:  # the seed's loop, without its sleep
            while m.isBusy():
                m.processMessages()
        else:
            while not m.hasResults():
                m.wait()
        return m.takeResult()

    def run_many(self, n: int) -> None:
        m = self.m
        for i in range(n):
            m.evalPythonFunction(ProWorker_Any, CODE, "inc", [i], True)
        taken = 0
        while taken < n:
            m.wait()
            while m.takeResult() is not None:
                taken += 1

    def close(self) -> None:
        self.m.close()


# --------------------------------------------------------------- raw pyzmq
RAW_WORKER = """
import ctypes, hashlib, hmac, signal, sys, zmq, msgpack
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive a killed benchmark
ctx = zmq.Context(); s = ctx.socket(zmq.DEALER); s.connect(sys.argv[1]); s.send(b"hi")
big = b""
while True:
    frame = s.recv()
    if not frame:  # an empty frame says quit
        break
    x = msgpack.unpackb(frame)
    if isinstance(x, list):  # [size, signed]: one large value, zero-copy, HMAC-SHA256 on it if signed
        if len(big) != x[0]:
            big = bytes(x[0])
        mac = hmac.new(b"k" * 32, big, hashlib.sha256).digest() if x[1] else b""
        s.send_multipart([mac, big], copy=False)
        continue
    s.send(msgpack.packb(x + 1))
"""


class RawPeer:
    """The floor: one ROUTER, DEALER workers, msgpack, no protocol at all."""

    name = "raw pyzmq"

    def __init__(self, workers: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="promp-bench-")
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.bind(f"ipc://{self.dir}/raw")
        self.procs = [subprocess.Popen([sys.executable, "-c", RAW_WORKER, f"ipc://{self.dir}/raw"]) for _ in range(workers)]
        self.idents = [self.sock.recv_multipart()[0] for _ in range(workers)]
        self.next = 0

    def call(self, x: int) -> int:
        self.sock.send_multipart([self.idents[0], msgpack.packb(x)])
        return msgpack.unpackb(self.sock.recv_multipart()[1])

    def run_many(self, n: int, window: int = 200) -> None:
        """At most ``window`` tasks out per worker: a ROUTER drops what is past a peer's high-water mark."""
        sent = received = 0
        while received < n:
            while sent < n and sent - received < window * len(self.idents):
                self.sock.send_multipart([self.idents[sent % len(self.idents)], msgpack.packb(sent)])
                sent += 1
            self.sock.recv_multipart()
            received += 1

    def big(self, size: int, signed: bool) -> None:
        self.sock.send_multipart([self.idents[0], msgpack.packb([size, signed])])
        _, mac, data = self.sock.recv_multipart(copy=False)
        if signed and not hmac.compare_digest(mac.bytes, hmac.new(b"k" * 32, data.buffer, hashlib.sha256).digest()):
            raise AssertionError("bad signature")

    def close(self) -> None:
        for ident in self.idents:
            self.sock.send_multipart([ident, b""])
        for proc in self.procs:
            proc.wait()
        self.sock.close(linger=0)
        self.ctx.term()
        shutil.rmtree(self.dir, ignore_errors=True)


# ----------------------------------------------------------- futures pools
class FuturesPeer:
    """Any executor with ``submit`` returning futures."""

    def __init__(self, name: str, executor, submit=None, warm: bool = True) -> None:
        self.name = name
        self.ex = executor
        self.submit = submit or executor.submit
        if warm:  # every worker up
            for f in [self.submit(inc, i) for i in range(64)]:
                f.result(timeout=60)

    def call(self, x: int) -> int:
        return self.submit(inc, x).result()

    def run_many(self, n: int) -> None:
        for f in [self.submit(inc, i) for i in range(n)]:
            f.result()

    def close(self) -> None:
        self.ex.shutdown()


class PoolPeer:
    name = "multiprocessing.Pool"

    def __init__(self, workers: int, method: str = "fork", warm: bool = True) -> None:
        self.pool = multiprocessing.get_context(method).Pool(workers)
        if warm:
            self.pool.map(inc, range(4 * workers), chunksize=1)

    def call(self, x: int) -> int:
        return self.pool.apply(inc, (x,))

    def run_many(self, n: int) -> None:
        for r in [self.pool.apply_async(inc, (i,)) for i in range(n)]:
            r.get()

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def ppe(workers: int, warm: bool = True) -> FuturesPeer:
    return FuturesPeer("ProcessPoolExecutor", cf.ProcessPoolExecutor(workers), warm=warm)


def loky_peer(workers: int, warm: bool = True) -> FuturesPeer:
    import loky

    return FuturesPeer("loky", loky.ProcessPoolExecutor(workers), warm=warm)


def pebble_peer(workers: int, warm: bool = True) -> FuturesPeer:
    import pebble

    pool = pebble.ProcessPool(max_workers=workers)
    peer = FuturesPeer("pebble", pool, submit=lambda fn, *args: pool.schedule(fn, args), warm=warm)
    peer.close = lambda: (pool.stop(), pool.join())
    return peer


def executor_peer(workers: int, warm: bool = True) -> FuturesPeer:
    import promp

    return FuturesPeer("promp.Executor", promp.Executor(workers), warm=warm)


POOLS = {"multiprocessing.Pool": PoolPeer, "ProcessPoolExecutor": ppe, "loky": loky_peer, "pebble": pebble_peer}


def available_pools() -> dict:
    """The peer pools whose library imports here."""
    found = {}
    for name, make in POOLS.items():
        try:
            if name in ("loky", "pebble"):
                __import__(name)
            found[name] = make
        except ImportError:
            continue
    return found
