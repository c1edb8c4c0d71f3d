"""Fuzz the reference's sockets with random and mutated frames while it serves tasks.

    python tools/fuzz.py                    100,000 frames to each socket, ipc then tcp
    python tools/fuzz.py --frames 5000 --transport tcp

Two targets.  A manager (its four ROUTER sockets) fuzzed by a separate process that knows
nothing (random bytes, truncated and bit-flipped frames of the right shape, wrong signatures,
odd frame counts, oversized frames), while one of its workers runs tasks the whole time.  And a
worker, driven by the harness's scripted manager, which knows the secret and the worker's
identity and so gets past the signature: random kinds, mistyped fields, junk payloads and
batches, on the task, control and beat channels, between real tasks.  Each target must keep
serving, and its memory must stay flat (the growth is printed and checked against ``--max-growth``).
Exit status 1 when either is not so.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgpack
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.wire import FakeManager, frame  # noqa: E402
from promp import NTVariantList, ProManager, workerCommand  # noqa: E402

ECHO = "def echo(x):\n    return x\n"
KINDS = ["task", "done", "hello", "bye", "stop", "msg", "wait", "abort", "ping", "batch", "launch", "", 7, None]

STRANGER = r"""
import random, sys, zmq
seed, frames, endpoints = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
rng = random.Random(seed)
ctx = zmq.Context()
peers = []
for endpoint in endpoints:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, rng.choice([b"1", b"2", b"0", b"01", rng.randbytes(8)]))
    sock.connect(endpoint)
    peers.append(sock)
