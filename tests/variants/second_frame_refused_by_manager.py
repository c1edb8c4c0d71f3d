"""Broken: the manager takes a worker's message only in one frame; a result that comes in two is dropped."""

from promp.manager import _port
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_decode = _port.ZmqPort._decode


def _one_frame_only(self, frames):
    if len(frames) != 2:
        self.reject(f"from peer {frames[0][:16]!r}: expected 1 frame after the identity, got {len(frames) - 1}")
        return None
    return _decode(self, frames)


_port.ZmqPort._decode = _one_frame_only
