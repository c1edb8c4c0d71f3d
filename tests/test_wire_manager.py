"""The manager's side of the wire, driven by a scripted worker that comes in through the launch hook."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import msgpack
import pytest

from harness.wire import FakeWorker
from promp import ProManager

from .conftest import pump_until


@pytest.fixture
def scripted(manager: ProManager) -> Iterator[tuple[ProManager, int, FakeWorker]]:
    fake = FakeWorker()
    try:
        with fake:
            w = manager.startWorker()
        fake.connect()
        fake.hello()
        yield manager, w, fake
    finally:
        fake.close()


def test_a_replayed_done_is_logged_and_not_taken(scripted, caplog):
    m, w, fake = scripted
    m.evalPythonFunction(w, "def f():\n    return 1\n", "f", None, True)
    head, _ = fake.recv(pump=m.processMessages)
    done = fake.send({"k": "done", "t": head["t"], "ok": True}, msgpack.packb("first"))
    pump_until(m, lambda: m.hasResults(w))
    assert m.takeResult(w) == "first"
    m.evalPythonFunction(w, "def f():\n    return 2\n", "f", None, True)
    head, _ = fake.recv(pump=m.processMessages)
    with caplog.at_level(logging.WARNING, logger="promp"):
        fake.send_raw(done)
        pump_until(m, lambda: "which it was not given or already finished" in caplog.text)
    assert m.isBusy() and not m.hasResults(w)
    fake.send({"k": "done", "t": head["t"], "ok": True}, msgpack.packb("second"))
    pump_until(m, lambda: m.hasResults(w))
    assert m.takeResult(w) == "second"


def test_the_hook_is_read_when_each_worker_starts_and_restored_after(manager, monkeypatch):
    monkeypatch.delenv("PROMP_WORKER_PREFIX", raising=False)
    fake = FakeWorker()
    try:
        with fake:
            assert "harness.wire" in os.environ["PROMP_WORKER_PREFIX"]
            manager.startWorker()
        assert "PROMP_WORKER_PREFIX" not in os.environ
        fake.connect()
        assert fake.env["PROMP_LEVEL"] == "1" and fake.secret and fake.pid
    finally:
        fake.close()


def test_the_manager_takes_a_run_of_results_as_one_dones_and_says_so_to_its_workers(scripted):
    m, w, fake = scripted
    assert fake.env.get("PROMP_DONES") == "1"  # how a worker knows it may send them
    for i in range(3):
        m.evalPythonFunction(w, "def f(i):\n    return i\n", "f", [i], True)
    ts = []
    while len(ts) < 3:
        head, payload = fake.recv(pump=m.processMessages)
        inner = msgpack.unpackb(payload) if head["k"] == "batch" else [[head, payload]]
        ts += [h["t"] for h, _ in inner]
    error = msgpack.packb(["ValueError", "no", "Traceback ..."])
    columns = [ts, [True, False, True], [0.001, None, 2], [msgpack.packb("a"), error, b"\xc1"]]  # dt: a number, or nil
    fake.send({"k": "dones", "n": 3}, msgpack.packb(columns))
    pump_until(m, lambda: not m.isBusy())
    first, second, third = (m.takeResult(w) for _ in range(3))
    assert first == "a" and m.takeResult(w) is None
    assert (second.type, second.message) == ("ValueError", "no")  # a failure, as a done would say it
    assert third.type == "ProtocolError" and "could not be decoded" in third.message  # fails only its own task


def test_a_malformed_dones_is_dropped_and_its_tasks_wait(scripted, caplog):
    m, w, fake = scripted
    m.evalPythonFunction(w, "def f():\n    return 1\n", "f", None, True)
    head, _ = fake.recv(pump=m.processMessages)
    with caplog.at_level(logging.WARNING, logger="promp"):
        fake.send({"k": "dones", "n": 1}, msgpack.packb([[head["t"]], ["yes"], [None], [msgpack.packb(1)]]))
        pump_until(m, lambda: "each ok a bool" in caplog.text)
    assert m.isBusy() and not m.hasResults(w)
    fake.send({"k": "dones", "n": 1}, msgpack.packb([[head["t"]], [True], [None], [msgpack.packb(2)]]))
    pump_until(m, lambda: m.hasResults(w))
    assert m.takeResult(w) == 2


@pytest.mark.parametrize("takes", [True, False], ids=["hello says tasks", "plain hello"])
def test_the_manager_sends_a_run_of_tasks_as_one_tasks_message_only_to_a_worker_that_takes_them(manager: ProManager, takes: bool):
    fake = FakeWorker()
    try:
        with fake:
            w = manager.startWorker()
        fake.connect()
        for i in range(4):  # given before the hello: they wait at its gate, and leave together when it comes
            manager.evalPythonFunction(w, "def f(i):\n    return i\n", "f", [i], True)
        fake.hello(**({"tasks": True} if takes else {}))
        head, payload = fake.recv(pump=manager.processMessages)  # one frame: the four are let go together
        kinds = [h["k"] for h, _ in msgpack.unpackb(payload)] if head["k"] == "batch" else [head["k"]]
        assert kinds == (["tasks"] if takes else ["task"] * 4)
    finally:
        fake.close()
