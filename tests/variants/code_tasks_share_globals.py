"""Broken: evalPythonCode tasks run in one namespace kept for the worker's life, so one task's globals leak into the next."""

from promp.worker import _tasks
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_kept = _tasks._fresh_namespace("__main__")


def _shared(task, args):
    exec(_tasks._compile(task.src, "evalPythonCode"), _kept)


_tasks.eval_code = _shared
_tasks.OPERATIONS["code"] = _shared
in_workers(__name__)
