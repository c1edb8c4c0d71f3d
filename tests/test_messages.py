"""Custom messages between a manager and its workers."""

from __future__ import annotations

import time

import pytest

from promp import ProManager, ProMPError, ProMPMessage, ProMPOpt_RedirectOutput, ProWorker_All, ProWorker_Any, proWorkerObject

from .conftest import call, pump_until, raised_in_another_thread

ECHO_SERVER = """
from Pro.MP import *
def serve(n):
    w = proWorkerObject()
    for _ in range(n):
        if not w.waitForMessage(20000):
            return 'timeout'
        msg = w.getMessage()
        w.sendMessage(ProMPMessage(msg.id + 1, msg.data[::-1]))
    return 'served'
"""


@pytest.mark.parametrize("bad", [-1, 0x80000000, 2**40, "1", 1.0, True, None])
def test_message_ids_outside_the_user_range_are_rejected(bad: object):
    with pytest.raises(ValueError, match="message id"):
        ProMPMessage(bad)  # type: ignore[arg-type]


def test_message_data_must_be_bytes():
    msg = ProMPMessage(0x7FFFFFFF)
    assert (msg.id, msg.data) == (0x7FFFFFFF, b"")
    with pytest.raises(TypeError, match="bytes"):
        msg.data = "text"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="bytes"):
        ProMPMessage(1, bytearray(b"x"))  # type: ignore[arg-type]


def test_messages_both_ways_in_order_before_the_worker_is_even_up(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, ECHO_SERVER, "serve", [50], True)
    for i in range(50):
        manager.sendMessage(wid, ProMPMessage(2 * i, b"abc%d" % i))
    got = []
    while len(got) < 50:
        assert manager.waitForMessage(wid, 20000)
        msg = manager.getMessage(wid)
        got.append((msg.id, msg.data))
    assert got == [(2 * i + 1, (b"abc%d" % i)[::-1]) for i in range(50)]
    pump_until(manager, lambda: manager.hasResults(wid))
    assert manager.takeResult(wid) == "served"
    assert manager.getMessage(wid) is None and not manager.hasMessage(wid)


def test_messages_of_several_megabytes(manager: ProManager):
    wid = manager.startWorker()
    manager.evalPythonFunction(wid, ECHO_SERVER, "serve", [1], True)
    big = bytes(range(256)) * (6 * 4096)  # 6 MiB
    manager.sendMessage(wid, ProMPMessage(10, big))
    assert manager.waitForMessage(wid, 30000)
    assert manager.getMessage(wid) == ProMPMessage(11, big[::-1])


def test_messages_keep_their_place_among_output_and_results(manager: ProManager, capfd):
    manager.setOptions(ProMPOpt_RedirectOutput)
    wid = manager.startWorker()
    code = (
        "from Pro.MP import *\n"
        "def f():\n"
        "    w = proWorkerObject()\n"
        "    for i in range(20):\n"
        "        print('out', i)\n"
        "        w.sendMessage(ProMPMessage(i))\n"
        "    return 'done'\n"
    )
    manager.evalPythonFunction(wid, code, "f", None, True)
    seen, out = 0, ""
    while seen < 20:
        assert manager.waitForMessage(wid, 20000)
        msg = manager.getMessage(wid)
        assert msg.id == seen
        out += capfd.readouterr().out
        assert f"out {seen}\n" in out, "output printed before the message was not written before it"
        seen += 1
    pump_until(manager, lambda: manager.hasResults(wid))
    assert manager.takeResult(wid) == "done"


def test_all_sends_one_copy_to_each_worker_and_any_takes_the_oldest(manager: ProManager):
    ids = [manager.startWorker() for _ in range(3)]
    manager.evalPythonFunction(ProWorker_All, ECHO_SERVER, "serve", [1])
    manager.sendMessage(ProWorker_All, ProMPMessage(100, b"x"))
    replies = []
    while len(replies) < 3:
        assert manager.waitForMessage(ProWorker_Any, 20000)
        replies.append(manager.getMessage(ProWorker_Any))
    assert replies == [ProMPMessage(101, b"x")] * 3
    assert not manager.hasMessage()
    pump_until(manager, lambda: not manager.isBusy())
    assert len(ids) == 3


def test_wait_for_message_returns_as_soon_as_it_arrives_and_times_out_otherwise(manager: ProManager):
    wid = manager.startWorker()
    assert call(manager, wid, "def up():\n    return 1\n", "up") == 1
    manager.evalPythonCode(wid, "import time\nfrom Pro.MP import *\ntime.sleep(0.3)\nproWorkerObject().sendMessage(ProMPMessage(5))")
    t = time.perf_counter()
    assert manager.waitForMessage(wid, 10000)
    assert time.perf_counter() - t < 3
    manager.getMessage(wid)
    t = time.perf_counter()
    assert not manager.waitForMessage(wid, 300)
    assert 0.25 < time.perf_counter() - t < 3


def test_the_worker_side_times_out_and_refuses_other_threads(manager: ProManager):
    code = (
        "import threading, time\n"
        "from Pro.MP import *\n"
        "def f():\n"
        "    w = proWorkerObject()\n"
        "    t = time.monotonic()\n"
        "    timed_out = not w.waitForMessage(200) and time.monotonic() - t >= 0.19\n"
        "    errors = []\n"
        "    def other():\n"
        "        try:\n"
        "            w.sendMessage(ProMPMessage(1))\n"
        "        except Exception as exc:\n"
        "            errors.append(type(exc).__name__ + ': ' + str(exc))\n"
        "    th = threading.Thread(target=other)\n"
        "    th.start()\n"
        "    th.join()\n"
        "    return [timed_out, w.hasMessage(), w.getMessage() is None, errors]\n"
    )
    timed_out, has, none, errors = call(manager, manager.startWorker(), code, "f")
    assert timed_out and not has and none
    assert len(errors) == 1 and errors[0].startswith("ProMPError") and "main thread" in errors[0]


def test_proworkerobject_is_none_outside_workers_and_bad_targets_are_rejected(manager: ProManager):
    assert proWorkerObject() is None
    wid = manager.startWorker()
    with pytest.raises(TypeError, match="ProMPMessage"):
        manager.sendMessage(wid, b"raw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ProWorker_Any"):
        manager.sendMessage(ProWorker_Any, ProMPMessage(1))
    with pytest.raises(ValueError, match="no worker"):
        manager.sendMessage(99, ProMPMessage(1))


def test_manager_messages_only_from_its_thread(manager: ProManager):
    errors = raised_in_another_thread(manager.hasMessage)
    assert len(errors) == 1 and isinstance(errors[0], ProMPError)
