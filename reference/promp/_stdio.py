"""The standard streams, as both sides of a manager/worker pair use them."""

from __future__ import annotations

import sys

STDOUT, STDERR = 1, 2


def flush_std_streams() -> None:
    """Flush sys.stdout and sys.stderr, whatever the user replaced them with."""
    for target in (sys.stdout, sys.stderr):
        try:
            target.flush()
        except Exception:  # a user's stream object may not flush; output is best effort
            pass
