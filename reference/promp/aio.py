"""asyncio faces of promp: wait for a ``ProManager`` without blocking the event loop.

``await promp.aio.wait(manager)`` is ``manager.wait()`` for a coroutine: the loop watches the
manager's descriptor (``ProManager.fileno()``, readable when something may have arrived) with
``add_reader``, and the messages are handled on the loop's thread, which must be the manager's.
No thread, no polling with sleeps.  For a pool, ``await executor.submit_async(fn, ...)`` and
``loop.run_in_executor(promp.Executor(), fn, ...)`` both work (``promp.Executor``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["wait", "wait_for_message"]


async def wait(manager: Any, timeout_ms: int = -1) -> bool:
    """Like ``manager.wait(timeout_ms)``, without blocking the loop: True once something arrived or nothing is left to do."""
    return await _until(manager, lambda: manager.wait(0), timeout_ms)


async def wait_for_message(manager: Any, target: int, timeout_ms: int = -1) -> bool:
    """Like ``manager.waitForMessage(target, timeout_ms)``, without blocking the loop."""
    return await _until(manager, lambda: manager.waitForMessage(target, 0), timeout_ms)


async def _until(manager: Any, look: Any, timeout_ms: int) -> bool:
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool):
        raise TypeError(f"timeout_ms must be an int, got {type(timeout_ms).__name__}")
    loop = asyncio.get_running_loop()
    deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
    fd = manager.fileno()
    while True:
        if look():  # it ends with a look at the socket: the descriptor then signals the next arrival
            return True
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        arrived = loop.create_future()
        loop.add_reader(fd, _resolve, arrived)
        try:
            await asyncio.wait_for(arrived, remaining)
        except asyncio.TimeoutError:
            pass
        finally:
            loop.remove_reader(fd)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
