"""The worker's side of the wire, driven by a scripted manager (``harness.wire.FakeManager``)."""

from __future__ import annotations

import msgpack
import pytest

from harness.wire import FakeManager
from promp import workerCommand

TASKS = 40


def results_of_a_batch(env: dict[str, str]) -> tuple[list[tuple[int, int]], set[str]]:
    """Give a worker ``TASKS`` quick tasks in one batch: their results in the order they came, and the kinds of frame."""
    fake = FakeManager(workerCommand(), env=env)
    try:
        assert fake.recv()[0]["k"] == "hello"
        square = {"k": "task", "op": "func_code", "want": True, "src": "def f(i):\n    return i * i\n", "fn": "f"}
        items = [[{**square, "t": t}, msgpack.packb([t])] for t in range(1, TASKS + 1)]
        fake.send({"k": "batch", "n": TASKS}, msgpack.packb(items))
        results, kinds = [], set()
        while len(results) < TASKS:
            head, payload = fake.recv()
            kinds.add(head["k"])
            inner = msgpack.unpackb(payload) if head["k"] == "batch" else [[head, payload]]
            for h, p in inner:
                if h["k"] == "dones":
                    ts, oks, _dts, payloads = msgpack.unpackb(p)
                    results += [(t, msgpack.unpackb(r)) for t, ok, r in zip(ts, oks, payloads, strict=True) if ok]
                    kinds.add("dones")
                else:
                    results.append((h["t"], msgpack.unpackb(p)))
        return results, kinds
    finally:
        fake.close()


@pytest.mark.parametrize("told", [True, False], ids=["PROMP_DONES=1", "not told"])
def test_a_worker_sends_a_run_of_results_as_dones_only_when_its_manager_takes_them(told: bool):
    results, kinds = results_of_a_batch({"PROMP_DONES": "1"} if told else {})
    assert results == [(t, t * t) for t in range(1, TASKS + 1)]  # all of them, in order, either way
    assert ("dones" in kinds) == told


def test_a_worker_says_in_its_hello_that_it_takes_tasks_and_runs_a_tasks_message_in_order():
    fake = FakeManager(workerCommand())
    try:
        head, _ = fake.recv()
        assert head["k"] == "hello" and head.get("tasks") is True
        n = 5
        columns = [list(range(1, n + 1)), ["func_code"] * n, [True] * n, ["def f(i):\n    return -i\n"] * n, [None] * n, ["f"] * n,
                   [msgpack.packb([t]) for t in range(1, n + 1)]]  # fmt: skip
        fake.send({"k": "tasks", "n": n}, msgpack.packb(columns))
        results: list[tuple[int, int]] = []
        while len(results) < n:
            head, payload = fake.recv()
            inner = msgpack.unpackb(payload) if head["k"] == "batch" else [[head, payload]]
            results += [(h["t"], msgpack.unpackb(p)) for h, p in inner]
        assert results == [(t, -t) for t in range(1, n + 1)]
    finally:
        fake.close()
