"""promp: the reference implementation of the Pro.MP manager/worker API.

``from Pro.MP import *`` gives the seed's names; ``import promp`` gives the
same objects plus the extensions.  ``__all__`` is the one list of public names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _constants, _env, _state
from ._constants import ProWorker_All, ProWorker_Any
from ._errors import ProMPError, ProMPQueueFull, ProMPRemoteError, ProWorkerExited
from ._message import ProMPMessage
from ._values import NTVariantList
from .worker._api import ProMPAborted, ProWorker, ProWorkerWait

if TYPE_CHECKING:
    from .executor import Executor
    from .manager import (
        NTSimpleWait,
        ProManager,
        ProMPOpt_AtomicOutput,
        ProMPOpt_RedirectOutput,
        ProMPWait,
        TerminalWait,
        proContext,
        workerCommand,
    )

# The manager side is imported on first use: a worker that never starts a manager of its own
# does not pay for it at start-up (about a third of a worker's start time).
_LAZY = {
    "ProManager",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "workerCommand",
    "NTSimpleWait",
    "ProMPWait",
    "TerminalWait",
    "proContext",
}


def __getattr__(name: str) -> Any:
    if name == "Executor":  # the concurrent.futures face (``promp.executor``), imported on first use too
        module = ".executor"
    elif name in _LAZY:
        module = ".manager"
    else:
        raise AttributeError(f"module 'promp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


protocolCore = "promp.core"  # the module offering this implementation's sans-I/O core to the simulator (extension)
workerPrefixVariable = _env.WORKER_PREFIX  # the launch hook this manager honours (extension; spec chapter 13)
heartbeatTimeout = _constants.HEARTBEAT_TIMEOUT  # seconds: the liveness bound a default ProManager keeps (spec chapter 10)


def proWorkerObject() -> ProWorker | None:
    """This process's worker object in a worker process; None in a process that is not a worker."""
    return _state.worker


def proWorkerProcessLevel() -> int:
    """0 in a process that was not started as a worker; the parent's level + 1 in a worker."""
    return _state.level


__all__ = [
    "Executor",
    "NTSimpleWait",
    "NTVariantList",
    "ProMPAborted",
    "ProMPMessage",
    "ProMPWait",
    "ProWorker",
    "TerminalWait",
    "ProWorkerWait",
    "proContext",
    "proWorkerObject",
    "ProMPError",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProMPQueueFull",
    "ProMPRemoteError",
    "ProManager",
    "ProWorkerExited",
    "ProWorker_All",
    "ProWorker_Any",
    "proWorkerProcessLevel",
    "protocolCore",
    "workerCommand",
    "workerPrefixVariable",
    "heartbeatTimeout",
]
