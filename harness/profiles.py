"""Fault profiles the spec runs under (``promp-spec --faults NAME``): faults a conforming
implementation must absorb, so that every verdict stays what it is without them.

A profile acts on the example alone and knows nothing of the implementation: stalls go through
``harness.faults`` (signals, found by the process tree), frame faults through the fault proxy
(``harness.proxy``), which each worker is started behind by the launch hook of chapter 13
(``PROMP_WORKER_PREFIX``).  Each states the bound it keeps to, which is what makes "absorb" a
fair demand.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import psutil

from . import faults, proxy


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    stall: tuple[float, float] | None = None  # seconds a worker stays stopped, at least and at most
    every: tuple[float, float] = (1.0, 1.0)  # seconds between two stalls of the example's workers
    proxy: tuple[str, ...] = ()  # fault proxy rules (``python -m harness.proxy --help``)

    def prefix(self, seed: int) -> str | None:
        """The launch hook's value that puts every worker behind the fault proxy, if this profile uses it."""
        return proxy.prefix(*self.proxy, seed=seed) if self.proxy else None


PROFILES = {
    "short-stalls": Profile(
        "short-stalls",
        "every 0.5-1.5 s, the example's workers (every process below the example's own) are stopped (SIGSTOP) "
        "for 50-200 ms, then resumed: far below any heartbeat timeout (the spec allows 30 s; the reference has 5 s), "
        "as a loaded machine or a debugger's pause would do",
        stall=(0.05, 0.2),
        every=(0.5, 1.5),
    ),
    "lossy-heartbeats": Profile(
        "lossy-heartbeats",
        "every worker behind the fault proxy, which drops 30% of the heartbeat frames, each way and on both "
        "heartbeats (the worker's and the manager's): a timeout needs every ping of a whole timeout lost in a row "
        "(with the reference's 0.5 s and 5 s, ten in a row: about 1 in 10,000 per check)",
        proxy=("--drop", "ping=0.3"),
    ),
    "slow-links": Profile(
        "slow-links",
        "every worker behind the fault proxy, which delays every frame, each way, by 5-25 ms (each socket keeps "
        "its order, as ZeroMQ does): a link far slower than a local socket, far faster than any timeout",
        proxy=("--delay", "*=15~10"),
    ),
    "shuffled-pings": Profile(
        "shuffled-pings",
        "every worker behind the fault proxy, which duplicates 30% of the heartbeat frames and lets 30% of them be "
        "overtaken by the next (held back at most 0.5 s): a heartbeat's answers may come twice and out of order",
        proxy=("--dup", "ping=0.3", "--reorder", "ping=0.3"),
    ),
}


class Nemesis:
    """Applies a profile to the process tree under ``root`` until stopped; always resumes what it paused."""

    def __init__(self, profile: Profile, root: int, seed: int = 0) -> None:
        self.profile = profile
        self.root = root
        self.rng = random.Random(seed)
        self.stalls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promp-nemesis", daemon=True)

    def __enter__(self) -> Nemesis:
        if self.profile.stall is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        profile = self.profile
        while not self._stop.wait(self.rng.uniform(*profile.every)):
            try:
                workers = [p for p in faults.targets(self.root, "tree") if p.pid != self.root]
            except faults.FaultError:
                return  # the example ended
            stopped = []
            for proc in workers:
                try:
                    if proc.status() == psutil.STATUS_STOPPED:
                        continue  # stopped by someone else: not ours to resume
                    proc.suspend()
                    stopped.append(proc)
                except psutil.Error:
                    continue
            if stopped:
                self.stalls += 1
            self._stop.wait(self.rng.uniform(*profile.stall))
            for proc in stopped:
                try:
                    proc.resume()
                except psutil.Error:
                    continue
