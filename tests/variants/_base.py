"""What every broken variant shares: the reference's names, and a way into its workers."""

from __future__ import annotations

import promp
from promp import *  # noqa: F403
from promp import _manager_shell

__all__ = list(promp.__all__)


def in_workers(module: str) -> None:
    """Make every worker this process starts import ``module`` first, so its breakage applies there."""
    if module not in _manager_shell._WORKER_BOOT:
        _manager_shell._WORKER_BOOT = f"import {module}\n" + _manager_shell._WORKER_BOOT
