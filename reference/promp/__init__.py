"""promp: the reference implementation of the Pro.MP manager/worker API.

``from Pro.MP import *`` gives the seed's names; ``import promp`` gives the
same objects plus the extensions.
"""

from . import _state
from ._core import ProWorker_All, ProWorker_Any
from ._errors import ProMPError, ProMPRemoteError, ProWorkerExited
from ._manager import ProManager, ProMPOpt_AtomicOutput, ProMPOpt_RedirectOutput
from ._message import ProMPMessage
from ._shell import workerCommand
from ._values import NTVariantList
from ._wait import NTSimpleWait, ProMPWait, TerminalWait, proContext
from ._worker_api import ProMPAborted, ProWorker, ProWorkerWait


def proWorkerObject() -> ProWorker | None:
    """This process's worker object in a worker process; None in a process that is not a worker."""
    return _state.worker


def proWorkerProcessLevel() -> int:
    """0 in a process that was not started as a worker; the parent's level + 1 in a worker."""
    return _state.level


__all__ = [
    "NTSimpleWait",
    "NTVariantList",
    "ProMPAborted",
    "ProMPMessage",
    "ProMPWait",
    "ProWorker",
    "ProWorkerWait",
    "TerminalWait",
    "proContext",
    "proWorkerObject",
    "ProMPError",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProMPRemoteError",
    "ProManager",
    "ProWorkerExited",
    "ProWorker_All",
    "ProWorker_Any",
    "proWorkerProcessLevel",
    "workerCommand",
]