def junk():
    roll = rng.random()
    if roll < 0.3:
        return [rng.randbytes(rng.randint(0, 200))]
    if roll < 0.6:  # the right shape: signature, length, msgpack header, payload; wrong signature or bits
        import msgpack, struct
        kind = rng.choice(["task", "done", "hello", "ping", "batch"])
        head = msgpack.packb({"v": rng.choice([1, 2, "1"]), "k": kind, "t": rng.randint(0, 9)})
        body = struct.pack(">I", rng.choice([len(head), len(head) + 9, 2**31])) + head + rng.randbytes(rng.randint(0, 50))
        data = bytearray(rng.randbytes(32) + body)
        for _ in range(rng.randint(0, 3)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return [bytes(data)]
    if roll < 0.8:
        return [rng.randbytes(rng.randint(0, 40)) for _ in range(rng.randint(0, 4))] or [b""]
    if roll < 0.95:
        return [b""]
    return [rng.randbytes(rng.randint(5000, 70000))]  # past the small sockets' frame limit
sent = 0
for i in range(frames):
    for sock in peers:
        try:
            sock.send_multipart(junk(), zmq.NOBLOCK)
            sent += 1
        except zmq.ZMQError:
            pass
print(sent, flush=True)
"""


def fuzz_manager(frames: int, transport: str, seed: int) -> tuple[bool, str, int]:
    manager = ProManager(transport=transport)
    try:
        wid = manager.startWorker()
        served = _call(manager, wid, 0)
        rss = psutil.Process().memory_info().rss
        endpoints = [manager._port.endpoints[name] for name in ("task", "echo", "beat", "ctrl")]
        stranger = subprocess.Popen(
            [sys.executable, "-c", STRANGER, str(seed), str(frames), *endpoints], stdout=subprocess.PIPE, text=True
        )
        calls = 0
        while stranger.poll() is None:
            served += _call(manager, wid, calls)
            calls += 1
        sent = int(stranger.stdout.read() or 0)
        stranger.stdout.close()
        for _ in range(20):  # what is still queued is read and refused
            served += _call(manager, wid, calls)
        grew = psutil.Process().memory_info().rss - rss
        alive = manager.workerState(wid) == "ready"
        text = (
            f"manager ({transport}): {4 * frames:,} frames tried on 4 sockets, {sent:,} taken by ZeroMQ (the rest met a "
            f"full queue: backpressure), {manager._port.reject.count:,} read and refused, "
            f"{served:,} tasks served meanwhile, worker alive: {alive}, memory +{grew / 2**20:.1f} MiB"
        )
        return alive and served > 20, text, grew
    finally:
        manager.close()


def _call(manager: ProManager, wid: int, n: int) -> int:
    manager.evalPythonFunction(wid, ECHO, "echo", NTVariantList([n]), True)
    deadline = time.monotonic() + 30
    while not manager.hasResults(wid):
        if time.monotonic() > deadline:
            raise SystemExit(f"the manager stopped serving: no result for task {n} in 30 s")
        manager.wait(100)
    return int(manager.takeResult(wid) == n)


def _mutated(rng: random.Random) -> tuple[dict, bytes]:
    head: dict = {"k": rng.choice(KINDS)}
    for field in rng.sample(["t", "op", "want", "src", "fn", "id", "ms", "n", "pid", "path"], rng.randint(0, 5)):
        head[field] = rng.choice([rng.randint(-5, 2**40), "x" * rng.randint(0, 20), None, True, [], {}, 1.5, b"\x00"])
    if head["k"] == "task" and rng.random() < 0.5:
        head.update(t=rng.randint(10**6, 10**7), op=rng.choice(["code", "warp", "func_code", "script"]), want=rng.random() < 0.5)
        head["src"] = rng.choice(["pass", "x = (", "raise KeyError('fuzz')", "import os; os.getpid()"])
    payload = rng.choice([b"", rng.randbytes(rng.randint(1, 100)), msgpack.packb([[{"k": "stop"}, b""]] * rng.randint(0, 3))])
    return head, payload


def fuzz_worker(frames: int, transport: str, seed: int) -> tuple[bool, str, int]:
    rng = random.Random(seed)
    fake = FakeManager(workerCommand(), heartbeat="0.5,60", transport=transport)
    for stream in (fake.worker.stdout, fake.worker.stderr):  # fuzzed tasks print tracebacks: keep the pipes flowing
        threading.Thread(target=_discard, args=(stream,), daemon=True).start()
    try:
        fake.recv()  # hello
        proc = psutil.Process(fake.worker.pid)
        served, rss, task_id = 0, None, 0
        for i in range(frames):
            socket = rng.choice(["task", "task", "ctrl", "beat"])
            roll = rng.random()
            if roll < 0.5:
                head, payload = _mutated(rng)
                if head["k"] == "stop" or (head["k"] == "batch" and b"stop" in payload):
                    head["k"] = "nothing"  # a real stop would end the run
                fake.sockets[socket].send_multipart([fake.identity, frame(fake.secret, head, payload, fake.identity)])
            elif roll < 0.8:
                fake.send_raw(rng.randbytes(rng.randint(0, 300)), socket=socket)
            else:
                fake.send_raw(*[rng.randbytes(rng.randint(0, 30)) for _ in range(rng.randint(2, 4))], socket=socket)
            if i % 500 == 499:
                task_id += 1
                fake.send({"k": "task", "t": task_id, "op": "func_code", "want": True, "src": ECHO, "fn": "echo"}, msgpack.packb([i]))
                served += _await_done(fake, task_id, i)
                if rss is None:
                    rss = proc.memory_info().rss
        grew = proc.memory_info().rss - (rss or proc.memory_info().rss)
        alive = fake.worker.poll() is None
        memory = f"memory +{grew / 2**20:.1f} MiB"
        text = f"worker ({transport}): {frames:,} frames, {served} of {task_id} tasks served, alive: {alive}, {memory}"
        return alive and served == task_id, text, grew
    finally:
        fake.close()


def _discard(stream) -> None:
    try:
        while stream.read(65536):
            pass
    except (OSError, ValueError):
        pass


def _await_done(fake: FakeManager, task_id: int, value: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = fake.recv(timeout=max(0.0, deadline - time.monotonic()))
        if got is None:
            return 0
        head, payload = got
        items = msgpack.unpackb(payload) if head["k"] == "batch" else [[head, payload]]
        for h, p in items:
            if h.get("k") == "done" and h.get("t") == task_id:
                return int(h.get("ok") and msgpack.unpackb(p) == value)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000, help="frames to each socket (default 100,000)")
    parser.add_argument("--transport", choices=["ipc", "tcp", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-growth", type=float, default=48.0, help="MiB a target's memory may grow (default 48)")
    opts = parser.parse_args(argv)
    logging_quiet()
    ok = True
    for transport in (["ipc", "tcp"] if opts.transport == "both" else [opts.transport]):
        for fuzz in (fuzz_manager, fuzz_worker):
            good, text, grew = fuzz(opts.frames, transport, opts.seed)
            ok &= good and grew < opts.max_growth * 2**20
            print(text, flush=True)
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


def logging_quiet() -> None:
    import logging

    logging.getLogger("promp").setLevel(logging.ERROR)  # refusals are counted; thousands of lines help no one
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


if __name__ == "__main__":
    sys.exit(main())
