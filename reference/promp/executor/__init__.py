"""Python-native faces of promp: ``Executor``, a ``concurrent.futures`` process pool (``_executor``, ``_pool``)."""

from ._executor import Executor
from ._pickling import UnpicklableCall
from ._pool import RemoteTraceback, TaskAborted, WorkerExitedError

__all__ = ["Executor", "RemoteTraceback", "TaskAborted", "UnpicklableCall", "WorkerExitedError"]
