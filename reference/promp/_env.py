"""The environment contract between a manager and the worker processes it starts.

The manager passes everything a worker needs for its set-up through these
variables (never argv).  The secret itself travels through a pipe whose read
end the worker inherits (``SECRET_FD``): an environment variable would stay
readable in ``/proc/<pid>/environ`` for the worker's whole life, whatever it
removes from ``os.environ``.  The worker removes the variables at start-up so
that processes its tasks start do not inherit them.
"""

from __future__ import annotations

import os

WORKER_ID = "PROMP_WORKER_ID"  # an unguessable token: the worker's ZeroMQ identity, which nobody else can claim
SECRET_FD = "PROMP_SECRET_FD"  # a descriptor to read the secret from (hex), once, to end of file
TASK_ENDPOINT = "PROMP_TASK_ENDPOINT"
BEAT_ENDPOINT = "PROMP_BEAT_ENDPOINT"  # the manager pings the worker's echo socket from here
ECHO_ENDPOINT = "PROMP_ECHO_ENDPOINT"  # the worker pings the manager's echo socket here
CTRL_ENDPOINT = "PROMP_CTRL_ENDPOINT"  # the manager sends control messages (aborts) from here
ALIVE_FD = "PROMP_ALIVE_FD"  # read end of a pipe whose write end only the manager holds
LEVEL = "PROMP_LEVEL"
HEARTBEAT = "PROMP_HEARTBEAT"  # "interval,timeout" in seconds
CGROUP_DIR = "PROMP_CGROUP_DIR"  # optional: the cgroup the worker moves itself into before it connects (``_cgroups``)
DONES = "PROMP_DONES"  # optional: "1" when the manager takes ``dones`` messages (a run of results by column)

# Read by a manager (never set by one): an argv prefix, shell words, put in front of every worker
# command it starts, as valgrind or strace are used.  The harness's fault proxy and scripted worker
# come in through it.
WORKER_PREFIX = "PROMP_WORKER_PREFIX"  # exported as promp.workerPrefixVariable
# Read by a manager: "1" starts every worker as a fresh interpreter instead of a fork of its zygote.
COLD_START = "PROMP_COLD_START"
# Set by a manager for its zygote only: "socket fd,alive fd,idle seconds"; the zygote answers ZYGOTE_READY once it is up.
ZYGOTE = "PROMP_ZYGOTE"
ZYGOTE_READY = b"ready"

ALL = (WORKER_ID, SECRET_FD, TASK_ENDPOINT, BEAT_ENDPOINT, ECHO_ENDPOINT, CTRL_ENDPOINT, ALIVE_FD, LEVEL, HEARTBEAT)


def secret_pipe(secret: bytes) -> int:
    """The read end of a pipe holding ``secret`` (hex): the descriptor a worker inherits."""
    read, write = os.pipe()
    os.write(write, secret.hex().encode())
    os.close(write)
    return read


def read_secret(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return bytes.fromhex(pipe.read().decode())


_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def boot_code(module: str, function: str) -> str:
    """``python -c`` code that runs ``promp.<module>.<function>()``, finding this package even where it is not installed."""
    return (
        "import sys\n"
        f"try:\n    import promp.{module}\n"
        f"except ImportError:\n    sys.path.append({_PACKAGE_PARENT!r})\n    import promp.{module}\n"
        f"promp.{module}.{function}()\n"
    )
