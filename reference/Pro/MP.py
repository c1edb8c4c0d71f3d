"""``from Pro.MP import *``: the seed's multi-processing names, re-exported from promp."""

from promp import (
    ProManager,
    ProMPAborted,
    ProMPMessage,
    ProMPOpt_AtomicOutput,
    ProMPOpt_RedirectOutput,
    ProWorker_All,
    ProWorker_Any,
    protocolCore,
    proWorkerObject,
    proWorkerProcessLevel,
)

__all__ = [
    "ProManager",
    "ProMPAborted",
    "ProMPMessage",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProWorker_All",
    "ProWorker_Any",
    "proWorkerObject",
    "proWorkerProcessLevel",
    "protocolCore",
]
