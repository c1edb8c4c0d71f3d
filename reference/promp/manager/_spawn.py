"""Starting worker processes: cold (a fresh interpreter) or warm (a fork of the manager's zygote).

What a worker is given is spec chapter 13's contract (``_env``): endpoints, level and heartbeat
settings in its environment, the secret through an inherited pipe (never argv or the environment,
which stays readable in ``/proc/<pid>/environ``), the parent-alive pipe, and stdout and stderr
pipes for the manager to read.  Each worker leads a process group of its own, so that what its
tasks start can be ended with it even when it dies without warning.  (Terminal signals then reach
the manager alone: Ctrl-Z stops the manager, and its workers leave after the heartbeat timeout, as
for any frozen manager.)

The launch hook: ``PROMP_WORKER_PREFIX`` (shell words, read at each start) goes in front of the
worker's command, as valgrind or strace are used; such a worker starts cold.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from .. import _cgroups, _env, _fds, _state
from .._errors import ProMPError
from ._zygote import AdoptedProcess, Zygote, ZygoteError

log = logging.getLogger("promp")

WORKER_BOOT = _env.boot_code("worker._main", "main")
_OWN_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
FDS_PER_WORKER = 7  # in the manager: stdout and stderr pipes, a pidfd, one connection on each of 4 sockets
_CONNECTIONS = 4  # of those, the ones a worker opens itself, later, when it starts
_FDS_SPARE = 16  # for spawning (its pipes come and go) and for libzmq, which aborts the process when it runs out


def workerCommand() -> list[str]:
    """The argv that starts a worker process (extension: lets a harness drive a worker over the wire)."""
    return [sys.executable, "-c", WORKER_BOOT]


def launch_prefix() -> list[str]:
    """The argv prefix ``PROMP_WORKER_PREFIX`` names, if any (read at each start)."""
    words = os.environ.get(_env.WORKER_PREFIX, "")
    try:
        return shlex.split(words)
    except ValueError as exc:
        raise ProMPError(f"{_env.WORKER_PREFIX} is not a valid list of shell words ({exc}): {words!r}") from None


def check_fd_budget(starting: int = 0) -> None:
    """Make room for another worker's descriptors (``_fds``: the soft limit is raised if need be), or refuse it.

    ``starting`` workers have not said hello yet: their connections, which cost descriptors when
    the manager's sockets accept them, may not be counted in what is open now.
    """
    try:
        _fds.BUDGET.reserve(FDS_PER_WORKER, later=_CONNECTIONS * starting + _FDS_SPARE)
    except _fds.DescriptorsExhausted as exc:
        raise ProMPError(
            f"cannot start another worker: {exc.in_use} of the process's {exc.limit} file descriptors are in use, "
            f"{starting} worker(s) still starting will need {_CONNECTIONS * starting} more, a worker needs "
            f"{FDS_PER_WORKER}, and {_FDS_SPARE} stay spare for libzmq, which aborts the process when it runs out "
            "(the hard limit allows no more: raise it with ulimit -Hn, or see limits.conf)"
        ) from None


def new_identity() -> bytes:
    """A worker's ZeroMQ identity: an unguessable token, so that no other peer can claim it first."""
    return secrets.token_hex(12).encode()


