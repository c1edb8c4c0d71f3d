"""Wait objects: worker progress and messages reach the manager's ui_wait; its abort reaches the worker."""

from __future__ import annotations

import gc
import signal
import threading

from promp import NTSimpleWait, ProManager, TerminalWait

from .conftest import pump_until

REPORTER = """
from Pro.MP import *
def report(n, texts):
    wo = proWorkerObject().waitObject()
    for i in range(n):
        wo.progress(i)
        if i in texts:
            wo.msg('at %d' % i)
    wo.progress(n)
    return 'done'
"""


class Recorder(NTSimpleWait):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []
        self.threads: set[int] = set()

    def msg(self, text: str) -> None:
        self.events.append(("msg", text))
        self.threads.add(threading.get_ident())

    def progress(self, value: int) -> None:
        self.events.append(("progress", value))
        self.threads.add(threading.get_ident())


def test_updates_reach_ui_wait_in_order_on_the_managers_thread(manager: ProManager):
    wid = manager.startWorker()
    ui = Recorder()
    wait = manager.createWaitObject(wid, ui)
    manager.evalPythonFunction(wid, REPORTER, "report", [50, [10, 20, 30]], True)
    pump_until(manager, lambda: not manager.isBusy())
    assert manager.takeResult(wid) == "done"
    texts = [v for k, v in ui.events if k == "msg"]
    assert texts == ["at 10", "at 20", "at 30"]
    progress = [v for k, v in ui.events if k == "progress"]
    assert progress == sorted(progress) and progress[-1] == 50
    for text, at in (("at 10", 10), ("at 20", 20), ("at 30", 30)):  # the progress before a text arrives before it
        before = [v for k, v in ui.events[: ui.events.index(("msg", text))] if k == "progress"]
        assert before and before[-1] == at
    assert ui.threads == {threading.get_ident()}
    wait.stop()


def test_high_rate_progress_is_coalesced_keeping_the_last_value(manager: ProManager):
    wid = manager.startWorker()
    ui = Recorder()
    manager.createWaitObject(wid, ui)
    manager.evalPythonFunction(wid, REPORTER, "report", [200_000, [100_000]], True)
    pump_until(manager, lambda: not manager.isBusy(), timeout=60)
    progress = [v for k, v in ui.events if k == "progress"]
    assert progress[-1] == 200_000
    assert len(progress) < 2_000, f"{len(progress)} progress updates for 200k calls"
    assert [v for k, v in ui.events if k == "msg"] == ["at 100000"]


def test_ui_wait_abort_reaches_the_worker(manager: ProManager):
    code = (
        "import time\nfrom Pro.MP import *\n"
        "def work():\n"
        "    wo = proWorkerObject().waitObject()\n"
        "    for i in range(2000):\n"
        "        if wo.wasAborted():\n"
        "            return 'aborted'\n"
        "        wo.progress(i)\n"
        "        time.sleep(0.01)\n"
        "    return 'finished'\n"
    )
    wid = manager.startWorker()
    ui = Recorder()
    wait = manager.createWaitObject(wid, ui)
    manager.evalPythonFunction(wid, code, "work", None, True)
    pump_until(manager, lambda: any(k == "progress" for k, _ in ui.events))
    ui.abort()
    while not manager.hasResults(wid):
        manager.processMessages()
        wait.processEvents()
        manager.wait(20)
    assert manager.takeResult(wid) == "aborted"
    assert manager.workerState(wid) == "ready"


def test_a_collected_ui_wait_is_harmless(manager: ProManager):
    wid = manager.startWorker()
    ui = Recorder()
    wait = manager.createWaitObject(wid, ui)
    del ui
    gc.collect()
    manager.evalPythonFunction(wid, REPORTER, "report", [100, [5]], True)
    pump_until(manager, lambda: not manager.isBusy())
    wait.processEvents()
    assert manager.takeResult(wid) == "done"
    wait.stop()


def test_simple_and_terminal_waits():
    simple = NTSimpleWait()
    simple.msg("x")
    simple.progress(5)
    simple.processEvents()
    assert not simple.wasAborted()
    simple.abort()
    assert simple.wasAborted()
    before = signal.getsignal(signal.SIGINT)
    terminal = TerminalWait("title")  # stdout is not a terminal here: silent
    terminal.msg("hello")
    terminal.progress(50)
    assert not terminal.wasAborted()
    signal.raise_signal(signal.SIGINT)  # Ctrl-C aborts the wait instead of the program
    assert terminal.wasAborted()
    terminal.stop()
    assert signal.getsignal(signal.SIGINT) is before
