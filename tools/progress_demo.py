"""Ten workers, ten progress bars, a key to stop each: the seed's custom-view example in a terminal.

    python tools/progress_demo.py          press 0-9 to abort that worker's task, q to quit
    python tools/progress_demo.py --auto   no keyboard: aborts workers 0, 3 and 6 along the way

Each worker runs the seed's ``doSomething`` loop; its wait object's progress goes
to a bar through ``createWaitObject``, and a key calls ``abortOperation(worker, 1000)``
as the seed's 'Stop' buttons do.
"""

from __future__ import annotations

import argparse
import select
import sys
import termios
import time
import tty
from contextlib import contextmanager

from rich.live import Live
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from promp import NTSimpleWait, ProManager, ProMPOpt_AtomicOutput

REMOTE = """
def doSomething(wo):
    import time
    i = 1
    while not wo.wasAborted() and i < 101:
        time.sleep({step})
        wo.progress(i)
        i += 1
    return 'stopped at %d%%' % i if wo.wasAborted() else 'done'

def stub():
    from Pro.MP import proWorkerObject
    return doSomething(proWorkerObject().waitObject())
"""


class BarWait(NTSimpleWait):
    """The seed's ProgressWait, drawing on a rich progress bar instead of a Cerbero control."""

    def __init__(self, bars: Progress, task: int) -> None:
        super().__init__()
        self.bars = bars
        self.task = task

    def progress(self, value: int) -> None:
        self.bars.update(self.task, completed=value)


@contextmanager
def keys(enabled: bool):
    if not enabled:
        yield lambda: None
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield lambda: sys.stdin.read(1) if select.select([sys.stdin], [], [], 0)[0] else None
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--auto", action="store_true", help="no keyboard: abort a few workers on a timer")
    parser.add_argument("--step", type=float, default=0.05, help="seconds per percent (default 0.05)")
    opts = parser.parse_args()
    interactive = not opts.auto and sys.stdin.isatty()

    bars = Progress(TextColumn("worker {task.fields[n]}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[note]}"))
    with ProManager() as m, Live(bars, refresh_per_second=20, transient=False), keys(interactive) as read_key:
        m.setOptions(ProMPOpt_AtomicOutput)
        workers, waits = [], []  # keep references to all wait objects, as the seed says
        for n in range(10):
            wid = m.startWorker()
            ui_wait = BarWait(bars, bars.add_task("", total=100, n=n, note=""))
            waits.append((ui_wait, m.createWaitObject(wid, ui_wait)))
            workers.append(wid)
            m.evalPythonFunction(wid, REMOTE.format(step=opts.step), "stub", None, True)
        auto_aborts = {0: 1.0, 3: 2.0, 6: 3.0} if opts.auto else {}
        started = time.monotonic()
        while m.isBusy():
            m.wait(50)
            for n, at in list(auto_aborts.items()):
                if time.monotonic() - started >= at:
                    m.abortOperation(workers[n], 1000)
                    del auto_aborts[n]
            key = read_key()
            if key and key.isdigit():
                m.abortOperation(workers[int(key)], 1000)
                bars.update(waits[int(key)][0].task, note="stopping...")
            elif key == "q":
                break
            for n, wid in enumerate(workers):
                if m.hasResults(wid):
                    bars.update(waits[n][0].task, note=str(m.takeResult(wid)))
        for n, wid in enumerate(workers):
            if m.hasResults(wid):
                bars.update(waits[n][0].task, note=str(m.takeResult(wid)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
