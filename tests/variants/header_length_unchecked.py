"""Broken: workers take a frame's header length on trust: one past the frame's end is read as far as it goes."""

from promp import wire
from promp.wire import _frames
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_decode = wire.decode


def _trusting(signer, frame, tail=None):
    view = bytes(frame)
    if tail is not None or len(view) < _frames._PREFIX:
        return _decode(signer, frame, tail)
    (size,) = _frames._LENGTH.unpack_from(view, _frames.SIGNATURE_BYTES)
    room = len(view) - _frames._PREFIX
    if size > room:  # cut the length to what is there, and sign again what was already signed
        body = _frames._LENGTH.pack(room) + view[_frames._PREFIX :]
        if signer.sign(view[_frames.SIGNATURE_BYTES :]) == view[: _frames.SIGNATURE_BYTES]:
            return _decode(signer, signer.sign(body) + body)
    return _decode(signer, frame)


wire.decode = _trusting
in_workers(__name__)
