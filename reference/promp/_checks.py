"""Checks of what callers pass, shared by the manager's and the worker's API: numbers every clock and C type can hold.

Every number a caller gives meets a deadline or a C int somewhere (a socket's timeout, a poll): ``2**70``, ``inf``
and ``nan`` are refused here, at the call, with the bound named, rather than crash a thread later.
"""

from __future__ import annotations

import math
from typing import Any

MAX_MS = 2**31 - 1  # milliseconds: a C int, as the seed's API (about 24.8 days)
MAX_HEARTBEAT = 86_400.0  # seconds: the longest heartbeat interval or timeout a manager takes (a day)


def timeout_ms(value: Any, name: str = "timeout_ms") -> float | None:
    """A timeout in milliseconds as seconds, or None for no limit (a negative value)."""
    if value.__class__ is bool or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of milliseconds, got {type(value).__name__}")
    if not math.isfinite(value) or value > MAX_MS or value < -MAX_MS - 1:
        raise ValueError(f"{name} must be a finite number of milliseconds up to {MAX_MS}, or negative for no limit, got {value!r}")
    return None if value < 0 else value / 1000


def wait_ms(value: Any) -> int:
    """``abortOperation``'s time: an int of milliseconds (negative: no kill), within a C int."""
    if value.__class__ is bool or not isinstance(value, int):
        raise TypeError(f"wait_ms must be an int, got {type(value).__name__}")
    if not -MAX_MS - 1 <= value <= MAX_MS:
        raise ValueError(f"wait_ms must be between {-MAX_MS - 1} and {MAX_MS} milliseconds (negative: no kill), got {value}")
    return value


def heartbeat(interval: Any, timeout: Any) -> tuple[float, float]:
    """A manager's heartbeat settings, in seconds: finite, positive, the interval shorter than the timeout."""
    for name, value in (("heartbeat_interval", interval), ("heartbeat_timeout", timeout)):
        if value.__class__ is bool or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
        if not (math.isfinite(value) and 0 < value <= MAX_HEARTBEAT):
            raise ValueError(f"{name} must be a number of seconds above 0 and up to {MAX_HEARTBEAT:g}, got {value!r}")
    if not interval < timeout:
        raise ValueError(f"heartbeat_interval ({interval!r}) must be shorter than heartbeat_timeout ({timeout!r})")
    return float(interval), float(timeout)


def size_bound(value: Any, name: str) -> int | None:
    """A bound in bytes: an int of 0 or more, or None for no bound."""
    if value is None:
        return None
    if value.__class__ is bool or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}")
    return value


def utf8(value: str, what: str) -> str:
    """``value``, if it can cross to a worker: text that is valid UTF-8 (no lone surrogate, as a file name in
    another encoding leaves)."""
    if value.isascii():  # the usual case, checked in C without a copy
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid UTF-8 text ({exc.reason} at position {exc.start}): it cannot cross to a worker") from None
    return value
