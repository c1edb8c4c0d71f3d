"""What every broken variant shares: the reference's names, and a way into its workers."""

from __future__ import annotations

import promp
from promp import *  # noqa: F403
from promp import _manager_shell, _protocol, _zygote

__all__ = list(promp.__all__)


def in_workers(module: str) -> None:
    """Make every worker this process starts import ``module`` first, so its breakage applies there.

    Cold workers import it at start; warm ones inherit it from the zygote, which imports it before it forks.
    """
    if module not in _manager_shell._WORKER_BOOT:
        _manager_shell._WORKER_BOOT = f"import {module}\n" + _manager_shell._WORKER_BOOT
        _zygote._BOOT = f"import {module}\n" + _zygote._BOOT


def decode_unchecked(signer: _protocol.Signer, frame: bytes) -> _protocol.Message:
    """``decode`` without the signature check: the frame is re-signed with a throwaway key first."""
    body = bytes(frame[32:])
    key = _protocol.Signer(b"any key")
    return _protocol.decode(key, key.sign(body) + body)
