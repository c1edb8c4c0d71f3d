"""Broken: a worker's own calls are taken from any thread (two threads then share the task socket)."""

from promp.worker import _api as _worker_api
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_worker_api._main_thread_only = lambda what: None
in_workers(__name__)
