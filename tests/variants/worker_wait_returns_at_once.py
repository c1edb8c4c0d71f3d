"""Broken: a worker's waitForMessage(timeout_ms) does not wait: it only looks whether a message is there."""

from promp.worker import _api as _worker_api
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_wait = _worker_api.ProWorker.waitForMessage
_worker_api.ProWorker.waitForMessage = lambda self, timeout_ms=-1: _wait(self, 0)
in_workers(__name__)
