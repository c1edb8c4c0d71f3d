"""Broken: evalPythonFunction's code runs with __name__ "__main__", so its `if __name__ == "__main__":` block runs."""

from promp.worker import _tasks
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _as_main(task, args):
    namespace = _tasks._fresh_namespace("__main__")
    exec(_tasks._compile(task.src, "evalPythonFunction"), namespace)
    return _tasks._call(namespace, task.fn, args, "the code")


_tasks.OPERATIONS["func_code"] = _as_main
in_workers(__name__)
