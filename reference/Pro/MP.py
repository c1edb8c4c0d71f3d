"""``from Pro.MP import *``: the seed's multi-processing names, and the reference's extensions, from promp.

The same names the harness's generated ``Pro.MP`` offers for any implementation (every public
name of the implementation's module), so a script runs the same on both.
"""

from promp import (
    NTSimpleWait,
    NTVariantList,
    ProManager,
    ProMPAborted,
    ProMPError,
    ProMPMessage,
    ProMPOpt_AtomicOutput,
    ProMPOpt_RedirectOutput,
    ProMPRemoteError,
    ProMPWait,
    ProWorker,
    ProWorker_All,
    ProWorker_Any,
    ProWorkerExited,
    ProWorkerWait,
    TerminalWait,
    heartbeatTimeout,
    proContext,
    protocolCore,
    proWorkerObject,
    proWorkerProcessLevel,
    workerCommand,
    workerPrefixVariable,
)

__all__ = [
    "NTSimpleWait",
    "NTVariantList",
    "ProManager",
    "ProMPAborted",
    "ProMPError",
    "ProMPMessage",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProMPRemoteError",
    "ProMPWait",
    "ProWorker",
    "ProWorker_All",
    "ProWorker_Any",
    "ProWorkerExited",
    "ProWorkerWait",
    "TerminalWait",
    "proContext",
    "protocolCore",
    "proWorkerObject",
    "proWorkerProcessLevel",
    "workerCommand",
    "workerPrefixVariable",
    "heartbeatTimeout",
]
