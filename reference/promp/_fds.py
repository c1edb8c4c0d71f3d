"""File descriptors: the process's budget of them, and waiting on one whatever its number.

A worker costs its manager seven descriptors, so the usual soft limit of 1,024 would stop a
manager near 140 workers while the hard limit is often far higher: like servers that raise their
soft limit at start, a manager raises it toward the hard limit when it needs more, and says so
once in its log.  Only when even the hard limit is too low is a worker refused, with a
``ProMPError`` that says so, before libzmq finds out by aborting the process.

Counting what is open lists ``/proc/self/fd``, which costs in proportion to what is open: done at
every start it made starting n workers cost n squared.  So ``Budget`` counts only when its own
estimate comes near the limit, or every ``RECOUNT_EVERY`` starts: the last count, plus what each
start since may have opened, and at least the lowest free descriptor's number (every one below
it is open: what the application opened meanwhile shows there, at the cost of one ``dup``).

Past 1,024 descriptors ``select.select`` fails (``FD_SETSIZE``): ``readable_within`` polls instead.
"""

from __future__ import annotations

import logging
import os
import resource
import select
import threading

log = logging.getLogger("promp")

NEAR = 0.75  # an estimate past this share of the soft limit is checked by counting
RECOUNT_EVERY = 32  # starts between two counts, however far the limit seems


def open_count() -> int | None:
    """How many descriptors this process has open, or None where /proc cannot tell."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def lowest_free() -> int:
    """The lowest descriptor number not open: every number below it is (0 if none is free)."""
    try:
        fd = os.dup(0)
    except OSError:  # 0 is free itself (or none is: then nothing is learnt)
        return 0
    os.close(fd)
    return fd


def readable_within(fd: int, timeout: float) -> bool:
    """Whether ``fd`` (a number or an object with ``fileno()``) turns readable within ``timeout`` seconds."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(max(0.0, timeout) * 1000))


class Budget:
    """The process's descriptors, as workers take them: counted near the limit, the soft limit raised when it must."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # managers on several threads share the process's limit
        self._estimate: int | None = None  # descriptors open, at most (a count, plus what starts since took)
        self._since_count = 0
        self._raised = False

    def reserve(self, needed: int, later: int = 0) -> None:
        """Make room for ``needed`` descriptors now and ``later`` more to come, or raise ``DescriptorsExhausted``."""
        with self._lock:
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if soft == resource.RLIM_INFINITY:
                return
            want = needed + later
            self._since_count += 1
            if self._estimate is not None:
                self._estimate = max(self._estimate, lowest_free())
            if self._estimate is None or self._estimate + want > soft * NEAR or self._since_count >= RECOUNT_EVERY:
                counted = open_count()
                if counted is None:
                    return
                self._estimate, self._since_count = counted, 0
                if counted + want > soft:
                    soft = self._raise(soft, hard, counted + want)
                if counted + want > soft:
                    raise DescriptorsExhausted(counted, soft, later)
            self._estimate += needed

    def _raise(self, soft: int, hard: int, wanted: int) -> int:
        """The soft limit raised toward the hard one: doubled, or to what is wanted if more."""
        new = max(2 * soft, wanted + 64)
        if hard != resource.RLIM_INFINITY:
            new = min(new, hard)
        if new <= soft:
            return soft
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            return soft
        if not self._raised:
            self._raised = True
            log.warning("raised this process's soft limit of open files from %d to %d (the hard limit is %s) "
                        "for more workers, each of which costs its manager 7 descriptors; raised again as needed, "
                        "without a word, and not lowered after", soft, new,
                        "unlimited" if hard == resource.RLIM_INFINITY else hard)
        return new


class DescriptorsExhausted(Exception):
    def __init__(self, in_use: int, limit: int, later: int) -> None:
        super().__init__(in_use, limit, later)
        self.in_use, self.limit, self.later = in_use, limit, later


BUDGET = Budget()
