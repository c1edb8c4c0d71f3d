"""What every broken variant shares: the reference's names, and a way into its workers."""

from __future__ import annotations

import promp
from promp import *  # noqa: F403
from promp import wire
from promp.manager import _spawn, _zygote
from promp.wire import _frames

__all__ = list(promp.__all__)


def in_workers(module: str) -> None:
    """Make every worker this process starts import ``module`` first, so its breakage applies there.

    Cold workers import it at start; warm ones inherit it from the zygote, which imports it before it forks.
    """
    if module not in _spawn.WORKER_BOOT:
        _spawn.WORKER_BOOT = f"import {module}\n" + _spawn.WORKER_BOOT
        _zygote.BOOT = f"import {module}\n" + _zygote.BOOT


def from_any_thread(*names: str) -> None:
    """Let these ``ProManager`` calls skip the owner-thread check (BAD-4's broken variants)."""
    from promp.manager import _api

    def unchecked(original):
        def call(self, *args):
            self._mine = lambda: None  # this call skips the owner check
            try:
                return original(self, *args)
            finally:
                del self._mine

        return call

    for name in names:
        setattr(_api.ProManager, name, unchecked(getattr(_api.ProManager, name)))


def decode_unchecked(signer: wire.Signer, frame: bytes, tail: bytes | None = None) -> list[wire.Message]:
    """``decode`` without the signature check: the message is re-signed with a throwaway key first."""
    body = bytes(frame[32:]) + (bytes(tail) if tail is not None else b"")
    key = wire.Signer(b"any key")
    return _frames.decode(key, key.sign(body) + body)
