"""Small helpers the spec's examples use for what output cannot show.

Examples import them as ``from harness.helpers import *``.  They know nothing of any
implementation: they look at processes (psutil) and time, nothing else.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import psutil

__all__ = [
    "alive",
    "child_pids",
    "figure",
    "gone",
    "kill",
    "marked",
    "not_applicable",
    "readline",
    "script_file",
    "spawn_script",
    "stopwatch",
    "wait_until",
]

FIGURES_VARIABLE = "PROMP_SPEC_FIGURES"  # the file the runner collects measured figures from
MARK_VARIABLE = "PROMP_SPEC_MARK"  # set by a task: every process started after it carries it
NOT_APPLICABLE = 77  # the exit status of an example that does not apply (automake's "skipped")


def child_pids(pid: int | None = None) -> list[int]:
    """Pids of every live process ``pid`` (this one if None) started, directly or not.

    For this process: its workers, and any helper process its managers keep (a zygote, a launcher).
    """
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    except psutil.Error:
        return []


def gone(pid: int) -> bool:
    """True once ``pid`` has exited and been reaped, or waits only for a parent that cannot reap it.

    A zombie whose parent runs is not gone: a manager must reap the workers that die (and the runner
    reaps the orphans it adopts).  One whose parent is init, or frozen (SIGSTOP), has done all it can.
    """
    try:
        proc = psutil.Process(pid)
        if proc.status() != psutil.STATUS_ZOMBIE:
            return False
        parent = proc.parent()
        return parent is None or parent.pid == 1 or parent.status() == psutil.STATUS_STOPPED
    except psutil.NoSuchProcess:
        return True


def alive(pid: int) -> bool:
    return not gone(pid)


def wait_until(predicate: Callable[[], object], timeout: float, step: Callable[[], object] | None = None) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False); ``step`` runs in between."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        if step is not None:
            step()
        else:
            time.sleep(0.01)
    return True


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stopwatch() -> Callable[[], float]:
    """A function returning the seconds since the stopwatch was made."""
    start = time.monotonic()
    return lambda: time.monotonic() - start


def figure(name: str, value: float, bound: float, unit: str = "s") -> float:
    """Record a measured figure beside the bound its clause sets (the report shows median and worst over
    the runs, ``promp-spec --repeat N``); returns ``value``.  Outside the runner it records nothing."""
    path = os.environ.get(FIGURES_VARIABLE)
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"name": name, "value": value, "bound": bound, "unit": unit}) + "\n")
    return value


def script_file(code: str, name: str = "script.py") -> str:
    """Write ``code`` to a new file (under the current directory, which the runner cleans) and return its absolute path."""
    path = os.path.join(tempfile.mkdtemp(prefix="script-", dir=os.getcwd()), name)
    with open(path, "w") as f:
        f.write(code)
    return path


def spawn_script(code: str) -> subprocess.Popen:
    """Run ``code`` as a separate Python process (e.g. a manager to kill); its stdout is a text pipe."""
    return subprocess.Popen([sys.executable, "-u", script_file(code)], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)


def readline(proc: subprocess.Popen, timeout: float) -> str:
    """The next line ``proc`` prints, or '' if none comes within ``timeout`` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def not_applicable(reason: str) -> None:
    """End the example as not applicable to this implementation or system, saying why.

    Only an optional clause may be ``n/a``: the runner fails a required clause's example that calls this.
    """
    print(f"not applicable: {reason}", file=sys.stderr, flush=True)
    sys.exit(NOT_APPLICABLE)


def require_wire_protocol() -> None:
    """End the example as not applicable unless the implementation's workers, started behind the fault proxy
    through its launch hook, answer through it: the proxy speaks chapter 13's protocol (FLT-5, FLT-6)."""
    from .impl import IMPL_ENV, chosen
    from .run import proxy_problem

    problem = proxy_problem(chosen(os.environ.get(IMPL_ENV)))
    if problem:
        not_applicable(f"the fault proxy needs chapter 13's wire protocol ({problem})")


def marked(token: str) -> list[int]:
    """Live processes (not zombies) of this user started with ``PROMP_SPEC_MARK=token`` in their environment.

    A task that sets ``os.environ["PROMP_SPEC_MARK"]`` marks every program it starts after (``exec``), wherever it
    goes (its own session, a daemon's double fork) and what those fork: the environment looked at is the one a
    process was started with, so a bare ``os.fork()`` of the task itself is not marked.
    """
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get(MARK_VARIABLE) == token:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found
