"""Broken: the manager takes frames from workers without checking their signature."""

from promp import _manager, _protocol
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_decode = _protocol.decode


def _unchecked(signer, frame):
    body = bytes(frame[32:])
    key = _protocol.Signer(b"any key")
    return _decode(key, key.sign(body) + body)


_manager.decode = _unchecked
