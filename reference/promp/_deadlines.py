"""Every deadline of one side in one heap, as trio's ``Deadlines``: the shell asks one question.

A deadline belongs to a key (a worker's heartbeat, its stop, its abort, ...), and its owner can say
at any moment what the key's deadline is now (``current(key)``; None: it has none).  The heap holds
at most one live entry per key.  An owner calls ``add`` only when a key's deadline may have moved
*earlier* (or appeared); when it moves later or goes away, nothing is done, and the entry, stale,
is set right when it comes up: ``next`` and ``due`` ask ``current`` and push the key back at its
real time.  So an answered heartbeat (its deadline moves later, thousands of times a second with
many workers) costs nothing here, and ``next`` is exact.

Pure: no clock, no thread; the caller says what time it is.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable


class Deadlines:
    __slots__ = ("_heap", "_queued", "_current", "_seq", "moved")

    def __init__(self, current: Callable[[Hashable], float | None]) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._queued: dict[Hashable, float] = {}  # key -> the time of its live entry
        self._current = current
        self._seq = 0  # ties break by insertion, never by comparing keys
        self.moved = False  # the earliest deadline may have moved earlier since the owner last looked (it clears this)

    def add(self, key: Hashable, when: float | None) -> None:
        """``key``'s deadline is now ``when`` (or earlier than it was): make sure the heap has it by then."""
        if when is None:
            return
        queued = self._queued.get(key)
        if queued is not None and queued <= when:
            return
        self._queued[key] = when
        if not self._heap or when < self._heap[0][0]:
            self.moved = True
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, key))

    def next(self) -> float | None:
        """The earliest deadline of any key, exactly (stale entries are set right on the way)."""
        heap = self._heap
        while heap:
            when, _, key = heap[0]
            if self._queued.get(key) != when:  # superseded by an earlier entry of the same key
                heapq.heappop(heap)
                continue
            actual = self._current(key)
            if actual == when:
                return when
            heapq.heappop(heap)
            del self._queued[key]
            self.add(key, actual)
        return None

    def due(self, now: float) -> list[Hashable]:
        """The keys whose deadline has come, taken out: the caller handles each, then ``add``s its next deadline."""
        keys = []
        while (when := self.next()) is not None and when <= now:
            key = heapq.heappop(self._heap)[2]
            del self._queued[key]
            keys.append(key)
        return keys

    def __len__(self) -> int:
        return len(self._queued)
