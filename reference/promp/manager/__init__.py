"""The manager's side: ``ProManager`` and what it stands on.

Layers, from the user down: ``_api`` (the API's edge: ``ProManager``), ``_executors`` (the user's
thread and the keeper, as the driver sees them), ``_driver`` (the glue, free of I/O), ``_core``
(the protocol's decisions, free of I/O); beside them the I/O: ``_port`` (sockets and deliveries),
``_keeper`` (the keeper thread), ``_handle`` and ``_pipes`` (a worker's descriptors), ``_spawn``
and ``_zygote`` (starting workers), ``_links`` (task connections), ``_socket_dir``; and
``_output`` and ``_wait`` for what the user sees.
"""

from ._api import ProManager, ProMPOpt_AtomicOutput, ProMPOpt_RedirectOutput
from ._spawn import workerCommand
from ._wait import NTSimpleWait, ProMPWait, TerminalWait, proContext

__all__ = [
    "NTSimpleWait",
    "ProMPOpt_AtomicOutput",
    "ProMPOpt_RedirectOutput",
    "ProMPWait",
    "ProManager",
    "TerminalWait",
    "proContext",
    "workerCommand",
]
