"""A simulated process, and the few numbers of the simulated world every part uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

EXIT_NOTICE = 0.0005  # a pidfd turns readable this long after the process is gone
EOF_DELAY = 0.0005  # a worker sees EOF on the alive pipe this long after its manager died
SLACK = 0.05


class Proc:
    """A process: alive or not, frozen or not, with its own monotonic clock offset."""

    def when(self, local: float) -> float:
        """The simulated time at which this process's clock reads ``local`` (or just after: floats round)."""
        at = local - self.offset
        while at + self.offset < local:
            at = math.nextafter(at, math.inf)
        return at

    __slots__ = ("name", "alive", "frozen", "deferred", "offset", "awake_since", "worker", "troubles")

    def __init__(self, name: str, now: float, worker: Any = None) -> None:
        self.name = name
        self.worker = worker  # the worker this process is (None: the root manager's process)
        self.alive = True
        self.frozen = False
        self.deferred: list[tuple[Callable, tuple]] = []
        self.offset = 0.0
        self.awake_since = now
        self.troubles: list[tuple[float, float]] = []  # spans it was frozen, instants its clock jumped
