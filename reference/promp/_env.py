"""The environment contract between a manager and the worker processes it starts.

The manager passes everything a worker needs for its set-up through these
variables (never argv, so the secret is not visible in ``ps``).  The worker
removes them from its environment at start-up so that processes its tasks
start do not inherit them.
"""

from __future__ import annotations

WORKER_ID = "PROMP_WORKER_ID"
SECRET = "PROMP_SECRET"  # hex
TASK_ENDPOINT = "PROMP_TASK_ENDPOINT"
BEAT_ENDPOINT = "PROMP_BEAT_ENDPOINT"  # the manager pings the worker's echo socket from here
ECHO_ENDPOINT = "PROMP_ECHO_ENDPOINT"  # the worker pings the manager's echo socket here
CTRL_ENDPOINT = "PROMP_CTRL_ENDPOINT"  # the manager sends control messages (aborts) from here
ALIVE_FD = "PROMP_ALIVE_FD"  # read end of a pipe whose write end only the manager holds
LEVEL = "PROMP_LEVEL"
HEARTBEAT = "PROMP_HEARTBEAT"  # "interval,timeout" in seconds

ALL = (WORKER_ID, SECRET, TASK_ENDPOINT, BEAT_ENDPOINT, ECHO_ENDPOINT, CTRL_ENDPOINT, ALIVE_FD, LEVEL, HEARTBEAT)
