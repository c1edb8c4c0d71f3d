"""promp: the reference implementation of the Pro.MP manager/worker API.

``from Pro.MP import *`` gives the seed's names; ``import promp`` gives the
same objects plus the extensions.
"""

from . import _state
from ._core import ProWorker_All, ProWorker_Any
from ._errors import ProMPError, ProMPRemoteError, ProWorkerExited
from ._manager import ProManager, ProMPOpt_AtomicOutput, ProMPOpt_RedirectOutput
from ._values import NTVariantList


def proWorkerProcessLevel() -> int:
    """0 in a process that was not started as a worker; the parent's level + 1 in a worker."""
    return _state.level


__all__ = [
    "NTVariantList",
    "ProMPError",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProMPRemoteError",
    "ProManager",
    "ProWorkerExited",
    "ProWorker_All",
    "ProWorker_Any",
    "proWorkerProcessLevel",
]
