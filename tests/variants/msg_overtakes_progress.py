"""Broken: a wait object's msg goes out at once, ahead of the coalesced progress made before it."""

from promp import _protocol, _values, _worker_api
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _msg_first(self, text):
    self._loop.send_now(_protocol.wait("msg"), _values.pack(str(text)))


_worker_api.ProWorkerWait.msg = _msg_first
in_workers(__name__)
