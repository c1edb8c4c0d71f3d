"""``promp.Executor``: a ``concurrent.futures`` process pool on a ``ProManager`` (its pool thread: ``_pool``).

What it adds to ``ProcessPoolExecutor``'s interface: a worker that dies fails only its own calls
(``WorkerExitedError``) and is replaced; ``abort(future, grace)`` stops a running call for real;
``submit_async`` for asyncio.  What it keeps: the signatures, the errors (``RuntimeError`` after
shutdown, ``BrokenProcessPool`` once an initializer failed), ``map``'s chunks, and done-callbacks
run on the pool's own thread.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor as _StdExecutor
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from .._errors import ProMPError
from . import _task
from ._pickling import UnpicklableCall, dump_call, function_key
from ._pool import Call, Pool

_pools: weakref.WeakSet[Pool] = weakref.WeakSet()
_exiting = False
LOOK_AGAIN = 0.05  # seconds a thread in result() waits for another driver before it tries to drive itself
GRACE_AT_MOST = (2**31 - 1) // 1000  # seconds: abortOperation takes a C int of milliseconds


def _after_fork_in_child() -> None:
    """A child made by os.fork() has none of the pools' threads, nor their managers: their Executors refuse calls."""
    for pool in list(_pools):
        pool.forked = True
        pool.wake_lock = threading.Lock()  # the parent's may have been held by one of its threads
        pool.close_wakes()  # its thread did not come along


os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    """The interpreter is ending: every pool finishes what it was given, then ends (its thread is joined next)."""
    global _exiting
    _exiting = True
    for pool in list(_pools):
        pool.close()


if hasattr(threading, "_register_atexit"):  # runs before non-daemon threads are joined, as concurrent.futures does it
    threading._register_atexit(_at_exit)


