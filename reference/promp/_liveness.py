"""One heartbeat clock for both sides of the protocol: when to ping, when the peer is silent.

A peer is *silent* once a ping has gone unanswered for ``timeout`` seconds;
the timeout runs from the oldest unanswered ping, and any answer clears it.
Silence only counts while the observer itself was awake: a clock that was not
ticked for half the timeout or more (its thread was starved, or its process
frozen) restarts the wait instead of condemning the peer on stale facts.  A clock
is ticked at its own deadlines, about once an interval, so a gap shorter than an
interval and a half is never taken for a stall, even with a timeout of two
intervals or less.

Pure: it is told the time and never reads a clock, so the I/O shells and the
simulator drive the very same object.
"""

from __future__ import annotations

PING = "ping"
SILENT = "silent"


class HeartbeatClock:
    __slots__ = ("interval", "_timeout", "stall", "waiting_since", "next_ping", "last_tick")

    def __init__(self, interval: float, timeout: float, now: float, next_ping: float | None = None) -> None:
        self.interval = interval
        self.timeout = timeout
        self.waiting_since: float | None = None  # when the oldest unanswered ping went out
        self.next_ping = now if next_ping is None else next_ping
        self.last_tick = now

    @property
    def timeout(self) -> float:
        return self._timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = value
        self.stall = max(value / 2, 1.5 * self.interval)  # a gap between two ticks this long: the observer was asleep

    def answered(self) -> None:
        self.waiting_since = None

    def heard(self, now: float) -> None:
        """The peer showed life unasked (its own ping came): no need to ask it while its pings keep coming.

        Ours waits one and a half intervals, so that the peer's next ping, due an interval from now,
        may come a little late without ours going out.
        """
        self.waiting_since = None
        self.next_ping = max(self.next_ping, now + 1.5 * self.interval)

    def tick(self, now: float) -> str | None:
        """``SILENT`` once (then the wait restarts), ``PING`` when one is due, else None."""
        if self.waiting_since is not None and now - self.last_tick >= self.stall:
            self.waiting_since = now  # we were asleep: what we missed is not the peer's fault
        self.last_tick = now
        if self.waiting_since is not None and now - self.waiting_since > self._timeout:
            self.waiting_since = None  # one verdict per timeout
            if now >= self.next_ping:  # a ping due now is skipped, not left due (a keeper would spin)
                self.next_ping = now + self.interval
            return SILENT
        if now >= self.next_ping:
            self.next_ping = now + self.interval
            if self.waiting_since is None:
                self.waiting_since = now
            return PING
        return None

    def silent_for(self, now: float) -> float:
        return 0.0 if self.waiting_since is None else now - self.waiting_since

    def next_deadline(self) -> float:
        if self.waiting_since is None:
            return self.next_ping
        # the verdict is strict (> timeout): the tick at the deadline itself is one too early
        return min(self.next_ping, self.waiting_since + self.timeout + 1e-6)
