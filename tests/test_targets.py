"""Targets are checked once, at the API's edge, the same way in every call."""

from __future__ import annotations

import pytest

from promp import NTSimpleWait, ProManager, ProMPMessage, ProWorker_All, ProWorker_Any

from .conftest import pump_until

CALLS = {
    "testMessage": lambda m, t: m.testMessage(t),
    "evalPythonCode": lambda m, t: m.evalPythonCode(t, "pass"),
    "evalPythonFunction": lambda m, t: m.evalPythonFunction(t, "def f(): pass", "f"),
    "sendMessage": lambda m, t: m.sendMessage(t, ProMPMessage(1)),
    "abortOperation": lambda m, t: m.abortOperation(t, -1),
    "takeResult": lambda m, t: m.takeResult(t),
    "hasResults": lambda m, t: m.hasResults(t),
    "hasMessage": lambda m, t: m.hasMessage(t),
    "getMessage": lambda m, t: m.getMessage(t),
    "waitForMessage": lambda m, t: m.waitForMessage(t, 0),
    "createWaitObject": lambda m, t: m.createWaitObject(t, NTSimpleWait()),
    "stopWorker": lambda m, t: m.stopWorker(t),
    "workerState": lambda m, t: m.workerState(t),
    "workerExitCode": lambda m, t: m.workerExitCode(t),
    "workerPid": lambda m, t: m.workerPid(t),
}


class ComparesBadly:
    """An array-like target: comparing it raises (as a numpy array's truth value does), which no check may do first."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("the truth value of this object is ambiguous")

    __ne__ = __eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:  # one test id in every process of pytest-xdist
        return "ComparesBadly()"


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("target", [True, False, 1.0, "1", None, b"\x01", ComparesBadly()], ids=repr)
def test_a_target_that_is_not_an_int_is_a_type_error_in_every_call(manager: ProManager, call: str, target: object):
    wid = manager.startWorker()
    assert wid == 1  # so True and 1.0 would name it if they were taken for ids
    with pytest.raises(TypeError, match="worker id"):
        CALLS[call](manager, target)
    pump_until(manager, lambda: manager.workerState(wid) == "ready", 30)
    assert not manager.isBusy() and not manager.hasResults(wid)


@pytest.mark.parametrize("call", sorted(CALLS))
def test_an_id_this_manager_never_gave_is_a_value_error_in_every_call(manager: ProManager, call: str):
    manager.startWorker()
    for target in (7, 0, -3, 2**70):
        with pytest.raises(ValueError, match=f"no worker with id {target}"):
            CALLS[call](manager, target)


@pytest.mark.parametrize("call", ["workerState", "workerExitCode", "workerPid", "createWaitObject", "stopWorker"])
@pytest.mark.parametrize("special", [ProWorker_Any, ProWorker_All])
def test_calls_about_one_worker_refuse_the_special_targets(manager: ProManager, call: str, special: int):
    manager.startWorker()
    with pytest.raises(ValueError, match="one worker"):
        CALLS[call](manager, special)
