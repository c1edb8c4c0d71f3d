"""Shared fixtures: managers that are always closed, and a check that no process outlives its test."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from harness import helpers
from harness.helpers import gone
from promp import ProManager


def descendants() -> list[psutil.Process]:
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, step: Callable[[], object] | None = None) -> None:
    """Poll ``predicate`` (calling ``step`` in between) until it holds; fail after ``timeout`` seconds."""
    if not helpers.wait_until(predicate, timeout, step):
        raise AssertionError(f"condition not met within {timeout} s")


def raised_in_another_thread(call: Callable[[], object]) -> list[BaseException]:
    """What ``call`` raised when run on a thread of its own (empty if nothing)."""
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return errors


def pump_until(m: ProManager, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    wait_until(predicate, timeout, step=lambda: m.wait(50))


def open_descriptors() -> dict[int, str]:
    """This process's open descriptors, and what each is."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own, closed by now
            pass
    return found


@pytest.fixture(autouse=True, scope="session")
def _zmq_zero_copy_collector() -> None:
    """pyzmq starts one thread, with a context of its own, the first time a process sends a frame without
    copying it (a large one), and keeps it for the process's life: start it now, so that the descriptor
    check below counts it as there before every test rather than as a leak of the first test that sends."""
    import zmq

    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    a.bind("inproc://zero-copy")
    b.connect("inproc://zero-copy")
    a.send(b"x" * 100_000, copy=False)
    b.recv()
    a.close()
    b.close()
    ctx.term()


@pytest.fixture(autouse=True)
def no_process_left_behind(_zmq_zero_copy_collector: None) -> Iterator[None]:
    """No process a test started outlives it, and no descriptor it opened stays open."""
    before = {p.pid for p in descendants()}
    fds_before = open_descriptors()
    yield
    deadline = time.monotonic() + 10
    leftovers = [p for p in descendants() if p.pid not in before]
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.05)
        leftovers = [p for p in leftovers if not gone(p.pid)]
    for proc in leftovers:  # clean up before failing, so one failure does not cascade
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    assert not leftovers, f"processes left behind: {[p.pid for p in leftovers]}"
    opened = {}
    while time.monotonic() < deadline:  # a keeper may still be closing what a closed manager held
        opened = {fd: what for fd, what in open_descriptors().items() if fds_before.get(fd) != what}
        if not opened:
            break
        time.sleep(0.05)
    assert not opened, f"descriptors left open: {opened}"


@pytest.fixture
def make_manager() -> Iterator[Callable[..., ProManager]]:
    managers: list[ProManager] = []

    def make(**kwargs: object) -> ProManager:
        m = ProManager(**kwargs)
        managers.append(m)
        return m

    yield make
    for m in managers:
        m.close()


@pytest.fixture
def manager(make_manager: Callable[..., ProManager]) -> ProManager:
    return make_manager()


def call(m: ProManager, target: int, code: str, name: str, *args: object, timeout: float = 30.0) -> object:
    """Run a function in a worker and return its result."""
    m.evalPythonFunction(target, code, name, list(args), True)
    pump_until(m, lambda: m.hasResults(target if target >= 0 else -1), timeout)
    return m.takeResult(target if target >= 0 else -1)
