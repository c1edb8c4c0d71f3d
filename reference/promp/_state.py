"""Facts about this process that the worker start-up sets once."""

from __future__ import annotations

# How deep this process is in the manager/worker tree: 0 unless started as a worker.
level = 0
# The ProWorker of this process when it is a worker (part 2 gives it its API).
worker = None
# The cgroup this worker moved itself into, if any (``_cgroups``): ended by the worker when its manager is gone.
cgroup: str | None = None
