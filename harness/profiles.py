"""Fault profiles the spec runs under (``promp-spec --faults NAME``): faults a conforming
implementation must absorb, so that every verdict stays what it is without them.

A profile acts on the processes of the example alone, through ``harness.faults`` (signals, found
by the process tree): it knows nothing of the implementation.  Each states the bound it keeps to,
which is what makes "absorb" a fair demand.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import psutil

from . import faults


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    stall: tuple[float, float]  # seconds a worker stays stopped, at least and at most
    every: tuple[float, float]  # seconds between two stalls of the example's workers


PROFILES = {
    "short-stalls": Profile(
        "short-stalls",
        "every 0.5-1.5 s, the example's workers (every process below the example's own) are stopped (SIGSTOP) "
        "for 50-200 ms, then resumed: far below any heartbeat timeout (the spec allows 30 s; the reference has 5 s), "
        "as a loaded machine or a debugger's pause would do",
        stall=(0.05, 0.2),
        every=(0.5, 1.5),
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
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
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
