"""Side-by-side benchmark: promp against raw pyzmq and the peer process pools.

Every peer runs in this one process, interleaved round by round; the report
gives medians and ratios (absolute times on a shared machine are noise, the
ratios measured in one run are the claim).

    python tools/bench.py [--quick] [--rounds N] [--out DIR]

Peers: raw pyzmq (the floor: a ROUTER, DEALER workers, msgpack, no protocol),
multiprocessing.Pool, ProcessPoolExecutor, and loky and pebble when installed
(``pip install -e '.[bench]'``).  Writes DIR/bench.json, DIR/bench.md and
DIR/bench.png (throughput and latency against the number of workers; needs
matplotlib).  ``--quick`` runs every measure once, small: a smoke test, its
figures mean nothing.

Measured:
  round trip     one sequential call: promp through wait() and through the seed's loop
  throughput     tiny tasks with 2 workers, each submitted on its own
  start          worker start to first result: promp cold, warm, and a new manager; the pools' own
  scale          1,024 workers started under a soft limit of 1,024 descriptors, one ProWorker_All task
                 answered, closed; memory per worker; beside multiprocessing.Pool of as many
  big result     a 64 MiB result, against raw pyzmq zero-copy with and without HMAC on both ends
  output         forwarded output lines per second; 100 MB printed under the seed's loop (a pump every
                 0.5 s) against a busy loop, with the manager's memory growth
  killed worker  time until a killed busy worker's task is reported failed
  orphans        time until workers are gone after their manager's SIGKILL
  idle           CPU of a manager (or pool) and its 32 idle workers
  scaling        throughput and round trip against the number of workers (the plot)
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import io
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from bench_peers import BIG_CODE, PrompPeer, RawPeer, available_pools, executor_peer, inc, inc_or_die, sleeper
from rich.console import Console
from rich.table import Table

from harness.helpers import gone, wait_until
from promp import ProManager, ProMPOpt_RedirectOutput, ProWorker_All

PUMPED = Path(__file__).with_name("pumped_output.py")
GETPID = "import os\ndef f():\n    return os.getpid()\n"
MiB = 1 << 20


@dataclass
class Row:
    measure: str
    values: dict[str, float] = field(default_factory=dict)  # peer -> value
    unit: str = "s"
    ratio: str = ""  # what the ratio compares
    ratio_value: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Sizes:
    rounds: int
    calls: int  # per round-trip block
    blocks: int
    tasks: int  # promp and raw throughput
    pool_tasks: int
    scale: int
    big: int
    lines: int
    idle_workers: int
    idle_seconds: float
    scaling: tuple[int, ...]
    printed: int  # bytes a worker prints under the seed's loop and a busy loop
    map_items: int  # tiny items in an Executor's map


FULL = Sizes(5, 200, 20, 20000, 4000, 1024, 64 * MiB, 200_000, 32, 5.0, (1, 2, 4, 8), 100 * 1000 * 1000, 100_000)
QUICK = Sizes(1, 20, 2, 200, 100, 8, 1 * MiB, 1000, 4, 0.5, (1, 2), 2 * 1000 * 1000, 2000)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# ---------------------------------------------------------------- round trip
def round_trips(sizes: Sizes, pools: dict, console: Console) -> list[Row]:
    peers = {"raw pyzmq": RawPeer(1), "promp wait()": PrompPeer(1), "promp seed loop": PrompPeer(1, seed_loop=True)}
    peers.update({name: make(1) for name, make in pools.items()})
    per_call: dict[str, list[float]] = {name: [] for name in peers}
    ratios: dict[str, list[float]] = {name: [] for name in peers}
    try:
        for block in range(sizes.blocks):  # blocks interleave the peers, so all see the same load
            if block % 5 == 0:
                console.log(f"round trip: block {block + 1}/{sizes.blocks}")
            floor = None
            for name, peer in peers.items():
                t = timed(lambda peer=peer: [peer.call(i) for i in range(sizes.calls)]) / sizes.calls
                per_call[name].append(t)
                floor = floor or t
                ratios[name].append(t / floor)
    finally:
        for peer in peers.values():
            peer.close()
    med = {name: median(v) for name, v in per_call.items()}
    fastest_pool = min((name for name in pools), key=lambda n: med[n], default=None)
    rows = []
    for promp_name in ("promp wait()", "promp seed loop"):
        row = Row(f"round trip, {promp_name[6:]}", {k: med[k] for k in ("raw pyzmq", promp_name, *pools)})
        row.ratio, row.ratio_value = "x raw pyzmq (median of paired blocks)", median(ratios[promp_name])
        row.target, row.met = "<= 1.25x raw", row.ratio_value <= 1.25
        if fastest_pool:  # round by round, as against raw pyzmq: the host drifts over a run, less within a round of blocks
            vs_pool = median([mine / theirs for mine, theirs in zip(per_call[promp_name], per_call[fastest_pool], strict=True)])
            verdict = "met" if vs_pool <= 0.7 else "NOT met"
            row.note = (f"{vs_pool:.2f}x {fastest_pool}, median of paired blocks (target <= 0.7x: {verdict}; "
                        f"ratio of the medians {med[promp_name] / med[fastest_pool]:.2f}x)")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- throughput
def throughput(sizes: Sizes, pools: dict, console: Console, workers: int = 2) -> Row:
    peers = {"raw pyzmq": RawPeer(workers), "promp": PrompPeer(workers)}
    peers.update({name: make(workers) for name, make in pools.items()})
    rates: dict[str, list[float]] = {name: [] for name in peers}
    try:
        for r in range(sizes.rounds):
            console.log(f"throughput, {workers} workers: round {r + 1}/{sizes.rounds}")
            for name, peer in peers.items():
                n = sizes.tasks if name in ("raw pyzmq", "promp") else sizes.pool_tasks
                rates[name].append(n / timed(lambda peer=peer, n=n: peer.run_many(n)))
    finally:
        for peer in peers.values():
            peer.close()
    med = {name: median(v) for name, v in rates.items()}
    row = Row(f"tiny tasks per second, {workers} workers", med, unit="/s")
    fastest_pool = max(pools, key=lambda n: med[n], default=None)
    vs_raw = med["promp"] / med["raw pyzmq"]
    row.note = f"{vs_raw:.2f}x raw pyzmq, the ceiling (target >= 0.75x: {'met' if vs_raw >= 0.75 else 'NOT met'})"
    if fastest_pool:
        row.ratio, row.ratio_value = f"x {fastest_pool} (fastest pool)", med["promp"] / med[fastest_pool]
        row.target, row.met = ">= 2x fastest pool", row.ratio_value >= 2
    return row


# ---------------------------------------------------------------- Executor
FUTURES_POOLS = ("ProcessPoolExecutor", "loky", "pebble")


def executor(sizes: Sizes, pools: dict, console: Console) -> list[Row]:
    """promp.Executor beside ProManager.wait() and the futures pools: round trip, map, a crash in a map."""
    return [executor_round_trip(sizes, pools, console), *executor_maps(sizes, pools, console), map_crash(sizes, pools, console)]


def executor_round_trip(sizes: Sizes, pools: dict, console: Console) -> Row:
    peers = {"promp wait()": PrompPeer(1), "promp.Executor": executor_peer(1)}
    peers.update({name: pools[name](1) for name in FUTURES_POOLS if name in pools})
    per_call: dict[str, list[float]] = {name: [] for name in peers}
    ratios: list[float] = []
    try:
        for block in range(sizes.blocks):
            if block % 5 == 0:
                console.log(f"Executor round trip: block {block + 1}/{sizes.blocks}")
            for name, peer in peers.items():
                per_call[name].append(timed(lambda peer=peer: [peer.call(i) for i in range(sizes.calls)]) / sizes.calls)
            ratios.append(per_call["promp.Executor"][-1] / per_call["promp wait()"][-1])
    finally:
        for peer in peers.values():
            peer.close()
    row = Row("round trip, `Executor.submit().result()`", {name: median(v) for name, v in per_call.items()})
    row.ratio, row.ratio_value = "x promp wait() (median of paired blocks)", median(ratios)
    row.target, row.met = "<= 1.3x wait()", row.ratio_value <= 1.3
    return row


def executor_maps(sizes: Sizes, pools: dict, console: Console) -> list[Row]:
    rows = []
    for chunksize in (1, 1000):
        rates: dict[str, list[float]] = {}
        makers = {"promp.Executor": executor_peer, **{name: pools[name] for name in FUTURES_POOLS if name in pools}}
        for r in range(min(sizes.rounds, 2)):
            for name, make in makers.items():
                console.log(f"map of {sizes.map_items:,} tiny items, chunksize {chunksize}: {name}, round {r + 1}")
                peer = make(2)
                try:
                    spent = timed(lambda peer=peer, name=name, c=chunksize: list(_map(peer, name, sizes.map_items, c)))
                finally:
                    peer.close()
                rates.setdefault(name, []).append(sizes.map_items / spent)
        med = {name: median(v) for name, v in rates.items()}
        row = Row(f"`map` over {sizes.map_items:,} tiny items, chunksize {chunksize}, 2 workers", med, unit="/s")
        if "ProcessPoolExecutor" in med:
            row.ratio, row.ratio_value = "x ProcessPoolExecutor", med["promp.Executor"] / med["ProcessPoolExecutor"]
            if chunksize == 1:
                row.target, row.met = ">= 3x ProcessPoolExecutor", row.ratio_value >= 3
        rows.append(row)
    return rows


def _map(peer, name: str, items: int, chunksize: int):
    results = peer.ex.map(inc, range(items), chunksize=chunksize)
    return results.result() if name == "pebble" else results  # pebble's map gives a future of the iterator


def map_crash(sizes: Sizes, pools: dict, console: Console) -> Row:
    """One call of a map ends its worker: how many of the others still get their value, and does the pool go on."""
    n = sizes.map_items // 10
    kept: dict[str, float] = {}
    notes = []
    makers = {"promp.Executor": executor_peer, **{name: pools[name] for name in FUTURES_POOLS if name in pools}}
    for name, make in makers.items():
        console.log(f"a crash in the middle of a map of {n:,}: {name}")
        peer = make(2)
        try:
            futures = [peer.submit(inc_or_die, i, n // 2) for i in range(n)]
            cf.wait(futures, timeout=120)
            kept[name] = sum(1 for f in futures if f.done() and not f.cancelled() and f.exception() is None)
            try:
                goes_on = peer.submit(inc, 1).result(timeout=60) == 2
            except Exception:
                goes_on = False
            notes.append(f"{name}: {'goes on' if goes_on else 'broken'}")
        finally:
            try:
                peer.close()
            except Exception:
                pass
    row = Row(f"a crash in the middle of a map of {n:,}: calls that still got their value", kept, unit="calls")
    row.note = "; ".join(notes)
    return row


def worker_pids(m: ProManager, ws: list[int], target: int | None = None) -> list[int]:
    """The pids of ``ws``, asked of each worker (by one task for ``target``, e.g. ProWorker_All, if given)."""
    for each in [target] if target is not None else ws:
        m.evalPythonFunction(each, GETPID, "f", None, True)
    while m.isBusy():
        m.wait()
    return [m.takeResult(w) for w in ws]


# --------------------------------------------------------------------- start
def start_promp(warm_start: bool) -> float:
    t = time.perf_counter()
    with ProManager(warm_start=warm_start) as m:
        worker_pids(m, [m.startWorker()])
        return time.perf_counter() - t


def start_warm(m: ProManager) -> float:
    t = time.perf_counter()
    w = m.startWorker()
    worker_pids(m, [w])
    elapsed = time.perf_counter() - t
    m.stopWorker(w)
    return elapsed


def start_pool(make: Callable[[], object]) -> float:
    t = time.perf_counter()
    peer = make()
    peer.call(1)
    elapsed = time.perf_counter() - t
    peer.close()
    return elapsed


def starts(sizes: Sizes, pools: dict, console: Console) -> Row:
    from bench_peers import FuturesPeer, PoolPeer

    makers: dict[str, Callable[[], float]] = {
        "promp cold": lambda: start_promp(False),
        "promp new manager": lambda: start_promp(True),
        "raw pyzmq": lambda: start_pool(lambda: RawPeer(1)),
        "mp spawn": lambda: start_pool(lambda: PoolPeer(1, "spawn", warm=False)),
        "mp fork": lambda: start_pool(lambda: PoolPeer(1, "fork", warm=False)),
        "ProcessPoolExecutor": lambda: start_pool(lambda: FuturesPeer("ppe", cf.ProcessPoolExecutor(1), warm=False)),
    }
    for name in ("loky", "pebble"):
        if name in pools:
            makers[name] = lambda make=pools[name]: start_pool(lambda: make(1, warm=False))
    times: dict[str, list[float]] = {name: [] for name in ["promp warm", *makers]}
    with ProManager() as warm:
        start_warm(warm)  # its zygote is up from here
        for r in range(sizes.rounds):
            console.log(f"start: round {r + 1}/{sizes.rounds}")
            times["promp warm"].append(start_warm(warm))
            for name, make in makers.items():
                times[name].append(make())
    med = {name: median(v) for name, v in times.items()}
    row = Row("worker start to first result", med)
    warm_ratio, cold_ratio = med["promp warm"] / med["mp spawn"], med["promp cold"] / med["mp spawn"]
    row.ratio, row.ratio_value = "warm x mp spawn", warm_ratio
    row.target, row.met = "warm <= 0.25x, cold <= 1.2x mp spawn", warm_ratio <= 0.25 and cold_ratio <= 1.2
    row.note = f"cold {cold_ratio:.2f}x mp spawn"
    return row


# --------------------------------------------------------------------- scale
SCALE_PROMP = """
import json, logging, os, resource, statistics, sys, time
import psutil
from promp import ProManager, ProWorker_All
logging.basicConfig()  # the soft limit's raise is said once
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
t = time.perf_counter()
m = ProManager()
ws = [m.startWorker() for _ in range(n)]
started = time.perf_counter() - t
m.evalPythonFunction(ProWorker_All, "import os\\ndef f():\\n    return os.getpid()\\n", "f", None, True)
while m.isBusy():
    m.wait()
