"""One worker's OS resources in its manager, owned in one place: ``close()`` releases them all.

A worker costs its manager a process (``subprocess.Popen``, or ``AdoptedProcess`` for a forked
one), a pidfd (its exit is seen in milliseconds), two output pipes, an identity and a signer, and
where the system allows it a cgroup (``_cgroups``).
They are released when the worker's exit is final (its output read), and when the manager closes,
whichever comes first; releasing twice is harmless.  The keeper owns the descriptors while the
worker lives: only it closes them (under the shell's lock), after taking them off its poller.
"""

from __future__ import annotations

import os
import signal
import subprocess

from .. import _cgroups
from .._procs import kill_tree
from ..wire import Signer
from ._pipes import OutputPipes
from ._zygote import AdoptedProcess


class WorkerHandle:
    def __init__(
        self, wid: int, identity: bytes, signer: Signer, proc: subprocess.Popen | AdoptedProcess, cgroup: str | None = None
    ) -> None:
        self.wid = wid
        self.cgroup = cgroup
        self.identity = identity
        self.signer = signer
        self.proc = proc
        self.pid = proc.pid
        self.pipes = OutputPipes(proc.stdout, proc.stderr)
        self.pidfd: int | None = os.pidfd_open(proc.pid)  # readable once the process has ended
        self.closed = False
        self.takes_tasks: bool | None = None  # its hello said it takes ``tasks`` messages (None: nothing came yet)

    def reap(self) -> int | None:
        """The exit status of the ended process (reaped now); what it started is killed first, its pidfd closed.

        What its tasks started ends with it, however it ended (even killed from outside, with no chance
        to do it itself): they are in its cgroup, if it has one, and those that did not leave its process
        group are in that group, killed before reaping, while the zombie keeps the group's id from being reused.
        """
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:  # nothing left in the group
            pass
        self._end_cgroup(wait=0.05)
        self.close_pidfd()
        return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL the worker and all it started."""
        kill_tree(self.pid)
        if self.cgroup is not None:
            _cgroups.kill(self.cgroup)

    def _end_cgroup(self, wait: float) -> None:
        if self.cgroup is not None and _cgroups.end(self.cgroup, wait):
            self.cgroup = None

    def close_pidfd(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._end_cgroup(wait=0.2)
        self.close_pidfd()
        self.pipes.close()
