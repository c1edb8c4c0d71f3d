"""Broken: a wait object's msg() goes out before the progress made before it (still coalesced, sent later)."""

from promp import _values
from promp.wire import WaitUpdate
from promp.worker import _api
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _msg_first(self, text):
    self._link.send_now(WaitUpdate("msg", _values.pack(str(text))))


_api.ProWorkerWait.msg = _msg_first
in_workers(__name__)