answering = time.perf_counter() - t
pids = [m.takeResult(w) for w in ws]
mem = [psutil.Process(pid).memory_full_info() for pid in pids]
t = time.perf_counter()
m.close()
print(json.dumps({"started": started, "answering": answering, "close": time.perf_counter() - t, "answers": len(set(pids)),
                  "uss": statistics.mean(i.uss for i in mem), "rss": statistics.mean(i.rss for i in mem)}))
"""
SCALE_POOL = """
import json, multiprocessing, os, resource, sys, time
n = int(sys.argv[1])


def pid(_):
    return os.getpid()


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a pool does not raise it itself: 1,024 stops it at about 340
t = time.perf_counter()
pool = multiprocessing.get_context("fork").Pool(n)
answers = len(set(pool.map(pid, range(n), chunksize=1)))
answering = time.perf_counter() - t
t = time.perf_counter()
pool.close()
pool.join()
print(json.dumps({"answering": answering, "close": time.perf_counter() - t, "answers": answers}))
"""


def _json_run(script: str | Path, *args: object, timeout: float = 300) -> dict:
    """A measure run in a process of its own (its own descriptor limit, memory and children), its figures as JSON.
    ``script``: its code, or the path of a script."""
    command = [str(script)] if isinstance(script, Path) else ["-c", textwrap.dedent(script)]
    done = subprocess.run([sys.executable, *command, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"a benchmark process failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def scale(sizes: Sizes, console: Console) -> Row:
    n = sizes.scale
    console.log(f"scale: {n} workers, soft descriptor limit 1,024")
    runs = []
    for _round in range(max(1, sizes.rounds // 2)):
        runs.append(_json_run(SCALE_PROMP, n))
        runs.append({**_json_run(SCALE_POOL, n), "pool": True})
    promp = [run for run in runs if "pool" not in run]
    pool = [run for run in runs if "pool" in run]
    assert all(run["answers"] == n for run in promp), "a worker did not answer"
    values = {
        "promp startWorker() x n": median([r["started"] for r in promp]),
        "promp all answering": median([r["answering"] for r in promp]),
        "promp close()": median([r["close"] for r in promp]),
        "multiprocessing.Pool(n) answering": median([r["answering"] for r in pool]),
        "multiprocessing.Pool close": median([r["close"] for r in pool]),
    }
    row = Row(f"{n} workers: started, answering, closed", values)
    row.ratio = "x multiprocessing.Pool (all answering)"
    row.ratio_value = values["promp all answering"] / values["multiprocessing.Pool(n) answering"]
    row.target = "answering within 10 s, close() within 2 s (soft limit 1,024)"
    row.met = values["promp all answering"] <= 10 and values["promp close()"] <= 2
    uss, rss = median([r["uss"] for r in promp]), median([r["rss"] for r in promp])
    row.note = (f"per worker: {uss / MiB:.1f} MiB unique (USS), {rss / MiB:.1f} MiB RSS; the pool ran with its soft limit "
                "raised to the hard one by hand")
    return row


# ---------------------------------------------------------------- big result
def big_results(sizes: Sizes, console: Console) -> Row:
    raw = RawPeer(1)
    times: dict[str, list[float]] = {"promp": [], "raw signed": [], "raw unsigned": []}
    with ProManager() as m:
        w = m.startWorker()

        def promp_big() -> None:
            m.evalPythonFunction(w, BIG_CODE, "big", [sizes.big], True)
            while not m.hasResults(w):
                m.wait()
            assert len(m.takeResult(w)) == sizes.big

        try:
            promp_big(), raw.big(sizes.big, True)  # sizes allocated once on both sides
            for r in range(sizes.rounds):
                console.log(f"big result: round {r + 1}/{sizes.rounds}")
                times["promp"].append(timed(promp_big))
                times["raw signed"].append(timed(lambda: raw.big(sizes.big, True)))
                times["raw unsigned"].append(timed(lambda: raw.big(sizes.big, False)))
        finally:
            raw.close()
    med = {name: median(v) for name, v in times.items()}
    row = Row(f"{sizes.big // MiB} MiB result", med)
    row.ratio, row.ratio_value = "x raw signed", med["promp"] / med["raw signed"]
    row.target, row.met = "<= 1.3x raw signed", row.ratio_value <= 1.3
    return row


# -------------------------------------------------------------------- output
def output_lines(sizes: Sizes, console: Console) -> list[Row]:
    console.log(f"output: {sizes.lines:,} lines")
    rates = []
    with ProManager() as m:
        m.setOptions(ProMPOpt_RedirectOutput)
        w = m.startWorker()
        for _ in range(sizes.rounds):
            sink = io.StringIO()
            with redirect_stdout(sink):
                t = time.perf_counter()
                m.evalPythonCode(w, f"for i in range({sizes.lines}):\n    print('line', i)")
                while m.isBusy():
                    m.wait()
                m.processMessages()
                elapsed = time.perf_counter() - t
            assert sink.getvalue().count("\n") >= sizes.lines
            rates.append(sizes.lines / elapsed)
    return [Row("forwarded output lines per second", {"promp": median(rates)}, unit="/s"), pumped_output(sizes, console)]


def pumped_output(sizes: Sizes, console: Console) -> Row:
    """A worker printing ``sizes.printed`` bytes under the seed's loop (a pump every 0.5 s) and under a busy loop."""
    lines = sizes.printed // 100
    console.log(f"output under the seed's loop: {sizes.printed / 1e6:.0f} MB, {lines:,} lines")
    runs: dict[str, list[dict]] = {"seed loop": [], "busy loop": []}
    for _round in range(max(1, sizes.rounds // 2)):
        runs["seed loop"].append(_json_run(PUMPED, lines, 0.5))
        runs["busy loop"].append(_json_run(PUMPED, lines, 0))
    for run in runs["seed loop"] + runs["busy loop"]:
        if run["lines"] != lines or run["wrong"]:
            raise RuntimeError(f"output lost or damaged: {run}")
    seed, busy = median([r["seconds"] for r in runs["seed loop"]]), median([r["seconds"] for r in runs["busy loop"]])
    grew = max(r["grew"] for r in runs["seed loop"])
    row = Row(f"{sizes.printed / 1e6:.0f} MB printed, every line checked", {"promp, seed's loop (pump, sleep 0.5 s)": seed,
                                                                           "promp, busy loop": busy})
    row.ratio, row.ratio_value = "x busy loop", seed / busy
    row.target = "<= 1.5x busy loop; memory growth <= 32 MiB"
    row.met = row.ratio_value <= 1.5 and grew <= 32 * MiB
    row.note = f"manager's peak memory grew {grew / MiB:.1f} MiB; the pools do not forward output"
    return row


# ------------------------------------------------------------- killed worker
def killed_worker(sizes: Sizes, pools: dict, console: Console) -> Row:
    times: dict[str, list[float]] = {"promp": []}
    for r in range(sizes.rounds):
        console.log(f"killed worker: round {r + 1}/{sizes.rounds}")
        with ProManager() as m:
            w = m.startWorker()
            (pid,) = worker_pids(m, [w])
            m.evalPythonCode(w, "import time\ntime.sleep(60)")
            m.wait(50)
            t = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            while m.isBusy():
                m.wait()
            times["promp"].append(time.perf_counter() - t)
        for name, make in pools.items():
            if name == "multiprocessing.Pool":
                continue  # it never reports a killed worker's task: the result waits for ever
            times.setdefault(name, []).append(_killed_in_pool(make))
    med = {name: median(v) for name, v in times.items()}
    row = Row("killed busy worker reported", med)
    row.target, row.met = "<= 50 ms", med["promp"] <= 0.05
    row.note = "multiprocessing.Pool never reports it"
    return row


def _killed_in_pool(make) -> float:
    peer = make(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pid")
        future = peer.submit(sleeper, path)
        wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, 30)
        pid = int(Path(path).read_text())
        t = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        try:
            future.result(timeout=30)
        except Exception:  # each pool has its own error for it
            pass
        elapsed = time.perf_counter() - t
    try:
        peer.close()
    except Exception:
        pass
    return elapsed


# -------------------------------------------------------------------- orphans
ORPHANS_PROMP = """
import time
from promp import *
m = ProManager()
ws = [m.startWorker() for _ in range(4)]
m.evalPythonFunction(ProWorker_All, "import os\\ndef f():\\n    return os.getpid()\\n", "f", None, True)
while m.isBusy():
    m.wait()
print(*[m.takeResult(w) for w in ws], flush=True)
m.evalPythonCode(ProWorker_All, "import time\\ntime.sleep(60)")
while True:
    m.wait(100)
"""
ORPHANS_PPE = """
import concurrent.futures as cf, os, time
ex = cf.ProcessPoolExecutor(4)
list(ex.map(abs, range(16)))
futures = [ex.submit(time.sleep, 60) for _ in range(4)]
print(*ex._processes, flush=True)
time.sleep(600)
"""


def orphans(sizes: Sizes, console: Console) -> Row:
    times: dict[str, list[float]] = {"promp": [], "ProcessPoolExecutor": []}
    for r in range(sizes.rounds):
        console.log(f"orphans: round {r + 1}/{sizes.rounds}")
        times["promp"].append(_orphans_gone(ORPHANS_PROMP))
        times["ProcessPoolExecutor"].append(_orphans_gone(ORPHANS_PPE))
    med = {name: median(v) for name, v in times.items()}
    row = Row("workers gone after their manager's SIGKILL", med)
    row.target, row.met = "<= 0.1 s", med["promp"] <= 0.1
    row.note = "inf: still there after 3 s (then killed by the benchmark)"
    return row


def _orphans_gone(script: str, cap: float = 3.0) -> float:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        t = time.perf_counter()
        proc.kill()
        proc.wait()
        ok = wait_until(lambda: all(gone(p) for p in pids), cap)
        elapsed = time.perf_counter() - t if ok else float("inf")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return elapsed
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


# ----------------------------------------------------------------------- idle
def idle(sizes: Sizes, pools: dict, console: Console) -> Row:
    n = sizes.idle_workers
    usage: dict[str, float] = {}
    console.log(f"idle: {n} workers, {sizes.idle_seconds:g} s each")
    with ProManager() as m:
        ws = [m.startWorker() for _ in range(n)]
        pids = worker_pids(m, ws, ProWorker_All)
        usage["promp"] = _cpu_share(pids, sizes.idle_seconds)
    failed = []
    for name, make in pools.items():
        try:
            peer = make(n)
        except Exception as exc:  # seen: pebble's 32 forks from this many-threaded process, once, never up
            failed.append(f"{name} did not come up ({type(exc).__name__})")
            continue
        usage[name] = _cpu_share([p.pid for p in psutil.Process().children(recursive=True)], sizes.idle_seconds)
        peer.close()
    row = Row(f"idle CPU, manager and {n} workers", {k: v * 100 for k, v in usage.items()}, unit="% of a core")
    row.target, row.met = "< 1% of a core", usage["promp"] < 0.01
    row.note = "; ".join(failed)
    return row


def _cpu_share(pids: list[int], seconds: float) -> float:
    """CPU used by this process and ``pids`` over ``seconds``, as a share of one core."""
    procs = [psutil.Process()] + [psutil.Process(p) for p in pids]
    time.sleep(0.5)  # let start-up work end
    before = [sum(p.cpu_times()[:2]) for p in procs]
    t = time.monotonic()
    time.sleep(seconds)
    after = [sum(p.cpu_times()[:2]) for p in procs]
    return (sum(after) - sum(before)) / (time.monotonic() - t)


# -------------------------------------------------------------------- scaling
def scaling(sizes: Sizes, pools: dict, console: Console) -> dict:
    curves: dict[str, dict[str, list[float]]] = {}
    for n in sizes.scaling:
        console.log(f"scaling: {n} worker(s)")
        peers = {"promp": PrompPeer(n)}
        peers.update({name: make(n) for name, make in pools.items()})
        try:
            for name, peer in peers.items():
                tasks = sizes.tasks if name == "promp" else sizes.pool_tasks
                curve = curves.setdefault(name, {"workers": [], "tasks_per_s": [], "round_trip_us": []})
                curve["workers"].append(n)
                curve["tasks_per_s"].append(tasks / timed(lambda peer=peer, tasks=tasks: peer.run_many(tasks)))
                blocks = [timed(lambda peer=peer: [peer.call(i) for i in range(sizes.calls)]) / sizes.calls for _ in range(sizes.rounds)]
                curve["round_trip_us"].append(median(blocks) * 1e6)
        finally:
            for peer in peers.values():
                peer.close()
    return curves


def plot(curves: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, curve in curves.items():
        left.plot(curve["workers"], curve["tasks_per_s"], marker="o", label=name)
        right.plot(curve["workers"], curve["round_trip_us"], marker="o", label=name)
    left.set(title="tiny-task throughput", xlabel="workers", ylabel="tasks per second", yscale="log")
    right.set(title="sequential round trip", xlabel="workers", ylabel="microseconds", yscale="log")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
    left.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --------------------------------------------------------------------- report
def show(value: float, unit: str) -> str:
    if value == float("inf"):
        return "inf"
    if unit == "s":
        return f"{value * 1e6:.0f} us" if value < 1e-3 else f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "calls":
        return f"{value:,.0f} calls"
    return f"{value:.2f}{'%' if unit.startswith('%') else ' ' + unit}"


def render(rows: list[Row]) -> tuple[Table, str]:
    table = Table(title="promp against its peers (medians; ratios measured in this run)")
    columns = ("measure", "figures", "ratio", "target", "met")
    for col in columns:
        table.add_column(col, overflow="fold")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        figures = "; ".join(f"{peer} {show(v, row.unit)}" for peer, v in row.values.items())
        ratio = "" if row.ratio_value is None else f"{row.ratio_value:.2f} {row.ratio}"
        if row.note:
            ratio = f"{ratio} ({row.note})" if ratio else row.note
        met = "" if row.met is None else ("yes" if row.met else "NO")
        cells = (row.measure, figures, ratio, row.target, met)
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    return table, "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every measure once, small: a smoke test")
    parser.add_argument("--rounds", type=int, help="rounds per measure (default 5, --quick 1)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="where bench.json, bench.md, bench.png go")
    parser.add_argument("--only", help="comma-separated measures to run (default all): " + ", ".join(MEASURES))
    opts = parser.parse_args()
    sizes = QUICK if opts.quick else FULL
    if opts.rounds:
        sizes = Sizes(**{**asdict(sizes), "rounds": opts.rounds})
    chosen = MEASURES if not opts.only else opts.only.split(",")
    unknown = [m for m in chosen if m not in MEASURES]
    if unknown:
        parser.error(f"unknown measure(s): {', '.join(unknown)}")
    console = Console(width=max(Console().width, 140), stderr=True)
    pools = available_pools()
    missing = [name for name in ("loky", "pebble") if name not in pools]
    if missing:
        console.log(f"not installed, left out: {', '.join(missing)} (pip install -e '.[bench]')")
    began = time.perf_counter()
    rows: list[Row] = []
    curves: dict = {}
    for name in chosen:
        result = MEASURES[name](sizes, pools, console)
        if name == "scaling":
            curves = result
        else:
            rows += result if isinstance(result, list) else [result]
    opts.out.mkdir(parents=True, exist_ok=True)
    table, markdown = render(rows)
    plotted = bool(curves) and plot(curves, opts.out / "bench.png")
    record = {
        "command": " ".join(["python", "tools/bench.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "seconds": time.perf_counter() - began,
        "quick": opts.quick,
        "rows": [asdict(row) for row in rows],
        "scaling": curves,
    }
    (opts.out / "bench.json").write_text(json.dumps(record, indent=2, default=str))
    header = f"`{record['command']}` ({os.cpu_count()} cores, Python {platform.python_version()}, {record['seconds']:.0f} s)\n\n"
    (opts.out / "bench.md").write_text(header + markdown + ("\n![scaling](bench.png)\n" if plotted else ""))
    out = Console(width=max(Console().width, 140))
    out.print(table)
    met = [row.met for row in rows if row.met is not None]
    out.print(f"{sum(met)} of {len(met)} targets met; {record['seconds']:.0f} s; written to {opts.out}/bench.json, bench.md"
              + (", bench.png" if plotted else ""))
    return 0


MEASURES: dict[str, Callable] = {
    "round-trip": round_trips,
    "throughput": throughput,
    "start": starts,
    "scale": lambda sizes, pools, console: scale(sizes, console),
    "big": lambda sizes, pools, console: big_results(sizes, console),
    "output": lambda sizes, pools, console: output_lines(sizes, console),
    "killed": killed_worker,
    "orphans": lambda sizes, pools, console: orphans(sizes, console),
    "idle": idle,
    "scaling": scaling,
    "executor": executor,
}

if __name__ == "__main__":
    sys.exit(main())
