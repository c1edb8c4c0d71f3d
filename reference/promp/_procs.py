"""Process helpers both sides use: names, the child subreaper flag, ending a process and what it started."""

from __future__ import annotations

import ctypes
import os
import signal

import psutil

_PR_SET_NAME = 15
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_libc = ctypes.CDLL(None, use_errno=True)


def set_process_name(name: bytes) -> None:
    """The name ps, top and psutil show (the command line of a fork stays its zygote's)."""
    _libc.prctl(_PR_SET_NAME, name[:15], 0, 0, 0)


def is_subreaper() -> bool:
    flag = ctypes.c_int(0)
    _libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    return bool(flag.value)


def set_subreaper(on: bool) -> None:
    if _libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


# Python's own start-up ignores these; every other signal a worker or the zygote finds ignored, it inherited
_PYTHONS_OWN = {signal.SIGPIPE, signal.SIGXFSZ}


def default_signals() -> None:
    """Every signal's default disposition, and an empty mask: what a process started by a manager begins with,
    whatever the manager ignored or blocked (an ignored SIGCHLD, say, makes every child's exit status read 0)."""
    for sig in signal.valid_signals():
        if sig in _PYTHONS_OWN:
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL, SIGSTOP, real-time signals Python does not name
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def parent_of(pid: int) -> int | None:
    """``pid``'s parent, read from /proc (psutil takes ten times as long, once per worker start)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split(None, 2)[1])
    except (OSError, ValueError):
        return None


def stopped_in(pid: int) -> bool:
    """Whether ``pid`` or a process below it is stopped (SIGSTOP, Ctrl-Z): it will not answer, however long we wait.
    (A tracing stop, under strace or a debugger, passes by itself: it does not count.)"""
    try:
        root = psutil.Process(pid)
        for proc in [root, *_below(root)]:
            if proc.status() == psutil.STATUS_STOPPED:
                return True
    except psutil.Error:  # (one that ended meanwhile is not stopped; the others are looked at again by the caller)
        pass
    return False


_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")  # CONFIG_PROC_CHILDREN


def descendants(pid: int) -> list[int] | None:
    """The pids below ``pid``, from each thread's ``/proc/<pid>/task/<tid>/children``: a walk over them alone, where
    psutil reads every process's stat file (a thousand workers each looking at once made that quadratic).
    None where the kernel does not offer those files."""
    if not _CHILDREN_FILES:
        return None
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:  # gone meanwhile
            continue
        for tid in tids:
            try:
                with open(f"/proc/{parent}/task/{tid}/children", "rb") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:  # the thread or the process ended meanwhile
                continue
            found += children
            todo += children
    return found


def _below(root: psutil.Process) -> list[psutil.Process]:
    """The live processes below ``root`` (psutil's walk only where /proc has no children files)."""
    pids = descendants(root.pid)
    if pids is None:
        try:
            procs = root.children(recursive=True)
        except psutil.Error:
            return []
    else:
        procs = []
        for pid in pids:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:  # ended meanwhile
                continue
    return [proc for proc in procs if _alive(proc)]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _stop_and_kill(root: psutil.Process, with_root: bool) -> bool:
    """SIGSTOP what is below ``root`` (and ``root``), looking again until nothing new shows up, then SIGKILL it all.

    A stopped process cannot fork, so what a fork loop made between a look and the signal is caught by the
    next look.  False: there was nothing to kill.
    """
    stopped: dict[int, psutil.Process] = {}
    groups: set[int] = {os.getpgrp()}  # never this process's own
    fresh = ([root] if with_root else []) + _below(root)
    for _round in range(50):
        if not fresh:
            break
        for proc in fresh:
            _signal(proc, signal.SIGSTOP, groups)
            stopped[proc.pid] = proc
        fresh = [p for p in _below(root) if p.pid not in stopped]
    killed: set[int] = {os.getpgrp()}
    for proc in stopped.values():
        _signal(proc, signal.SIGKILL, killed)
    for group in groups - killed:  # stopped through a member that has died since: nothing of it stays stopped
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    return bool(stopped)


def _signal(proc: psutil.Process, signum: int, done: set[int]) -> None:
    """Signal ``proc`` and, once, its process group (unless in ``done``): a process that forks and exits over
    and over to change pid escapes a signal by pid, not one to its group."""
    try:
        group = os.getpgid(proc.pid)
        if group not in done:
            done.add(group)
            os.killpg(group, signum)
        proc.send_signal(signum)
    except (OSError, psutil.Error):
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process below it, none of which gets to fork meanwhile."""
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    _stop_and_kill(root, with_root=True)


def end_descendants() -> None:
    """Kill every process this one started, directly or not, escaped ones included (a subreaper gets them back):
    no exit path of a worker leaves them behind."""
    me = psutil.Process()
    for _round in range(20):  # an orphan handed to this subreaper after the last look: look again
        if not _stop_and_kill(me, with_root=False):
            return
