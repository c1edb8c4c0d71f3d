"""Broken: workers do not check signatures."""

from promp import _protocol, _worker_shell
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__, in_workers  # noqa: F401

_decode = _protocol.decode


def _unsigned(signer, frame):
    # re-sign the frame with a throwaway key and decode it with that key: no real check
    body = bytes(frame[32:])
    key = _protocol.Signer(b"any key")
    return _decode(key, key.sign(body) + body)


_worker_shell.decode = _unsigned
in_workers(__name__)
