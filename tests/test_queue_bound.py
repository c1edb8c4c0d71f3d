"""What tasks given and not yet done may hold is bounded (``max_queued_bytes``, issue 19 item 11): a task past
the bound is refused at the call with ``ProMPQueueFull``, which keeps nothing of it, and is taken once earlier
tasks have finished."""

from __future__ import annotations

import pytest

from promp import ProManager, ProMPError, ProMPMessage, ProMPQueueFull, ProWorker_All, ProWorker_Any

from .conftest import pump_until

HOLD = "from Pro.MP import *\ndef hold():\n    proWorkerObject().waitForMessage(-1)\n    return 'released'\n"
SIZE = "def size(data):\n    return len(data)\n"
MiB = 1 << 20


def held_worker(m: ProManager) -> int:
    """A worker whose first task runs until it gets a message: what is given to it after stays unfinished."""
    w = m.startWorker()
    m.evalPythonFunction(w, HOLD, "hold", None, True)
    return w


def give_until_refused(m: ProManager, target: int, size: int) -> tuple[int, ProMPQueueFull]:
    for given in range(1000):
        try:
            m.evalPythonFunction(target, SIZE, "size", [b"x" * size], True)
        except ProMPQueueFull as refused:
            return given, refused
    raise AssertionError("no task was refused")


def test_a_task_past_the_bound_is_refused_at_the_call_keeps_nothing_and_is_taken_once_tasks_finish(make_manager):
    m = make_manager(max_queued_bytes=8 * MiB)
    w = held_worker(m)
    given, refused = give_until_refused(m, w, 2 * MiB)
    assert given == 3  # 3 x (2 MiB + code + overhead) fit in 8 MiB, a 4th does not
    assert isinstance(refused, ProMPError) and "max_queued_bytes" in str(refused)
    m.sendMessage(w, ProMPMessage(1))
    pump_until(m, lambda: not m.isBusy(), 30)
    results = [m.takeResult(w) for _ in range(4)]
    assert results == ["released", 2 * MiB, 2 * MiB, 2 * MiB] and not m.hasResults(w)  # the refused one never ran
    m.evalPythonFunction(w, SIZE, "size", [b"x" * (2 * MiB)], True)  # room again
    pump_until(m, lambda: m.hasResults(w), 30)
    assert m.takeResult(w) == 2 * MiB


def test_a_proworker_all_task_counts_a_copy_for_each_worker(make_manager):
    m = make_manager(max_queued_bytes=8 * MiB)
    workers = [held_worker(m) for _ in range(2)]
    given, _ = give_until_refused(m, ProWorker_All, MiB)
    assert given == 3  # 3 x 2 copies of (1 MiB + ...) fit in 8 MiB, a 4th pair does not
    m.sendMessage(ProWorker_All, ProMPMessage(1))
    pump_until(m, lambda: not m.isBusy(), 30)
    for w in workers:
        assert [m.takeResult(w) for _ in range(4)] == ["released", MiB, MiB, MiB] and not m.hasResults(w)


def test_proworker_any_tasks_waiting_for_a_worker_count_too(make_manager):
    m = make_manager(max_queued_bytes=8 * MiB)
    w = held_worker(m)
    given, _ = give_until_refused(m, ProWorker_Any, 2 * MiB)
    assert given == 3
    m.sendMessage(w, ProMPMessage(1))
    pump_until(m, lambda: not m.isBusy(), 30)
    assert sorted(map(str, (m.takeResult(ProWorker_Any) for _ in range(4)))) == sorted(["released"] + [str(2 * MiB)] * 3)


def test_none_means_no_bound(make_manager):
    m = make_manager(max_queued_bytes=None)
    w = held_worker(m)
    for _ in range(20):
        m.evalPythonFunction(w, SIZE, "size", [b"x" * MiB], True)
    m.sendMessage(w, ProMPMessage(1))
    pump_until(m, lambda: not m.isBusy(), 30)


@pytest.mark.parametrize("bad, error", [(True, TypeError), (1.5, TypeError), ("1", TypeError), (-1, ValueError)])
def test_a_bound_that_is_no_size_is_refused_at_construction(bad: object, error: type):
    with pytest.raises(error, match="max_queued_bytes"):
        ProManager(max_queued_bytes=bad)
