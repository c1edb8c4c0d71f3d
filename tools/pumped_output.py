"""A task prints LINES lines of 100 bytes while its manager pumps every PAUSE seconds (0: a busy loop).

    python tools/pumped_output.py LINES PAUSE [--no-spool]

Prints one JSON line: seconds from the call to the last line written, the lines the manager wrote
(each checked whole and in order: ``wrong`` counts the others), and how much the manager's peak
memory grew meanwhile.  ``--no-spool`` makes the output spool impossible to create (a temporary
directory that does not exist), so the worker must wait instead.  ``tools/bench.py`` and
``tests/test_output_spool.py`` run it in a process of its own: its peak memory is its own.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import tempfile
import time

from promp import ProManager, ProMPOpt_RedirectOutput

LINE = "x" * 92  # with its 7-digit number and the newline: 100 bytes


class Checked:
    """The manager's stdout: every line whole and in order, nothing kept."""

    def __init__(self) -> None:
        self.count, self.wrong, self.rest = 0, 0, ""

    def write(self, text: str) -> None:
        *whole, self.rest = (self.rest + text).split("\n")
        for line in whole:
            self.wrong += line != f"{self.count:07d}{LINE}"
            self.count += 1

    def flush(self) -> None:
        pass


def main() -> None:
    logging.basicConfig()  # a spool that cannot be written says so
    lines, pause = int(sys.argv[1]), float(sys.argv[2])
    with ProManager() as m:
        if "--no-spool" in sys.argv:
            tempfile.tempdir = "/nonexistent/promp-no-spool"
        m.setOptions(ProMPOpt_RedirectOutput)
        w = m.startWorker()
        m.evalPythonFunction(w, "def up():\n    return 1\n", "up", None, True)
        while m.isBusy():
            m.wait()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = sys.stdout = Checked()
        began = time.perf_counter()
        m.evalPythonCode(w, f"for i in range({lines}):\n    print('%07d' % i + {LINE!r})")
        while m.isBusy():  # the seed's loop, with or without its pause
            m.processMessages()
            if pause:
                time.sleep(pause)
        m.processMessages()
        took = time.perf_counter() - began
        sys.stdout = sys.__stdout__
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    print(json.dumps({"seconds": took, "lines": out.count, "wrong": out.wrong, "grew": grew}))


if __name__ == "__main__":
    main()
