"""Wait objects on the manager's side, and the simple waits a script can hand to them.

``ProMPWait`` is what ``ProManager.createWaitObject`` returns: it forwards a worker's
``msg``/``progress`` calls to the user's ``ui_wait`` on the manager's thread (inside
``processMessages``/``wait``), and passes the ``ui_wait``'s abort on to the worker's task.  As in
Cerbero, it holds ``ui_wait`` only by weak reference; once the caller drops it, updates are ignored.

``WaitRoutes`` is the narrow interface between the wait objects and their manager: the manager
delivers updates to it and asks it for aborts to pass on; it knows the manager only through two
functions (which task a worker runs, and how to abort it), so a wait object never keeps a manager
alive.

``NTSimpleWait`` is the base class scripts subclass (the seed's ``ProgressWait``); ``TerminalWait``
is what ``Pro.UI.proContext().startWait`` gives outside Cerbero: a rich progress bar on a terminal,
silence otherwise, and Ctrl-C as the abort button.
"""

from __future__ import annotations

import signal
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .. import _values


class NTSimpleWait:
    """A wait object that does nothing but remember whether it was aborted; subclass it."""

    def __init__(self) -> None:
        self._aborted = False

    def msg(self, text: str) -> None:
        pass

    def progress(self, value: int | float) -> None:
        pass

    def wasAborted(self) -> bool:
        return self._aborted

    def abort(self) -> None:
        self._aborted = True

    def processEvents(self) -> None:
        pass

    def stop(self) -> None:
        pass


class WaitRoutes:
    """The wait objects of one manager, by worker: updates in, the ui_waits' aborts out (on the manager's thread)."""

    POLL = 0.05  # seconds between two looks at the ui_waits' abort state, while the manager waits

    def __init__(self, running_task: Callable[[int], int | None], abort: Callable[[int], None]) -> None:
        self._running_task = running_task
        self._abort = abort
        self.waits: dict[int, ProMPWait] = {}  # by worker: while it is empty, the manager has no ui_wait to look at
        self.closed = False

    def add(self, wait: ProMPWait) -> None:
        self.waits[wait.worker] = wait

    def remove(self, wait: ProMPWait) -> None:
        if self.waits.get(wait.worker) is wait:
            del self.waits[wait.worker]

    def deliver(self, wid: int, op: str, payload: bytes) -> None:
        wait = self.waits.get(wid)
        if wait is not None:
            wait.deliver(op, payload)

    def pass_aborts(self) -> int:
        """Abort the running task of each worker whose ui_wait says it was aborted (once per task); how many."""
        aborted = 0
        for wid, wait in list(self.waits.items()):
            task = self._running_task(wid)
            if task is not None and wait.abort_due(task):
                self._abort(wid)
                aborted += 1
        return aborted


class ProMPWait:
    """The manager-side wait object of one worker (from ``createWaitObject``)."""

    def __init__(self, routes: WaitRoutes, worker: int, ui_wait: Any) -> None:
        self._routes = routes
        self.worker = worker
        try:
            self._ui = weakref.ref(ui_wait)
        except TypeError:  # an object that cannot be weakly referenced is held strongly
            self._ui = lambda: ui_wait
        self._aborted_task: int | None = None

    def deliver(self, op: str, payload: bytes) -> None:
        ui = self._ui()
        if ui is None:
            return
        try:
            value = _values.unpack(payload)
        except Exception:
            return
        if op == "msg":
            ui.msg(value)
        elif op == "progress":
            ui.progress(value)

    def abort_due(self, task: int) -> bool:
        """True once for ``task`` (the worker's running task) while the ui_wait says it was aborted."""
        ui = self._ui()
        if ui is None or task == self._aborted_task or not ui.wasAborted():
            return False
        self._aborted_task = task
        return True

    def processEvents(self) -> None:
        """Let the ui_wait process its events and pass its abort on to the worker."""
        ui = self._ui()
        if ui is not None and hasattr(ui, "processEvents"):
            ui.processEvents()
        if not self._routes.closed:
            self._routes.pass_aborts()

    def stop(self) -> None:
        """Stop routing updates, and stop the ui_wait."""
        self._routes.remove(self)
        ui = self._ui()
        if ui is not None and hasattr(ui, "stop"):
            ui.stop()


class TerminalWait(NTSimpleWait):
    """``proContext().startWait(title)`` outside Cerbero: a progress bar on a terminal, Ctrl-C aborts."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self._progress = None
        self._previous_handler = None
        if sys.stdout.isatty():
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[note]}")
            )
            self._task = self._progress.add_task(title, total=100, note="")
            self._progress.start()
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, lambda *_: self.abort())

    def msg(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, note=str(text))

    def progress(self, value: int | float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=value)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None


class _Context:
    """What ``Pro.UI.proContext()`` offers outside Cerbero: only ``startWait``."""

    def startWait(self, title: str) -> TerminalWait:
        return TerminalWait(title)


_context = _Context()


def proContext() -> _Context:
    return _context
