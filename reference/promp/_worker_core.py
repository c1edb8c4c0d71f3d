"""The worker's side of the protocol core, free of I/O: its watch on its manager.

Apart from ``_core`` (the manager's side) so that a worker starts without
importing what only a manager needs.
"""

from __future__ import annotations


class WorkerLiveness:
    """The worker's watch on its manager: ping every interval, give up after the timeout.

    As on the manager side, the timeout runs from the oldest unanswered ping,
    and a watcher that was itself asleep for half the timeout or more (a task
    held the GIL in C) restarts the clock rather than deciding on stale facts.
    """

    def __init__(self, interval: float, timeout: float, now: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.waiting_since: float | None = None
        self.next_ping = now
        self.last_tick = now

    def on_echo(self, now: float) -> None:
        self.waiting_since = None

    def tick(self, now: float) -> str | None:
        """``"exit"`` when the manager has been silent too long, ``"ping"`` when one is due."""
        if now - self.last_tick >= self.timeout / 2 and self.waiting_since is not None:
            self.waiting_since = now
        self.last_tick = now
        if self.waiting_since is not None and now - self.waiting_since > self.timeout:
            return "exit"
        if now >= self.next_ping:
            self.next_ping = now + self.interval
            if self.waiting_since is None:
                self.waiting_since = now
            return "ping"
        return None

    def wait_time(self, now: float) -> float:
        deadlines = [self.next_ping] + ([self.waiting_since + self.timeout] if self.waiting_since is not None else [])
        return max(0.0, min(deadlines) - now)
