"""Broken: a task lost with its worker fails with a generic error type, not WorkerExited."""

from promp.manager import _core as _manager_core
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401


class _Vague(_manager_core.ProMPRemoteError):
    def __init__(self, type_name, *args, **kwargs):
        super().__init__("RuntimeError" if type_name == "WorkerExited" else type_name, *args, **kwargs)


_manager_core.ProMPRemoteError = _Vague
