"""Broken: evalPythonFunction's code runs with __name__ "__main__", so its `if __name__ == "__main__":` block runs."""

from promp.worker import _tasks
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_fresh = _tasks._fresh_namespace
_tasks._fresh_namespace = lambda name: _fresh("__main__")
in_workers(__name__)