class Executor(_StdExecutor):
    """A process pool with ``ProcessPoolExecutor``'s interface, on promp's workers.

    ``max_workers``: at most this many workers (default: the processors this process may use),
    started as calls need them.  ``initializer(*initargs)`` runs first in each worker; if it raises,
    the pool is broken (``BrokenProcessPool``), as the standard one is.  ``max_tasks_per_child``:
    a worker ends after that many calls and another takes its place.  ``mp_context`` is accepted
    for compatibility and not used: promp starts its workers itself (forked from a zygote).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple = (),
        max_tasks_per_child: int | None = None,
        mp_context: Any = None,
    ) -> None:
        if _task.importing_main:
            raise RuntimeError(
                "an Executor was started while a worker ran the main script to find a function of __main__: guard the "
                'script\'s top level with if __name__ == "__main__":'
            )
        if max_workers is None:
            max_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        elif not isinstance(max_workers, int) or isinstance(max_workers, bool):
            raise TypeError(f"max_workers must be an int, got {type(max_workers).__name__}")
        elif max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if max_tasks_per_child is not None:
            if not isinstance(max_tasks_per_child, int) or isinstance(max_tasks_per_child, bool):
                raise TypeError("max_tasks_per_child must be an integer")
            if max_tasks_per_child <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        init = dump_call(initializer, tuple(initargs), {}) if initializer is not None else None
        self._max_workers = max_workers
        self._pool = pool = Pool(max_workers, init, max_tasks_per_child)
        _pools.add(pool)
        weakref.finalize(self, pool.close)  # collected without shutdown(): the pool ends once its calls are done
        pool.thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)`` in a worker; a call that cannot be pickled fails its future, not the pool."""
        return self._submit(fn, args, kwargs, may_wait=True)

    def _submit(self, fn: Callable[..., Any], args: tuple, kwargs: dict, may_wait: bool) -> Future:
        """``may_wait``: the submitting thread may wait a few milliseconds to give the call itself (``Pool.kick``)."""
        pool = self._pool
        future = _Future(pool)
        try:
            payload = dump_call(fn, args, kwargs)
        except UnpicklableCall as exc:
            payload = None
            error = exc
        if pool.forked:
            raise ProMPError("this Executor belongs to the parent process (os.fork() copied it): create a new one here")
        with pool.lock:
            if pool.broken is not None:
                raise BrokenProcessPool(pool.broken)
            if pool.closing:
                raise RuntimeError(f"cannot schedule new futures after {'interpreter ' if _exiting else ''}shutdown")
            if payload is None:
                future.set_exception(error)
                return future
            pool.queue.append(Call(future, payload, function_key(fn)))
        pool.kick(may_wait)
        return future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1) -> Iterator[Any]:
        """``fn`` over the iterables, in order; ``chunksize`` > 1 sends that many calls as one task."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout)
        chunks = super().map(partial(_task.run_chunk, fn), _chunks(iterables, chunksize), timeout=timeout)
        return itertools.chain.from_iterable(chunks)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new calls; with ``cancel_futures``, calls not yet given to a worker are cancelled; ``wait``: until all ended."""
        pool = self._pool
        with pool.lock:
            pool.closing = True
            queued = list(pool.queue) if cancel_futures else []
        for call in queued:  # outside the lock: a cancelled future's callbacks may submit (and get the RuntimeError)
            call.future.cancel()
        pool.wake()
        if wait and threading.current_thread() is not pool.thread and not pool.drives_here():  # else: from a done-callback
            pool.thread.join()

    def abort(self, future: Future, grace: float = 1.0) -> bool:
        """Stop a call for real: cancelled if still queued; if running, ``abortOperation`` on its worker.

        The running call's ``wasAborted()`` turns true; after ``grace / 2`` seconds ``ProMPAborted`` is raised
        in its Python code; after ``grace`` its worker is killed (with the calls queued behind it) and replaced.
        The future then fails with ``TaskAborted`` (if the call ended some other way, that stands).
        False if the future was already done.
        """
        if not isinstance(grace, (int, float)) or isinstance(grace, bool):
            raise TypeError(f"grace must be a number of seconds, got {type(grace).__name__}")
        if not 0 <= grace <= GRACE_AT_MOST:
            raise ValueError(f"grace must be between 0 and {GRACE_AT_MOST:,} seconds (what abortOperation's wait_ms holds), got {grace!r}")
        if not isinstance(future, _Future) or future._pool is not self._pool:
            raise ValueError("abort() takes a future of this Executor")
        if future.done():
            return False
        if future.cancel():
            return True
        self._pool.requests.append((future, float(grace)))
        self._pool.wake()
        return True

    async def submit_async(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``await executor.submit_async(fn, ...)``: the call's value, without blocking the event loop."""
        import asyncio

        return await asyncio.wrap_future(self._submit(fn, args, kwargs, may_wait=False))  # the event loop never blocks


class _Future(Future):
    """A future whose waiter drives the pool's manager itself when no other thread does (no hand-off on a round trip).

    Its done-callbacks are run by the pool's thread, whoever set it (``Pool.run_callbacks``)."""

    def __init__(self, pool: Pool) -> None:
        super().__init__()
        self._pool = pool

    def _invoke_callbacks(self) -> None:
        pool = self._pool
        if not self._done_callbacks:
            return
        if not pool.thread.is_alive():  # the pool has ended: nobody else would run them
            super()._invoke_callbacks()
            return
        pool.callbacks_due.append(self)
        if threading.current_thread() is not pool.thread:
            pool.wake()

    def cancel(self) -> bool:
        cancelled = super().cancel()
        if cancelled:
            self._pool.wake()  # a thread driving for it returns
        return cancelled

    def result(self, timeout: float | None = None) -> Any:
        return super().result(self._drive(timeout))

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return super().exception(self._drive(timeout))

    def _drive(self, timeout: float | None) -> float | None:
        """Drive until done or ``timeout``; what is left of the timeout for the standard wait (0 once it passed).

        While another thread drives, wait for it, and look again every ``LOOK_AGAIN`` s: the pool's thread may
        be held by a done-callback, and then this thread drives for itself."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pool = self._pool
        while not self.done():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            if not pool.drive_until(self, remaining):
                with self._condition:
                    if not self.done():
                        self._condition.wait(LOOK_AGAIN if remaining is None else min(remaining, LOOK_AGAIN))
        return None if deadline is None else max(0.0, deadline - time.monotonic())


def _chunks(iterables: tuple, chunksize: int) -> Iterator[list]:
    it = zip(*iterables)  # noqa: B905 - map stops at the shortest, as the built-in does
    while chunk := list(itertools.islice(it, chunksize)):
        yield chunk
