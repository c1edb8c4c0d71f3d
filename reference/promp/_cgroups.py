"""A cgroup per worker, where this user may make one: it holds every process the worker's tasks start.

A process group does not hold a process tree: ``setsid``, ``setpgid`` and a double fork leave it,
and a process that left it outlives a worker killed from outside.  A cgroup (v2) holds them all,
wherever they move in the process tree, and ``cgroup.kill`` ends them as one.  Where the manager's
own cgroup is one this user may write to (root, or a user session that systemd delegates), each
worker moves itself into a cgroup of its own below it (``PROMP_CGROUP_DIR``) before it connects;
the manager ends and removes that cgroup when it reaps the worker, and a worker whose manager is
gone ends its own, after stepping out of it.  Elsewhere, or with ``PROMP_USE_CGROUPS=0``, workers
fall back on the process group and on being child subreapers (``_procs``).

Names: ``promp-<manager pid>-<token>``, one level below the manager's cgroup.  Empty ones that a
killed manager left are removed by the next manager in the same cgroup (``rmdir`` of a cgroup that
still holds a process fails, so a live worker's is never taken).
"""

from __future__ import annotations

import errno
import os
import secrets
import time

USE_CGROUPS = "PROMP_USE_CGROUPS"  # read by a manager: "0" never makes cgroups
PREFIX = "promp-"


def _v2_mount() -> str | None:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup``, or ``.../unified`` on hybrid systems)."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[fields.index("-") + 1] == "cgroup2":
                    return fields[4]
    except (OSError, ValueError, IndexError):
        pass
    return None


def own_dir() -> str | None:
    """This process's cgroup v2 directory, if this user may make cgroups in it and move processes there."""
    if os.environ.get(USE_CGROUPS) == "0":
        return None
    mount = _v2_mount()
    try:
        with open("/proc/self/cgroup") as f:
            path = next((line[3:].strip() for line in f if line.startswith("0::")), None)
    except OSError:
        return None
    if mount is None or path is None or path.endswith(" (deleted)"):
        return None
    directory = os.path.join(mount, path.lstrip("/"))
    if not (os.access(directory, os.W_OK) and os.access(os.path.join(directory, "cgroup.procs"), os.W_OK)):
        return None
    probe = os.path.join(directory, f"{PREFIX}{os.getpid()}-probe")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError:
        return None
    return directory


def new_leaf(directory: str) -> str:
    return os.path.join(directory, f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def join(leaf: str) -> bool:
    """Move this process into ``leaf`` (made here if need be); False where the system refuses."""
    for _attempt in range(2):  # another manager's cleanup may take an empty leaf between the two calls
        try:
            try:
                os.mkdir(leaf)  # the leaf only: a missing parent means the manager's cgroup is gone
            except FileExistsError:
                pass
            _write(os.path.join(leaf, "cgroup.procs"), "0")
            return True
        except FileNotFoundError:
            continue
        except OSError:
            break
    return False


def kill(leaf: str) -> None:
    """SIGKILL every process in ``leaf`` and below, at once (``cgroup.kill``, Linux 5.14), else one by one until none is left."""
    try:
        _write(os.path.join(leaf, "cgroup.kill"), "1")
        return
    except FileNotFoundError:
        if not os.path.isdir(leaf):
            return
    except OSError:
        return
    try:  # older kernels: frozen first (cgroup.freeze, 5.2), so that nothing forks between the look and the kill
        _write(os.path.join(leaf, "cgroup.freeze"), "1")
    except OSError:
        pass
    _kill_listed(leaf, rounds=100)  # a process forking meanwhile (no freezer) needs another round


def kill_others(leaf: str) -> None:
    """SIGKILL every process in ``leaf`` and below but this one, without leaving it (moving out is costly: a thousand
    workers doing it at once wait on each other in the kernel).  A few rounds, for what forks meanwhile."""
    _kill_listed(leaf, rounds=20, spare=os.getpid())


def _kill_listed(leaf: str, rounds: int, spare: int | None = None) -> None:
    """SIGKILL the processes ``leaf`` and the cgroups below it list (but ``spare``), until none is left or ``rounds`` pass."""
    for _round in range(rounds):
        pids = []
        for directory, _, _ in os.walk(leaf):
            try:
                with open(os.path.join(directory, "cgroup.procs")) as f:
                    pids += [pid for line in f if line.strip() and (pid := int(line)) != spare]
            except OSError:
                continue
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def remove(leaf: str, wait: float = 0.0) -> bool:
    """Remove ``leaf`` and the cgroups below it, waiting up to ``wait`` seconds for killed processes to leave; True: gone."""
    deadline = time.monotonic() + wait
    while True:
        try:
            for directory in sorted((path for path, _, _ in os.walk(leaf)), key=len, reverse=True):  # the deepest first
                try:
                    os.rmdir(directory)
                except FileNotFoundError:
                    pass
            return True
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                return False
        time.sleep(0.002)


def end(leaf: str, wait: float) -> bool:
    """Kill everything in ``leaf`` and remove it, waiting up to ``wait`` seconds for the killed to leave; True: gone."""
    kill(leaf)
    return remove(leaf, wait)


def leave_and_end(leaf: str) -> None:
    """From a worker whose manager is gone: step out into the parent cgroup, end everything left in ``leaf``, remove it."""
    try:
        _write(os.path.join(os.path.dirname(leaf), "cgroup.procs"), "0")
    except OSError:
        return
    end(leaf, wait=0.5)


def remove_stale(directory: str) -> None:
    """Remove the empty worker cgroups that killed managers left in ``directory`` (one with a process in it stays)."""
    try:
        names = [name for name in os.listdir(directory) if name.startswith(PREFIX)]
    except OSError:
        return
    for name in names:
        remove(os.path.join(directory, name))
