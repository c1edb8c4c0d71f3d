"""Broken: workers read the first two frames of a message and ignore any more, rather than refuse it."""

from promp import wire
from promp.worker import _port
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _first_two(self, frames, where):
    try:
        return wire.decode(self.signer, *frames[:2])
    except wire.ProtocolError as exc:
        self.reject(f"{where}{exc}")
        return []


_port.WorkerPort._decode = _first_two
in_workers(__name__)
