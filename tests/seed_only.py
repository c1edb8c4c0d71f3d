"""The reference cut down to the seed's API: no extension, no optional name (``proContext``, ``ProMPAborted``,
``heartbeatTimeout``, the launch hook...).  Every required clause must pass with it, and every optional
one be n/a or pass: a required clause that leans on an optional name fails here (``tests/test_spec_validates.py``)."""

import promp as _promp

SEED_METHODS = frozenset(
    "startWorker processMessages isBusy setOptions options testMessage testMessageBox evalPythonCode executePythonScript "
    "evalPythonFunction executePythonFunction hasResults takeResult sendMessage hasMessage getMessage waitForMessage "
    "createWaitObject abortOperation".split()
)


class ProManager:
    """A ``ProManager`` with the seed's calls only."""

    def __init__(self) -> None:
        self._manager = _promp.ProManager()

    def __getattr__(self, name: str):
        if name in SEED_METHODS:
            return getattr(self._manager, name)
        raise AttributeError(f"'ProManager' object has no attribute {name!r}")


ProMPMessage = _promp.ProMPMessage
ProWorker_All, ProWorker_Any = _promp.ProWorker_All, _promp.ProWorker_Any
ProMPOpt_RedirectOutput, ProMPOpt_AtomicOutput = _promp.ProMPOpt_RedirectOutput, _promp.ProMPOpt_AtomicOutput
proWorkerObject, proWorkerProcessLevel = _promp.proWorkerObject, _promp.proWorkerProcessLevel
NTVariantList, NTSimpleWait = _promp.NTVariantList, _promp.NTSimpleWait

__all__ = [
    "ProManager", "ProMPMessage", "ProWorker_All", "ProWorker_Any", "ProMPOpt_RedirectOutput", "ProMPOpt_AtomicOutput",
    "proWorkerObject", "proWorkerProcessLevel", "NTVariantList", "NTSimpleWait",
]  # fmt: skip
