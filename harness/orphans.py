"""Keeping an example's orphans in sight: the runner adopts them, reaps them, and counts them as leftovers.

A worker whose manager was killed, or a process that escaped into a session of its own (``setsid``),
is reparented to the nearest *child subreaper* instead of init.  While an example runs, the runner
is that subreaper (``PR_SET_CHILD_SUBREAPER``), so nothing an example starts can leave our sight;
a thread reaps what it adopted (never the example's own process, which ``Popen`` waits for), so
that a process that ended is gone and not a zombie.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator

import psutil

PR_SET_CHILD_SUBREAPER = 36


def _set_subreaper(on: bool) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def adopted(keep: int) -> list[psutil.Process]:
    """Every live process below this one except ``keep``'s own: what the example left running here."""
    try:
        found = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    alive = []
    for proc in found:
        try:
            if proc.pid != keep and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def reap(keep: int) -> None:
    """Reap the zombies among our children, except ``keep`` (its Popen waits for it)."""
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return
    for child in children:
        if child.pid == keep:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            continue


class Adopting:
    """While open: this process adopts orphans and reaps them every 20 ms."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promp-reaper", daemon=True)

    def __enter__(self) -> Adopting:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        reap(self.keep)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            reap(self.keep)


@contextlib.contextmanager
def subreaper() -> Iterator[None]:
    """This process is a child subreaper inside the block (orphans adopted then stay our children)."""
    _set_subreaper(True)
    try:
        yield
    finally:
        _set_subreaper(False)
