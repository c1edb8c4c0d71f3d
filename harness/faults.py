"""A nemesis for live process trees: kill, pause and resume a manager, its workers, a level, a tree.

It knows nothing of the implementation: a manager is a process, its workers are its children, a
level is a depth in the process tree under the root (0: the root itself), as ``psutil`` sees it.
Every pause is recorded in a file (``PAUSED_FILE``) with the process's start time, so that
``heal()`` resumes exactly what was paused, even from another process after a crashed run, and
never a process that merely reuses a recorded pid.

    from harness.faults import tree, pause, resume, kill, heal
    pause(manager_pid, scope="workers")     # SIGSTOP every worker of the manager
    heal()                                  # SIGCONT everything paused, anywhere
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

PAUSED_FILE = Path(os.environ.get("PROMP_FAULT_STATE", Path(tempfile.gettempdir()) / f"promp-fault-{os.getuid()}.json"))
SCOPES = ("self", "workers", "level", "tree")


class FaultError(Exception):
    """A nemesis operation that cannot be done: the message says why."""


@dataclass(frozen=True)
class Node:
    pid: int
    level: int
    state: str  # running, sleeping, stopped, zombie, ...
    cpu: float  # percent of one core since the previous look (0.0 on the first)
    rss: int  # bytes
    stopped_for: float | None  # seconds since this nemesis paused it, if it did
    command: str


def _process(pid: int) -> psutil.Process:
    try:
        proc = psutil.Process(pid)
        uids = proc.uids()
    except psutil.NoSuchProcess:
        raise FaultError(f"no process with pid {pid}") from None
    except psutil.AccessDenied:
        raise FaultError(f"process {pid} is not ours to touch") from None
    if os.getuid() != 0 and uids.real != os.getuid():
        raise FaultError(f"process {pid} belongs to uid {uids.real}, not to us")
    return proc


def _levels(root: psutil.Process) -> list[tuple[psutil.Process, int]]:
    """Every live process of the tree under ``root`` (itself included), with its depth."""
    found, frontier = [(root, 0)], [(root, 0)]
    while frontier:
        proc, depth = frontier.pop()
        try:
            children = proc.children()
        except psutil.Error:
            continue
        for child in children:
            found.append((child, depth + 1))
            frontier.append((child, depth + 1))
    return found


def tree(pid: int) -> list[Node]:
    """The tree under ``pid`` with each process's level, state, CPU, memory and pause age."""
    paused = _read_paused()
    nodes = []
    for proc, level in sorted(_levels(_process(pid)), key=lambda pair: (pair[1], pair[0].pid)):
        try:
            with proc.oneshot():
                since = paused.get(_key(proc))
                nodes.append(
                    Node(
                        proc.pid,
                        level,
                        proc.status(),
                        proc.cpu_percent(None),
                        proc.memory_info().rss,
                        None if since is None else time.time() - since,
                        " ".join(" ".join(proc.cmdline()).split())[:200],
                    )
                )
        except psutil.Error:
            continue  # it ended while we looked
    return nodes


def targets(pid: int, scope: str = "self", level: int | None = None) -> list[psutil.Process]:
    """The processes an operation on ``pid`` with ``scope`` reaches (never an empty list: that is an error)."""
    if scope not in SCOPES:
        raise FaultError(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    root = _process(pid)
    if scope == "self":
        return [root]
    everything = _levels(root)
    if scope == "tree":
        chosen = [proc for proc, _ in everything]
    else:
        depth = 1 if scope == "workers" else level
        if depth is None or depth < 0:
            raise FaultError("--level needs a level of 0 or more")
        chosen = [proc for proc, d in everything if d == depth and _alive(proc)]
    if not chosen:
        what = "workers" if scope == "workers" else f"processes at level {level}"
        raise FaultError(f"process {pid} has no {what}")
    return chosen


def kill(pid: int, scope: str = "self", level: int | None = None) -> list[int]:
    """SIGKILL; returns the pids signalled."""
    return _signal(targets(pid, scope, level), signal.SIGKILL)


def pause(pid: int, scope: str = "self", level: int | None = None) -> list[int]:
    """SIGSTOP, recorded so that ``heal`` can undo it."""
    chosen = targets(pid, scope, level)
    now = time.time()
    _update_paused(chosen, lambda paused, key: paused.setdefault(key, now))
    return _signal(chosen, signal.SIGSTOP)


def resume(pid: int, scope: str = "self", level: int | None = None) -> list[int]:
    """SIGCONT, and forget the recorded pauses of those processes."""
    chosen = targets(pid, scope, level)
    signalled = _signal(chosen, signal.SIGCONT)
    _update_paused(chosen, lambda paused, key: paused.pop(key, None))
    return signalled


def heal() -> list[int]:
    """Resume every process this nemesis paused and that still runs (the same process, not a reused pid)."""
    resumed = []
    for key in _read_paused():
        pid = key.split(":", 1)[0]
        try:
            proc = psutil.Process(int(pid))
            if _key(proc) == key:
                proc.send_signal(signal.SIGCONT)
                resumed.append(proc.pid)
        except psutil.Error:
            continue
    _write_paused({})
    return resumed


def _signal(procs: list[psutil.Process], sig: int) -> list[int]:
    done = []
    for proc in procs:
        try:
            proc.send_signal(sig)
            done.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            raise FaultError(f"process {proc.pid} is not ours to touch") from None
    return done


def _key(proc: psutil.Process) -> str:
    """A process's record key: its pid and start time, so a reused pid never matches."""
    return f"{proc.pid}:{proc.create_time()}"


def _update_paused(procs: list[psutil.Process], change) -> None:
    """Apply ``change(record, key)`` for each process (that still runs) to the record on disk."""
    paused = _read_paused()
    for proc in procs:
        try:
            change(paused, _key(proc))
        except psutil.Error:
            continue
    _write_paused(paused)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _read_paused() -> dict[str, float]:
    try:
        return json.loads(PAUSED_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _write_paused(paused: dict[str, float]) -> None:
    tmp = PAUSED_FILE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(paused))
    tmp.replace(PAUSED_FILE)
