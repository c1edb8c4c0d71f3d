"""A fuzz of the public API's numbers and strings (issue 19): whatever a caller passes, every call returns or
raises a clear error (``TypeError``, ``ValueError``, ``OSError`` or ``ProMPError``), at once; no thread of the
manager or the worker dies of it, and the manager is not left busy.

One manager and its worker live through all the examples, so that what one call leaves behind meets the next.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promp import ProManager, ProMPError, ProMPMessage, ProMPRemoteError, ProWorker_All, ProWorker_Any

from .conftest import call, pump_until

CLEAR = (TypeError, ValueError, OSError, ProMPError)
QUICK = 10.0  # seconds: no call may take longer (the waits below are given at most a second)

tricky_text = st.sampled_from(
    ["", "\x00", "a\x00b", "\udce9", "caf\udce9.py", "f\udce9", "def f():\n    return 1\n", "f", "/", ".", "é" * 300, "x" * 70_000]
)
text = st.one_of(tricky_text, st.text(alphabet=st.characters(exclude_categories=()), max_size=40))
huge = st.sampled_from([2**31 - 1, 2**31, 2**63, 2**64, 2**70, -(2**31) - 1, -(2**70)])
floats = st.floats(allow_nan=True, allow_infinity=True)
numbers = st.one_of(st.integers(-5, 5), huge, floats, st.booleans())
anything = st.one_of(numbers, text, st.none(), st.binary(max_size=20), st.lists(st.integers(), max_size=3), st.just({1: 2}))
short_wait = st.one_of(st.integers(-5, 1000), st.floats(-5, 1000), huge, floats, text, st.none(), st.booleans())


def target_in(wid: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(wid), st.sampled_from([ProWorker_All, ProWorker_Any, wid + 1000, 0, -3]), numbers, text, st.none())


def calls(wid: int) -> st.SearchStrategy[tuple[str, tuple[Any, ...]]]:
    target, argv = target_in(wid), st.one_of(st.none(), st.lists(anything, max_size=3), text, numbers)
    code, name = st.one_of(text, anything), st.one_of(text, anything)
    return st.one_of(
        st.tuples(st.just("evalPythonCode"), st.tuples(target, code)),
        st.tuples(st.just("evalPythonFunction"), st.tuples(target, code, name, argv, st.one_of(st.booleans(), anything))),
        st.tuples(st.just("executePythonScript"), st.tuples(target, st.one_of(text, anything))),
        st.tuples(st.just("executePythonFunction"), st.tuples(target, st.one_of(text, anything), name, argv, st.booleans())),
        st.tuples(st.just("sendMessage"), st.tuples(target, st.builds(lambda i, d: (i, d), anything, anything))),
        st.tuples(st.sampled_from(["takeResult", "hasResults", "hasMessage", "getMessage"]), st.tuples(target)),
        st.tuples(st.just("waitForMessage"), st.tuples(target, short_wait)),
        st.tuples(st.just("wait"), st.tuples(short_wait)),
        st.tuples(st.just("abortOperation"), st.tuples(target, st.one_of(st.just(-1), huge, numbers, text, st.none()))),
        st.tuples(st.sampled_from(["workerState", "workerPid", "workerExitCode"]), st.tuples(target)),
        st.tuples(st.just("setOptions"), st.tuples(anything)),
        st.tuples(st.just("createWaitObject"), st.tuples(target, st.none())),
    )


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def perform(m: ProManager, name: str, args: tuple[Any, ...]) -> None:
    if name == "sendMessage":
        ident, data = args[1]
        try:
            args = (args[0], ProMPMessage(ident, data))
        except CLEAR:
            return
    wait_at = {"waitForMessage": 1, "wait": 0}.get(name)
    if wait_at is not None and is_number(args[wait_at]) and not 0 <= args[wait_at] <= 1000 and -(2**31) <= args[wait_at] < 2**31:
        # no limit, or up to 24.8 days: a valid wait for what does not come waits it out, rightly
        args = args[:wait_at] + (0,) + args[wait_at + 1 :]
    if name == "abortOperation" and isinstance(args[1], int) and not isinstance(args[1], bool) and 0 <= args[1] < 2**31:
        args = (args[0], -1)  # a valid kill time would end the worker the next examples need (aborts are ABRT's)
    started = time.monotonic()
    try:
        getattr(m, name)(*args)
    except CLEAR:
        pass
    assert time.monotonic() - started < QUICK, f"{name}{args!r} took {time.monotonic() - started:.1f} s"


@pytest.fixture
def fuzzed(manager: ProManager) -> tuple[ProManager, int]:
    wid = manager.startWorker()
    pump_until(manager, lambda: manager.workerState(wid) == "ready", 30)
    return manager, wid


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_call_of_the_manager_hangs_crashes_a_thread_or_leaves_it_busy(fuzzed: tuple[ProManager, int], data: st.DataObject):
    m, wid = fuzzed
    for name, args in data.draw(st.lists(calls(wid), min_size=1, max_size=4)):
        perform(m, name, args)
    pump_until(m, lambda: not m.isBusy(), 30)
    while m.hasResults(ProWorker_Any):
        m.takeResult(ProWorker_Any)
    assert m.workerState(wid) == "ready", "a call of the fuzz ended the worker"


def test_after_the_fuzz_the_manager_still_serves_and_sees_its_worker_die(fuzzed: tuple[ProManager, int]):
    """What the fuzz above relies on: the same manager, after it, answers and still watches its worker."""
    m, wid = fuzzed
    for name, args in [("abortOperation", (wid, 2**70)), ("wait", (float("nan"),)), ("evalPythonCode", (wid, "\udce9"))]:
        perform(m, name, args)
    assert call(m, wid, "def f(x):\n    return x\n", "f", "still here") == "still here"
    os.kill(m.workerPid(wid), 9)
    pump_until(m, lambda: m.workerState(wid) == "exited", 10)


WORKER_SIDE = """
from Pro.MP import *

def f(calls):
    w = proWorkerObject()
    seen = []
    for name, value in calls:
        try:
            if name == "waitForMessage":
                w.waitForMessage(value)
            elif name == "sendMessage":
                w.sendMessage(ProMPMessage(*value))
            elif name == "msg":
                w.waitObject().msg(value)
            else:
                w.waitObject().progress(value)
            seen.append("ok")
        except (TypeError, ValueError, OSError) as exc:
            seen.append(type(exc).__name__)
    return seen
"""

crossing = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=20), st.none(), st.booleans(), st.binary(max_size=10)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    worker_calls=st.lists(
        st.one_of(
            st.tuples(st.just("waitForMessage"), st.one_of(st.integers(-5, 200), st.floats(-5, 200), crossing)),
            st.tuples(st.just("sendMessage"), st.lists(crossing, min_size=0, max_size=3)),
            st.tuples(st.sampled_from(["msg", "progress"]), crossing),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_no_call_of_the_worker_api_hangs_or_ends_its_task(fuzzed: tuple[ProManager, int], worker_calls: list):
    m, wid = fuzzed
    for name, value in worker_calls:  # a worker's wait of a valid time waits it out: keep them short
        if name == "waitForMessage" and is_number(value) and not 0 <= value <= 200 and -(2**31) <= value <= 2**31:
            return  # no limit, or a long one
    outcome = call(m, wid, WORKER_SIDE, "f", worker_calls)
    assert not isinstance(outcome, ProMPRemoteError), outcome
    assert len(outcome) == len(worker_calls)
    pump_until(m, lambda: not m.isBusy(), 30)
    while m.hasMessage(wid):
        m.getMessage(wid)
