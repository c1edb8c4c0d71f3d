"""Broken: workers take a message only in one frame; a task whose arguments come in two is dropped as malformed."""

from promp import wire
from promp.worker import _port
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401


def _one_frame_only(self, frames, where):
    if len(frames) != 1:
        self.reject(f"{where}expected 1 frame, got {len(frames)}")
        return []
    try:
        return wire.decode(self.signer, frames[0])
    except wire.ProtocolError as exc:
        self.reject(f"{where}{exc}")
        return []


_port.WorkerPort._decode = _one_frame_only
in_workers(__name__)