class Spawner:
    """Starts the workers of one manager; keeps its zygote."""

    def __init__(
        self,
        endpoints: dict[str, str],
        alive_fd: int,
        secret: bytes,
        heartbeat: tuple[float, float],
        start_timeout: float,
        warm_start: bool,
        on_zygote: Callable[[Zygote], None],
    ) -> None:
        self.endpoints = endpoints
        self.alive_fd = alive_fd
        self.secret = secret
        self.heartbeat = heartbeat
        self.start_timeout = start_timeout
        self.warm_start = warm_start and os.environ.get(_env.COLD_START) != "1"
        self.zygote: Zygote | None = None
        self._on_zygote = on_zygote  # a new zygote: its manager watches it

    @functools.cached_property
    def cgroup_dir(self) -> str | None:
        """Where this manager's workers get cgroups of their own (``_cgroups``), or None: looked up once, at first need."""
        directory = _cgroups.own_dir()
        if directory is not None:
            _cgroups.remove_stale(directory)
        return directory

    def start(self, identify: Callable[[], bytes], cgroup: str | None) -> subprocess.Popen | AdoptedProcess:
        """A new worker process; ``identify()`` gives it an identity (and makes it known) before it can connect.

        ``cgroup``: the cgroup it moves itself into, if any.

        A warm start that fails late gets a fresh identity and a fresh secret pipe for the cold one: whatever the
        zygote's fork did with the old ones (it may have read the secret) must not pass for this worker.
        """
        interval, timeout = self.heartbeat
        env = dict(os.environ)
        env.update(
            {
                _env.TASK_ENDPOINT: self.endpoints["task"],
                _env.BEAT_ENDPOINT: self.endpoints["beat"],
                _env.ECHO_ENDPOINT: self.endpoints["echo"],
                _env.CTRL_ENDPOINT: self.endpoints["ctrl"],
                _env.ALIVE_FD: str(self.alive_fd),
                _env.LEVEL: str(_state.level + 1),
                _env.HEARTBEAT: f"{interval},{timeout}",
                _env.DONES: "1",  # this manager takes a run of results as one ``dones``
            }
        )
        if cgroup is not None:
            env[_env.CGROUP_DIR] = cgroup
        prefix = launch_prefix()
        proc = None
        if not prefix and self.warm_start:
            proc = self._with_secret(env, identify, self._fork)
        if proc is None:  # a secret pipe of its own: a warm start that failed late may have emptied the other
            proc = self._with_secret(env, identify, lambda env, fd: self._start_cold(prefix + workerCommand(), env, fd))
        return proc

    def _with_secret(self, env: dict[str, str], identify: Callable[[], bytes], start: Callable) -> Any:
        """``start(env, secret_fd)`` with a fresh identity and a fresh pipe holding the secret (closed after)."""
        secret_fd = _env.secret_pipe(self.secret)
        env[_env.SECRET_FD] = str(secret_fd)
        env[_env.WORKER_ID] = identify().decode()
        try:
            return start(env, secret_fd)
        finally:
            os.close(secret_fd)

    def _start_cold(self, command: list[str], env: dict[str, str], secret_fd: int) -> subprocess.Popen:
        try:
            return subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(self.alive_fd, secret_fd),
                **_OWN_GROUP,
            )
        except OSError as exc:
            raise ProMPError(f"cannot start a worker: {shlex.join(command[:1])} failed ({exc.strerror})") from exc

    def _fork(self, env: dict[str, str], secret_fd: int) -> AdoptedProcess | None:
        """A worker forked by the zygote (started now if need be), or None: then it starts cold."""
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            for _attempt in range(2):
                if not self.warm_start:
                    break
                zygote = self.zygote
                if zygote is not None and zygote.killed:
                    self._give_up_zygote("the zygote was killed")
                    break
                if zygote is None or not zygote.usable:  # not started yet, ended idle, or under another PYTHON* set-up
                    zygote = self._new_zygote()
                try:
                    return AdoptedProcess(zygote.spawn(env, (out_w, err_w, secret_fd), self.start_timeout), out_r, err_r)
                except ZygoteError as exc:
                    if not zygote.ended_idle:  # it froze or is broken: no second try
                        self._give_up_zygote(str(exc))
        finally:
            os.close(out_w)
            os.close(err_w)
        os.close(out_r)
        os.close(err_r)
        return None

    def _give_up_zygote(self, reason: str) -> None:
        log.warning("%s; workers of this manager start cold from now on", reason)
        self.warm_start = False
        self.zygote.close()

    def _new_zygote(self) -> Zygote:
        if self.zygote is not None:
            self.zygote.close()
        self.zygote = Zygote(self.alive_fd, self.heartbeat[1])
        self._on_zygote(self.zygote)
        return self.zygote

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
