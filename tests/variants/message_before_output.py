"""Broken: a custom message becomes visible before the output its worker printed ahead of it is written.

The output read with the message is written one processing round later, as if messages were
handled on a background thread and output only at the next processMessages().
"""

from promp import _manager, _manager_shell, _protocol
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_handle = _manager.ProManager._handle
_taken = _manager_shell.Shell.output_taken


def _note_messages(self, frames, now):
    shell = self._shell
    wid = shell.worker_of.get(frames[0])
    try:
        kinds = {m.kind for m in _protocol.unbatch(_protocol.decode(shell.signers[wid], frames[1]))}
    except Exception:
        kinds = set()
    shell.message_came = shell.__dict__.get("message_came", False) or "msg" in kinds
    return _handle(self, frames, now)


def _one_round_late(self):
    if self.__dict__.get("message_came"):
        self.message_came = False
        return []  # kept in self.output for the next round
    return _taken(self)


_manager.ProManager._handle = _note_messages
_manager_shell.Shell.output_taken = _one_round_late
