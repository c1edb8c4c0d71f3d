"""Side-by-side benchmark: promp against raw pyzmq and ProcessPoolExecutor.

All peers run in one process, interleaved round by round, and the report
gives medians and ratios: absolute times on a shared machine are noise, the
ratios are the claim.

    python tools/bench.py [--rounds 5] [--calls 2000] [--tasks 20000]

Measured:
  start    worker start to first result (one worker, one function call)
  rtt      sequential function-call round trip (call, wait, take the result)
  tput     tiny-task throughput with 2 workers (promp: ProWorker_Any)
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq
from rich.console import Console
from rich.table import Table

from promp import NTVariantList, ProManager, ProWorker_Any

CODE = "def inc(x):\n    return x + 1\n"


def inc(x: int) -> int:
    return x + 1


# ------------------------------------------------------------ raw pyzmq peer
RAW_WORKER = """
import ctypes, signal, sys, zmq, msgpack
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive a killed benchmark
ctx = zmq.Context(); s = ctx.socket(zmq.DEALER); s.connect(sys.argv[1]); s.send(b"hi")
while True:
    frame = s.recv()
    if not frame:  # an empty frame says quit
        break
    x = msgpack.unpackb(frame)
    s.send(msgpack.packb(x + 1))
"""


class RawPeer:
    """The floor: one ROUTER, DEALER workers, msgpack, no protocol at all."""

    def __init__(self, workers: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="promp-bench-")
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.bind(f"ipc://{self.dir}/raw")
        self.procs = [subprocess.Popen([sys.executable, "-c", RAW_WORKER, f"ipc://{self.dir}/raw"]) for _ in range(workers)]
        self.idents = [self.sock.recv_multipart()[0] for _ in range(workers)]

    def call(self, x: int) -> int:
        self.sock.send_multipart([self.idents[0], msgpack.packb(x)])
        return msgpack.unpackb(self.sock.recv_multipart()[1])

    def close(self) -> None:
        for ident in self.idents:
            self.sock.send_multipart([ident, b""])
        for proc in self.procs:
            proc.wait()
        self.sock.close(linger=0)
        self.ctx.term()
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------- measurements
def start_promp() -> float:
    t = time.perf_counter()
    with ProManager() as m:
        wid = m.startWorker()
        m.evalPythonFunction(wid, CODE, "inc", NTVariantList([1]), True)
        while not m.hasResults():
            m.wait()
        assert m.takeResult(wid) == 2
        return time.perf_counter() - t


def start_ppe() -> float:
    t = time.perf_counter()
    with cf.ProcessPoolExecutor(1) as ex:
        assert ex.submit(inc, 1).result() == 2
        return time.perf_counter() - t


def start_raw() -> float:
    t = time.perf_counter()
    peer = RawPeer(1)
    assert peer.call(1) == 2
    elapsed = time.perf_counter() - t
    peer.close()
    return elapsed


def rtt_promp(m: ProManager, wid: int, calls: int) -> float:
    t = time.perf_counter()
    for i in range(calls):
        m.evalPythonFunction(wid, CODE, "inc", [i], True)
        while not m.hasResults(wid):
            m.wait()
        m.takeResult(wid)
    return (time.perf_counter() - t) / calls


def rtt_raw(peer: RawPeer, calls: int) -> float:
    t = time.perf_counter()
    for i in range(calls):
        peer.call(i)
    return (time.perf_counter() - t) / calls


def rtt_ppe(ex: cf.ProcessPoolExecutor, calls: int) -> float:
    t = time.perf_counter()
    for i in range(calls):
        ex.submit(inc, i).result()
    return (time.perf_counter() - t) / calls


def tput_promp(m: ProManager, tasks: int) -> float:
    t = time.perf_counter()
    for i in range(tasks):
        m.evalPythonFunction(ProWorker_Any, CODE, "inc", [i], True)
    taken = 0
    while taken < tasks:
        m.wait()
        while m.takeResult() is not None:
            taken += 1
    return tasks / (time.perf_counter() - t)


def tput_ppe(ex: cf.ProcessPoolExecutor, tasks: int) -> float:
    t = time.perf_counter()
    futures = [ex.submit(inc, i) for i in range(tasks)]
    for f in futures:
        f.result()
    return tasks / (time.perf_counter() - t)


def ready(m: ProManager, workers: int) -> list[int]:
    ids = [m.startWorker() for _ in range(workers)]
    m.evalPythonCode(ProWorker_Any, "pass")
    while m.isBusy():
        m.wait()
    while any(m.workerState(w) == "starting" for w in ids):
        m.wait(50)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=20000)
    opts = parser.parse_args()
    console = Console(width=max(Console().width, 120))  # the table stays readable when piped
    names = ("start promp", "start ppe", "start raw", "rtt promp", "rtt raw", "rtt ppe", "tput promp", "tput ppe")
    res: dict[str, list[float]] = {k: [] for k in names}
    rtt_ratios: list[float] = []

    with ProManager() as m1, ProManager() as m2, cf.ProcessPoolExecutor(1) as ex1, cf.ProcessPoolExecutor(2) as ex2:
        (wid,) = ready(m1, 1)
        ready(m2, 2)
        peer = RawPeer(1)
        list(ex1.map(inc, range(10)))
        list(ex2.map(inc, range(10)))
        try:
            for r in range(opts.rounds):
                console.log(f"round {r + 1}/{opts.rounds}")
                res["start promp"].append(start_promp())
                res["start ppe"].append(start_ppe())
                res["start raw"].append(start_raw())
                # alternate in small blocks so that both peers see the same machine load; the
                # ratio is the median of the blocks' ratios, which drifts in load do not bias
                for _ in range(10):
                    promp_t = rtt_promp(m1, wid, opts.calls // 10)
                    raw_t = rtt_raw(peer, opts.calls // 10)
                    res["rtt promp"].append(promp_t)
                    res["rtt raw"].append(raw_t)
                    rtt_ratios.append(promp_t / raw_t)
                res["rtt ppe"].append(rtt_ppe(ex1, opts.calls // 4))
                res["tput promp"].append(tput_promp(m2, opts.tasks))
                res["tput ppe"].append(tput_ppe(ex2, opts.tasks // 4))
        finally:
            peer.close()

    med = {k: statistics.median(v) for k, v in res.items()}
    title = (
        f"promp vs raw pyzmq vs ProcessPoolExecutor (medians of {opts.rounds} rounds; "
        f"round-trip ratio: median of {len(rtt_ratios)} paired blocks, and their range)"
    )
    table = Table(title=title)
    for col in ("measure", "promp", "raw pyzmq", "ProcessPool", "ratio", "target"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    rtt_ratio = statistics.median(rtt_ratios)
    tput_ratio = med["tput promp"] / med["tput ppe"]
    table.add_row(
        "worker start to first result",
        f"{med['start promp'] * 1e3:.1f} ms",
        f"{med['start raw'] * 1e3:.1f} ms",
        f"{med['start ppe'] * 1e3:.1f} ms",
        f"{med['start promp'] / med['start ppe']:.2f}x ppe",
        "-",
    )
    table.add_row(
        "sequential call round trip",
        f"{med['rtt promp'] * 1e6:.1f} us",
        f"{med['rtt raw'] * 1e6:.1f} us",
        f"{med['rtt ppe'] * 1e6:.1f} us",
        f"{rtt_ratio:.2f}x raw ({min(rtt_ratios):.2f}-{max(rtt_ratios):.2f})",
        "<= 1.5x raw",
    )
    table.add_row(
        "tiny tasks, 2 workers (ProWorker_Any)",
        f"{med['tput promp']:,.0f}/s",
        "-",
        f"{med['tput ppe']:,.0f}/s",
        f"{tput_ratio:.2f}x ppe",
        ">= 4x ppe",
    )
    console.print(table)
    ok = rtt_ratio <= 1.5 and tput_ratio >= 4
    console.print("targets met" if ok else "targets NOT met", style="green" if ok else "red")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
