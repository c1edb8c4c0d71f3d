"""``from Pro.MP import *``: the seed's multi-processing names, re-exported from promp."""

from promp import (  # noqa: F401
    ProManager,
    ProMPOpt_AtomicOutput,
    ProMPOpt_RedirectOutput,
    ProWorker_All,
    ProWorker_Any,
    proWorkerProcessLevel,
)

__all__ = [
    "ProManager",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProWorker_All",
    "ProWorker_Any",
    "proWorkerProcessLevel",
]
